"""A status in time and in place: an event dated in the future takes effect on its day with
nobody touching the data (the clock is moved, not the data); a pilot ends by itself; an
event limited to some nations or to an area counts where it applies, and the API answers
“is it in force in Scotland on that day?”."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from measures import feed
from measures.models import Measure
from measures.representation import MeasureSerializer
from measures.services import refresh_expired_statuses
from tests.factories import MeasureFactory, StrategyFactory
from tests.support import Record

pytestmark = pytest.mark.django_db

API = "/api/v1"
ENACTED = datetime.date(2019, 5, 16)


def read(client: APIClient, measure: Measure, **params: str) -> dict:
    response = client.get(f"{API}/measures/{measure.slug}/", params)
    assert response.status_code == 200, response.content
    return response.json()


def slugs(client: APIClient, **params: str) -> set[str]:
    response = client.get(f"{API}/measures/", params)
    assert response.status_code == 200, response.content
    return {row["slug"] for row in response.json()["results"]}


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def enacted(record: Record) -> Measure:
    measure = MeasureFactory.create(slug="corrosive-sales")
    record(measure, "announced", datetime.date(2018, 4, 9))
    record(measure, "legislating", datetime.date(2018, 6, 20))
    record(measure, "enacted", ENACTED)
    return measure


def test_a_scheduled_commencement_takes_effect_on_its_day_without_a_write(
    client: APIClient, enacted: Measure, record: Record
) -> None:
    today = timezone.localdate()
    day = today + datetime.timedelta(days=10)
    record(enacted, "in_force", day)
    enacted.refresh_from_db()
    version, stored = enacted.version, (enacted.stage, enacted.stage_since)
    assert stored == ("enacted", ENACTED)
    assert enacted.status_valid_until == day

    before = client.get(f"{API}/measures/{enacted.slug}/")
    assert (before.json()["stage"], before.json()["stage_since"]) == (
        "enacted",
        ENACTED.isoformat(),
    )
    assert slugs(client, stage="in_force") == set()

    with time_machine.travel(day - datetime.timedelta(days=1), tick=False):
        assert read(client, enacted)["stage"] == "enacted"
    with time_machine.travel(day, tick=False):
        after = client.get(f"{API}/measures/{enacted.slug}/")
        assert (after.json()["stage"], after.json()["stage_since"]) == ("in_force", day.isoformat())
        assert after["ETag"] != before["ETag"]
        # The list, its filter and the summary agree, all from the same reading.
        assert slugs(client, stage="in_force") == {enacted.slug}
        summary = client.get(f"{API}/strategies/{enacted.strategy.slug}/summary/").json()
        assert summary["by_stage"]["in_force"] == 1
        # The change feed shows a measure as it stands (its page, read in its own
        # transaction, is held by tests/api/test_changes.py).
        (shown,) = feed.KINDS[0].queryset().in_bulk([enacted.pk]).values()
        assert (
            MeasureSerializer(shown, context={"request": APIRequestFactory().get("/")}).data[
                "stage"
            ]
            == "in_force"
        )
        # Nothing was written: the cached columns still say what they said.
        enacted.refresh_from_db()
        assert (enacted.version, (enacted.stage, enacted.stage_since)) == (version, stored)
        # The daily refresh brings the columns up to date, once.
        assert refresh_expired_statuses() == 1
        assert refresh_expired_statuses() == 0
        enacted.refresh_from_db()
        assert (enacted.stage, enacted.status_valid_until) == ("in_force", None)
        assert read(client, enacted)["stage"] == "in_force"


def test_a_pilot_ends_by_itself(client: APIClient, enacted: Measure, record: Record) -> None:
    today = timezone.localdate()
    end = today + datetime.timedelta(days=5)
    record(
        enacted,
        "in_force",
        today - datetime.timedelta(days=30),
        extent=["england"],
        area="Metropolitan police district",
        ends_on=end,
    )
    assert read(client, enacted)["stage"] == "in_force"  # anywhere: the pilot counts
    assert read(client, enacted, extent="england")["stage"] == "enacted"  # not nationwide
    pilot = read(client, enacted, area="metropolitan POLICE district")
    assert pilot["stage"] == "in_force"
    with time_machine.travel(end, tick=False):
        assert read(client, enacted)["stage"] == "in_force"  # its last day
    with time_machine.travel(end + datetime.timedelta(days=1), tick=False):
        assert read(client, enacted)["stage"] == "enacted"
        assert read(client, enacted, area="Metropolitan police district")["stage"] == "enacted"


def test_in_force_in_scotland_on_a_day(client: APIClient, enacted: Measure, record: Record) -> None:
    """Commenced in Scotland first, then in England and Wales: each nation gets its own
    answer, and “anywhere” the first commencement."""
    scotland, england_and_wales = datetime.date(2021, 1, 1), datetime.date(2021, 7, 14)
    record(enacted, "in_force", scotland, extent=["scotland"])
    record(enacted, "in_force", england_and_wales, extent=["england", "wales"])
    on = "2021-02-01"
    assert read(client, enacted, extent="scotland", as_of=on)["stage"] == "in_force"
    assert read(client, enacted, extent="england", as_of=on)["stage"] == "enacted"
    assert read(client, enacted, extent="northern_ireland", as_of=on)["stage"] == "enacted"
    assert read(client, enacted, as_of=on)["stage"] == "in_force"
    assert read(client, enacted, extent="wales", as_of="2021-07-14")["stage"] == "in_force"
    assert slugs(client, extent="england", as_of=on, stage="in_force") == set()
    assert slugs(client, extent="scotland", as_of=on, stage="in_force") == {enacted.slug}
    summary = client.get(
        f"{API}/strategies/{enacted.strategy.slug}/summary/",
        {"extent": "england", "as_of": on},
    ).json()
    assert (summary["extent"], summary["by_stage"]["enacted"], summary["by_stage"]["in_force"]) == (
        "england",
        1,
        0,
    )


def test_the_etag_depends_on_the_place_asked_about(
    client: APIClient, enacted: Measure, record: Record
) -> None:
    record(enacted, "in_force", datetime.date(2021, 1, 1), extent=["scotland"])
    anywhere = client.get(f"{API}/measures/{enacted.slug}/")
    england = client.get(f"{API}/measures/{enacted.slug}/", {"extent": "england"})
    assert anywhere.json()["stage"] != england.json()["stage"]
    assert anywhere["ETag"] != england["ETag"]
    revalidated = client.get(
        f"{API}/measures/{enacted.slug}/", {"extent": "england"}, HTTP_IF_NONE_MATCH=england["ETag"]
    )
    assert revalidated.status_code == 304


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"extent": "atlantis"}, "extent"),
        ({"extent": ""}, "extent"),
        ({"area": ""}, "area"),
        ({"area": "x" * 201}, "area"),
    ],
)
def test_a_place_that_is_not_one_is_a_400(
    client: APIClient, enacted: Measure, params: dict[str, str], parameter: str
) -> None:
    for url in (f"{API}/measures/", f"{API}/strategies/{enacted.strategy.slug}/summary/"):
        response = client.get(url, params)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert [error["parameter"] for error in response.json()["errors"]] == [parameter]


def test_a_month_is_shown_as_a_month_and_claimed_only_from_its_last_day(
    client: APIClient, record: Record
) -> None:
    measure = MeasureFactory.create(strategy=StrategyFactory.create())
    record(measure, "announced", datetime.date(2018, 4, 9))
    record(measure, "implementing", datetime.date(2019, 6, 30), effective_on_precision="month")
    events = client.get(f"{API}/measures/{measure.slug}/events/").json()["results"]
    assert [(e["effective_on"], e["effective_on_precision"]) for e in events] == [
        ("2019-06-30", "month"),
        ("2018-04-09", "day"),
    ]
    assert read(client, measure, as_of="2019-06-15")["stage"] == "announced"
    assert read(client, measure, as_of="2019-06-30")["stage"] == "implementing"
