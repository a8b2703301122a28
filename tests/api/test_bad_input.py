"""Bad input of every kind is answered with a 4xx problem document, never a 500: unknown
parameters, malformed values, forged cursors, NUL bytes, broken or oversized bodies."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from measures.models import StatusEvent
from strategy.models import Organisation
from tests.api.conftest import API, PROBLEM, assert_problem, assert_validation_problem, body
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
)

pytestmark = pytest.mark.django_db

LISTS = [
    f"{API}/organisations/",
    f"{API}/strategies/",
    f"{API}/sources/",
    f"{API}/measures/",
    f"{API}/measures/acid/events/",
    f"{API}/funding-lines/",
]
ORGANISATIONS = f"{API}/organisations/"


@pytest.fixture
def rows(record: Callable[..., StatusEvent]) -> None:
    """A few rows behind every list, so that queries really run."""
    strategy = StrategyFactory.create(slug="svs")
    measure = MeasureFactory.create(slug="acid", strategy=strategy)
    record(measure, "announced", datetime.date(2018, 4, 9))
    record(measure, "legislating", datetime.date(2018, 6, 20))
    SourceFactory.create(published_on=None)
    FundingLineFactory.create(strategy=strategy, measure=measure)


# Query parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("url", LISTS)
def test_unknown_parameter_is_refused_on_every_list(
    anonymous: APIClient, rows: None, url: str
) -> None:
    problem = assert_validation_problem(anonymous.get(url, {"colour": "red"}), parameter="colour")
    assert problem["type"] == "/api/problems/unknown-parameter/"
    assert "colour" in problem["detail"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "\x00",
        "",
        base64.b64encode(b"o=-1").decode(),  # standard base64, with padding
        "é",
        "a" * 4001,
    ],
)
def test_a_value_that_is_not_a_cursor_is_a_parameter_error(
    anonymous: APIClient, rows: None, url: str, cursor: str
) -> None:
    assert_validation_problem(anonymous.get(url, {"cursor": cursor}), parameter="cursor")


def forged(*values: Any, reverse: bool = False) -> str:
    """A cursor of the API's form (URL-safe base64 of JSON) holding ``values``."""
    text = json.dumps([reverse, list(values)], ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b"z=0&p=").decode().rstrip("="),  # null in a NOT NULL column
        forged(None),
        forged(),
        forged("a", "b", "c", "d", "e"),
        base64.urlsafe_b64encode(b"[true]").decode().rstrip("="),
        base64.urlsafe_b64encode(b"{}").decode().rstrip("="),
        "AAAA",
    ],
)
def test_a_cursor_naming_no_position_is_a_page_that_does_not_exist(
    anonymous: APIClient, rows: None, url: str, cursor: str
) -> None:
    assert_problem(anonymous.get(url, {"cursor": cursor}), 404)


VALID_INSTANT = "2018-04-09T00:00:00+00:00"


@pytest.mark.parametrize(
    ("url", "position"),
    [
        # One value per column of the ordering (which ends with the id unless a column of
        # it is unique already); exactly one value is wrong.
        (f"{API}/sources/", ["abc"]),  # ordered by -id
        (f"{API}/sources/", [1.5]),
        (f"{API}/sources/", [10**30]),
        (f"{API}/sources/", [True]),
        (f"{API}/funding-lines/", ["1.5"]),
        (f"{API}/measures/acid/events/", ["2019-02-30", VALID_INSTANT, 1]),
        (f"{API}/measures/acid/events/", ["2019-02-03", VALID_INSTANT, None]),
        (f"{API}/strategies/?ordering=published_on", ["someday", 1]),
        (f"{API}/strategies/?ordering=published_on", [20190101, 1]),
        (f"{API}/measures/?ordering=updated_at", ["2019-13-01 00:00:00+00:00", 1]),
        (f"{API}/funding-lines/?ordering=amount", ["NaN", 1]),
        (f"{API}/measures/", ["acid\x00"]),
        (f"{API}/measures/", [["acid"]]),
    ],
)
def test_a_forged_cursor_position_is_a_page_that_does_not_exist(
    anonymous: APIClient, rows: None, url: str, position: list[Any]
) -> None:
    separator = "&" if "?" in url else "?"
    response = anonymous.get(f"{url}{separator}cursor={forged(*position)}")
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("url", "position"),
    [
        (f"{API}/sources/", [1]),
        (f"{API}/measures/acid/events/", ["2019-02-03", VALID_INSTANT, 1]),
        (f"{API}/strategies/?ordering=published_on", ["2018-04-09", 1]),
        (f"{API}/measures/?ordering=updated_at", [VALID_INSTANT, 1]),
        (f"{API}/funding-lines/?ordering=amount", ["1.00", 1]),
        (f"{API}/measures/", ["acid"]),
    ],
)
def test_the_same_cursors_with_every_value_right_are_pages(
    anonymous: APIClient, rows: None, url: str, position: list[Any]
) -> None:
    """The forged cursors above fail for their one wrong value, not for their form."""
    separator = "&" if "?" in url else "?"
    response = anonymous.get(f"{url}{separator}cursor={forged(*position)}")
    assert response.status_code == 200, response.json()


