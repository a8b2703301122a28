"""JSON shapes of webhook subscriptions and their deliveries. The rules (a public target,
a filter naming things that exist) are the model's ``clean()``, run by the services."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers
from rest_framework.reverse import reverse

from config.api.fields import ResourceLinkField, StrictCharField, TrackerModelSerializer
from measures import choices
from strategy.changes import ChangeKind
from webhooks.models import Delivery, DeliveryAttempt, Webhook


def _choices(values: Any, help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=values),
        required=False,
        min_length=1,
        max_length=len(values),
        help_text=help_text,
    )


class WebhookFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Which measures' changes are sent, in the measure list's own parameters (all given
    must hold). Changes of no measure (sources, strategy-wide funding lines) pass an empty
    filter, and one of only a strategy when they belong to it."""

    strategy = StrictCharField(required=False, max_length=100, help_text="Slug of the strategy.")
    measure = StrictCharField(required=False, max_length=100, help_text="Slug of one measure.")
    axis = _choices(
        choices.Axis.choices,
        "Status events only on these axes (e.g. [“stage”]); other kinds of change pass.",
    )
    stage = _choices(choices.Stage.choices, "The measure is now at one of these stages.")
    verdict = _choices(choices.Verdict.choices, "The measure now has one of these verdicts.")
    confidence = _choices(
        choices.Confidence.choices, "The measure now has one of these confidence ratings."
    )
    instrument = _choices(choices.Instrument.choices, "Delivered by one of these instruments.")
    category = StrictCharField(required=False, max_length=200, help_text="The strategy theme.")
    lead_organisation = StrictCharField(
        required=False, max_length=100, help_text="Slug of the lead organisation."
    )

    # Documented as ``additionalProperties: false`` (config/api/schema.py).
    closed = True

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A misspelt parameter silently dropped would widen the subscription to every
        # change: refuse it, as the measure list refuses an unknown parameter.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {
                        name: [f"Unknown parameter. A filter may hold: {allowed}."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class WebhookSerializer(TrackerModelSerializer):
    """A subscription: changes of the chosen kinds (and filter) are POSTed to
    ``target_url``, signed by the Standard Webhooks scheme with the subscription's secret."""

    url = ResourceLinkField(view_name="webhook-detail")
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=ChangeKind.choices),
        min_length=1,
        max_length=len(ChangeKind.values),
        help_text="The kinds of change sent, e.g. [“status_event.recorded”].",
    )
    filter = WebhookFilterSerializer(required=False)
    deliveries_url = serializers.SerializerMethodField(
        help_text="The delivery log of this subscription."
    )

    class Meta:
        model = Webhook
        fields = [
            "url",
            "id",
            "description",
            "target_url",
            "kinds",
            "filter",
            "is_active",
            "paused_reason",
            "deliveries_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "paused_reason", "created_at", "updated_at"]

    def get_deliveries_url(self, webhook: Webhook) -> str:
        return reverse(
            "webhook-delivery-list",
            kwargs={"webhook_pk": webhook.pk},
            request=self.context.get("request"),
        )


class WebhookWithSecretSerializer(WebhookSerializer):
    """A subscription with its secret: shown when it is created and when it is rotated,
    never again."""

    secret = serializers.CharField(
        read_only=True,
        help_text="Signs every delivery (whsec_…). Keep it: it is not shown again.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "duration_ms", "response_status", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    """One change sent to one subscription: its message, where it stands, every attempt."""

    webhook_id = serializers.CharField(
        source="message_id", read_only=True, help_text="The webhook-id header of every attempt."
    )
    payload = serializers.SerializerMethodField(help_text="The body sent, as JSON.")
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)
    redeliver_url = serializers.SerializerMethodField(help_text="POST here to send it again now.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook_id",
            "kind",
            "status",
            "created_at",
            "attempts",
            "next_attempt_at",
            "last_response_status",
            "last_error",
            "delivered_at",
            "payload",
            "attempt_log",
            "redeliver_url",
        ]
        read_only_fields = fields

    def get_payload(self, delivery: Delivery) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(delivery.body)
        return payload

    def get_redeliver_url(self, delivery: Delivery) -> str:
        return reverse(
            "webhook-delivery-redeliver",
            kwargs={"webhook_pk": delivery.webhook_id, "pk": delivery.pk},
            request=self.context.get("request"),
        )
