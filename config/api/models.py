"""The API kit's one table: the POST requests sent with an ``Idempotency-Key`` and the
responses they received (``config.api.idempotency``)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class IdempotencyRecordQuerySet(models.QuerySet["IdempotencyRecord"]):
    def expired(self, now: datetime.datetime | None = None) -> IdempotencyRecordQuerySet:
        """Records older than ``IDEMPOTENCY_KEY_RETENTION_HOURS``: a retry that late is a
        new request."""
        cutoff = (now or timezone.now()) - datetime.timedelta(
            hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS
        )
        return self.filter(created_at__lt=cutoff)


class IdempotencyRecord(models.Model):
    """A POST sent with an ``Idempotency-Key`` header and the response it received, so that a
    client retrying after a lost answer gets the same response instead of a second row.
    Written in the same transaction as the POST's own writes: either both exist or neither."""

    scope = models.CharField(
        "scope",
        max_length=64,
        help_text="Hash of the credentials the request carried: keys are per client.",
    )
    key = models.CharField("key", max_length=255, help_text="The client's Idempotency-Key.")
    fingerprint = models.CharField(
        "fingerprint",
        max_length=64,
        help_text="Hash of the path, query and body: the same key may not be reused for another request.",
    )
    status_code = models.PositiveSmallIntegerField("status code", null=True, blank=True)
    headers = models.JSONField("headers", default=dict, blank=True)
    body = models.BinaryField("body", blank=True, default=b"")
    created_at = models.DateTimeField("created at", db_default=Now(), editable=False)

    objects = IdempotencyRecordQuerySet.as_manager()

    class Meta:
        verbose_name = "idempotency record"
        verbose_name_plural = "idempotency records"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="api_idempotencyrecord_scope_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"