def test_a_cursor_position_beyond_every_row_gives_an_empty_page(
    anonymous: APIClient, rows: None
) -> None:
    response = anonymous.get(f"{API}/sources/", {"cursor": forged(-(2**62))})
    assert response.status_code == 200, response.json()
    assert response.json()["results"] == []


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("size", ["0", "abc", "-5", "1.0", "", "五"])
def test_bad_page_size_is_a_parameter_error(
    anonymous: APIClient, rows: None, url: str, size: str
) -> None:
    assert_validation_problem(anonymous.get(url, {"page_size": size}), parameter="page_size")


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("size", [str(10**9), "1" + "0" * 100])
def test_huge_page_size_is_capped_not_refused(
    anonymous: APIClient, rows: None, url: str, size: str
) -> None:
    response = anonymous.get(url, {"page_size": size})
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"{API}/organisations/", "q"),
        (f"{API}/sources/", "q"),
        (f"{API}/sources/", "publisher"),
        (f"{API}/strategies/", "owner"),
        (f"{API}/measures/", "q"),
        (f"{API}/measures/", "strategy"),
        (f"{API}/measures/", "category"),
        (f"{API}/measures/", "lead_organisation"),
        (f"{API}/measures/", "as_of"),
        (f"{API}/measures/", "known_at"),
        (f"{API}/measures/", "ordering"),
        (f"{API}/measures/acid/", "as_of"),
        (f"{API}/funding-lines/", "currency"),
        (f"{API}/funding-lines/", "measure"),
        (f"{API}/strategies/svs/summary/", "as_of"),
        (f"{API}/strategies/svs/diff/", "from"),
        (f"{API}/changes/", "cursor"),
    ],
)
@pytest.mark.parametrize("csv", [False, True])
def test_nul_in_a_query_parameter_is_a_parameter_error(
    anonymous: APIClient, rows: None, url: str, name: str, csv: bool
) -> None:
    params = {name: "home\x00office"}
    if csv and url.endswith(("measures/", "organisations/", "sources/", "strategies/", "lines/")):
        params["format"] = "csv"
    assert_validation_problem(anonymous.get(url, params), parameter=name)


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/organisations/%00/",
        f"{API}/strategies/%00/",
        f"{API}/strategies/%00/summary/",
        f"{API}/strategies/%00/diff/",
        f"{API}/sources/%00/",
        f"{API}/measures/%00/",
        f"{API}/measures/%00/events/",
        f"{API}/measures/acid/events/%00/",
        f"{API}/funding-lines/%00/",
        f"{API}/measures/ACID/",
        f"{API}/sources/one/",
        f"{API}/funding-lines/-1/",
        f"{API}/nothing-here/",
    ],
)
def test_nul_or_impossible_path_is_404_problem(anonymous: APIClient, rows: None, url: str) -> None:
    for method in ("get", "put", "patch", "post"):
        response = getattr(anonymous, method)(url)
        assert response.status_code in (404, 405), (method, response.status_code)
        assert_problem(response, response.status_code)


# Representations -------------------------------------------------------------------------


def test_unavailable_representation_is_406(anonymous: APIClient, rows: None) -> None:
    assert_problem(anonymous.get(f"{API}/measures/acid/", {"format": "csv"}), 406)
    assert_problem(anonymous.get(f"{API}/measures/", {"format": "xml"}), 406)
    assert_problem(anonymous.get(f"{API}/measures/", headers={"Accept": "application/xml"}), 406)
    assert_problem(anonymous.get(f"{API}/strategies/svs/summary/", {"format": "csv"}), 406)


