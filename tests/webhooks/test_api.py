"""/api/v1/webhooks/: a signed-in user's webhook subscriptions, their secrets, the checks of
their target and filter, and their delivery logs."""

from __future__ import annotations

import datetime
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpResponseBase
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from measures.models import Measure
from tests.api.conftest import API, assert_problem, assert_validation_problem, new_client
from tests.factories import MeasureFactory, StrategyFactory, TokenFactory, UserFactory
from tests.support import Record
from webhooks import services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

WEBHOOKS = f"{API}/webhooks/"
# A public address as an IP literal: no name to resolve, so no DNS is needed.
PUBLIC_TARGET = "https://93.184.215.14/hook"
D1 = datetime.date(2018, 4, 9)
D2 = datetime.date(2018, 6, 20)


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Throttle counters live in the cache; each test starts with none spent."""
    cache.clear()
    yield
    cache.clear()


def client_of(user: User) -> APIClient:
    return new_client(TokenFactory.create(user=user).key)


@pytest.fixture
def alice(db: None) -> User:
    """A signed-in user holding no permission at all."""
    return UserFactory.create(username="alice")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory.create(username="bob")


@pytest.fixture
def as_alice(alice: User) -> APIClient:
    return client_of(alice)


@pytest.fixture
def as_bob(bob: User) -> APIClient:
    return client_of(bob)


def subscription(**overrides: Any) -> dict[str, Any]:
    return {
        "description": "newsroom bot",
        "target_url": PUBLIC_TARGET,
        "kinds": ["status_event.recorded"],
        **overrides,
    }


def detail_url(webhook_id: int) -> str:
    return f"{WEBHOOKS}{webhook_id}/"


def deliveries_url(webhook_id: int) -> str:
    return f"{WEBHOOKS}{webhook_id}/deliveries/"


def created(client: APIClient, **overrides: Any) -> dict[str, Any]:
    response = client.post(WEBHOOKS, subscription(**overrides))
    assert response.status_code == 201, response.json()
    data: dict[str, Any] = response.json()
    return data


def pointers(response: HttpResponseBase) -> list[str]:
    problem = assert_validation_problem(response)
    return [error.get("pointer", "") for error in problem["errors"]]


# Who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_list_and_create_need_a_valid_token(token: str | None) -> None:
    """Without credentials, or with a token that is no one's, the list and the create are
    answered 401 with a problem document, and nothing is created."""
    client = new_client(token)
    assert_problem(client.get(WEBHOOKS), 401)
    assert_problem(client.post(WEBHOOKS, subscription()), 401)
    assert not Webhook.objects.exists()


def test_any_signed_in_user_creates_a_subscription_and_sees_its_secret_only_then(
    alice: User, as_alice: APIClient
) -> None:
    """A user with no permission creates a subscription: 201 with a Location and the
    whsec_ secret, which the detail and the list never show again."""
    response = as_alice.post(WEBHOOKS, subscription())
    assert response.status_code == 201, response.json()
    data = response.json()
    webhook = Webhook.objects.get(pk=data["id"])
    assert webhook.owner == alice
    assert data["secret"].startswith("whsec_")
    assert data["secret"] == webhook.secret
    assert response["Location"] == data["url"] == f"http://testserver{detail_url(webhook.pk)}"
    assert response["ETag"]
    assert data["target_url"] == PUBLIC_TARGET
    assert data["kinds"] == ["status_event.recorded"]
    assert data["filter"] == {}
    assert data["is_active"] is True
    assert data["paused_reason"] == ""
    assert data["deliveries_url"] == f"http://testserver{deliveries_url(webhook.pk)}"

    read = as_alice.get(detail_url(webhook.pk))
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert webhook.secret not in read.content.decode()
    assert read.json() == {key: value for key, value in data.items() if key != "secret"}
    listed = as_alice.get(WEBHOOKS)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [webhook.pk]
    assert "secret" not in listed.json()["results"][0]
    assert webhook.secret not in listed.content.decode()


def test_a_user_sees_only_their_own_subscriptions(
    alice: User, as_alice: APIClient, as_bob: APIClient, measure: Measure, record: Record
) -> None:
    """Another user's subscription, its delivery log and its deliveries are not found
    (404) for every operation, and none of them changes it."""
    mine = created(as_alice, filter={"measure": measure.slug})
    record(measure, "announced", D1)
    delivery = Delivery.objects.get(webhook_id=mine["id"])
    before = Webhook.objects.get(pk=mine["id"])
    url = detail_url(mine["id"])
    delivery_url = f"{deliveries_url(mine['id'])}{delivery.pk}/"

    assert as_bob.get(WEBHOOKS).json()["results"] == []
    assert_problem(as_bob.get(url), 404)
    assert_problem(as_bob.patch(url, {"is_active": False}), 404)
    assert_problem(as_bob.put(url, subscription(description="mine now")), 404)
    assert_problem(as_bob.delete(url), 404)
    assert_problem(as_bob.post(f"{url}rotate-secret/"), 404)
    assert_problem(as_bob.get(deliveries_url(mine["id"])), 404)
    assert_problem(as_bob.get(delivery_url), 404)
    assert_problem(as_bob.post(f"{delivery_url}redeliver/"), 404)

    after = Webhook.objects.get(pk=mine["id"])
    assert (after.description, after.is_active, after.secret, after.previous_secret) == (
        before.description,
        before.is_active,
        before.secret,
        "",
    )
    assert as_alice.get(url).status_code == 200


# Changing and deleting -------------------------------------------------------------------


def test_patch_pauses_and_resuming_clears_why_it_was_paused(as_alice: APIClient) -> None:
    """PATCH is_active false pauses; a subscription paused for failing deliveries, once
    resumed with is_active true, no longer carries the reason it was paused."""
    url = detail_url(created(as_alice)["id"])
    paused = as_alice.patch(url, {"is_active": False})
    assert paused.status_code == 200, paused.json()
    assert paused.json()["is_active"] is False

    Webhook.objects.update(paused_reason="Paused: 10 attempts to deliver msg_x failed.")
    assert as_alice.get(url).json()["paused_reason"].startswith("Paused: 10 attempts")
    # paused_reason is read-only: a client cannot write it.
    ignored = as_alice.patch(url, {"paused_reason": "written by the client"})
    assert ignored.status_code == 200
    assert ignored.json()["paused_reason"].startswith("Paused: 10 attempts")

    resumed = as_alice.patch(url, {"is_active": True})
    assert resumed.status_code == 200, resumed.json()
    assert resumed.json()["is_active"] is True
    assert resumed.json()["paused_reason"] == ""
    assert Webhook.objects.get().paused_reason == ""


def test_a_subscription_can_be_paused_while_its_target_does_not_resolve(
    alice: User, as_alice: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pausing a subscription is possible whatever its target's host resolves to now: a
    receiver whose name has gone is exactly the one its owner wants to stop."""
    real_getaddrinfo = socket.getaddrinfo
    resolves = True

    def stub(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.org":
            if not resolves:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stub)
    url = detail_url(created(as_alice, target_url="https://hooks.example.org/hook")["id"])
    resolves = False
    response = as_alice.patch(url, {"is_active": False})
    assert response.status_code == 200, response.json()
    assert Webhook.objects.get().is_active is False


