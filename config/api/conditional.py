"""Conditional requests, in one place: every read carries an ``ETag``; ``If-None-Match``
with a current tag is answered 304; a write with an ``If-Match`` that is no longer current
is refused with 412, so two clients cannot overwrite each other.

A tag is either the digest of the representation's bytes (``etag_of``), or, where the
representation is expensive and its inputs are few, a digest of those inputs
(``etag_from_parts``), known before anything is serialized."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponseNotModified
from django.utils.http import parse_etags, quote_etag
from rest_framework.request import Request

from config.api.problems import PreconditionFailed
from config.api.renderers import JSONRenderer


def etag_of(content: bytes) -> str:
    """A strong tag for a representation's bytes."""
    return quote_etag(hashlib.md5(content, usedforsecurity=False).hexdigest())


def representation_etag(data: Any) -> str:
    """The tag of ``data`` as the JSON renderer writes it."""
    return etag_of(JSONRenderer().render(data))


def etag_from_parts(prefix: str, parts: Iterable[str]) -> str:
    """A tag computed from what a representation depends on rather than from its bytes:
    ``prefix`` (e.g. a version) stays readable, the rest is digested."""
    digest = hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()[:12]
    return quote_etag(f"{prefix}-{digest}")


def not_modified(request: HttpRequest | Request, current: Callable[[], str | None]) -> Any:
    """A 304 when the request's ``If-None-Match`` holds the current tag, else ``None``.
    ``current`` is only called when the client sent a tag; it returns ``None`` when there is
    no resource to compare with."""
    tags = parse_etags(request.headers.get("If-None-Match", ""))
    if not tags:
        return None
    etag = current()
    if etag is not None and etag in tags:
        return HttpResponseNotModified(headers={"ETag": etag})
    return None


def require_current(request: HttpRequest | Request, current: str, what: str = "resource") -> bool:
    """Refuse (412) a request whose ``If-Match`` does not hold ``current``. Returns whether
    the client vouched for the current state (``If-Match`` given and not ``*``), so that a
    caller can repeat the comparison under a row lock."""
    header = request.headers.get("If-Match")
    if not header:
        return False
    tags = parse_etags(header)
    if "*" in tags:
        return False
    if current not in tags:
        raise PreconditionFailed(
            f"The {what} has changed since you read it (its ETag is now {current}). "
            "Fetch it again and re-apply your change."
        )
    return True


class ConditionalRequestsMixin:
    """``If-Match`` for a view's writes, the tag being that of the representation a GET
    would return. The view compares while the row is locked, so of many concurrent writers
    holding the same tag exactly one succeeds."""

    request: Request
    get_serializer: Callable[..., Any]

    def current_etag(self, instance: models.Model) -> str:
        """The ``ETag`` a GET of ``instance`` would return now."""
        return representation_etag(self.get_serializer(instance).data)

    def check_if_match(self, instance: models.Model) -> None:
        if self.request.headers.get("If-Match"):
            require_current(self.request, self.current_etag(instance))
