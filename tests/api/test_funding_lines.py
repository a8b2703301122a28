"""/api/v1/funding-lines/: one money figure per row, in one phase, with its citation."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.models import FundingLine
from strategy.models import Source, Strategy
from tests.api.conftest import API, assert_problem, assert_validation_problem
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
)

pytestmark = pytest.mark.django_db

URL = f"{API}/funding-lines/"


@pytest.fixture
def strategy(db: None) -> Strategy:
    return StrategyFactory.create(slug="svs")


@pytest.fixture
def source(db: None) -> Source:
    return SourceFactory.create()


def line_body(source: Source, **overrides: Any) -> dict[str, Any]:
    return {
        "strategy": "svs",
        "title": "Early Intervention Youth Fund",
        "amount": "11000000.00",
        "phase": "announced",
        "source": source.pk,
        "quote": "£11 million",
        **overrides,
    }


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_list_shape_with_money_as_a_decimal_string(
    anonymous: APIClient, strategy: Strategy
) -> None:
    home_office = OrganisationFactory.create(slug="home-office")
    met = OrganisationFactory.create(slug="met")
    measure = MeasureFactory.create(slug="youth-fund", strategy=strategy)
    envelope = FundingLineFactory.create(strategy=strategy, amount=Decimal("40000000"))
    line = FundingLineFactory.create(
        strategy=strategy,
        measure=measure,
        parent=envelope,
        title="Youth fund",
        amount=Decimal("22000000.50"),
        phase="allocated",
        period_start=datetime.date(2018, 4, 1),
        period_end=datetime.date(2020, 3, 31),
        period_label="2018-19 and 2019-20",
        funder=home_office,
        recipient=met,
        novelty="additional",
        locator="para. 4.2",
        notes="Part of the £40m.",
    )
    response = anonymous.get(URL)
    assert ids(response) == [envelope.pk, line.pk]
    row = response.json()["results"][1]
    assert row == {
        "url": f"http://testserver/api/v1/funding-lines/{line.pk}/",
        "id": line.pk,
        "strategy": "svs",
        "measure": "youth-fund",
        "parent": envelope.pk,
        "title": "Youth fund",
        "amount": "22000000.50",
        "currency": "GBP",
        "phase": "allocated",
        "period_start": "2018-04-01",
        "period_end": "2020-03-31",
        "period_label": "2018-19 and 2019-20",
        "funder": "home-office",
        "recipient": "met",
        "announced_on": None,
        "announced_on_precision": "day",
        "realises": None,
        "is_ceiling": False,
        "novelty": "additional",
        "source": line.source_id,
        "quote": "backed with £1m",
        "locator": "para. 4.2",
        "notes": "Part of the £40m.",
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def test_every_filter(anonymous: APIClient, strategy: Strategy) -> None:
    other = StrategyFactory.create(slug="other")
    home_office = OrganisationFactory.create(slug="home-office")
    met = OrganisationFactory.create(slug="met")
    measure = MeasureFactory.create(slug="youth-fund", strategy=strategy)
    envelope = FundingLineFactory.create(
        strategy=strategy, amount=Decimal("40000000"), funder=home_office
    )
    allocated = FundingLineFactory.create(
        strategy=strategy,
        measure=measure,
        amount=Decimal("11000000"),
        phase="allocated",
        novelty="additional",
        recipient=met,
    )
    spent = FundingLineFactory.create(
        strategy=other,
        amount=Decimal("3600000"),
        phase="spent",
        currency="EUR",
        novelty="re_announced",
    )

    def query(**params: Any) -> list[int]:
        return ids(anonymous.get(URL, params))

    assert query(strategy="svs") == [envelope.pk, allocated.pk]
    assert query(measure="youth-fund") == [allocated.pk]
    assert query(strategy_wide="true") == [envelope.pk, spent.pk]
    assert query(strategy_wide="false") == [allocated.pk]
    assert query(phase=["allocated", "spent"]) == [allocated.pk, spent.pk]
    assert query(novelty="re_announced") == [spent.pk]
    assert query(funder="home-office") == [envelope.pk]
    assert query(recipient="met") == [allocated.pk]
    assert query(currency="EUR") == [spent.pk]
    assert query(min_amount="11000000") == [envelope.pk, allocated.pk]
    assert query(max_amount="11000000.00") == [allocated.pk, spent.pk]
    assert query(min_amount="1e20") == []
    assert query(ordering="-amount") == [envelope.pk, allocated.pk, spent.pk]
    assert query(ordering="amount") == [spent.pk, allocated.pk, envelope.pk]
    for name, value in [
        ("phase", "promised"),
        ("novelty", "fresh"),
        ("strategy_wide", "yes please"),
        ("min_amount", "abc"),
        ("min_amount", "NaN"),
        ("max_amount", "Infinity"),
        ("min_amount", "1e1000"),
    ]:
        assert_validation_problem(anonymous.get(URL, {name: value}), parameter=name)


def test_retrieve(anonymous: APIClient, strategy: Strategy) -> None:
    line = FundingLineFactory.create(strategy=strategy)
    response = anonymous.get(f"{URL}{line.pk}/")
    assert response.status_code == 200
    assert response.json()["amount"] == "1000000.00"
    assert response["ETag"]
    assert_problem(anonymous.get(f"{URL}{line.pk + 1000}/"), 404)
    assert_problem(anonymous.get(f"{URL}abc/"), 404)
    assert_problem(anonymous.get(f"{URL}{10**30}/"), 404)


def test_create(editor: APIClient, strategy: Strategy, source: Source) -> None:
    measure = MeasureFactory.create(slug="youth-fund", strategy=strategy)
    envelope = FundingLineFactory.create(strategy=strategy, amount=Decimal("40000000"))
    response = editor.post(
        URL,
        line_body(
            source,
            measure="youth-fund",
            parent=envelope.pk,
            period_start="2018-04-01",
            period_end="2020-03-31",
            id=1,
            created_at="2001-01-01T00:00:00Z",
        ),
    )
    assert response.status_code == 201, response.json()
    line = FundingLine.objects.get(title="Early Intervention Youth Fund")
    assert response["Location"] == f"http://testserver{URL}{line.pk}/"
    assert response["ETag"] == editor.get(response["Location"])["ETag"]
    assert (line.amount, line.measure, line.parent) == (Decimal("11000000.00"), measure, envelope)
    assert line.recorded_by is not None
    assert line.created_at.year > 2001


def test_amount_as_a_json_number_is_refused_with_the_form_to_use(
    editor: APIClient, strategy: Strategy, source: Source
) -> None:
    """A JSON number is a binary fraction: 0.1 is not a tenth, and beyond 15 digits the
    pence are lost. Money is a decimal string, as the OpenAPI document says."""
    problem = assert_validation_problem(
        editor.post(URL, line_body(source, amount=3600000.5)), pointer="#/amount"
    )
    assert "decimal string" in problem["errors"][0]["detail"]
    assert not FundingLine.objects.exists()


def test_amount_as_a_decimal_string_is_kept_to_the_penny(
    editor: APIClient, strategy: Strategy, source: Source
) -> None:
    response = editor.post(URL, line_body(source, amount="9999999999999.99"))
    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == "9999999999999.99"
    assert FundingLine.objects.get().amount == Decimal("9999999999999.99")


@pytest.mark.parametrize(
    "amount",
    [
        "-1.00",
        -1,
        "NaN",
        "Infinity",
        "-Infinity",
        "1e1000",
        "1E3",
        "abc",
        "",
        " 12.00",
        "+12.00",
        "\uff11\uff12",  # full-width digits
        None,
        "1.001",
        "1" * 20,
        12,
    ],
)
def test_invalid_amounts_are_refused(
    editor: APIClient, strategy: Strategy, source: Source, amount: Any
) -> None:
    assert_validation_problem(
        editor.post(URL, line_body(source, amount=amount)), pointer="#/amount"
    )
    assert not FundingLine.objects.exists()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e1000"])
def test_non_finite_json_numbers_are_refused(
    editor: APIClient, strategy: Strategy, source: Source, literal: str
) -> None:
    body = (
        '{"strategy": "svs", "title": "T", "phase": "announced", '
        f'"source": {source.pk}, "quote": "q", "amount": {literal}}}'
    )
    response = editor.post(URL, body, content_type="application/json")
    assert_problem(response, 400)
    assert not FundingLine.objects.exists()


def test_a_line_needs_a_quote_or_locator(
    editor: APIClient, strategy: Strategy, source: Source
) -> None:
    assert_validation_problem(editor.post(URL, line_body(source, quote="")), pointer="#/quote")


def test_a_line_cannot_fund_a_measure_of_another_strategy(
    editor: APIClient, strategy: Strategy, source: Source
) -> None:
    MeasureFactory.create(slug="elsewhere")
    assert_validation_problem(
        editor.post(URL, line_body(source, measure="elsewhere")), pointer="#/measure"
    )


def test_the_period_must_not_end_before_it_starts(
    editor: APIClient, strategy: Strategy, source: Source
) -> None:
    response = editor.post(
        URL, line_body(source, period_start="2020-04-01", period_end="2019-03-31")
    )
    assert_validation_problem(response, pointer="#/period_end")


def test_the_currency_is_an_iso_code(editor: APIClient, strategy: Strategy, source: Source) -> None:
    assert_validation_problem(
        editor.post(URL, line_body(source, currency="gbp")), pointer="#/currency"
    )


def test_patch_with_if_match(editor: APIClient, strategy: Strategy) -> None:
    line = FundingLineFactory.create(strategy=strategy)
    etag = editor.get(f"{URL}{line.pk}/")["ETag"]
    response = editor.patch(
        f"{URL}{line.pk}/", {"phase": "spent", "amount": "3600000"}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.json()
    line.refresh_from_db()
    assert (line.phase, line.amount) == ("spent", Decimal("3600000.00"))
    stale = editor.patch(f"{URL}{line.pk}/", {"amount": "1"}, headers={"If-Match": etag})
    assert_problem(stale, 412)
    line.refresh_from_db()
    assert line.amount == Decimal("3600000.00")


def test_put_with_a_stale_etag_changes_nothing(
    editor: APIClient, strategy: Strategy, source: Source
) -> None:
    line = FundingLineFactory.create(strategy=strategy, source=source)
    etag = editor.get(f"{URL}{line.pk}/")["ETag"]
    assert editor.patch(f"{URL}{line.pk}/", {"notes": "checked"}).status_code == 200
    response = editor.put(f"{URL}{line.pk}/", line_body(source), headers={"If-Match": etag})
    assert_problem(response, 412)
    line.refresh_from_db()
    assert line.title != "Early Intervention Youth Fund"


def test_put_replaces_the_line(editor: APIClient, strategy: Strategy, source: Source) -> None:
    line = FundingLineFactory.create(strategy=strategy)
    response = editor.put(
        f"{URL}{line.pk}/",
        line_body(source, amount="5.00"),
        headers={"If-Match": editor.get(f"{URL}{line.pk}/")["ETag"]},
    )
    assert response.status_code == 200, response.json()
    line.refresh_from_db()
    assert (line.title, line.amount, line.source) == (
        "Early Intervention Youth Fund",
        Decimal("5.00"),
        source,
    )


def test_an_envelope_cannot_be_drawn_from_itself(editor: APIClient, strategy: Strategy) -> None:
    envelope = FundingLineFactory.create(strategy=strategy)
    child = FundingLineFactory.create(strategy=strategy, parent=envelope)
    response = editor.patch(f"{URL}{envelope.pk}/", {"parent": child.pk})
    assert_validation_problem(response, pointer="#/parent")
    envelope.refresh_from_db()
    assert envelope.parent is None


def test_an_envelope_with_lines_drawn_from_it_cannot_change_strategy(
    editor: APIClient, strategy: Strategy
) -> None:
    StrategyFactory.create(slug="other")
    envelope = FundingLineFactory.create(strategy=strategy)
    FundingLineFactory.create(strategy=strategy, parent=envelope)
    response = editor.patch(f"{URL}{envelope.pk}/", {"strategy": "other"})
    assert_validation_problem(response, pointer="#/strategy")
    envelope.refresh_from_db()
    assert envelope.strategy == strategy
