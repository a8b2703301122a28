"""Webhook subscriptions and their deliveries.

A ``Webhook`` is a user's subscription: where to send (``target_url``), which kinds of
change, and an optional ``filter`` in the API's own vocabulary (the measure list's query
parameters). A ``Delivery`` is one change for one subscription: it is written in the
transaction of the change (the outbox), so a rolled-back change is never announced and a
committed one is never lost; its ``body`` is fixed then, so every attempt sends the same
bytes under the same ``webhook-id``. Each try is a ``DeliveryAttempt``.

A saved search with an Atom or e-mail digest fits the same shape: a subscription with the
same ``filter`` and another channel than a URL."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from strategy.changes import ChangeKind
from webhooks.choices import DeliveryStatus


class Webhook(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhooks",
        help_text="The user who made the subscription; only they see it through the API.",
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="What the subscription is for, e.g. “newsroom bot”."
    )
    target_url = models.URLField(
        max_length=2000,
        help_text="Where deliveries are POSTed, e.g. https://example.org/hooks/tracker.",
    )
    kinds = ArrayField(
        models.CharField(max_length=40, choices=ChangeKind.choices),
        help_text="The kinds of change delivered.",
    )
    filter = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Only changes of measures matching these measure-list parameters, e.g. "
            "{“strategy”: “serious-violence-strategy-2018”, “stage”: [“in_force”]}. "
            "Empty: every change of the chosen kinds."
        ),
    )
    is_active = models.BooleanField(
        default=True, help_text="Paused subscriptions are sent nothing until resumed."
    )
    paused_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the subscription was paused, when it was."
    )
    secret = models.CharField(
        max_length=100, help_text="Signs deliveries (Standard Webhooks, whsec_…)."
    )
    previous_secret = models.CharField(
        max_length=100,
        blank=True,
        help_text="The secret before the last rotation, still signing until it expires.",
    )
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_url__regex=r"^https?://"),
                name="webhooks_webhook_target_is_http",
                violation_error_message="The target must be an http:// or https:// URL.",
            ),
            models.CheckConstraint(
                condition=~Q(kinds=[]),
                name="webhooks_webhook_kinds_not_empty",
                violation_error_message="Choose at least one kind of change.",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.target_url

    def clean(self) -> None:
        from webhooks import filtering, targets

        errors: dict[str, list[str]] = {}
        # The target is checked when it is set or changed, not on every save: a
        # subscription whose receiver has gone must still be pausable. Every delivery
        # checks it again anyway.
        stored = (
            None
            if self._state.adding
            else Webhook.objects.filter(pk=self.pk).values_list("target_url", flat=True).first()
        )
        if self.target_url and self.target_url != stored:
            try:
                targets.resolve(self.target_url)
            except targets.UnsafeTargetError as error:
                errors["target_url"] = [str(error)]
        if problems := filtering.errors(self.filter):
            errors["filter"] = problems
        if errors:
            raise ValidationError(errors)


class Delivery(models.Model):
    """One change for one subscription: the message and where it stands."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=40, choices=ChangeKind.choices)
    body = models.TextField(help_text="The JSON body, exactly as sent on every attempt.")
    created_at = models.DateTimeField(db_default=Now())
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_limit = models.PositiveSmallIntegerField(
        default=10, help_text="Attempts after which a failing delivery has failed."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt is due, while pending."
    )
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhooks_delivery_due",
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhooks_delivery_log"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(next_attempt_at__isnull=False),
                name="webhooks_delivery_pending_has_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.webhook}"

    @property
    def message_id(self) -> str:
        """The ``webhook-id``: the same on every attempt, so a receiver can drop repeats."""
        return f"msg_{self.id.hex}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    response_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The receiver's HTTP status; empty when none came."
    )
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300
