"""Cursor pagination: following ``next`` (and ``previous``) visits every row once, in order,
on every list, whatever the ordering; the page size is capped."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.models import Measure, StatusEvent
from strategy.models import Organisation
from tests.api.conftest import API
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
)

pytestmark = pytest.mark.django_db


def walk(client: APIClient, url: str, params: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Every row reached by following ``next`` from the first page, then every row reached
    by following ``previous`` back from the last one."""
    forward: list[Any] = []
    pages: list[dict[str, Any]] = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.json()
        page = response.json()
        pages.append(page)
        forward.extend(row.get("slug", row.get("id")) for row in page["results"])
        if page["next"] is None:
            break
        assert len(pages) < 100
        response = client.get(page["next"])
    backward: list[Any] = []
    page = pages[-1]
    while page["previous"] is not None:
        response = client.get(page["previous"])
        assert response.status_code == 200, response.json()
        page = response.json()
        backward[:0] = [row.get("slug", row.get("id")) for row in page["results"]]
    backward.extend(row.get("slug", row.get("id")) for row in pages[-1]["results"])
    return forward, backward


@pytest.fixture
def lots(record: Callable[..., StatusEvent]) -> Measure:
    """Seven of everything, with ties on the orderable fields."""
    strategy = StrategyFactory.create(slug="svs", published_on=datetime.date(2018, 4, 9))
    measure = MeasureFactory.create(slug="m-00", strategy=strategy, title="Same title")
    for n in range(1, 7):
        MeasureFactory.create(slug=f"m-{n:02}", strategy=strategy, title="Same title")
        OrganisationFactory.create(name="Same name")
        StrategyFactory.create(published_on=datetime.date(2018, 4, 9))
        SourceFactory.create(published_on=None if n % 2 else datetime.date(2019, 1, n))
        FundingLineFactory.create(
            strategy=strategy,
            amount=Decimal("5.00"),
            period_start=None if n % 2 else datetime.date(2018, 4, n),
        )
    record(measure, "announced", datetime.date(2018, 4, 9))
    for day in range(10, 16):
        record(measure, "not_yet_rated", datetime.date(2018, 4, day), axis="verdict")
    return measure


@pytest.mark.parametrize(
    ("url", "ordering"),
    [
        (f"{API}/organisations/", None),
        (f"{API}/organisations/", "name"),
        (f"{API}/organisations/", "-name"),
        (f"{API}/strategies/", None),
        (f"{API}/strategies/", "published_on"),
        (f"{API}/strategies/", "-published_on"),
        (f"{API}/sources/", None),
        (f"{API}/sources/", "-published_on"),
        (f"{API}/sources/", "published_on"),
        (f"{API}/measures/", None),
        (f"{API}/measures/", "title"),
        (f"{API}/measures/", "-title,slug"),
        (f"{API}/measures/m-00/events/", None),
        (f"{API}/funding-lines/", None),
        (f"{API}/funding-lines/", "-amount"),
        (f"{API}/funding-lines/", "period_start"),
    ],
)
def test_following_links_visits_every_row_once(
    anonymous: APIClient, lots: Measure, url: str, ordering: str | None
) -> None:
    params: dict[str, Any] = {"page_size": 2}
    if ordering:
        params["ordering"] = ordering
    everything = anonymous.get(url, {**params, "page_size": 500}).json()
    expected = [row.get("slug", row.get("id")) for row in everything["results"]]
    assert everything["next"] is None
    assert len(expected) >= 6
    forward, backward = walk(anonymous, url, params)
    assert forward == expected
    assert backward == expected


def test_next_links_keep_the_filters(anonymous: APIClient, lots: Measure) -> None:
    forward, _ = walk(anonymous, f"{API}/measures/", {"page_size": 2, "q": "promised"})
    assert forward == [f"m-{n:02}" for n in range(7)]
    first = anonymous.get(f"{API}/measures/", {"page_size": "2", "strategy": "svs"}).json()
    assert "strategy=svs" in first["next"]
    assert "page_size=2" in first["next"]


def test_default_page_is_fifty(anonymous: APIClient, db: None) -> None:
    Organisation.objects.bulk_create(
        Organisation(slug=f"o-{n:03}", name=f"O {n}", kind="other") for n in range(51)
    )
    page = anonymous.get(f"{API}/organisations/").json()
    assert len(page["results"]) == 50
    assert page["next"] is not None


def test_page_size_is_capped_at_500(anonymous: APIClient, db: None) -> None:
    Organisation.objects.bulk_create(
        Organisation(slug=f"o-{n:03}", name=f"O {n}", kind="other") for n in range(501)
    )
    for size in ["500", "501", str(10**9)]:
        page = anonymous.get(f"{API}/organisations/", {"page_size": size}).json()
        assert len(page["results"]) == 500, size
        assert page["next"] is not None
        rest = anonymous.get(page["next"]).json()
        assert [row["slug"] for row in rest["results"]] == ["o-500"]
