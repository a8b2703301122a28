"""The record the seed files hold, read through the API as a researcher would: every
measure rated, every fact quoted, the time-travel answers the sources give, and money that
adds up."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures import money
from measures.choices import FundingPhase
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from measures.seeding import load_seeds
from tests.support import shared_rows

API = "/api/v1"
STRATEGY = "serious-violence-strategy-2018"


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with shared_rows(django_db_blocker):
        load_seeds()
        yield


@pytest.fixture
def client(seeded: None, db: None) -> APIClient:
    return APIClient()


def stage(client: APIClient, slug: str, **params: str) -> str | None:
    response = client.get(f"{API}/measures/{slug}/", params)
    assert response.status_code == 200, response.content
    return response.json()["stage"]


def all_measures(client: APIClient) -> list[dict[str, Any]]:
    return client.get(f"{API}/measures/", {"page_size": "100"}).json()["results"]


def test_at_least_twenty_measures_each_rated(client: APIClient) -> None:
    measures = all_measures(client)
    assert len(measures) >= 20
    unrated = [m["slug"] for m in measures if m["verdict"] is None or m["confidence"] is None]
    assert unrated == []
    assert all(m["stage"] is not None for m in measures)


def test_every_event_and_funding_line_quotes_its_source(client: APIClient) -> None:
    assert StatusEvent.objects.count() > 100
    unquoted = EventCitation.objects.filter(quote="").values_list("event__measure__slug", flat=True)
    assert list(unquoted) == []
    assert not StatusEvent.objects.filter(citations__isnull=True).exists()
    assert list(FundingLine.objects.filter(quote="").values_list("title", flat=True)) == []
    assert (
        list(FundingLine.objects.filter(announced_on__isnull=True).values_list("title", flat=True))
        == []
    )


def test_corrosive_sales_to_under_18s_came_into_force_on_6_april_2022(client: APIClient) -> None:
    slug = "corrosive-products-sale-to-under-18s"
    assert stage(client, slug, as_of="2022-04-01") != "in_force"
    assert stage(client, slug, as_of="2022-05-01") == "in_force"
    # Sale and delivery to under-18s reached Scotland too (SI 2022/418 reg. 2(a)).
    assert stage(client, slug, as_of="2022-05-01", extent="scotland") == "in_force"


def test_knife_crime_prevention_orders_were_piloted_in_london(client: APIClient) -> None:
    slug = "knife-crime-prevention-orders"
    area = "Metropolitan police district"
    assert stage(client, slug, as_of="2021-08-01", area=area) == "in_force"
    assert stage(client, slug, as_of="2021-08-01", extent="england") != "in_force"
    assert stage(client, slug, as_of="2021-07-04", area=area) != "in_force"
    chain = client.get(f"{API}/measures/{slug}/legislation/").json()
    pilots = [
        commencement
        for provision in chain["provisions"]
        for commencement in provision["commencements"]
        if commencement["area"] == area
    ]
    assert [(p["in_force_on"], p["ends_on"]) for p in pilots] == [("2021-07-05", "2023-03-31")]


def test_the_offence_of_carrying_corrosives_is_in_force_in_england_and_wales_only(
    client: APIClient,
) -> None:
    slug = "corrosive-substance-possession-offence"
    assert stage(client, slug, as_of="2022-05-01", extent="wales") == "in_force"
    assert stage(client, slug, as_of="2022-05-01", extent="scotland") == "enacted"


def test_the_corrected_record_keeps_what_it_corrected(client: APIClient) -> None:
    county_lines = client.get(f"{API}/measures/county-lines-and-drugs-market/events/").json()
    corrected = [e for e in county_lines["results"] if e["superseded_by"] is not None]
    assert corrected, "the misattributed quote stays in the history, corrected"
    quotes = [c["quote"] for e in corrected for c in e["citations"]]
    assert any("ease of purchasing weapons" in quote for quote in quotes)
    current = [e for e in county_lines["results"] if e["superseded_by"] is None]
    assert not any(
        "ease of purchasing weapons" in c["quote"] for e in current for c in e["citations"]
    )


@pytest.mark.parametrize("as_of", [None, "2018-04-10", "2019-01-01", "2020-06-30", "2023-01-01"])
@pytest.mark.parametrize("extent", [None, "scotland"])
def test_the_summary_never_shows_a_part_greater_than_its_whole(
    client: APIClient, as_of: str | None, extent: str | None
) -> None:
    params = {name: value for name, value in (("as_of", as_of), ("extent", extent)) if value}
    summary = client.get(f"{API}/strategies/{STRATEGY}/summary/", params).json()
    assert summary["measure_count"] >= 20
    funding = summary["funding"]
    whole = {(r["currency"], r["phase"]): Decimal(r["total"]) for r in funding["by_phase"]}
    for part in ("envelope", "drawn_from_envelope", "allocated_to_measures"):
        for row in funding[part]:
            assert Decimal(row["total"]) <= whole[(row["currency"], row["phase"])], (part, row)


def test_on_10_april_2018_the_summary_shows_only_what_had_been_announced(
    client: APIClient,
) -> None:
    day = datetime.date(2018, 4, 10)
    summary = client.get(f"{API}/strategies/{STRATEGY}/summary/", {"as_of": day.isoformat()}).json()
    announced_by_then = [
        line
        for line in FundingLine.objects.filter(strategy__slug=STRATEGY)
        if line.announced_on is not None and line.announced_on <= day
    ]
    later = FundingLine.objects.filter(strategy__slug=STRATEGY, announced_on__gt=day)
    assert announced_by_then
    assert later.exists()
    expected = money.totals(
        money.counted_lines(
            [
                money.Line(
                    line.pk,
                    line.amount,
                    line.currency,
                    line.phase,
                    line.parent_id,
                    line.realises_id,
                    line.announced_on,
                    line.measure_id is not None,
                    line.is_ceiling,
                )
                for line in FundingLine.objects.filter(strategy__slug=STRATEGY)
            ],
            day,
        ),
        FundingPhase.values,
    )
    assert summary["funding"]["by_phase"] == [
        {
            "currency": row.currency,
            "phase": row.phase,
            "total": f"{row.total:.2f}",
            "line_count": row.line_count,
            "ceiling_total": f"{row.ceiling_total:.2f}",
        }
        for row in expected
    ]
    assert sum(row["line_count"] for row in summary["funding"]["by_phase"]) == len(
        announced_by_then
    )
    # The launch's £40m is there; the doubling of the youth fund (30 July) is not yet.
    announced = {r["phase"]: Decimal(r["total"]) for r in summary["funding"]["by_phase"]}
    assert announced["announced"] >= Decimal("40000000")
    doubled = FundingLine.objects.get(strategy__slug=STRATEGY, amount=Decimal("22000000"))
    assert doubled.announced_on is not None
    assert doubled.announced_on > day


def test_the_restated_youth_fund_is_counted_once(client: APIClient) -> None:
    doubled = FundingLine.objects.get(strategy__slug=STRATEGY, amount=Decimal("22000000"))
    assert doubled.realises is not None
    assert doubled.realises.amount == Decimal("11000000")
    lines = [
        money.Line(
            line.pk,
            line.amount,
            line.currency,
            line.phase,
            line.parent_id,
            line.realises_id,
            line.announced_on,
            line.measure_id is not None,
            line.is_ceiling,
        )
        for line in FundingLine.objects.filter(strategy__slug=STRATEGY)
    ]
    counted = {item.line.id: item for item in money.counted_lines(lines)}
    assert counted[doubled.realises.pk].contribution == 0


def test_every_measure_of_the_act_shows_its_chain(client: APIClient) -> None:
    carried = Measure.objects.filter(provision_links__isnull=False).distinct()
    assert carried.count() >= 10
    for measure in carried:
        chain = client.get(f"{API}/measures/{measure.slug}/legislation/").json()
        assert chain["provisions"], measure.slug
        assert [act["slug"] for act in chain["acts"]] == ["offensive-weapons-act-2019"]
        assert chain["acts"][0]["bill"]["stages"], measure.slug
