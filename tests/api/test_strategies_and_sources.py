"""/api/v1/strategies/ and /api/v1/sources/: list, filters, read, create and update."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from strategy.models import Source, Strategy
from tests.api.conftest import API, assert_problem, assert_validation_problem
from tests.factories import MeasureFactory, OrganisationFactory, SourceFactory, StrategyFactory

pytestmark = pytest.mark.django_db

STRATEGIES = f"{API}/strategies/"
SOURCES = f"{API}/sources/"


def slugs(response: object) -> list[str]:
    return [row["slug"] for row in response.json()["results"]]  # type: ignore[attr-defined]


# Strategies ------------------------------------------------------------------------------


def test_strategy_list_counts_measures(anonymous: APIClient) -> None:
    home_office = OrganisationFactory.create(slug="home-office")
    source = SourceFactory.create()
    svs = StrategyFactory.create(
        slug="svs",
        title="Serious Violence Strategy",
        owner=home_office,
        published_on=datetime.date(2018, 4, 9),
        url="https://www.gov.uk/svs",
        source=source,
        source_quote="published on 9 April",
    )
    MeasureFactory.create_batch(3, strategy=svs)
    StrategyFactory.create(slug="other")
    response = anonymous.get(STRATEGIES)
    assert response.status_code == 200
    assert slugs(response) == ["other", "svs"]
    row = response.json()["results"][1]
    assert row == {
        "url": "http://testserver/api/v1/strategies/svs/",
        "slug": "svs",
        "title": "Serious Violence Strategy",
        "owner": "home-office",
        "published_on": "2018-04-09",
        "summary": "A plan.",
        "page": "https://www.gov.uk/svs",
        "source": source.pk,
        "source_quote": "published on 9 April",
        "measure_count": 3,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def test_strategy_filters(anonymous: APIClient) -> None:
    home_office = OrganisationFactory.create(slug="home-office")
    StrategyFactory.create(slug="a", owner=home_office, published_on=datetime.date(2018, 4, 9))
    StrategyFactory.create(slug="b", published_on=datetime.date(2020, 1, 1))
    StrategyFactory.create(slug="c", owner=home_office, published_on=datetime.date(2022, 1, 1))
    assert slugs(anonymous.get(STRATEGIES, {"owner": "home-office"})) == ["a", "c"]
    assert slugs(anonymous.get(STRATEGIES, {"published_after": "2020-01-01"})) == ["b", "c"]
    assert slugs(anonymous.get(STRATEGIES, {"published_before": "2020-01-01"})) == ["a", "b"]
    assert slugs(anonymous.get(STRATEGIES, {"ordering": "-published_on"})) == ["c", "b", "a"]
    assert_validation_problem(
        anonymous.get(STRATEGIES, {"published_after": "2020-02-30"}), parameter="published_after"
    )


def test_strategy_retrieve_and_404(anonymous: APIClient) -> None:
    StrategyFactory.create(slug="svs")
    response = anonymous.get(f"{STRATEGIES}svs/")
    assert response.status_code == 200
    assert response.json()["measure_count"] == 0
    assert_problem(anonymous.get(f"{STRATEGIES}nope/"), 404)


def test_strategy_create(editor: APIClient) -> None:
    OrganisationFactory.create(slug="home-office")
    response = editor.post(
        STRATEGIES,
        {
            "slug": "modern-slavery",
            "title": "Modern Slavery Strategy",
            "owner": "home-office",
            "published_on": "2014-11-29",
            "measure_count": 99,
        },
    )
    assert response.status_code == 201, response.json()
    assert response["Location"] == "http://testserver/api/v1/strategies/modern-slavery/"
    assert response["ETag"]
    assert response.json()["measure_count"] == 0
    assert Strategy.objects.get(slug="modern-slavery").owner.slug == "home-office"


def test_strategy_create_with_unknown_owner_names_the_field(editor: APIClient) -> None:
    response = editor.post(
        STRATEGIES,
        {"slug": "x", "title": "X", "owner": "nobody", "published_on": "2014-11-29"},
    )
    assert_validation_problem(response, pointer="#/owner")


def test_strategy_patch_keeps_its_slug(editor: APIClient) -> None:
    StrategyFactory.create(slug="svs", title="Old")
    response = editor.patch(f"{STRATEGIES}svs/", {"title": "New"})
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "New"
    assert_validation_problem(editor.patch(f"{STRATEGIES}svs/", {"slug": "new"}), pointer="#/slug")
    assert Strategy.objects.get().slug == "svs"


def test_strategy_put(editor: APIClient) -> None:
    strategy = StrategyFactory.create(slug="svs")
    other = OrganisationFactory.create(slug="cabinet-office")
    response = editor.put(
        f"{STRATEGIES}svs/",
        {
            "slug": "svs",
            "title": "Renamed",
            "owner": "cabinet-office",
            "published_on": "2018-04-09",
        },
    )
    assert response.status_code == 200, response.json()
    strategy.refresh_from_db()
    assert (strategy.title, strategy.owner) == ("Renamed", other)


# Sources ---------------------------------------------------------------------------------


def test_source_list_newest_first_and_shape(anonymous: APIClient) -> None:
    old = SourceFactory.create(title="Old", url="https://example.org/old")
    new = SourceFactory.create(
        title="Offensive Weapons Act 2019",
        url="https://www.legislation.gov.uk/ukpga/2019/17",
        publisher="legislation.gov.uk",
        kind="legislation",
        published_on=datetime.date(2019, 5, 16),
        external_id="http://www.legislation.gov.uk/id/ukpga/2019/17",
    )
    response = anonymous.get(SOURCES)
    assert [row["id"] for row in response.json()["results"]] == [new.pk, old.pk]
    row = response.json()["results"][0]
    assert row == {
        "url": f"http://testserver/api/v1/sources/{new.pk}/",
        "id": new.pk,
        "link": "https://www.legislation.gov.uk/ukpga/2019/17",
        "title": "Offensive Weapons Act 2019",
        "publisher": "legislation.gov.uk",
        "kind": "legislation",
        "published_on": "2019-05-16",
        "archived_url": "",
        "external_id": "http://www.legislation.gov.uk/id/ukpga/2019/17",
        "note": "",
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def test_source_filters(anonymous: APIClient) -> None:
    itv = SourceFactory.create(
        title="ITV report",
        publisher="ITV News",
        kind="news",
        published_on=datetime.date(2018, 4, 9),
    )
    act = SourceFactory.create(
        title="Offensive Weapons Act",
        url="https://www.legislation.gov.uk/ukpga/2019/17",
        publisher="legislation.gov.uk",
        kind="legislation",
        published_on=datetime.date(2019, 5, 16),
    )
    undated = SourceFactory.create(title="Undated", kind="other", published_on=None)

    def ids(**params: Any) -> list[int]:
        response = anonymous.get(SOURCES, params)
        assert response.status_code == 200, response.json()
        return sorted(row["id"] for row in response.json()["results"])

    assert ids(kind=["news", "other"]) == sorted([itv.pk, undated.pk])
    assert ids(publisher="itv") == [itv.pk]
    assert ids(published_after="2019-01-01") == [act.pk]
    assert ids(published_before="2019-01-01") == [itv.pk]
    assert ids(q="offensive") == [act.pk]
    assert ids(q="legislation.gov.uk/ukpga") == [act.pk]
    assert ids(ordering="id") == sorted([itv.pk, act.pk, undated.pk])
    assert_validation_problem(anonymous.get(SOURCES, {"kind": "rumour"}), parameter="kind")


def test_source_create_and_update(editor: APIClient) -> None:
    response = editor.post(
        SOURCES,
        {
            "link": "https://www.gov.uk/government/news/x",
            "title": "Press release",
            "kind": "government",
            "id": 999_999,
        },
    )
    assert response.status_code == 201, response.json()
    source = Source.objects.get()
    assert source.pk != 999_999
    assert response["Location"] == f"http://testserver/api/v1/sources/{source.pk}/"
    assert response["ETag"] == editor.get(response["Location"])["ETag"]
    response = editor.patch(response["Location"], {"publisher": "Home Office"})
    assert response.status_code == 200, response.json()
    source.refresh_from_db()
    assert source.publisher == "Home Office"


def test_source_with_a_url_already_recorded_is_refused(editor: APIClient) -> None:
    SourceFactory.create(url="https://example.org/a")
    response = editor.post(SOURCES, {"link": "https://example.org/a", "title": "Again"})
    assert_validation_problem(response, pointer="#/link")
