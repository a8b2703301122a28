"""The audit trail: every insert, update and delete of a tracked row, with who made it and
from where. Registered by django-pghistory (``PGHISTORY_ADMIN_CLASS``)."""

from __future__ import annotations

from typing import Any

import pghistory.admin
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse


class AuditEventAdmin(pghistory.admin.EventsAdmin):
    """The audit trail of every tracked table: when, what, who, from where, and the change
    against the previous version of the row."""

    list_display = ["pgh_created_at", "object", "pgh_label", "who", "where", "changes"]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.list_display

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._usernames: dict[Any, str] = {}
        return super().changelist_view(request, extra_context)

    @admin.display(description="Object")
    def object(self, event: Any) -> str:
        return f"{event.pgh_obj_model.split('.')[-1]} #{event.pgh_obj_id}"

    @admin.display(description="Who")
    def who(self, event: Any) -> str:
        user_id = (event.pgh_context or {}).get("user")
        if user_id is None:
            return "- (no request: seed, import command or SQL)"
        if user_id not in self._usernames:
            user = get_user_model().objects.filter(pk=user_id).first()
            self._usernames[user_id] = user.get_username() if user else f"deleted user {user_id}"
        return self._usernames[user_id]

    @admin.display(description="Where")
    def where(self, event: Any) -> str:
        return str((event.pgh_context or {}).get("url") or "-")

    @admin.display(description="Change")
    def changes(self, event: Any) -> str:
        diff = event.pgh_diff or {}
        hidden = {"updated_at", "version"}
        parts = [
            f"{name}: {before!r} → {after!r}"
            for name, (before, after) in diff.items()
            if name not in hidden
        ]
        return "; ".join(parts) or ("created" if event.pgh_label == "insert" else "-")
