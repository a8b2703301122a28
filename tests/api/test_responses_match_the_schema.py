"""What the server sends is what ``openapi.yaml`` documents: every read (and a few errors)
is validated against the response schema its operation declares, with data that holds
every null the API can send (a measure with no event yet, a strategy-wide funding line,
an undated source)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.models import StatusEvent
from tests.api.conftest import API, DOCUMENT, body, validate
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(record: Callable[..., StatusEvent]) -> dict[str, Any]:
    home_office = OrganisationFactory.create(slug="home-office")
    strategy = StrategyFactory.create(slug="svs", owner=home_office, source=SourceFactory.create())
    acid = MeasureFactory.create(
        slug="acid", strategy=strategy, target_on=datetime.date(2019, 1, 1)
    )
    MeasureFactory.create(slug="quiet", strategy=strategy, lead_organisation=None)
    wrong = record(acid, "legislating", datetime.date(2018, 6, 1))
    record(acid, "legislating", datetime.date(2018, 6, 20), supersedes=wrong)
    record(acid, "kept", datetime.date(2019, 1, 1), axis="verdict")
    envelope = FundingLineFactory.create(strategy=strategy, funder=home_office)
    FundingLineFactory.create(
        strategy=strategy,
        measure=acid,
        parent=envelope,
        period_start=datetime.date(2018, 4, 1),
        period_end=datetime.date(2019, 3, 31),
    )
    undated = SourceFactory.create(published_on=None)
    return {"event": wrong.pk, "line": envelope.pk, "source": undated.pk}


READS = [
    ("/api/v1/organisations/", "/api/v1/organisations/"),
    ("/api/v1/organisations/{slug}/", "/api/v1/organisations/home-office/"),
    ("/api/v1/strategies/", "/api/v1/strategies/"),
    ("/api/v1/strategies/{slug}/", "/api/v1/strategies/svs/"),
    ("/api/v1/strategies/{slug}/summary/", "/api/v1/strategies/svs/summary/"),
    ("/api/v1/strategies/{slug}/summary/", "/api/v1/strategies/svs/summary/?as_of=2018-12-31"),
    (
        "/api/v1/strategies/{slug}/diff/",
        "/api/v1/strategies/svs/diff/?from=2018-01-01&to=2020-01-01",
    ),
    ("/api/v1/sources/", "/api/v1/sources/"),
    ("/api/v1/sources/{id}/", "/api/v1/sources/{source}/"),
    ("/api/v1/measures/", "/api/v1/measures/"),
    ("/api/v1/measures/", "/api/v1/measures/?as_of=2017-01-01"),
    ("/api/v1/measures/{slug}/", "/api/v1/measures/quiet/"),
    ("/api/v1/measures/{slug}/", "/api/v1/measures/acid/?known_at=2000-01-01"),
    ("/api/v1/measures/{measure_slug}/events/", "/api/v1/measures/acid/events/"),
    ("/api/v1/measures/{measure_slug}/events/{id}/", "/api/v1/measures/acid/events/{event}/"),
    ("/api/v1/funding-lines/", "/api/v1/funding-lines/"),
    ("/api/v1/funding-lines/{id}/", "/api/v1/funding-lines/{line}/"),
]


@pytest.mark.parametrize(("template", "url"), READS)
def test_every_read_matches_its_documented_schema(
    anonymous: APIClient, data: dict[str, Any], template: str, url: str
) -> None:
    response = anonymous.get(url.format(**data))
    assert response.status_code == 200, response.content
    documented = DOCUMENT["paths"][template]["get"]["responses"]["200"]
    validate(body(response), documented["content"]["application/json"]["schema"])
    assert "ETag" in documented.get("headers", {})


def test_the_change_feed_matches_its_documented_schema(anonymous: APIClient) -> None:
    # The feed shows only finished transactions; its empty page is checked here, and its
    # items are checked through the same serializers as the reads above.
    response = anonymous.get(f"{API}/changes/")
    schema = DOCUMENT["paths"]["/api/v1/changes/"]["get"]["responses"]["200"]
    validate(body(response), schema["content"]["application/json"]["schema"])


@pytest.mark.parametrize(
    ("template", "method", "url", "status"),
    [
        ("/api/v1/measures/", "get", f"{API}/measures/?stage=nope", "400"),
        ("/api/v1/measures/{slug}/", "get", f"{API}/measures/none-such/", "404"),
        ("/api/v1/measures/", "post", f"{API}/measures/", "401"),
        ("/api/v1/measures/{slug}/", "delete", f"{API}/measures/acid/", "405"),
    ],
)
def test_problems_match_the_documented_schema(
    anonymous: APIClient, data: dict[str, Any], template: str, method: str, url: str, status: str
) -> None:
    response = getattr(anonymous, method)(url)
    assert str(response.status_code) == status
    problem = {"$ref": "#/components/schemas/Problem"}
    operation = DOCUMENT["paths"][template].get(method)
    if operation is not None:
        documented = operation["responses"][status]["content"]["application/problem+json"]
        problem = documented["schema"]
    validate(body(response), problem)


def test_a_status_that_is_null_until_the_first_event_is_documented_as_nullable() -> None:
    measure = DOCUMENT["components"]["schemas"]["Measure"]["properties"]
    for axis, enum in [
        ("stage", "StageEnum"),
        ("verdict", "VerdictEnum"),
        ("confidence", "ConfidenceEnum"),
    ]:
        assert measure[axis]["oneOf"] == [
            {"$ref": f"#/components/schemas/{enum}"},
            {"type": "null"},
        ]
