"""/api/v1/changes/: the change feed, in the order transactions wrote the rows.

The feed only hands out rows of transactions older than every transaction still running,
so the tests that write commit their writes (``transactional_db``, through ``history``);
the ones that only send bad parameters run in a transaction rolled back afterwards. Other
test runs may share the PostgreSQL server and briefly hold transactions open, which delays
(never reorders) what the feed shows: reads wait until the expected rows have appeared."""

from __future__ import annotations

import base64
import datetime
import time
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.models import FundingLine, Measure, StatusEvent
from measures.services import CitationInput, status_event_record
from tests.api.conftest import API, DOCUMENT, assert_problem, assert_validation_problem, validate
from tests.factories import FundingLineFactory, MeasureFactory, SourceFactory, StrategyFactory

pytestmark = pytest.mark.django_db

URL = f"{API}/changes/"


def read(client: APIClient, params: dict[str, Any], *, count: int) -> dict[str, Any]:
    """The page once it holds ``count`` items (other transactions on the server may hold the
    horizon back for a moment)."""
    deadline = time.monotonic() + 60
    while True:
        response = client.get(URL, params)
        assert response.status_code == 200, response.json()
        page = response.json()
        if len(page["items"]) >= count or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def keys(page: dict[str, Any]) -> list[tuple[str, Any]]:
    result = []
    for item in page["items"]:
        kind = item["kind"]
        obj = item[kind]
        result.append((kind, obj["slug"] if kind == "measure" else obj["id"]))
        assert [k for k in ("measure", "status_event", "funding_line") if item[k]] == [kind]
    return result


def record(measure: Measure, value: str, day: datetime.date) -> StatusEvent:
    return status_event_record(
        measure=measure,
        axis="stage",
        value=value,
        effective_on=day,
        rationale=f"became {value}",
        citations=[CitationInput(source=SourceFactory.create(), quote="q")],
    )


@pytest.fixture
def history(transactional_db: None) -> tuple[Measure, FundingLine, StatusEvent]:
    """A measure, then a funding line, then an event (which also rewrites the measure)."""
    strategy = StrategyFactory.create(slug="svs")
    measure = MeasureFactory.create(slug="acid", strategy=strategy)
    line = FundingLineFactory.create(strategy=strategy, amount=Decimal("40000000"))
    event = record(measure, "announced", datetime.date(2018, 4, 9))
    return measure, line, event


def test_first_call_lists_every_change_in_write_order(
    anonymous: APIClient, history: tuple[Measure, FundingLine, StatusEvent]
) -> None:
    _measure, line, event = history
    page = read(anonymous, {}, count=3)
    # The event's transaction rewrote the measure's cached stage, so the measure comes
    # with it, before the event (same transaction, measures first).
    assert keys(page) == [
        ("funding_line", line.pk),
        ("measure", "acid"),
        ("status_event", event.pk),
    ]
    assert page["has_more"] is False
    item = page["items"][1]
    assert item["measure"]["stage"] == "announced"
    assert item["measure"]["url"] == "http://testserver/api/v1/measures/acid/"
    assert item["changed_at"] == item["measure"]["updated_at"]
    assert page["items"][2]["status_event"]["citations"][0]["quote"] == "q"
    assert page["items"][0]["funding_line"]["amount"] == "40000000.00"


def test_a_page_matches_its_documented_schema(
    anonymous: APIClient, history: tuple[Measure, FundingLine, StatusEvent]
) -> None:
    page = read(anonymous, {}, count=3)
    documented = DOCUMENT["paths"]["/api/v1/changes/"]["get"]["responses"]["200"]
    validate(page, documented["content"]["application/json"]["schema"])


def test_following_next_cursor_gives_each_change_once(
    anonymous: APIClient, history: tuple[Measure, FundingLine, StatusEvent]
) -> None:
    everything = keys(read(anonymous, {}, count=3))
    seen: list[tuple[str, Any]] = []
    params: dict[str, Any] = {"page_size": 1}
    for _ in range(10):
        page = read(anonymous, params, count=1 if len(seen) < 3 else 0)
        seen.extend(keys(page))
        params = {"page_size": 1, "cursor": page["next_cursor"]}
        if not page["has_more"] and len(seen) >= 3:
            break
    assert seen == everything


