"""The measure list and detail are read through prepared statements, one per shape of
request (``config/api/prepared.py``). Whether a shape is new, already prepared, or cannot be
prepared at all, the answer is the one the ORM gives for the request: the same bytes, page
after page, in both directions, for every filter, ordering and time-travel parameter."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.api import prepared
from config.api.prepared import NotPreparableError, PreparedReads, Statement, stand_in
from measures.models import Measure
from measures.views import MEASURE_READS

pytestmark = pytest.mark.django_db

URL = "/api/v1/measures/"

# Every shape the list's parameters make, walked page by page with small pages so that
# cursors (forward, then back) are exercised on each.
LISTS = [
    "",
    "?page_size=7",
    "?page_size=9&ordering=-slug",
    "?page_size=11&ordering=title",
    "?page_size=8&ordering=-updated_at",
    "?page_size=8&ordering=created_at",
    "?page_size=5&stage=enacted&stage=in_force",
    "?page_size=6&strategy=serious-violence-strategy-2018",
    "?page_size=4&q=knife",
    "?page_size=4&q=knives&ordering=relevance",
    "?page_size=3&q=corrosve&ordering=-relevance",
    "?page_size=10&as_of=2019-06-30",
    "?page_size=10&as_of=2021-06-30&stage=in_force",
    "?page_size=10&known_at=2025-01-01T00:00:00Z",
    "?page_size=10&extent=scotland&as_of=2021-06-30",
    "?page_size=10&area=Metropolitan%20police%20district",
    "?page_size=10&overdue=true",
    "?page_size=10&verdict=kept&confidence=green&confidence=amber",
    "?page_size=10&instrument=legislation&target_after=2018-01-01",
    "?page_size=10&updated_since=2018-01-01T00:00:00Z",
]


@pytest.fixture
def seeded(seeds_for_the_module: None, db: None) -> None:
    pass


def walk(client: APIClient, url: str) -> list[tuple[int, bytes]]:
    """Every page from ``url`` by its ``next`` links, then back by ``previous`` links."""
    answers = []
    response = client.get(url)
    forward = [response]
    while response.status_code == 200 and response.json()["next"]:
        response = client.get(response.json()["next"])
        forward.append(response)
    backward = []
    while response.status_code == 200 and response.json()["previous"]:
        response = client.get(response.json()["previous"])
        backward.append(response)
    for response in forward + backward:
        answers.append((response.status_code, response.content))
    return answers


@pytest.mark.parametrize("query", LISTS)
def test_pages_are_the_orms_whether_prepared_new_or_known(
    seeded: None, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = APIClient()
    MEASURE_READS.clear()
    new = walk(client, URL + query)
    known = walk(client, URL + query)
    with monkeypatch.context() as patch:
        patch.setattr(PreparedReads, "prepare", lambda self, *args, **kwargs: None)
        built = walk(client, URL + query)
    assert new == known == built
    assert all(status == 200 for status, _ in new)
    if query.startswith("?page_size"):
        assert len(new) > 1 or b'"next":null' in new[0][1]


def test_details_are_the_orms_whether_prepared_new_or_known(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = APIClient()
    slugs = list(Measure.objects.order_by("slug").values_list("slug", flat=True))
    queries = ["", "?as_of=2019-06-30", "?known_at=2024-06-01", "?extent=scotland"]
    MEASURE_READS.clear()

    def read_all() -> list[tuple[int, bytes, str]]:
        answers = []
        for query in queries:
            for slug in slugs:
                response = client.get(f"{URL}{slug}/{query}")
                answers.append((response.status_code, response.content, response["ETag"]))
        return answers

    new = read_all()
    known = read_all()
    with monkeypatch.context() as patch:
        patch.setattr(PreparedReads, "prepare", lambda self, *args, **kwargs: None)
        built = read_all()
    assert new == known == built
    assert {status for status, _, _ in new} == {200}


def test_errors_are_the_same_on_a_known_shape(seeded: None) -> None:
    """A shape is only kept once its parameters passed every check, and the cursor, the one
    value it does not hold, is checked on every request."""
    client = APIClient()
    MEASURE_READS.clear()
    for _ in range(2):
        assert client.get(URL + "?stage=nonsense").status_code == 400
        assert client.get(URL + "?page_size=0").status_code == 400
        assert client.get(URL + "?as_of=2019-13-01").status_code == 400
        assert client.get(URL + "?cursor=!!").status_code == 400
        forged = "WzEsWyJhIl1d"  # [1,["a"]]: not a cursor (reverse is not a boolean)
        assert client.get(URL + f"?cursor={forged}").status_code == 404
        assert client.get(URL + "does-not-exist/").status_code == 404


def test_a_known_detail_is_one_prepared_statement(seeded: None) -> None:
    client = APIClient()
    slug = Measure.objects.order_by("slug").values_list("slug", flat=True).first()
    for _ in range(3):
        client.get(f"{URL}{slug}/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{URL}{slug}/").status_code == 200
    assert len(queries) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")
        assert cursor.fetchone()[0] >= 1


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


def test_a_search_is_planned_for_its_words_each_time(seeded: None) -> None:
    """A search's statement is compiled once but bound on the client, so PostgreSQL plans
    every request with the words (a generic plan of a prepared statement cannot see them);
    a page without a search is a prepared statement of the connection."""
    client = APIClient()
    MEASURE_READS.clear()
    before = set(prepared_statements())
    for _ in range(7):
        assert client.get(URL + "?q=knife").status_code == 200
    searched = [s for s in MEASURE_READS._statements.values() if s is not None]
    assert len(searched) == 1
    assert searched[0].on_server is False
    assert set(prepared_statements()) == before
    for _ in range(3):
        assert client.get(URL + "?stage=enacted").status_code == 200
    added = set(prepared_statements()) - before
    assert len(added) == 1
    assert '"measures_measure"."stage"' in added.pop()


def test_a_statement_runs_with_each_requests_values(seeded: None) -> None:
    reads = PreparedReads()
    values = {"slug": "x", "since": datetime.date(2019, 1, 1)}

    def build(slots: Any) -> Any:
        return (
            Measure.objects.filter(slug__gt=slots["slug"], target_on__gte=slots["since"])
            .order_by("slug")
            .values("slug")[:3]
        )

    statement = reads.prepare("shape", build, values)
    assert isinstance(statement, Statement)
    for slug, since in [("a", datetime.date(2000, 1, 1)), ("m", datetime.date(2019, 6, 1))]:
        given = {"slug": slug, "since": since}
        assert statement.rows(given) == list(build(given))
    assert reads.prepare("shape", build, values) is statement


def test_a_value_the_sql_does_not_carry_as_a_parameter_is_not_prepared(seeded: None) -> None:
    reads = PreparedReads()
    # A slice's bounds are written into the SQL text, not passed as parameters.
    statement = reads.prepare(
        "sliced", lambda slots: Measure.objects.values("slug")[: slots["n"]], {"n": 3}
    )
    assert statement is None
    with pytest.raises(NotPreparableError):
        Statement.compile(Measure.objects.values("slug")[:3], {"n": stand_in(3, 0)}, None)


def test_shapes_are_bounded(seeded: None, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = PreparedReads(max_shapes=3)
    for n in range(10):
        reads.prepare(
            n, lambda slots: Measure.objects.filter(slug=slots["s"]).values("slug"), {"s": "a"}
        )
    assert len(reads._statements) == 3
    assert prepared.MAX_SHAPES >= 100


def test_stand_ins_refuse_what_cannot_be_a_slot() -> None:
    for value in (True, None, b"bytes"):
        with pytest.raises(TypeError):
            stand_in(value, 0)
    day = stand_in(datetime.date(2020, 1, 1), 3)
    instant = stand_in(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC), 3)
    assert type(day) is datetime.date
    assert type(instant) is datetime.datetime


@pytest.mark.parametrize("text", ["the", "-", '""', "OR"])
def test_a_search_that_can_match_nothing_is_an_empty_page_every_time(
    seeded: None, text: str
) -> None:
    """A search of no words compiles to no SQL at all: the shape is not prepared, and the
    ORM answers an empty page on the first request and on every later one."""
    client = APIClient()
    MEASURE_READS.clear()
    answers = [client.get(URL, {"q": text}) for _ in range(3)]
    assert [response.status_code for response in answers] == [200, 200, 200]
    assert {response.content for response in answers} == {answers[0].content}
