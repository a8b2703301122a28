"""Writes of subscriptions and deliveries: the API and the admin call these."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from strategy.services import apply_changes
from webhooks import signing
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Webhook
from webhooks.outbox import hand_over

WRITABLE_FIELDS = ("description", "target_url", "kinds", "filter", "is_active")
# How long the secret before a rotation still signs deliveries, beside the new one.
ROTATION_OVERLAP = datetime.timedelta(hours=24)


def _checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(WRITABLE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be written."))
    return dict(fields)


def webhook_create(*, owner: User, fields: Mapping[str, Any]) -> Webhook:
    """A new subscription of ``owner`` with a new secret (the caller shows it once)."""
    webhook = Webhook(owner=owner, secret=signing.new_secret(), **_checked(fields))
    webhook.full_clean()
    webhook.save()
    return webhook


def webhook_update(*, webhook: Webhook, fields: Mapping[str, Any]) -> Webhook:
    """Change a subscription; resuming it clears why it was paused."""
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        changed = apply_changes(locked, _checked(fields))
        if changed:
            if "is_active" in changed and locked.is_active:
                locked.paused_reason = ""
            locked.full_clean()
            locked.save()
    return locked


def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret; the old one keeps signing beside it for ``ROTATION_OVERLAP``, so that
    receivers can move to the new one without missing a delivery."""
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        locked.secret = signing.new_secret()
        locked.save()
    return locked


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery again, now, with the same ``webhook-id`` and body, whatever became of
    it; a failure then is retried as usual."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().select_related("webhook").get(pk=delivery.pk)
        if not locked.webhook.is_active:
            raise ValidationError(
                {"webhook": "The subscription is paused: resume it before redelivering."}
            )
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = timezone.now()
        # At least one more attempt, however many were made.
        locked.attempt_limit = max(locked.attempt_limit, locked.attempts + 1)
        locked.save()
        transaction.on_commit(lambda: hand_over([locked.pk]))
    return locked
