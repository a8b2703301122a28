"""Shared helpers of the API tests: clients for each kind of caller, and the assertion that
an answer is an RFC 9457 problem."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.http import HttpResponseBase

# jsonschema (from the dev tools) ships no type information.
from jsonschema import Draft202012Validator, FormatChecker
from rest_framework.test import APIClient

from measures.models import Measure
from tests.factories import (
    MeasureFactory,
    OrganisationFactory,
    StrategyFactory,
    TokenFactory,
    UserFactory,
)
from tests.support import WRITE_PERMISSIONS, Record, grant, openapi_document

API = "/api/v1"
PROBLEM = "application/problem+json"

ClientFor = Callable[..., APIClient]


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Throttle counters live in the cache; each test starts with none spent."""
    cache.clear()
    yield
    cache.clear()


def new_client(token: str | None = None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return new_client()


@pytest.fixture
def client_for(db: None) -> ClientFor:
    """A client authenticated by token as a new user holding ``permissions``."""

    def _client_for(*permissions: str, **user_fields: Any) -> APIClient:
        user = UserFactory.create(**user_fields)
        grant(user, *permissions)
        return new_client(TokenFactory.create(user=user).key)

    return _client_for


@pytest.fixture
def editor(client_for: ClientFor) -> APIClient:
    """A researcher allowed to add and change everything the API lets anyone write."""
    return client_for(*WRITE_PERMISSIONS)


def body(response: HttpResponseBase) -> Any:
    content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    return json.loads(content)


def assert_problem(response: HttpResponseBase, status: int) -> dict[str, Any]:
    """The answer is a problem details document with ``status``; returns it."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b""))
    assert response["Content-Type"].split(";")[0] == PROBLEM
    problem = body(response)
    assert {"type", "title", "status", "detail"} <= set(problem), problem
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    return problem


def assert_validation_problem(
    response: HttpResponseBase, *, pointer: str | None = None, parameter: str | None = None
) -> dict[str, Any]:
    """A 400 naming the invalid body field (JSON ``pointer``) or query ``parameter``."""
    problem = assert_problem(response, 400)
    errors = problem.get("errors")
    assert errors, problem
    if pointer is not None:
        assert pointer in [e.get("pointer") for e in errors], errors
    if parameter is not None:
        assert parameter in [e.get("parameter") for e in errors], errors
    return problem


# The committed OpenAPI document, to check responses against what it promises.
DOCUMENT = openapi_document()

# Formats are checked, not only annotated: a blank link must match the schema's "blank"
# branch and not also its "uri" one.
FORMATS = FormatChecker()


@FORMATS.checks("uri")
def is_absolute_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


@FORMATS.checks("date", raises=ValueError)
def is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(datetime.date.fromisoformat(value))


@FORMATS.checks("date-time", raises=ValueError)
def is_instant(value: object) -> bool:
    return not isinstance(value, str) or bool(datetime.datetime.fromisoformat(value).tzinfo)


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Validate against a schema of the document, its ``$ref``s resolved within it."""
    validator = Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]}, format_checker=FORMATS
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


@pytest.fixture
def acid_and_knives(record: Record) -> list[Measure]:
    """Two measures of one strategy: "acid", led by the Home Office, with a target date and
    two stage events; "knives", led by nobody, announced."""
    home_office = OrganisationFactory.create(slug="home-office", name="Home Office")
    strategy = StrategyFactory.create(slug="svs", title="Serious Violence Strategy")
    acid = MeasureFactory.create(
        slug="acid",
        strategy=strategy,
        title='Acid, "corrosive" substances',
        lead_organisation=home_office,
        target_on=datetime.date(2019, 12, 31),
    )
    knives = MeasureFactory.create(slug="knives", strategy=strategy, lead_organisation=None)
    record(acid, "announced", datetime.date(2018, 4, 9))
    record(acid, "legislating", datetime.date(2018, 6, 20))
    record(knives, "announced", datetime.date(2018, 4, 9))
    return [acid, knives]
