"""Input found by an adversarial probe of the API, each once a 500, a silent misreading or
an answer that was not a problem document; each is now refused with a 4xx problem, or
answered safely."""

from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient

from config.api.problems import csrf_failure
from config.middleware import StaticFilesMiddleware
from measures.models import FundingLine, StatusEvent
from strategy.models import Strategy
from tests.api.conftest import API, assert_problem, assert_validation_problem
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    StrategyFactory,
)
from tests.support import Record

pytestmark = pytest.mark.django_db


def send(client: APIClient, method: str, url: str, raw: str) -> Any:
    """``raw`` JSON as typed, escapes and all (the test client would re-encode a dict)."""
    return getattr(client, method)(url, raw.encode(), content_type="application/json")


@pytest.fixture
def objects(record: Record) -> dict[str, Any]:
    strategy = StrategyFactory.create(slug="svs")
    measure = MeasureFactory.create(slug="acid", strategy=strategy)
    event = record(measure, "announced", datetime.date(2018, 4, 9))
    envelope = FundingLineFactory.create(strategy=strategy)
    return {
        "strategy": strategy,
        "measure": measure,
        "event": event,
        "envelope": envelope,
        "source": event.citations.get().source,
    }


# A lone UTF-16 surrogate in any enum field ------------------------------------------------

LONE_SURROGATE = '"\\ud800"'


@pytest.mark.parametrize(
    ("method", "url", "raw", "pointer"),
    [
        ("post", "/organisations/", '{"slug": "x", "name": "X", "kind": %s}', "#/kind"),
        ("patch", "/organisations/{organisation}/", '{"kind": %s}', "#/kind"),
        (
            "put",
            "/sources/{source}/",
            '{"link": "https://a.example", "title": "T", "kind": %s}',
            "#/kind",
        ),
        (
            "post",
            "/measures/",
            '{"slug": "x", "strategy": "svs", "title": "T", "instrument": %s}',
            "#/instrument",
        ),
        ("patch", "/measures/acid/", '{"instrument": %s}', "#/instrument"),
        ("post", "/measures/acid/events/", '{"axis": %s, "value": "announced"}', "#/axis"),
        ("post", "/measures/acid/events/", '{"axis": "stage", "value": %s}', "#/value"),
        ("patch", "/funding-lines/{envelope}/", '{"phase": %s}', "#/phase"),
        ("patch", "/funding-lines/{envelope}/", '{"novelty": %s}', "#/novelty"),
        ("patch", "/funding-lines/{envelope}/", '{"title": "ok", "notes": {"a": %s}}', "#/notes/a"),
    ],
)
def test_a_lone_surrogate_is_refused_without_being_echoed(
    editor: APIClient, objects: dict[str, Any], method: str, url: str, raw: str, pointer: str
) -> None:
    organisation = OrganisationFactory.create()
    path = API + url.format(
        organisation=organisation.slug, source=objects["source"].pk, envelope=objects["envelope"].pk
    )
    response = send(editor, method, path, raw % LONE_SURROGATE)
    problem = assert_validation_problem(response, pointer=pointer)
    assert "surrogate" in problem["detail"]
    response.content.decode("utf-8")  # the answer is UTF-8 throughout


# Ids that are not whole numbers, or out of range ------------------------------------------


@pytest.mark.parametrize(
    "value", ["1e400", "-1e400", "52.5", '"52"', "true", "0", "-3", str(2**63), "9.3e18"]
)
@pytest.mark.parametrize(
    ("method", "url", "raw", "pointer"),
    [
        ("patch", "/funding-lines/{envelope}/", '{"source": %s}', "#/source"),
        ("patch", "/funding-lines/{envelope}/", '{"parent": %s}', "#/parent"),
        ("patch", "/strategies/svs/", '{"source": %s}', "#/source"),
        (
            "post",
            "/measures/acid/events/",
            '{"axis": "stage", "value": "legislating", "effective_on": "2018-06-20", '
            '"rationale": "r", "supersedes": %s, "citations": [{"source": {source}, "quote": "q"}]}',
            "#/supersedes",
        ),
        (
            "post",
            "/measures/acid/events/",
            '{"axis": "stage", "value": "legislating", "effective_on": "2018-06-20", '
            '"rationale": "r", "citations": [{"source": %s, "quote": "q"}]}',
            "#/citations/0/source",
        ),
    ],
)
def test_an_id_must_be_a_whole_number_from_1(
    editor: APIClient,
    objects: dict[str, Any],
    value: str,
    method: str,
    url: str,
    raw: str,
    pointer: str,
) -> None:
    path = API + url.format(envelope=objects["envelope"].pk)
    body = raw.replace("{source}", str(objects["source"].pk)) % value
    assert_validation_problem(send(editor, method, path, body), pointer=pointer)
    assert FundingLine.objects.get(pk=objects["envelope"].pk).parent is None
    assert StatusEvent.objects.count() == 1


