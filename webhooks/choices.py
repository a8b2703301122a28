"""The states of a delivery."""

from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending: waiting for its next attempt"
    SUCCEEDED = "succeeded", "Succeeded: the receiver answered 2xx"
    FAILED = "failed", "Failed: every attempt failed; no more are made"
    SKIPPED = "skipped", "Skipped: the subscription was paused when it was due"