def test_put_replaces_the_subscription(as_alice: APIClient) -> None:
    """PUT writes every field; an unsafe target in it is refused and changes nothing."""
    strategy = StrategyFactory.create(slug="svs")
    url = detail_url(created(as_alice)["id"])
    replacement = {
        "description": "fact-check desk",
        "target_url": "https://93.184.215.14/other",
        "kinds": ["measure.changed", "source.added"],
        "filter": {"strategy": strategy.slug},
        "is_active": False,
    }
    response = as_alice.put(url, replacement)
    assert response.status_code == 200, response.json()
    assert {key: response.json()[key] for key in replacement} == replacement
    assert "secret" not in response.json()
    stored = Webhook.objects.get()
    assert (stored.description, stored.target_url, stored.kinds, stored.filter) == (
        "fact-check desk",
        "https://93.184.215.14/other",
        ["measure.changed", "source.added"],
        {"strategy": "svs"},
    )

    refused = as_alice.put(url, {**replacement, "target_url": "http://10.0.0.1/"})
    assert "#/target_url" in pointers(refused)
    assert Webhook.objects.get().target_url == "https://93.184.215.14/other"


def test_delete_removes_the_subscription_and_its_deliveries(
    as_alice: APIClient, measure: Measure, record: Record
) -> None:
    """DELETE answers 204; the subscription, its deliveries and their attempts are gone."""
    webhook_id = created(as_alice)["id"]
    record(measure, "announced", D1)
    assert Delivery.objects.filter(webhook_id=webhook_id).count() == 1
    response = as_alice.delete(detail_url(webhook_id))
    assert response.status_code == 204
    assert not Webhook.objects.filter(pk=webhook_id).exists()
    assert not Delivery.objects.filter(webhook_id=webhook_id).exists()
    assert_problem(as_alice.get(detail_url(webhook_id)), 404)