@pytest.mark.parametrize("written", ["{pk}", "{pk}.0", "{pk}e0"])
def test_an_id_that_is_a_whole_number_still_names_its_object(
    editor: APIClient, objects: dict[str, Any], written: str
) -> None:
    """JSON has one kind of number: 52.0 is the whole number 52, as JSON Schema says."""
    source = objects["source"]
    body = '{"source": ' + written.format(pk=source.pk) + "}"
    response = send(editor, "patch", f"{API}/strategies/svs/", body)
    assert response.status_code == 200, response.json()
    assert Strategy.objects.get(slug="svs").source == source


# Dates in bodies: YYYY-MM-DD in ASCII digits, as the query filters read them ----------------


@pytest.mark.parametrize(
    "date",
    [
        "20180203",
        "2018-2-3",
        "2018-W05-6",
        "\uff12\uff10\uff11\uff18-\uff10\uff12-\uff10\uff13",
        "2018-02-03T00:00",
        "0000-01-01",
        " 2018-02-03",
    ],
)
def test_a_date_in_a_body_is_strict_iso_8601(
    editor: APIClient, objects: dict[str, Any], date: str
) -> None:
    event = {
        "axis": "stage",
        "value": "legislating",
        "effective_on": date,
        "rationale": "r",
        "citations": [{"source": objects["source"].pk, "quote": "q"}],
    }
    assert_validation_problem(
        editor.post(f"{API}/measures/acid/events/", event), pointer="#/effective_on"
    )
    line = f"{API}/funding-lines/{objects['envelope'].pk}/"
    assert_validation_problem(editor.patch(line, {"period_start": date}), pointer="#/period_start")
    assert StatusEvent.objects.count() == 1


def test_a_strict_date_is_read(editor: APIClient, objects: dict[str, Any]) -> None:
    line = f"{API}/funding-lines/{objects['envelope'].pk}/"
    response = editor.patch(line, {"period_start": "2018-04-01"})
    assert response.status_code == 200, response.json()
    assert FundingLine.objects.get(pk=objects["envelope"].pk).period_start == datetime.date(
        2018, 4, 1
    )


# CSV cells that a spreadsheet would run as formulas ----------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"]


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_no_csv_export_carries_a_formula(anonymous: APIClient, db: None) -> None:
    strategy = StrategyFactory.create(slug="svs")
    for number, formula in enumerate(FORMULAS):
        MeasureFactory.create(slug=f"m-{number}", strategy=strategy, title=formula)
        OrganisationFactory.create(slug=f"o-{number}", name=formula)
    MeasureFactory.create(slug="plain", strategy=strategy, title="A plain title - with a dash")
    measures = csv_rows(anonymous.get(f"{API}/measures/", {"format": "csv"}))
    organisations = csv_rows(anonymous.get(f"{API}/organisations/", {"format": "csv"}))
    titles = {row["slug"]: row["title"] for row in measures}
    names = {row["slug"]: row["name"] for row in organisations}
    for number, formula in enumerate(FORMULAS):
        assert titles[f"m-{number}"] == "'" + formula
        assert names[f"o-{number}"] == "'" + formula
    assert titles["plain"] == "A plain title - with a dash"
    # The JSON is the stored text, as it was written.
    assert anonymous.get(f"{API}/measures/m-0/").json()["title"] == FORMULAS[0]


# The links of a CSV row work ---------------------------------------------------------------


def test_the_links_in_a_funding_lines_csv_can_be_followed(
    anonymous: APIClient, objects: dict[str, Any]
) -> None:
    rows = csv_rows(anonymous.get(f"{API}/funding-lines/", {"format": "csv"}))
    for row in rows:
        assert "format" not in row["url"]
        path = urlsplit(row["url"]).path
        assert anonymous.get(path).status_code == 200


