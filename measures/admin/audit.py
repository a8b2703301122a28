"""The audit trail: every insert, update and delete of a tracked row, with who made it and
from where. Registered by django-pghistory (``PGHISTORY_ADMIN_CLASS``)."""

from __future__ import annotations

from typing import Any

import pghistory.admin
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from measures.models import Measure

# What happened to the row, in words (pghistory's labels).
ACTIONS = {"insert": "added", "update": "changed", "delete": "deleted"}
# Kept on every save: a change of these alone says nothing a reader needs.
UNSHOWN_FIELDS = {"updated_at", "version"}
# A row's name, by the first of these fields it has.
TITLE_FIELDS = ("title", "name", "instrument", "reference", "slug")


class AuditEventAdmin(pghistory.admin.EventsAdmin):
    """The audit trail of every tracked table, in words: when, what (the object by its
    title, and whether it was added, changed or deleted), who and from where, and the
    change against the previous version of the row, field by field."""

    list_display = ["when", "what", "who", "where", "changes"]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.list_display

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._usernames: dict[Any, str] = {}
        self._measure_titles: dict[Any, str] = {}
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            # The names the page shows, in one query each, before it is rendered.
            events = list(changelist.result_list)
            user_ids: set[Any] = {(e.pgh_context or {}).get("user") for e in events} - {None}
            self._usernames = {
                user.pk: user.get_username()
                for user in get_user_model().objects.filter(pk__in=user_ids)
            }
            measure_ids: set[Any] = {(e.pgh_data or {}).get("measure") for e in events} - {None}
            self._measure_titles = dict(
                Measure.objects.filter(pk__in=measure_ids).values_list("pk", "title")
            )
        return response

    @admin.display(description="When", ordering="pgh_created_at")
    def when(self, event: Any) -> str:
        return date_format(timezone.localtime(event.pgh_created_at), "j M Y H:i")

    @admin.display(description="What")
    def what(self, event: Any) -> str:
        model = tracked_model(event)
        kind = capfirst(model._meta.verbose_name) if model else event.pgh_obj_model
        action = ACTIONS.get(event.pgh_label, event.pgh_label)
        title = self.title(event, model)
        url = None
        if model is not None and event.pgh_label != "delete":
            try:
                url = reverse(
                    f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                    args=[event.pgh_obj_id],
                )
            except NoReverseMatch:
                url = None
        if url:
            return format_html('{} <a href="{}">{}</a> {}', kind, url, title, action)
        return format_html("{} {} {}", kind, title, action)

    def title(self, event: Any, model: type[models.Model] | None) -> str:
        data = event.pgh_data or {}
        measure = self._measure_titles.get(data.get("measure"))
        if "axis" in data and "value" in data:  # a status event, named by its measure
            return f"“{data['axis']} → {data['value']}” of “{measure or data.get('measure')}”"
        for name in TITLE_FIELDS:
            if data.get(name):
                return f"“{data[name]}”"
        if measure:
            return f"of “{measure}”"
        return f"#{event.pgh_obj_id}"

    @admin.display(description="Who")
    def who(self, event: Any) -> str:
        user_id = (event.pgh_context or {}).get("user")
        if user_id is None:
            return "- (no request: seed, import command or SQL)"
        return self._usernames.get(user_id) or f"deleted user {user_id}"

    @admin.display(description="Where")
    def where(self, event: Any) -> str:
        return str((event.pgh_context or {}).get("url") or "-")

    @admin.display(description="Change")
    def changes(self, event: Any) -> str:
        diff = event.pgh_diff or {}
        model = tracked_model(event)
        parts = [
            (field_label(model, name), shown(before), shown(after))
            for name, (before, after) in diff.items()
            if name not in UNSHOWN_FIELDS
        ]
        if not parts:
            return "added" if event.pgh_label == "insert" else "-"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {} → {}</li>", parts))


def tracked_model(event: Any) -> type[models.Model] | None:
    try:
        return apps.get_model(event.pgh_obj_model)
    except (LookupError, ValueError):
        return None


def field_label(model: type[models.Model] | None, name: str) -> str:
    """A field's name as its form labels it (its verbose name), e.g. “target date”."""
    if model is None:
        return name
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return capfirst(str(getattr(field, "verbose_name", name)))


def shown(value: Any) -> str:
    """A value of the diff as a reader reads it: “(empty)” for nothing, text unquoted."""
    if value is None or value == "":
        return "(empty)"
    return str(value)