def test_writes_with_a_stale_etag_are_refused(as_alice: APIClient) -> None:
    """A PATCH, PUT or DELETE whose If-Match is not the current ETag is refused with 412
    and changes nothing; with the current ETag it goes through."""
    url = detail_url(created(as_alice)["id"])
    stale = as_alice.get(url)["ETag"]
    changed = as_alice.patch(url, {"description": "renamed"}, HTTP_IF_MATCH=stale)
    assert changed.status_code == 200, changed.json()
    current = changed["ETag"]
    assert current != stale
    assert as_alice.get(url)["ETag"] == current

    assert_problem(as_alice.patch(url, {"description": "lost"}, HTTP_IF_MATCH=stale), 412)
    assert_problem(as_alice.put(url, subscription(description="lost"), HTTP_IF_MATCH=stale), 412)
    assert_problem(as_alice.delete(url, HTTP_IF_MATCH=stale), 412)
    assert Webhook.objects.get().description == "renamed"

    assert as_alice.delete(url, HTTP_IF_MATCH=current).status_code == 204
    assert not Webhook.objects.exists()


def test_rotating_the_secret_keeps_the_old_one_for_a_day(as_alice: APIClient) -> None:
    """rotate-secret answers a new whsec_ secret (shown then only); the one before stays
    as the previous secret until about 24 hours from now."""
    first = created(as_alice)
    url = detail_url(first["id"])
    response = as_alice.post(f"{url}rotate-secret/")
    assert response.status_code == 200, response.json()
    new_secret = response.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != first["secret"]
    stored = Webhook.objects.get()
    assert stored.secret == new_secret
    assert stored.previous_secret == first["secret"]
    assert stored.previous_secret_expires_at is not None
    ahead = stored.previous_secret_expires_at - timezone.now()
    assert datetime.timedelta(hours=23, minutes=59) < ahead <= datetime.timedelta(hours=24)
    assert "secret" not in as_alice.get(url).json()

    again = as_alice.post(f"{url}rotate-secret/").json()["secret"]
    stored.refresh_from_db()
    assert (stored.secret, stored.previous_secret) == (again, new_secret)


# Checks of what is sent ------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1/hook",
        "http://localhost/hook",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:8000/",
        "http://[fd00::1]/",
        "https://user:password@93.184.215.14/hook",
        "ftp://93.184.215.14/hook",
    ],
)
def test_targets_inside_the_network_or_not_http_are_refused(
    as_alice: APIClient, target: str
) -> None:
    """A target on loopback, a private or link-local network, with credentials in the URL,
    or not http(s), is refused with a 400 naming target_url, on create and on change."""
    assert "#/target_url" in pointers(as_alice.post(WEBHOOKS, subscription(target_url=target)))
    assert not Webhook.objects.exists()
    url = detail_url(created(as_alice)["id"])
    assert "#/target_url" in pointers(as_alice.patch(url, {"target_url": target}))
    assert Webhook.objects.get().target_url == PUBLIC_TARGET


def test_an_allowed_network_may_be_a_target(as_alice: APIClient, settings: Settings) -> None:
    """With WEBHOOK_ALLOWED_TARGET_NETWORKS naming loopback, a loopback target is accepted;
    other private networks stay refused."""
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]
    assert created(as_alice, target_url="http://127.0.0.1:9/hook")["target_url"] == (
        "http://127.0.0.1:9/hook"
    )
    assert "#/target_url" in pointers(
        as_alice.post(WEBHOOKS, subscription(target_url="http://10.0.0.1/"))
    )


def test_a_filter_with_an_unknown_parameter_is_refused(as_alice: APIClient) -> None:
    """A filter naming a parameter the measure list does not have is refused (400 about
    the filter), rather than stored as a filter that lets every change through."""
    response = as_alice.post(WEBHOOKS, subscription(filter={"stage_is": ["in_force"]}))
    assert any(pointer.startswith("#/filter") for pointer in pointers(response))
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "bad_filter",
    [
        {"stage": ["in_force", "nowhere"]},
        {"stage": []},
        {"strategy": "no-such-strategy"},
        {"measure": "no-such-measure"},
        {"lead_organisation": "no-such-organisation"},
    ],
)
def test_filters_that_name_nothing_are_refused(
    as_alice: APIClient, bad_filter: dict[str, Any]
) -> None:
    """A stage that is not a stage, or a slug that names nothing, is refused with a 400
    about the filter."""
    response = as_alice.post(WEBHOOKS, subscription(filter=bad_filter))
    assert any(pointer.startswith("#/filter") for pointer in pointers(response)), response.json()
    assert not Webhook.objects.exists()


def test_a_valid_filter_is_stored_and_shown_back(as_alice: APIClient) -> None:
    """A filter of the measure list's parameters is stored as given and shown as given."""
    StrategyFactory.create(slug="serious-violence-strategy-2018")
    wanted = {"strategy": "serious-violence-strategy-2018", "stage": ["in_force"]}
    data = created(as_alice, filter=wanted)
    assert data["filter"] == wanted
    assert Webhook.objects.get().filter == wanted
    assert as_alice.get(detail_url(data["id"])).json()["filter"] == wanted


