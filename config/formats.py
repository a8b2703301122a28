"""Representations the API reads and writes: strict JSON in, JSON, problem+json and CSV
out. Kept apart from the views because DRF imports these while defining its own views."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, renderers

from config.problems import PROBLEM_CONTENT_TYPE

MAX_JSON_DEPTH = 32


class ProblemJSONRenderer(renderers.JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE
    format = "problem+json"


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser (no NaN or Infinity), refusing absurdly nested bodies."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
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
        return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


class CSVRenderer(renderers.BaseRenderer):
    """``text/csv`` for list endpoints (``Accept: text/csv`` or ``?format=csv``). Views stream
    the rows themselves (see ``CSVListMixin``); this class lets content negotiation and the
    OpenAPI document know the representation exists."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        rows = data.get("results", data) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            rows = [rows]
        buffer = io.StringIO()
        flat = [flatten(row) for row in rows if isinstance(row, Mapping)]
        if flat:
            writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
            writer.writeheader()
            writer.writerows(flat)
        return buffer.getvalue().encode()


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"strategy": {"slug": "x"}}`` becomes ``{"strategy.slug": "x"}``."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, default=str)
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = "" if value is None else value
    return flat
