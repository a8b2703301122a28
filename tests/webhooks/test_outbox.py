"""The outbox: a recorded change becomes one delivery per matching active subscription, in
the change's own transaction, handed to the task queue only once that transaction commits;
the body is the changed resource as the API shows it; the sweep re-queues lost tasks."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from measures.models import Measure, StatusEvent
from measures.services import (
    funding_line_create,
    funding_line_update,
    measure_update,
    status_event_retract,
)
from strategy.changes import ChangeKind
from strategy.models import Strategy
from strategy.services import source_create
from tests.factories import (
    MeasureFactory,
    SourceFactory,
    StrategyFactory,
    UserFactory,
)
from tests.support import Record
from webhooks import outbox, services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Webhook

PUBLIC_TARGET = "https://93.184.215.14/hook"
D1 = datetime.date(2018, 4, 9)
D2 = datetime.date(2018, 6, 20)
D3 = datetime.date(2019, 5, 16)
D4 = datetime.date(2019, 7, 1)


class RollBackError(Exception):
    """Raised to roll a transaction back."""


def record_and_roll_back(record: Record, measure: Measure, webhook: Webhook) -> None:
    """Record a status event in a transaction that is then rolled back; inside it, the
    event's delivery to ``webhook`` is written."""
    with transaction.atomic():
        record(measure, "announced", D1)
        assert len(delivered_to(webhook)) == 1
        raise RollBackError


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create()


def subscribe(owner: User, kinds: list[str], **fields: Any) -> Webhook:
    return services.webhook_create(
        owner=owner, fields={"target_url": PUBLIC_TARGET, "kinds": kinds, **fields}
    )


def delivered_to(webhook: Webhook) -> list[Delivery]:
    return list(Delivery.objects.filter(webhook=webhook).order_by("created_at", "id"))


def queued_delivery_ids() -> list[str]:
    rows = DBTaskResult.objects.filter(task_path__endswith="webhooks.tasks.deliver")
    return sorted(arg for row in rows for arg in row.args_kwargs["args"])