# Request bodies --------------------------------------------------------------------------


def post_raw(client: APIClient, payload: bytes | str, content_type: str) -> Any:
    # Django's client sends bytes as they are (the stubs only admit str).
    return client.generic("POST", ORGANISATIONS, payload, content_type=content_type)  # type: ignore[arg-type]


def test_malformed_json_is_400(editor: APIClient) -> None:
    for payload in ['{"slug": "x",', "{'slug': 'x'}", "", "{}}", '{"a": 1} trailing']:
        response = post_raw(editor, payload, "application/json")
        assert_problem(response, 400)
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("payload", ["[]", '"text"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_400(editor: APIClient, payload: str) -> None:
    assert_problem(post_raw(editor, payload, "application/json"), 400)


def test_invalid_utf8_is_400(editor: APIClient) -> None:
    response = post_raw(
        editor, b'{"slug": "x", "name": "\xff\xfe", "kind": "other"}', "application/json"
    )
    assert_problem(response, 400)
    assert not Organisation.objects.exists()


@pytest.mark.parametrize(
    "charset", ["base64", "rot13", "zlib", "klingon", "latin-1", "utf-7", "UTF-16", "ascii"]
)
def test_a_body_in_any_charset_but_utf8_is_415(editor: APIClient, charset: str) -> None:
    """JSON is UTF-8 (RFC 8259). A body in UTF-7 would otherwise smuggle ``<script>`` past
    a reader of the raw bytes as ``+ADw-script+AD4-``, and an unknown charset would be read
    as UTF-8 without a word."""
    payload = b'{"slug": "x", "name": "+ADw-script+AD4-", "kind": "other"}'
    response = post_raw(editor, payload, f"application/json; charset={charset}")
    assert "UTF-8" in assert_problem(response, 415)["detail"]
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_a_utf8_body_is_read(editor: APIClient, charset: str) -> None:
    payload = '{"slug": "x", "name": "Café", "kind": "other"}'.encode()
    response = post_raw(editor, payload, f"application/json; charset={charset}")
    assert response.status_code == 201, response.json()
    assert Organisation.objects.get().name == "Café"


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/x-www-form-urlencoded", "slug=x&name=X&kind=other"),
        (
            "multipart/form-data; boundary=B",
            '--B\r\nContent-Disposition: form-data; name="slug"\r\n\r\nx\r\n--B--\r\n',
        ),
        ("text/plain", '{"slug": "x", "name": "X", "kind": "other"}'),
        ("application/xml", "<organisation/>"),
    ],
)
def test_a_body_that_is_not_json_is_415(editor: APIClient, content_type: str, payload: str) -> None:
    assert_problem(post_raw(editor, payload, content_type), 415)
    assert not Organisation.objects.exists()


def test_form_data_from_the_client_is_415(editor: APIClient) -> None:
    response = editor.post(
        ORGANISATIONS, {"slug": "x", "name": "X", "kind": "other"}, format="multipart"
    )
    assert_problem(response, 415)


@pytest.mark.parametrize("depth", [40, 100, 5000, 100_000])
def test_deeply_nested_body_is_400(editor: APIClient, depth: int) -> None:
    payload = (
        '{"slug": "x", "name": "X", "kind": "other", "extra": ' + "[" * depth + "]" * depth + "}"
    )
    assert_problem(post_raw(editor, payload, "application/json"), 400)
    nested = '{"a": ' * depth + "1" + "}" * depth
    assert_problem(post_raw(editor, nested, "application/json"), 400)
    assert not Organisation.objects.exists()


def test_body_over_the_limit_is_413(editor: APIClient) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    payload = json.dumps({"slug": "x", "name": "X", "kind": "other", "note": "n" * limit})
    problem = assert_problem(post_raw(editor, payload, "application/json"), 413)
    assert problem["type"] == "/api/problems/request-too-large/"
    assert not Organisation.objects.exists()


