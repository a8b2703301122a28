"""The delivery task, run by the task queue's worker (``manage.py run_worker``).

A task names a delivery; it sends it only if the delivery is still pending and due, under
a row lock, so a task queued twice (by the hand-over and by the sweep) sends once. After a
failure the next attempt is queued with exponential backoff and jitter: 30 s, 90 s,
4.5 min, … each three times the one before, at most 8 hours apart, ten attempts over about
a day (``WEBHOOK_RETRY_BASE_SECONDS``, ``WEBHOOK_MAX_ATTEMPTS``). When the last attempt
fails the delivery has failed and its subscription is paused."""

from __future__ import annotations

import datetime
import random
import uuid

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from webhooks import sending, signing
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.outbox import hand_over

MAX_DELAY = datetime.timedelta(hours=8)


def backoff(attempts_made: int) -> datetime.timedelta:
    """How long after the ``attempts_made``-th failed attempt the next one is made: base *
    3^(n-1), capped, with ±20% jitter so that retries of many deliveries spread out."""
    delay = min(
        settings.WEBHOOK_RETRY_BASE_SECONDS * 3 ** (attempts_made - 1),
        MAX_DELAY.total_seconds(),
    )
    return datetime.timedelta(seconds=delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter


def secrets_in_use(webhook: Webhook) -> list[str]:
    current = [webhook.secret]
    if webhook.previous_secret and (
        webhook.previous_secret_expires_at is None
        or webhook.previous_secret_expires_at > timezone.now()
    ):
        current.append(webhook.previous_secret)
    return current


def headers(delivery: Delivery, webhook: Webhook) -> dict[str, str]:
    timestamp = int(timezone.now().timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": "PolicyMeasureTracker-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            secrets_in_use(webhook), delivery.message_id, timestamp, delivery.body
        ),
    }


def attempt(delivery: Delivery) -> DeliveryAttempt:
    """Send ``delivery`` once (its row locked by the caller) and record the outcome."""
    webhook = delivery.webhook
    started_at = timezone.now()
    outcome = sending.post(
        webhook.target_url,
        delivery.body,
        headers(delivery, webhook),
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )
    delivery.attempts += 1
    delivery.last_response_status = outcome.status
    delivery.last_error = outcome.error
    if outcome.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts >= delivery.attempt_limit:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
    if (
        delivery.status == DeliveryStatus.FAILED
        and delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    ):
        # Failing for about a day: the receiver is gone or broken; stop until resumed.
        Webhook.objects.filter(pk=webhook.pk).update(
            is_active=False,
            paused_reason=(
                f"Paused at {timezone.now():%Y-%m-%d %H:%M} UTC: {delivery.attempts} attempts "
                f"to deliver {delivery.message_id} failed. Last: {outcome.error}"
            )[:300],
        )
    delivery.save()
    if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None:
        run_after = delivery.next_attempt_at
        transaction.on_commit(lambda: hand_over([delivery.pk], run_after=run_after))
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=started_at,
        duration_ms=outcome.duration_ms,
        response_status=outcome.status,
        error=outcome.error,
    )


@task()
def deliver(delivery_id: str) -> str:
    """Make the next attempt of a delivery if it is pending and due; return what was done."""
    with transaction.atomic():
        delivery = (
            # Only the delivery's row is locked: deliveries of one subscription run side
            # by side.
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(
                pk=uuid.UUID(delivery_id),
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=timezone.now() + datetime.timedelta(seconds=1),
            )
            .first()
        )
        if delivery is None:
            return "not due"
        if not delivery.webhook.is_active:
            delivery.status = DeliveryStatus.SKIPPED
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "next_attempt_at"])
            return "skipped"
        made = attempt(delivery)
    return "delivered" if made.succeeded else f"attempt {made.number} failed"
