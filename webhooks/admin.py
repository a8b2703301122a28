"""Admin for webhook subscriptions and their delivery logs: every user's subscriptions, for
the people who run the tracker. Saving goes through ``webhooks.services``, like the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from strategy.admin import ServiceAdminMixin
from strategy.changes import ChangeKind
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Webhook


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("created_at", "kind", "status", "attempts", "last_response_status", "last_error")
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    extra = 0
    max_num = 0
    ordering = ["-created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).defer("body")


@admin.register(Webhook)
class WebhookAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "owner",
        "target_url",
        "is_active",
        "paused_reason",
        "delivery_count",
        "updated_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["description", "target_url", "owner__username"]
    list_select_related = ["owner"]
    fields = [
        "owner",
        "description",
        "target_url",
        "kinds",
        "filter",
        "is_active",
        "paused_reason",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["owner", "paused_reason", "created_at", "updated_at"]
    inlines = [DeliveryInline]
    actions = ["rotate_secret", "pause", "resume"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Webhook]:
        return super().get_queryset(request).annotate(delivery_total=Count("deliveries"))

    @admin.display(description="deliveries", ordering="delivery_total")
    def delivery_count(self, webhook: Any) -> int:
        return int(webhook.delivery_total)

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "kinds":
            return forms.MultipleChoiceField(
                choices=ChangeKind.choices,
                widget=forms.CheckboxSelectMultiple,
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> Webhook:
        webhook = services.webhook_create(owner=request.user, fields=fields)  # type: ignore[arg-type]
        self.show_secret(request, webhook)
        return webhook

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> Webhook:
        return services.webhook_update(webhook=obj, fields=fields)

    def show_secret(self, request: HttpRequest, webhook: Webhook) -> None:
        messages.warning(
            request,
            f"Signing secret of “{webhook}”: {webhook.secret} — give it to the receiver now; "
            "it is not shown again.",
        )

    @admin.action(description="Rotate the signing secret (the old one signs for 24 hours)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            self.show_secret(request, services.webhook_rotate_secret(webhook=webhook))

    @admin.action(description="Pause: send nothing until resumed")
    def pause(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            services.webhook_update(webhook=webhook, fields={"is_active": False})

    @admin.action(description="Resume")
    def resume(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            services.webhook_update(webhook=webhook, fields={"is_active": True})


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("number", "started_at", "duration_ms", "response_status", "error")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "webhook",
        "kind",
        "status",
        "attempts",
        "last_response_status",
        "next_attempt_at",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["webhook"]
    search_fields = ["webhook__description", "webhook__target_url"]
    date_hierarchy = "created_at"
    readonly_fields = (
        "message_id",
        "webhook",
        "kind",
        "status",
        "created_at",
        "attempts",
        "attempt_limit",
        "next_attempt_at",
        "last_response_status",
        "last_error",
        "delivered_at",
        "body",
    )
    fields = readonly_fields
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.display(description="webhook-id")
    def message_id(self, delivery: Delivery) -> str:
        return delivery.message_id

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send again now (same webhook-id and body)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        sent = 0
        for delivery in queryset:
            try:
                services.delivery_redeliver(delivery=delivery)
                sent += 1
            except ValidationError as error:
                messages.error(request, f"{delivery}: {' '.join(error.messages)}")
        if sent:
            messages.success(request, f"{sent} deliveries queued to be sent again.")
