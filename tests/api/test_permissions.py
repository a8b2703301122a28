"""Who may do what: reads are public; each write needs a valid token of an active user who
holds the model permission for it; nothing is ever deleted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.models import FundingLine, Measure, StatusEvent
from strategy.models import Organisation, Source, Strategy
from tests.api.conftest import API, ClientFor, assert_problem, new_client
from tests.factories import TokenFactory, UserFactory
from tests.support import READ_ONLY_PERMISSIONS, WRITE_PERMISSIONS, OneOfEachKind, grant

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Write:
    """One write operation: method, path and a valid body, the permission it needs and the
    status it answers when allowed."""

    name: str
    method: str
    path: Callable[[OneOfEachKind], str]
    body: Callable[[OneOfEachKind], dict[str, Any]]
    permission: str
    success: int


def measure_body(o: OneOfEachKind) -> dict[str, Any]:
    return {"slug": "knives", "strategy": "svs", "title": "Knife sales", "instrument": "guidance"}


def line_body(o: OneOfEachKind) -> dict[str, Any]:
    return {
        "strategy": "svs",
        "title": "Youth fund",
        "amount": "11000000.00",
        "phase": "announced",
        "source": o.source.pk,
        "quote": "£11m",
    }


WRITES = [
    Write(
        "create organisation",
        "post",
        lambda o: f"{API}/organisations/",
        lambda o: {"slug": "hmt", "name": "HM Treasury", "kind": "department"},
        "strategy.add_organisation",
        201,
    ),
    Write(
        "replace organisation",
        "put",
        lambda o: f"{API}/organisations/home-office/",
        lambda o: {"slug": "home-office", "name": "The Home Office", "kind": "department"},
        "strategy.change_organisation",
        200,
    ),
    Write(
        "patch organisation",
        "patch",
        lambda o: f"{API}/organisations/home-office/",
        lambda o: {"name": "The Home Office"},
        "strategy.change_organisation",
        200,
    ),
    Write(
        "create strategy",
        "post",
        lambda o: f"{API}/strategies/",
        lambda o: {
            "slug": "new",
            "title": "New",
            "owner": "home-office",
            "published_on": "2020-01-01",
        },
        "strategy.add_strategy",
        201,
    ),
    Write(
        "replace strategy",
        "put",
        lambda o: f"{API}/strategies/svs/",
        lambda o: {
            "slug": "svs",
            "title": "Renamed",
            "owner": "home-office",
            "published_on": "2018-04-09",
        },
        "strategy.change_strategy",
        200,
    ),
    Write(
        "patch strategy",
        "patch",
        lambda o: f"{API}/strategies/svs/",
        lambda o: {"title": "Renamed"},
        "strategy.change_strategy",
        200,
    ),
    Write(
        "create source",
        "post",
        lambda o: f"{API}/sources/",
        lambda o: {"link": "https://example.org/new", "title": "New"},
        "strategy.add_source",
        201,
    ),
    Write(
        "replace source",
        "put",
        lambda o: f"{API}/sources/{o.source.pk}/",
        lambda o: {"link": "https://example.org/moved", "title": "Moved"},
        "strategy.change_source",
        200,
    ),
    Write(
        "patch source",
        "patch",
        lambda o: f"{API}/sources/{o.source.pk}/",
        lambda o: {"title": "Renamed"},
        "strategy.change_source",
        200,
    ),
    Write(
        "create measure",
        "post",
        lambda o: f"{API}/measures/",
        measure_body,
        "measures.add_measure",
        201,
    ),
    Write(
        "replace measure",
        "put",
        lambda o: f"{API}/measures/acid/",
        lambda o: {**measure_body(o), "slug": "acid"},
        "measures.change_measure",
        200,
    ),
    Write(
        "patch measure",
        "patch",
        lambda o: f"{API}/measures/acid/",
        lambda o: {"title": "Renamed"},
        "measures.change_measure",
        200,
    ),
    Write(
        "record event",
        "post",
        lambda o: f"{API}/measures/acid/events/",
        lambda o: {
            "axis": "stage",
            "value": "legislating",
            "effective_on": "2018-06-20",
            "rationale": "Bill introduced.",
            "citations": [{"source": o.source.pk, "locator": "col. 1"}],
        },
        "measures.add_statusevent",
        201,
    ),
    Write(
        "create funding line",
        "post",
        lambda o: f"{API}/funding-lines/",
        line_body,
        "measures.add_fundingline",
        201,
    ),
    Write(
        "replace funding line",
        "put",
        lambda o: f"{API}/funding-lines/{o.line.pk}/",
        line_body,
        "measures.change_fundingline",
        200,
    ),
    Write(
        "patch funding line",
        "patch",
        lambda o: f"{API}/funding-lines/{o.line.pk}/",
        lambda o: {"amount": "5.00"},
        "measures.change_fundingline",
        200,
    ),
]
write_ids = [w.name for w in WRITES]


def send(client: APIClient, write: Write, o: OneOfEachKind) -> Any:
    return getattr(client, write.method)(write.path(o), write.body(o), format="json")


def snapshot(o: OneOfEachKind) -> list[Any]:
    """Everything a write could have changed."""
    return [
        list(Organisation.objects.values().order_by("pk")),
        list(Strategy.objects.values().order_by("pk")),
        list(Source.objects.values().order_by("pk")),
        list(Measure.objects.values().order_by("pk")),
        list(StatusEvent.objects.values().order_by("pk")),
        list(FundingLine.objects.values().order_by("pk")),
    ]


@pytest.mark.parametrize("write", WRITES, ids=write_ids)
def test_anonymous_write_is_401_with_a_challenge(
    anonymous: APIClient, one_of_each: OneOfEachKind, write: Write
) -> None:
    before = snapshot(one_of_each)
    response = send(anonymous, write, one_of_each)
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"
    assert snapshot(one_of_each) == before


@pytest.mark.parametrize("write", WRITES, ids=write_ids)
def test_unknown_token_is_401(one_of_each: OneOfEachKind, write: Write) -> None:
    before = snapshot(one_of_each)
    response = send(new_client("0" * 40), write, one_of_each)
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"
    assert snapshot(one_of_each) == before


@pytest.mark.parametrize("write", WRITES, ids=write_ids)
def test_token_of_an_inactive_user_is_401(one_of_each: OneOfEachKind, write: Write) -> None:
    user = UserFactory.create(is_active=False)
    grant(user, *WRITE_PERMISSIONS)
    before = snapshot(one_of_each)
    response = send(new_client(TokenFactory.create(user=user).key), write, one_of_each)
    assert_problem(response, 401)
    assert snapshot(one_of_each) == before


@pytest.mark.parametrize("write", WRITES, ids=write_ids)
def test_user_without_permissions_is_403(
    client_for: ClientFor, one_of_each: OneOfEachKind, write: Write
) -> None:
    before = snapshot(one_of_each)
    assert_problem(send(client_for(), write, one_of_each), 403)
    assert snapshot(one_of_each) == before


@pytest.mark.parametrize("write", WRITES, ids=write_ids)
def test_read_only_user_is_403(
    client_for: ClientFor, one_of_each: OneOfEachKind, write: Write
) -> None:
    before = snapshot(one_of_each)
    assert_problem(send(client_for(*READ_ONLY_PERMISSIONS), write, one_of_each), 403)
    assert snapshot(one_of_each) == before


@pytest.mark.parametrize("write", WRITES, ids=write_ids)
def test_every_other_permission_is_not_enough(
    client_for: ClientFor, one_of_each: OneOfEachKind, write: Write
) -> None:
    others = [p for p in WRITE_PERMISSIONS if p != write.permission]
    before = snapshot(one_of_each)
    assert_problem(send(client_for(*others, *READ_ONLY_PERMISSIONS), write, one_of_each), 403)
    assert snapshot(one_of_each) == before


@pytest.mark.parametrize("write", WRITES, ids=write_ids)
def test_the_matching_permission_is_enough(
    client_for: ClientFor, one_of_each: OneOfEachKind, write: Write
) -> None:
    before = snapshot(one_of_each)
    response = send(client_for(write.permission), write, one_of_each)
    assert response.status_code == write.success, response.json()
    assert snapshot(one_of_each) != before


def test_a_malformed_authorization_header_is_401(one_of_each: OneOfEachKind) -> None:
    for header in ["Token", "Token a b", "Token \u00e9\u00e9", "Bearer abc"]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.post(f"{API}/organisations/", {"slug": "x", "name": "X", "kind": "other"})
        assert response.status_code == 401, header
        assert not Organisation.objects.filter(slug="x").exists()


READS = [
    lambda o: f"{API}/organisations/",
    lambda o: f"{API}/organisations/home-office/",
    lambda o: f"{API}/strategies/",
    lambda o: f"{API}/strategies/svs/",
    lambda o: f"{API}/strategies/svs/summary/",
    lambda o: f"{API}/strategies/svs/diff/?from=2018-01-01&to=2019-01-01",
    lambda o: f"{API}/sources/",
    lambda o: f"{API}/sources/{o.source.pk}/",
    lambda o: f"{API}/measures/",
    lambda o: f"{API}/measures/acid/",
    lambda o: f"{API}/measures/acid/events/",
    lambda o: f"{API}/measures/acid/events/{o.event.pk}/",
    lambda o: f"{API}/funding-lines/",
    lambda o: f"{API}/funding-lines/{o.line.pk}/",
    lambda o: f"{API}/changes/",
]


@pytest.mark.parametrize("path", READS)
def test_reads_are_public(
    anonymous: APIClient, one_of_each: OneOfEachKind, path: Callable[..., str]
) -> None:
    response = anonymous.get(path(one_of_each))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", READS)
def test_head_is_answered_like_get(
    anonymous: APIClient, one_of_each: OneOfEachKind, path: Callable[..., str]
) -> None:
    response = anonymous.head(path(one_of_each))
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("who", ["anonymous", "editor"])
def test_nothing_is_ever_deleted(
    request: pytest.FixtureRequest, one_of_each: OneOfEachKind, path: Callable[..., str], who: str
) -> None:
    client: APIClient = request.getfixturevalue(who)
    before = snapshot(one_of_each)
    response = client.delete(path(one_of_each))
    assert_problem(response, 405)
    assert "DELETE" not in response["Allow"]
    assert snapshot(one_of_each) == before
