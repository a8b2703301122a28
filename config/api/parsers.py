"""Request bodies: strict JSON, within limits. Kept apart from the views because DRF imports
the parser while defining its own views."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, parsers

MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser (no NaN or Infinity), refusing absurdly nested bodies, bodies
    over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` and text PostgreSQL cannot store (NUL)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        # DRF reads the request stream itself, past Django's check of the body size, so
        # the limit is enforced here: never read more than one byte over it.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig(f"The request body is larger than {limit} bytes.")
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise exceptions.UnsupportedMediaType(
                media_type or "", f"Unknown charset “{encoding[:40]}”; send UTF-8."
            ) from None
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise exceptions.ParseError(
                "JSON parse error - the body is nested too deeply."
            ) from None
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        if _depth(data) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(
                f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep."
            )
        with_nul = _pointers_to_nul(data)
        if with_nul:
            raise exceptions.ValidationError(
                _nested_error(with_nul[0], "Text cannot contain a NUL character.")
            )
        return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _pointers_to_nul(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Where in ``value`` a string (or an object key) holds a NUL character."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if "\x00" in key:
                found.append(path)
            found.extend(_pointers_to_nul(item, (*path, key)))
        return found
    if isinstance(value, list):
        return [
            p
            for index, item in enumerate(value)
            for p in _pointers_to_nul(item, (*path, str(index)))
        ]
    return []


def _nested_error(path: tuple[str, ...], message: str) -> Any:
    """``("citations", "0", "quote")`` becomes ``{"citations": {"0": {"quote": [message]}}}``,
    which the problem handler turns into the pointer ``#/citations/0/quote``."""
    error: Any = [message]
    for key in reversed(path):
        error = {key: error}
    return error


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level