def test_the_cursor_resumes_after_later_changes(
    anonymous: APIClient, history: tuple[Measure, FundingLine, StatusEvent]
) -> None:
    measure, line, _ = history
    cursor = read(anonymous, {}, count=3)["next_cursor"]
    assert read(anonymous, {"cursor": cursor}, count=0)["items"] == []
    later = record(measure, "legislating", datetime.date(2018, 6, 20))
    FundingLine.objects.filter(pk=line.pk).update(notes="checked")  # a rewrite moves it
    page = read(anonymous, {"cursor": cursor}, count=3)
    assert keys(page) == [
        ("measure", "acid"),
        ("status_event", later.pk),
        ("funding_line", line.pk),
    ]
    assert page["items"][0]["measure"]["stage"] == "legislating"


def test_since_starts_after_an_instant(
    anonymous: APIClient, history: tuple[Measure, FundingLine, StatusEvent]
) -> None:
    measure, _, _ = history
    read(anonymous, {}, count=3)
    since = Measure.objects.get(pk=measure.pk).updated_at
    later = record(measure, "legislating", datetime.date(2018, 6, 20))
    page = read(anonymous, {"since": since.isoformat()}, count=2)
    assert keys(page) == [("measure", "acid"), ("status_event", later.pk)]
    assert read(anonymous, {"since": "2100-01-01T00:00:00Z"}, count=0)["items"] == []


def encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor", "%%%", "\x00", "", "A" * 101, base64.b64encode(b"1.0.0").decode()],
)
def test_a_value_that_is_not_a_cursor_is_a_parameter_error(
    anonymous: APIClient, cursor: str
) -> None:
    """Not URL-safe base64 (``=`` padding, spaces, NUL), empty, or too long."""
    assert_validation_problem(anonymous.get(URL, {"cursor": cursor}), parameter="cursor")


@pytest.mark.parametrize(
    "cursor",
    [
        "AAAA",
        encode("1.2"),
        encode("a.b.c"),
        encode("1.2.3.4"),
        encode("-1.0.0"),
        encode("1.10.0"),
        encode(f"{2**64}.0.0"),
        encode(f"1.0.{2**63}"),
        base64.urlsafe_b64encode(b"\xff\xfe.0.0").decode().rstrip("="),
    ],
)
def test_a_cursor_naming_no_position_is_a_page_that_does_not_exist(
    anonymous: APIClient, cursor: str
) -> None:
    assert_problem(anonymous.get(URL, {"cursor": cursor}), 404)


def test_a_cursor_at_the_end_of_the_range_reads_nothing(anonymous: APIClient) -> None:
    response = anonymous.get(URL, {"cursor": encode(f"{2**63}.9.{2**62}")})
    assert response.status_code == 200, response.json()
    assert response.json()["items"] == []


# Superscript and Arabic-Indic digits are digits to str.isdigit(), not to int().
@pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5", "²", "\u0661", " 5", ""])
def test_bad_page_size_is_a_parameter_error(anonymous: APIClient, size: str) -> None:
    assert_validation_problem(anonymous.get(URL, {"page_size": size}), parameter="page_size")


@pytest.mark.parametrize("size", [str(10**9), "9" * 5000])
def test_huge_page_size_is_capped(
    anonymous: APIClient, history: tuple[Measure, FundingLine, StatusEvent], size: str
) -> None:
    page = read(anonymous, {"page_size": size}, count=3)
    assert len(page["items"]) == 3


@pytest.mark.parametrize("since", ["yesterday", "2019-13-45", "\x00"])
def test_bad_since_is_a_parameter_error(anonymous: APIClient, since: str) -> None:
    assert_validation_problem(anonymous.get(URL, {"since": since}), parameter="since")


def test_unknown_parameter_is_refused(anonymous: APIClient) -> None:
    assert_validation_problem(anonymous.get(URL, {"after": "x"}), parameter="after")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_feed_is_read_only(anonymous: APIClient, method: str) -> None:
    assert_problem(getattr(anonymous, method)(URL, {}), 405)