# The API's own next links are accepted back ------------------------------------------------


@pytest.mark.parametrize("character", ["é", "中", "😀", "\x01", '"'])
def test_every_next_link_is_accepted_back(anonymous: APIClient, db: None, character: str) -> None:
    strategy = StrategyFactory.create(slug="svs")
    for number in range(5):
        MeasureFactory.create(
            slug=f"m-{number}", strategy=strategy, title=character * 299 + str(number)
        )
    url: str | None = f"{API}/measures/?ordering=title,slug,updated_at,created_at&page_size=1"
    seen = []
    while url:
        response = anonymous.get(url)
        assert response.status_code == 200, response.json()
        seen += [row["slug"] for row in response.json()["results"]]
        url = response.json()["next"]
        if url:
            cursor = parse_qs(urlsplit(url).query)["cursor"][0]
            assert len(cursor) <= 4000
            # gunicorn refuses a request line over 4,094 bytes.
            assert len(f"GET {urlsplit(url).path}?{urlsplit(url).query} HTTP/1.1") < 4094
    assert seen == [f"m-{number}" for number in range(5)]


# Every error of the site is a problem document ----------------------------------------------


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/", "/api/schema/"])
@pytest.mark.parametrize("method", ["options", "post", "put", "delete"])
def test_the_documentation_pages_refuse_other_methods_as_problems(
    anonymous: APIClient, db: None, path: str, method: str
) -> None:
    response = getattr(anonymous, method)(path)
    assert_problem(response, 405)
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", ["/api/problems/stale-version/", "/healthz", "/readyz"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "trace"])
def test_the_read_only_pages_refuse_other_methods_as_problems(
    client: Any, db: None, path: str, method: str
) -> None:
    response = client.generic(method.upper(), path)
    assert_problem(response, 405)
    assert response["Allow"] == "GET, HEAD"


def test_a_static_file_refuses_other_methods_as_a_problem(
    tmp_path: Path, settings: Any, rf: RequestFactory
) -> None:
    (tmp_path / "site.css").write_text("body {}")
    settings.STATIC_ROOT = tmp_path
    middleware = StaticFilesMiddleware(lambda request: HttpResponse(status=404))
    assert middleware(rf.get("/static/site.css")).status_code == 200
    response = middleware(rf.post("/static/site.css"))
    assert_problem(response, 405)
    assert response["Allow"] == "GET, HEAD"


def test_a_csrf_failure_is_a_problem_outside_the_admin(rf: RequestFactory) -> None:
    api = csrf_failure(rf.post("/api/v1/organisations/"), reason="CSRF cookie not set.")
    assert_problem(api, 403)
    admin = csrf_failure(rf.post("/admin/login/"), reason="CSRF cookie not set.")
    assert admin.status_code == 403
    assert admin["Content-Type"].startswith("text/html")


# Lengths are the lengths sent --------------------------------------------------------------


@pytest.mark.parametrize("padding", [" ", "\x1e", "\u3000"])
def test_text_longer_than_the_document_allows_is_refused_before_trimming(
    editor: APIClient, db: None, padding: str
) -> None:
    """``maxLength`` counts what is sent; white space around the text is trimmed only after
    the length is checked (DRF trims first, and took 201 characters where 200 are allowed)."""
    body = {"slug": "x", "name": padding + "x" * 200, "kind": "other"}
    assert_validation_problem(editor.post(f"{API}/organisations/", body), pointer="#/name")
    body["name"] = padding + "x" * 199
    response = editor.post(f"{API}/organisations/", body)
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "x" * 199


@pytest.mark.parametrize("field", ["recipient", "funder", "measure", "parent"])
def test_an_empty_string_names_no_related_object(
    editor: APIClient, objects: dict[str, Any], field: str
) -> None:
    """DRF reads ``""`` as null for a relation; the document says a slug, an id or null."""
    line = f"{API}/funding-lines/{objects['envelope'].pk}/"
    assert_validation_problem(editor.patch(line, {field: ""}), pointer=f"#/{field}")
    assert editor.patch(line, {field: None}).status_code == 200