def test_body_under_the_limit_is_read(editor: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    small = json.dumps({"slug": "x", "name": "X", "kind": "other"})
    assert post_raw(editor, small, "application/json").status_code == 201
    big = json.dumps({"slug": "y", "name": "Y" * 200, "kind": "other"})
    assert_problem(post_raw(editor, big, "application/json"), 413)
    assert_problem(editor.patch(f"{ORGANISATIONS}x/", {"name": "Z" * 300}), 413)
    assert Organisation.objects.get().name == "X"


def test_nul_in_a_json_string_names_the_field(editor: APIClient) -> None:
    response = editor.post(ORGANISATIONS, {"slug": "x", "name": "Home\x00Office", "kind": "other"})
    assert_validation_problem(response, pointer="#/name")
    OrganisationFactory.create(slug="home-office")
    response = editor.post(
        f"{API}/strategies/",
        {"slug": "s", "title": "S", "owner": "home\x00office", "published_on": "2018-01-01"},
    )
    assert_validation_problem(response, pointer="#/owner")
    response = editor.patch(f"{ORGANISATIONS}home-office/", {"name\x00": "x"})
    assert_problem(response, 400)
    assert Organisation.objects.get().name != "x"


def test_nul_in_a_nested_json_string_names_the_field(
    editor: APIClient, record: Callable[..., StatusEvent]
) -> None:
    measure = MeasureFactory.create(slug="acid")
    source = SourceFactory.create()
    response = editor.post(
        f"{API}/measures/acid/events/",
        {
            "axis": "stage",
            "value": "announced",
            "effective_on": "2018-04-09",
            "rationale": "ok",
            "citations": [
                {"source": source.pk, "quote": "ok"},
                {"source": source.pk, "quote": "\x00"},
            ],
        },
    )
    assert_validation_problem(response, pointer="#/citations/1/quote")
    assert not StatusEvent.objects.filter(measure=measure).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"slug": 12, "name": ["X"], "kind": {"k": "v"}},
        {"slug": "x" * 1000, "name": "X", "kind": "other"},
        {"slug": "x", "name": "X", "kind": "other", "url_homepage": "not a url"},
        {"slug": "x", "name": "", "kind": "other"},
        {"slug": None, "name": None, "kind": None},
    ],
)
def test_wrong_types_and_lengths_are_validation_errors(editor: APIClient, payload: dict) -> None:
    problem = assert_problem(editor.post(ORGANISATIONS, payload), 400)
    assert problem["errors"]
    assert all(error["pointer"].startswith("#/") for error in problem["errors"])
    assert not Organisation.objects.exists()


def test_write_with_a_huge_id_reference_is_a_validation_error(editor: APIClient) -> None:
    StrategyFactory.create(slug="svs")
    response = editor.post(
        f"{API}/funding-lines/",
        {
            "strategy": "svs",
            "title": "T",
            "amount": "1.00",
            "phase": "announced",
            "source": 10**30,
            "parent": -1,
            "quote": "q",
        },
    )
    problem = assert_validation_problem(response, pointer="#/source")
    assert "#/parent" in [e["pointer"] for e in problem["errors"]]


# Problem documents -----------------------------------------------------------------------


def test_problem_types_are_documented(anonymous: APIClient) -> None:
    for slug in [
        "validation-error",
        "unknown-parameter",
        "stale-version",
        "database-unavailable",
        "request-too-large",
        "conflict",
    ]:
        response = anonymous.get(f"/api/problems/{slug}/")
        assert response.status_code == 200
        assert body(response)["title"]
    assert_problem(anonymous.get("/api/problems/no-such-problem/"), 404)


def test_throttled_requests_are_429_with_retry_after(
    anonymous: APIClient, rows: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    assert anonymous.get(f"{API}/measures/").status_code == 200
    assert anonymous.get(f"{API}/measures/").status_code == 200
    response = anonymous.get(f"{API}/measures/")
    assert_problem(response, 429)
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_a_problem_names_the_request_it_answers(anonymous: APIClient) -> None:
    sent = anonymous.get(f"{API}/measures/?stagee=x", headers={"X-Request-ID": "report-me-42"})
    assert sent["X-Request-ID"] == "report-me-42"
    assert sent.json()["request_id"] == "report-me-42"
    made_up = anonymous.get(f"{API}/nothing-here/")
    assert made_up.json()["request_id"] == made_up["X-Request-ID"]
