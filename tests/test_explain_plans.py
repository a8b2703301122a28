"""The hot measure reads use indexes: no sequential scan of measures or status events in
their query plans (issue 6), on a generated dataset of 20,000 measures and ~105,000 events.

Each read goes through the API itself (the view's ``get_queryset``, filters, ordering and
cursor pagination, and for ``as_of`` the view's ``with_history`` annotations), so the SQL
checked is exactly what the product runs; every statement of the request that reads one
of the two tables is then run again under ``EXPLAIN (FORMAT JSON)``.

A failure names the table, the node and its filter or sort: the index to add is the one
that serves that condition (see bench/README.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.generate import generate
from config.api.pagination import KeysetCursor, encode_position
from tests.support import shared_rows

pytestmark = pytest.mark.slow

MEASURES = 20_000
WATCHED = ("measures_measure", "measures_statusevent")
AS_OF = "2021-06-30"


@pytest.fixture(scope="module")
def dataset(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """The generated data, analysed, inside a transaction rolled back after the module."""
    with shared_rows(django_db_blocker):
        connection.ensure_connection()
        generate(connection.connection, measures=MEASURES, seed=6, progress=False)
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE measures_measure, measures_statusevent, measures_eventcitation, "
                "measures_fundingline, strategy_strategy, strategy_organisation"
            )
            cursor.execute(
                "SELECT slug FROM measures_measure ORDER BY slug OFFSET %s LIMIT 1",
                [MEASURES * 4 // 5],
            )
            (deep_slug,) = cursor.fetchone()
            cursor.execute(
                """SELECT s.slug, m.stage FROM measures_measure m
                JOIN strategy_strategy s ON s.id = m.strategy_id
                WHERE m.stage IS NOT NULL
                GROUP BY s.slug, m.stage ORDER BY count(*) DESC, 1, 2 LIMIT 1"""
            )
            strategy, stage = cursor.fetchone()
        yield {"deep_slug": deep_slug, "strategy": strategy, "stage": stage}


def cursor_for(slug: str) -> str:
    """The cursor the API writes for the page after ``slug`` (ordering by slug)."""
    return encode_position(KeysetCursor((slug,), reverse=False))


def sequential_scans(plan: dict[str, Any]) -> list[str]:
    """Every ``Seq Scan`` node of the plan on a watched table, described."""
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in WATCHED:
        condition = plan.get("Filter", "no filter")
        found.append(f"Seq Scan on {plan['Relation Name']} ({condition})")
    for child in plan.get("Plans", []):
        found.extend(sequential_scans(child))
    return found


def explain(sql: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        (document,) = cursor.fetchone()
    plans = json.loads(document) if isinstance(document, str) else document
    return plans[0]["Plan"]


def url_for(name: str, data: dict[str, str]) -> str:
    return {
        "first page": "/api/v1/measures/",
        "deep cursor page": f"/api/v1/measures/?cursor={cursor_for(data['deep_slug'])}",
        "stage + strategy page": "/api/v1/measures/?"
        + urlencode({"stage": data["stage"], "strategy": data["strategy"]}),
        "as_of page": f"/api/v1/measures/?as_of={AS_OF}",
        # The search reads the text search's index, and for typos the trigram one. (A word
        # in a fifth of the rows, ordered by relevance, is read whole: that is the cheaper
        # plan for so common a word.)
        "search page": "/api/v1/measures/?q=knife",
        "search by relevance page": "/api/v1/measures/?q=zombie+knuckle&ordering=relevance",
        "typo search page": "/api/v1/measures/?q=zombei+corrosve",
    }[name]


@pytest.mark.parametrize(
    "name",
    [
        "first page",
        "deep cursor page",
        "stage + strategy page",
        "as_of page",
        "search page",
        "search by relevance page",
        "typo search page",
    ],
)
@pytest.mark.django_db
def test_measure_page_reads_no_table_sequentially(name: str, dataset: dict[str, str]) -> None:
    client = Client()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url_for(name, dataset))
    assert response.status_code == 200, response.content[:500]
    assert len(response.json()["results"]) > 0
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].lstrip().upper().startswith("SELECT")
        and any(table in query["sql"] for table in WATCHED)
    ]
    assert statements, "the page read no measures"
    problems = []
    for sql in statements:
        plan = explain(sql)
        for scan in sequential_scans(plan):
            problems.append(f"{scan}\n  in: {sql}\n  plan: {json.dumps(plan)[:3000]}")
    assert not problems, "\n\n".join(problems)