@pytest.mark.parametrize("kinds", [[], ["measure.deleted"], "status_event.recorded", None])
def test_kinds_must_be_known_and_not_empty(as_alice: APIClient, kinds: Any) -> None:
    """kinds is a non-empty list of known kinds of change."""
    response = as_alice.post(WEBHOOKS, subscription(kinds=kinds))
    assert any(pointer.startswith("#/kinds") for pointer in pointers(response)), response.json()
    assert not Webhook.objects.exists()


# The delivery log ------------------------------------------------------------------------


def test_the_delivery_log_shows_each_change_sent(
    as_alice: APIClient, measure: Measure, record: Record
) -> None:
    """A recorded status event of a subscribed measure is one pending delivery in the log:
    its webhook-id, kind, and the payload with the resource and its links; its detail
    reads the same. Another measure's events are not in it."""
    webhook_id = created(as_alice, filter={"measure": measure.slug})["id"]
    event = record(measure, "announced", D1)
    record(MeasureFactory.create(), "announced", D1)
    response = as_alice.get(deliveries_url(webhook_id))
    assert response.status_code == 200, response.json()
    rows = response.json()["results"]
    assert len(rows) == 1
    row = rows[0]
    delivery = Delivery.objects.get(webhook_id=webhook_id)
    assert row["id"] == str(delivery.pk)
    assert row["webhook_id"] == f"msg_{delivery.pk.hex}"
    assert row["kind"] == "status_event.recorded"
    assert row["status"] == "pending"
    assert row["attempts"] == 0
    assert row["attempt_log"] == []
    assert row["next_attempt_at"] is not None
    assert row["redeliver_url"] == (
        f"http://testserver{deliveries_url(webhook_id)}{delivery.pk}/redeliver/"
    )
    payload = row["payload"]
    assert payload["type"] == "status_event.recorded"
    assert payload["data"]["kind"] == "status_event.recorded"
    assert payload["data"]["measure"] == measure.slug
    assert payload["data"]["resource"]["id"] == event.pk
    assert payload["data"]["resource"]["value"] == "announced"
    links = payload["data"]["links"]
    assert set(links) == {"resource", "changes", "measure"}
    assert links["resource"].endswith(f"/api/v1/measures/{measure.slug}/events/{event.pk}/")
    assert links["measure"].endswith(f"/api/v1/measures/{measure.slug}/")
    assert links["changes"].endswith("/api/v1/changes/")

    detail = as_alice.get(f"{deliveries_url(webhook_id)}{delivery.pk}/")
    assert detail.status_code == 200
    assert detail["ETag"]
    assert detail.json() == row


def test_the_delivery_log_is_newest_first(
    as_alice: APIClient, measure: Measure, record: Record
) -> None:
    """The log lists the newest delivery first."""
    webhook_id = created(as_alice)["id"]
    record(measure, "announced", D1)
    older = Delivery.objects.get()
    Delivery.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    record(measure, "legislating", D2)
    newer = Delivery.objects.exclude(pk=older.pk).get()
    rows = as_alice.get(deliveries_url(webhook_id)).json()["results"]
    assert [row["id"] for row in rows] == [str(newer.pk), str(older.pk)]


def test_redeliver_queues_the_delivery_again(
    as_alice: APIClient,
    measure: Measure,
    record: Record,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """POST redeliver on a failed delivery answers 202 with it pending and due now, allows
    one more attempt, and queues it once the request's transaction commits."""
    webhook_id = created(as_alice)["id"]
    record(measure, "announced", D1)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, attempts=10, attempt_limit=10, next_attempt_at=None
    )
    url = f"{deliveries_url(webhook_id)}{delivery.pk}/redeliver/"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = as_alice.post(url)
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    assert response.json()["id"] == str(delivery.pk)
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at is not None
    assert abs(delivery.next_attempt_at - timezone.now()) < datetime.timedelta(seconds=10)
    assert delivery.attempt_limit == 11
    queued = DBTaskResult.objects.filter(task_path__endswith="webhooks.tasks.deliver")
    assert [row.args_kwargs["args"] for row in queued] == [[str(delivery.pk)]]


def test_redeliver_on_a_paused_subscription_is_refused(
    as_alice: APIClient,
    measure: Measure,
    record: Record,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A paused subscription's delivery is not redelivered: 400 problem, nothing queued."""
    webhook_id = created(as_alice)["id"]
    record(measure, "announced", D1)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SKIPPED, next_attempt_at=None
    )
    services.webhook_update(webhook=Webhook.objects.get(), fields={"is_active": False})
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_alice.post(f"{deliveries_url(webhook_id)}{delivery.pk}/redeliver/")
    problem = assert_problem(response, 400)
    assert "paused" in str(problem).lower()
    assert callbacks == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
