"""Request bodies: strict JSON, within limits. Kept apart from the views because DRF imports
the parser while defining its own views."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.http import parse_header_parameters
from rest_framework import exceptions, parsers

MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser (no NaN or Infinity), refusing a body in any charset but
    UTF-8 (415; RFC 8259 allows no other), absurdly nested bodies, bodies over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, and text that cannot be stored or written back: NUL,
    which PostgreSQL refuses, and a lone UTF-16 surrogate (``"\\ud800"``), which is no
    character at all."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        _, params = parse_header_parameters(media_type or "")
        charset = params.get("charset", "utf-8").strip().lower()
        if charset not in ("utf-8", "utf8"):
            raise exceptions.UnsupportedMediaType(
                media_type or "", f"The charset “{charset[:40]}” is not accepted; send UTF-8."
            )
        # DRF reads the request stream itself, past Django's check of the body size, so
        # the limit is enforced here: never read more than one byte over it.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig(f"The request body is larger than {limit} bytes.")
        try:
            text = raw.decode("utf-8")
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
        for unstorable, message in UNSTORABLE_TEXT:
            found = _pointers_to(data, unstorable)
            if found:
                raise exceptions.ValidationError(_nested_error(found[0], message))
        return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# Text a body may not hold, and what the refusal says (without echoing the text, which
# could not be written back in a UTF-8 answer).
UNSTORABLE_TEXT = (
    (re.compile("\x00"), "Text cannot contain a NUL character."),
    (
        re.compile("[\ud800-\udfff]"),
        "Text cannot contain a lone UTF-16 surrogate (\\ud800 to \\udfff): it is not a character.",
    ),
)


def _pointers_to(
    value: Any, unstorable: re.Pattern[str], path: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Where in ``value`` a string (or an object key) holds what ``unstorable`` matches."""
    if isinstance(value, str):
        return [path] if unstorable.search(value) else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if unstorable.search(key):
                found.append(path)
            found.extend(_pointers_to(item, unstorable, (*path, key)))
        return found
    if isinstance(value, list):
        return [
            p
            for index, item in enumerate(value)
            for p in _pointers_to(item, unstorable, (*path, str(index)))
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
