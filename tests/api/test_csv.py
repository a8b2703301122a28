"""CSV as an alternative representation of every list: ``?format=csv`` or
``Accept: text/csv``, the same filters and ordering, every row (no pages)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.models import Measure
from tests.api.conftest import API, assert_problem, assert_validation_problem
from tests.factories import (
    FundingLineFactory,
    OrganisationFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


def table(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def header(response: Any) -> list[str]:
    text = b"".join(response.streaming_content).decode()
    return next(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "ask",
    [{"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}],
    ids=["format", "accept"],
)
def test_measures_as_csv(anonymous: APIClient, acid_and_knives: list[Measure], ask: dict) -> None:
    response = anonymous.get(f"{API}/measures/", ask.get("params"), headers=ask.get("headers"))
    assert response["Content-Disposition"] == 'attachment; filename="measures.csv"'
    rows = table(response)
    assert [row["slug"] for row in rows] == ["acid", "knives"]
    acid = rows[0]
    assert acid["title"] == 'Acid, "corrosive" substances'
    assert (acid["strategy.slug"], acid["strategy.title"]) == ("svs", "Serious Violence Strategy")
    assert (acid["lead_organisation.slug"], acid["lead_organisation.name"]) == (
        "home-office",
        "Home Office",
    )
    assert (acid["stage"], acid["stage_since"], acid["target_on"], acid["is_overdue"]) == (
        "legislating",
        "2018-06-20",
        "2019-12-31",
        "true",
    )
    assert rows[1]["lead_organisation.slug"] == ""
    assert rows[1]["verdict"] == ""


def test_measures_csv_takes_the_same_filters(
    anonymous: APIClient, acid_and_knives: list[Measure]
) -> None:
    def slugs(**params: Any) -> list[str]:
        return [
            row["slug"]
            for row in table(anonymous.get(f"{API}/measures/", {"format": "csv", **params}))
        ]

    assert slugs(stage="legislating") == ["acid"]
    assert slugs(stage="announced") == ["knives"]
    assert slugs(as_of="2018-05-01", stage="announced") == ["acid", "knives"]
    assert slugs(q="corrosive") == ["acid"]
    assert slugs(lead_organisation="home-office") == ["acid"]
    assert slugs(ordering="-slug") == ["knives", "acid"]
    assert slugs(overdue="true") == ["acid"]
    assert slugs(strategy="other") == []


def test_measures_csv_as_of_gives_the_historical_status(
    anonymous: APIClient, acid_and_knives: list[Measure]
) -> None:
    rows = table(anonymous.get(f"{API}/measures/", {"format": "csv", "as_of": "2018-05-01"}))
    assert (rows[0]["stage"], rows[0]["stage_since"]) == ("announced", "2018-04-09")
    rows = table(anonymous.get(f"{API}/measures/", {"format": "csv", "as_of": "2017-01-01"}))
    assert [row["stage"] for row in rows] == ["", ""]


def test_csv_has_no_pages(anonymous: APIClient, db: None) -> None:
    OrganisationFactory.create_batch(60)
    rows = table(anonymous.get(f"{API}/organisations/", {"format": "csv"}))
    assert len(rows) == 60


def test_an_empty_export_keeps_its_header(anonymous: APIClient, db: None) -> None:
    for url, column in [
        (f"{API}/measures/", "lead_organisation.slug"),
        (f"{API}/organisations/", "url_homepage"),
        (f"{API}/strategies/", "measure_count"),
        (f"{API}/sources/", "link"),
        (f"{API}/funding-lines/", "amount"),
    ]:
        response = anonymous.get(url, {"format": "csv"})
        assert response.status_code == 200
        assert column in header(response), url


def test_other_lists_as_csv_with_filters(
    anonymous: APIClient, acid_and_knives: list[Measure]
) -> None:
    strategy = acid_and_knives[0].strategy
    FundingLineFactory.create(strategy=strategy, amount=Decimal("40000000"), phase="announced")
    FundingLineFactory.create(strategy=strategy, amount=Decimal("3600000.5"), phase="spent")
    SourceFactory.create(kind="news", title="ITV report")

    lines = table(anonymous.get(f"{API}/funding-lines/", {"format": "csv", "phase": "spent"}))
    assert [(row["amount"], row["strategy"]) for row in lines] == [("3600000.50", "svs")]
    sources = table(
        anonymous.get(f"{API}/sources/", {"kind": "news"}, headers={"Accept": "text/csv"})
    )
    assert [row["title"] for row in sources] == ["ITV report"]
    strategies = table(anonymous.get(f"{API}/strategies/", {"format": "csv"}))
    assert [(row["slug"], row["measure_count"], row["owner"]) for row in strategies] == [
        ("svs", "2", strategy.owner.slug)
    ]
    organisations = table(anonymous.get(f"{API}/organisations/", {"format": "csv", "q": "home"}))
    assert [row["slug"] for row in organisations] == ["home-office"]


def test_events_as_csv(anonymous: APIClient, acid_and_knives: list[Measure]) -> None:
    rows = table(anonymous.get(f"{API}/measures/acid/events/", {"format": "csv"}))
    assert [(row["value"], row["effective_on"]) for row in rows] == [
        ("legislating", "2018-06-20"),
        ("announced", "2018-04-09"),
    ]
    assert rows[0]["citations"].startswith("[{")
    rows = table(
        anonymous.get(
            f"{API}/measures/acid/events/", {"format": "csv", "effective_before": "2018-05-01"}
        )
    )
    assert [row["value"] for row in rows] == ["announced"]


def test_csv_errors_are_problem_json(anonymous: APIClient, acid_and_knives: list[Measure]) -> None:
    assert_validation_problem(
        anonymous.get(f"{API}/measures/", {"format": "csv", "stage": "nope"}), parameter="stage"
    )
    assert_validation_problem(
        anonymous.get(f"{API}/measures/", {"as_of": "2019-13-45"}, headers={"Accept": "text/csv"}),
        parameter="as_of",
    )
    assert_problem(anonymous.get(f"{API}/measures/acid/", headers={"Accept": "text/csv"}), 406)
