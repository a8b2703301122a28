"""Authorisation matrix: every write operation of the OpenAPI document, and DELETE on every
path, tried by every kind of caller. Only a caller with the model permission may write the
record; only its owner may change a webhook subscription (any signed-in user may make their
own). Every refusal has the documented status and a problem+json body, and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from measures.services import measure_update
from tests.factories import UserFactory
from tests.support import OneOfEachKind, openapi_document
from webhooks.models import Webhook
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

DOCUMENT = openapi_document()
TRACKED = [
    "strategy.Organisation",
    "strategy.Source",
    "strategy.Strategy",
    "measures.Measure",
    "measures.StatusEvent",
    "measures.EventCitation",
    "measures.FundingLine",
    "webhooks.Webhook",
    "webhooks.Delivery",
]
# A user's own resources: not the record's model permissions but ownership decides.
OWN = "/api/v1/webhooks/"
# The model whose permission each path needs.
PATH_MODELS = {
    "/api/v1/organisations/": "organisation",
    "/api/v1/sources/": "source",
    "/api/v1/strategies/": "strategy",
    "/api/v1/measures/": "measure",
    "/api/v1/funding-lines/": "fundingline",
}


def model_for(path: str) -> str:
    if "/events/" in path:
        return "statusevent"
    for prefix, model in PATH_MODELS.items():
        if path.startswith(prefix):
            return model
    return "measure"


def operations(*, own: bool = False) -> list[tuple[str, str]]:
    found = []
    for path, methods in DOCUMENT["paths"].items():
        if path.startswith(OWN) != own:
            continue
        for method in ("post", "put", "patch", "delete"):
            if method in methods or method == "delete":
                found.append((path, method))
    return found


class WriteRequests:
    """The URL of each operation filled in with the stored objects, and a body a writer may
    send to it (a new slug each time, so that creates never collide)."""

    def __init__(self, stored: OneOfEachKind) -> None:
        self.stored = stored
        self.counter = 0

    def url(self, path: str) -> str:
        return (
            path.replace("{measure_slug}", self.stored.measure.slug)
            .replace(
                "{slug}",
                {
                    "organisation": self.stored.organisation.slug,
                    "strategy": self.stored.strategy.slug,
                }.get(model_for(path), self.stored.measure.slug),
            )
            .replace(
                "{id}",
                str(
                    {
                        "source": self.stored.source.pk,
                        "fundingline": self.stored.line.pk,
                        "statusevent": self.stored.event.pk,
                    }.get(model_for(path), 0)
                ),
            )
        )

    def body(self, path: str, method: str) -> dict[str, Any]:
        self.counter += 1
        n = self.counter
        model = model_for(path)
        if model == "organisation":
            return {
                "slug": self.stored.organisation.slug if method != "post" else f"org-{n}",
                "name": f"Org {n}",
                "kind": "department",
            }
        if model == "source":
            return {
                "link": f"https://example.org/source-{n}",
                "title": f"Source {n}",
                "kind": "news",
            }
        if model == "strategy":
            return {
                "slug": self.stored.strategy.slug if method != "post" else f"strategy-{n}",
                "title": f"Strategy {n}",
                "owner": self.stored.organisation.slug,
                "published_on": "2018-04-09",
            }
        if model == "measure":
            return {
                "slug": self.stored.measure.slug if method != "post" else f"measure-{n}",
                "strategy": self.stored.strategy.slug,
                "title": f"Measure {n}",
                "instrument": "legislation",
            }
        if model == "statusevent":
            return {
                "axis": "verdict",
                "value": "in_the_works",
                "effective_on": "2019-01-01",
                "rationale": "r",
                "citations": [{"source": self.stored.source.pk, "quote": "q"}],
            }
        return {
            "strategy": self.stored.strategy.slug,
            "title": f"Line {n}",
            "amount": "10.00",
            "phase": "announced",
            "source": self.stored.source.pk,
            "quote": "q",
        }


def snapshot() -> dict[str, int]:
    counts = {label: apps.get_model(label)._default_manager.count() for label in TRACKED}
    history = {
        f"{model._meta.label} history": model._default_manager.count()
        for model in apps.get_models()
        if (model._meta.model_name or "").endswith("history")
    }
    return counts | history


@pytest.fixture
def writes(one_of_each: OneOfEachKind) -> WriteRequests:
    call_command("setup_roles", verbosity=0)
    return WriteRequests(one_of_each)


def caller(kind: str, codename: str) -> APIClient:
    client = APIClient()
    if kind == "anonymous":
        return client
    if kind == "bad token":
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token-0000000000000000000000")
        return client
    user = UserFactory.create(is_active=kind != "disabled token")
    if kind == "read-only user":
        user.groups.add(Group.objects.get(name="reviewers"))
    elif kind == "writer":
        user.user_permissions.add(
            *Permission.objects.filter(codename__in=[f"add_{codename}", f"change_{codename}"])
        )
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


REFUSED = {
    "anonymous": 401,
    "bad token": 401,
    "disabled token": 401,
    "read-only user": 403,
    "user without the permission": 403,
}


@pytest.mark.parametrize(("path", "method"), operations(), ids=lambda v: str(v))
def test_only_a_writer_may_write(writes: WriteRequests, path: str, method: str) -> None:
    documented = method in DOCUMENT["paths"][path]
    # The writer goes last: its write is the only one that may change anything.
    for kind in [*REFUSED, "writer"]:
        client = caller(kind, model_for(path))
        before = snapshot()
        send: Callable[..., Any] = getattr(client, method)
        response = send(writes.url(path), writes.body(path, method), format="json")
        where = (kind, method, path, response.content[:300])

        if not documented:
            # DELETE is not offered to anyone: refused before or after authentication, but
            # always refused, with a problem document, and nothing written.
            assert response.status_code in (401, 403, 405), where
            assert response["Content-Type"] == "application/problem+json", where
            assert snapshot() == before, where
        elif kind in REFUSED:
            assert response.status_code == REFUSED[kind], where
            assert response["Content-Type"] == "application/problem+json", where
            assert response.json()["status"] == response.status_code, where
            if response.status_code == 401:
                assert response["WWW-Authenticate"].startswith("Token"), where
            assert snapshot() == before, f"a refused request changed the database: {where}"
        else:
            assert 200 <= response.status_code < 300, where


def webhook_request(path: str, webhook: Webhook) -> tuple[str, dict[str, Any]]:
    """The URL of a webhook operation on ``webhook`` (and its delivery), and a body its
    owner may send."""
    delivery = webhook.deliveries.get()
    url = path.replace("{webhook_pk}", str(webhook.pk))
    url = url.replace("{id}", str(delivery.pk) if "/deliveries/" in path else str(webhook.pk))
    body = {"target_url": PUBLIC_TARGET, "kinds": ["measure.changed"], "description": "d"}
    return url, body


# A public address given as such: resolving it needs no DNS.
PUBLIC_TARGET = "https://93.184.215.14/hook"


@pytest.mark.parametrize(("path", "method"), operations(own=True), ids=lambda v: str(v))
def test_only_its_owner_may_change_a_subscription(
    writes: WriteRequests, path: str, method: str
) -> None:
    owner = UserFactory.create()
    webhook = webhook_create(
        owner=owner, fields={"target_url": PUBLIC_TARGET, "kinds": ["measure.changed"]}
    )
    measure_update(measure=writes.stored.measure, fields={"summary": "Changed."})
    assert webhook.deliveries.count() == 1
    url, body = webhook_request(path, webhook)
    documented = method in DOCUMENT["paths"][path]
    for kind in [*REFUSED, "owner"]:
        if kind == "owner":
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
        else:
            client = caller(kind, "webhook")
        before = snapshot()
        response = getattr(client, method)(url, body, format="json")
        where = (kind, method, path, response.content[:300])
        if not documented:
            assert response.status_code in (401, 403, 404, 405), where
            assert response["Content-Type"] == "application/problem+json", where
            assert snapshot() == before, where
        elif kind in ("anonymous", "bad token", "disabled token"):
            assert response.status_code == 401, where
            assert response["Content-Type"] == "application/problem+json", where
            assert snapshot() == before, where
        elif kind != "owner" and path != OWN:
            # Another user's subscription is not theirs to see: as if it did not exist.
            assert response.status_code == 404, where
            assert response["Content-Type"] == "application/problem+json", where
            assert snapshot() == before, where
        else:
            # The owner, or any signed-in user making a subscription of their own.
            assert 200 <= response.status_code < 300, where
            if path == OWN and method == "post":
                created = Webhook.objects.get(pk=response.json()["id"])
                assert (created.owner == owner) == (kind == "owner"), where


SERVER_OWNED = {
    "id": 999_999,
    "version": 999,
    "stage": "completed",
    "stage_since": "2000-01-01",
    "verdict": "kept",
    "confidence": "green",
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "recorded_at": "2000-01-01T00:00:00Z",
    "recorded_by": "someone-else",
}


@pytest.mark.parametrize(
    ("path", "method"),
    [op for op in operations() if op[1] in ("post", "patch") and op[1] in DOCUMENT["paths"][op[0]]],
    ids=lambda v: str(v),
)
def test_server_owned_fields_are_never_stored(
    writes: WriteRequests, path: str, method: str
) -> None:
    client = caller("writer", model_for(path))
    body = {**writes.body(path, method), **SERVER_OWNED}
    response = getattr(client, method)(writes.url(path), body, format="json")
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        return
    data = response.json()
    for name, value in SERVER_OWNED.items():
        if name in data:
            assert data[name] != value, (path, method, name)
    # The response shows only the documented fields.
    schema_name = response_schema(path, method)
    if schema_name:
        documented = set(DOCUMENT["components"]["schemas"][schema_name]["properties"])
        assert set(data) <= documented, set(data) - documented


def response_schema(path: str, method: str) -> str | None:
    responses = DOCUMENT["paths"][path][method]["responses"]
    for code in ("200", "201"):
        content = responses.get(code, {}).get("content", {}).get("application/json")
        if content and "$ref" in content["schema"]:
            return str(content["schema"]["$ref"].rsplit("/", 1)[-1])
    return None
