"""Who may do what through the API. Kept apart from the views because DRF imports the
default permission class while defining its own views."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


class ModelPermissionsOrReadOnly(permissions.DjangoModelPermissionsOrAnonReadOnly):
    """Reads are public; a write needs the model's add or change permission. DRF's class
    builds the view's queryset on every read just to learn the model, which costs a read of
    one measure more than its query does."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)
