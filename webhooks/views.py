"""The webhook API: a signed-in user's subscriptions and their delivery logs. Each user
sees and changes only their own; another user's subscription is not found (404)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.browsable import api_renderers
from config.api.conditional import representation_etag
from config.api.views import TrackerGenericViewSet, TrackerViewSet, service_errors
from webhooks import services
from webhooks.models import Delivery, Webhook
from webhooks.serializers import (
    DeliverySerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)

UUID_LOOKUP = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class WebhookViewSet(TrackerViewSet):
    """Your webhook subscriptions. Create one with a target URL and the kinds of change;
    the answer holds its signing secret, shown only then (and on rotation)."""

    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    ordering = ("id",)

    def get_queryset(self) -> QuerySet[Webhook]:
        if getattr(self, "swagger_fake_view", False):
            return Webhook.objects.none()
        return super().get_queryset().filter(owner=self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("create", "rotate_secret"):
            return WebhookWithSecretSerializer
        return WebhookSerializer

    def get_renderers(self) -> list[renderers.BaseRenderer]:
        return api_renderers()

    def create_instance(self, fields: dict[str, Any]) -> Webhook:
        return services.webhook_create(owner=self.request.user, fields=fields)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Webhook:
        return services.webhook_update(webhook=instance, fields=fields)

    @extend_schema(summary="Delete a webhook", responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete the subscription and its delivery log. Nothing more is sent to it."""
        webhook = self.get_object()
        self.check_if_match(webhook)
        webhook.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate a webhook's secret",
        request=None,
        responses={200: WebhookWithSecretSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new secret, shown once. The old one keeps signing beside it for 24 hours
        (two signatures in ``webhook-signature``), so receivers can switch without a gap."""
        webhook = services.webhook_rotate_secret(webhook=self.get_object())
        return self.written(webhook, status.HTTP_200_OK)


class WebhookDeliveryViewSet(TrackerGenericViewSet):
    """A subscription's delivery log, newest first: each change sent, its status, and
    every attempt with the receiver's answer and how long it took."""

    serializer_class = DeliverySerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "head", "options"]
    lookup_value_regex = UUID_LOOKUP
    ordering = ("-created_at",)

    def webhook(self) -> Webhook:
        if not hasattr(self, "_webhook"):
            self._webhook = get_object_or_404(
                Webhook.objects.filter(owner=self.request.user), pk=self.kwargs["webhook_pk"]
            )
        return self._webhook

    def get_queryset(self) -> QuerySet[Delivery]:
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        return Delivery.objects.filter(webhook=self.webhook()).prefetch_related("attempt_log")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(self.get_object()).data
        return Response(data, headers={"ETag": representation_etag(data)})

    @extend_schema(
        summary="Send a delivery again",
        request=None,
        responses={202: OpenApiResponse(DeliverySerializer, description="Queued to be sent now.")},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Send this delivery again now, with the same ``webhook-id`` and body (a receiver
        that keeps ids drops it if it had it). If it fails it is retried as usual."""
        with service_errors():
            delivery = services.delivery_redeliver(delivery=self.get_object())
        data = self.get_serializer(self.get_queryset().get(pk=delivery.pk)).data
        return Response(data, status=status.HTTP_202_ACCEPTED)