# Transactions ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_delivery_and_queues_nothing(
    owner: User,
    measure: Measure,
    record: Record,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A delivery written with a change is rolled back with it, and nothing is left to be
    queued on commit."""
    webhook = subscribe(owner, ["status_event.recorded"])
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RollBackError):
        record_and_roll_back(record, measure, webhook)
    assert callbacks == []
    assert not StatusEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert queued_delivery_ids() == []


@pytest.mark.django_db(transaction=True)
def test_with_real_transactions_only_a_committed_change_is_queued(
    owner: User, measure: Measure, record: Record
) -> None:
    """With transactions that really commit and roll back: a rolled-back change leaves no
    delivery and no task; a committed one leaves one delivery and its task."""
    webhook = subscribe(owner, ["status_event.recorded"])
    with pytest.raises(RollBackError):
        record_and_roll_back(record, measure, webhook)
    assert not Delivery.objects.exists()
    assert queued_delivery_ids() == []

    record(measure, "announced", D1)
    (delivery,) = delivered_to(webhook)
    assert queued_delivery_ids() == [str(delivery.pk)]


@pytest.mark.django_db
def test_a_committed_change_is_one_delivery_per_matching_subscription_each_queued(
    owner: User,
    measure: Measure,
    record: Record,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Each active subscription of the kind whose filter matches gets exactly one pending
    delivery with the same body, due now; each is queued as one task once committed.
    Subscriptions of another kind, measure, or paused, get nothing."""
    settings.WEBHOOK_MAX_ATTEMPTS = 7
    everything = subscribe(owner, ["status_event.recorded"])
    this_measure = subscribe(
        UserFactory.create(),
        ["status_event.recorded", "measure.changed"],
        filter={"measure": measure.slug},
    )
    other_kind = subscribe(owner, ["measure.changed"])
    other_measure = subscribe(
        owner, ["status_event.recorded"], filter={"measure": MeasureFactory.create().slug}
    )
    paused = subscribe(owner, ["status_event.recorded"], is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        record(measure, "announced", D1)

    deliveries = list(Delivery.objects.all())
    assert sorted(d.webhook_id for d in deliveries) == sorted([everything.pk, this_measure.pk])
    for webhook in (other_kind, other_measure, paused):
        assert delivered_to(webhook) == []
    assert len({d.body for d in deliveries}) == 1
    for delivery in deliveries:
        assert delivery.kind == "status_event.recorded"
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempts == 0
        assert delivery.attempt_limit == 7
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at <= timezone.now()
    assert queued_delivery_ids() == sorted(str(d.pk) for d in deliveries)


# Kinds and filters -----------------------------------------------------------------------


@pytest.mark.django_db
def test_each_subscription_gets_only_its_kinds(
    owner: User, measure: Measure, record: Record
) -> None:
    """A status event is status_event.recorded, a correction of one (it supersedes an
    earlier event) status_event.corrected, and neither is measure.changed."""
    recorded = subscribe(owner, ["status_event.recorded"])
    corrected = subscribe(owner, ["status_event.corrected"])
    measure_changed = subscribe(owner, ["measure.changed"])

    wrong = record(measure, "announced", D1)
    fixed = record(measure, "announced", D2, supersedes=wrong)

    assert [d.kind for d in delivered_to(recorded)] == ["status_event.recorded"]
    assert json.loads(delivered_to(recorded)[0].body)["data"]["resource"]["id"] == wrong.pk
    (correction,) = delivered_to(corrected)
    assert correction.kind == "status_event.corrected"
    body = json.loads(correction.body)
    assert body["type"] == "status_event.corrected"
    assert body["data"]["resource"]["id"] == fixed.pk
    assert body["data"]["resource"]["supersedes"] == wrong.pk
    assert delivered_to(measure_changed) == []


@pytest.mark.django_db
def test_a_retraction_is_status_event_retracted(
    owner: User, measure: Measure, record: Record
) -> None:
    retracted = subscribe(owner, ["status_event.retracted"])
    corrected = subscribe(owner, ["status_event.corrected"])
    wrong = record(measure, "announced", D1)
    retraction = status_event_retract(event=wrong, rationale="Wrong measure.")
    (delivery,) = delivered_to(retracted)
    body = json.loads(delivery.body)
    assert body["type"] == "status_event.retracted"
    assert body["data"]["resource"]["id"] == retraction.pk
    assert body["data"]["resource"]["is_retraction"] is True
    assert body["data"]["resource"]["supersedes"] == wrong.pk
    assert delivered_to(corrected) == []


@pytest.mark.django_db
def test_a_measure_filter_passes_that_measure_only(
    owner: User, measure: Measure, record: Record
) -> None:
    """{"measure": slug} passes that measure's changes and no other measure's."""
    webhook = subscribe(owner, ["status_event.recorded"], filter={"measure": measure.slug})
    other = MeasureFactory.create(strategy=measure.strategy)
    record(other, "announced", D1)
    assert delivered_to(webhook) == []
    record(measure, "announced", D1)
    (delivery,) = delivered_to(webhook)
    assert json.loads(delivery.body)["data"]["measure"] == measure.slug


@pytest.mark.django_db
def test_an_axis_filter_passes_status_events_on_those_axes_and_other_kinds(
    owner: User, measure: Measure, record: Record
) -> None:
    """{"axis": ["verdict"]} passes verdict events, not stage events; a change of another
    kind (the measure's description) is not limited by it."""
    webhook = subscribe(
        owner, ["status_event.recorded", "measure.changed"], filter={"axis": ["verdict"]}
    )
    record(measure, "announced", D1)
    assert delivered_to(webhook) == []
    record(measure, "in_the_works", D2, axis="verdict")
    measure_update(measure=measure, fields={"summary": "Described anew."})
    kinds = [delivery.kind for delivery in delivered_to(webhook)]
    assert kinds == ["status_event.recorded", "measure.changed"]


@pytest.mark.django_db
def test_an_axis_filter_names_axes_that_exist(owner: User) -> None:
    client = APIClient()
    client.force_authenticate(owner)
    body = {"target_url": PUBLIC_TARGET, "kinds": ["status_event.recorded"]}
    refused = client.post(
        "/api/v1/webhooks/", {**body, "filter": {"axis": ["colour"]}}, format="json"
    )
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    accepted = client.post(
        "/api/v1/webhooks/", {**body, "filter": {"axis": ["stage", "verdict"]}}, format="json"
    )
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["filter"] == {"axis": ["stage", "verdict"]}


@pytest.mark.django_db
def test_a_stage_filter_passes_a_measure_once_it_is_at_that_stage(
    owner: User, measure: Measure, record: Record
) -> None:
    """{"stage": ["in_force"]} passes a change only when the measure, as it stands after
    the change, is in force: not the moves before, but the move to in force and later
    changes while it stays there."""
    webhook = subscribe(owner, ["status_event.recorded"], filter={"stage": ["in_force"]})
    for stage, day in (("announced", D1), ("legislating", D2), ("enacted", D3)):
        record(measure, stage, day)
        assert delivered_to(webhook) == [], stage
    in_force = record(measure, "in_force", D4)
    (first,) = delivered_to(webhook)
    assert json.loads(first.body)["data"]["resource"]["id"] == in_force.pk

    verdict = record(measure, "in_the_works", D4, axis="verdict")
    assert [json.loads(d.body)["data"]["resource"]["id"] for d in delivered_to(webhook)] == [
        in_force.pk,
        verdict.pk,
    ]


def funding_line(strategy: Strategy, measure: Measure | None = None, **fields: Any) -> Any:
    return funding_line_create(
        fields={
            "strategy": strategy,
            "measure": measure,
            "title": "Early Intervention Youth Fund",
            "amount": Decimal("11000000.00"),
            "phase": "announced",
            "source": SourceFactory.create(),
            "quote": "an £11 million fund",
            **fields,
        }
    )


@pytest.mark.django_db
def test_a_strategy_filter_passes_the_strategys_strategy_wide_funding_lines(
    owner: User, record: Record
) -> None:
    """A strategy-wide funding line (of no measure) passes an empty filter and a filter of
    only its strategy, not a filter of another strategy nor one that also names a stage;
    a line of a measure passes a filter with a stage the measure is at."""
    svs = StrategyFactory.create(slug="svs")
    other = StrategyFactory.create(slug="other")
    kinds = ["funding_line.added"]
    unfiltered = subscribe(owner, kinds)
    of_svs = subscribe(owner, kinds, filter={"strategy": "svs"})
    of_other = subscribe(owner, kinds, filter={"strategy": "other"})
    of_svs_announced = subscribe(owner, kinds, filter={"strategy": "svs", "stage": ["announced"]})

    envelope = funding_line(svs)
    assert len(delivered_to(unfiltered)) == 1
    (delivery,) = delivered_to(of_svs)
    assert json.loads(delivery.body)["data"]["resource"]["id"] == envelope.pk
    assert json.loads(delivery.body)["data"]["measure"] is None
    assert delivered_to(of_other) == []
    assert delivered_to(of_svs_announced) == []

    funding_line(other)
    assert len(delivered_to(unfiltered)) == 2
    assert len(delivered_to(of_svs)) == 1
    assert len(delivered_to(of_other)) == 1

    announced = MeasureFactory.create(strategy=svs)
    record(announced, "announced", D1)
    measure_line = funding_line(svs, announced)
    assert [
        json.loads(d.body)["data"]["resource"]["id"] for d in delivered_to(of_svs_announced)
    ] == [measure_line.pk]


@pytest.mark.django_db
def test_a_new_source_reaches_only_unfiltered_subscriptions_to_sources(
    owner: User, measure: Measure
) -> None:
    """A source belongs to no measure or strategy: only subscriptions of kind source.added
    without a filter get it."""
    unfiltered = subscribe(owner, ["source.added"])
    by_strategy = subscribe(owner, ["source.added"], filter={"strategy": measure.strategy.slug})
    by_measure = subscribe(owner, ["source.added"], filter={"measure": measure.slug})
    other_kind = subscribe(owner, ["status_event.recorded", "funding_line.added"])
    source = source_create(
        fields={
            "url": "https://www.gov.uk/government/publications/serious-violence-strategy",
            "title": "Serious Violence Strategy",
            "publisher": "Home Office",
            "kind": "government",
            "published_on": D1,
        }
    )
    (delivery,) = delivered_to(unfiltered)
    assert delivery.kind == "source.added"
    assert json.loads(delivery.body)["data"]["resource"]["id"] == source.pk
    for webhook in (by_strategy, by_measure, other_kind):
        assert delivered_to(webhook) == []


@pytest.mark.django_db
def test_a_paused_subscription_gets_nothing_until_resumed(
    owner: User, measure: Measure, record: Record
) -> None:
    """While paused a subscription gets no delivery; resumed, it gets the next change."""
    webhook = subscribe(owner, ["status_event.recorded"])
    services.webhook_update(webhook=webhook, fields={"is_active": False})
    record(measure, "announced", D1)
    assert delivered_to(webhook) == []
    services.webhook_update(webhook=webhook, fields={"is_active": True})
    legislating = record(measure, "legislating", D2)
    (delivery,) = delivered_to(webhook)
    assert json.loads(delivery.body)["data"]["resource"]["id"] == legislating.pk


# The body --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_body_is_the_resource_as_the_api_shows_it_then(
    owner: User, measure: Measure, record: Record, settings: Settings
) -> None:
    """For every kind of change, the body is the Standard Webhooks envelope (type,
    timestamp, data) whose resource is what a GET of its resource link answers right
    after the change, and whose links point at PUBLIC_BASE_URL."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    webhook = subscribe(owner, list(ChangeKind.values))
    reader = APIClient()

    def latest_body(kind: str) -> dict[str, Any]:
        delivery = delivered_to(webhook)[-1]
        assert delivery.kind == kind
        body: dict[str, Any] = json.loads(delivery.body)
        assert body["type"] == body["data"]["kind"] == kind
        sent_at = datetime.datetime.fromisoformat(body["timestamp"])
        assert body["timestamp"].endswith("Z")
        assert abs(timezone.now() - sent_at) < datetime.timedelta(minutes=1)
        links = body["data"]["links"]
        assert links["changes"] == "http://testserver/api/v1/changes/"
        for link in links.values():
            assert urlsplit(link).netloc == "testserver"
        response = reader.get(links["resource"])
        assert response.status_code == 200
        assert body["data"]["resource"] == response.json(), kind
        return body

    record(measure, "announced", D1)
    body = latest_body("status_event.recorded")
    assert body["data"]["links"]["measure"] == f"http://testserver/api/v1/measures/{measure.slug}/"
    assert reader.get(body["data"]["links"]["measure"]).status_code == 200

    measure_update(measure=measure, fields={"title": "Ban the sale of acid to under-18s"})
    assert latest_body("measure.changed")["data"]["resource"]["title"] == (
        "Ban the sale of acid to under-18s"
    )

    line = funding_line(measure.strategy, measure)
    latest_body("funding_line.added")
    funding_line_update(line=line, fields={"phase": "allocated"})
    assert latest_body("funding_line.changed")["data"]["resource"]["phase"] == "allocated"

    source_create(
        fields={
            "url": "https://www.gov.uk/government/news/acid",
            "title": "Acid attacks",
            "publisher": "Home Office",
            "kind": "government",
            "published_on": D2,
        }
    )
    latest_body("source.added")


# The sweep -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_requeues_only_overdue_pending_deliveries(
    owner: User, settings: Settings
) -> None:
    """sweep() queues again each pending delivery overdue by more than
    WEBHOOK_SWEEP_AFTER_SECONDS; not one due recently, nor one no longer pending."""
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 120
    webhook = subscribe(owner, ["source.added"])
    now = timezone.now()

    def delivery(seconds_ago: float, status: str = DeliveryStatus.PENDING) -> Delivery:
        return Delivery.objects.create(
            webhook=webhook,
            kind="source.added",
            body="{}",
            status=status,
            next_attempt_at=now - datetime.timedelta(seconds=seconds_ago),
        )

    overdue = delivery(180)
    delivery(60)  # due a minute ago: its task may still be on its way
    delivery(3600, DeliveryStatus.SUCCEEDED)
    delivery(3600, DeliveryStatus.FAILED)
    assert outbox.sweep() == 1
    assert queued_delivery_ids() == [str(overdue.pk)]

    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 30
    assert outbox.sweep() == 2
    assert len(queued_delivery_ids()) == 3
