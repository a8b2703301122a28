"""Representations the API reads and writes: strict JSON in, JSON, problem+json and CSV
out. Kept apart from the views because DRF imports these while defining its own views."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import models
from rest_framework import exceptions, parsers, renderers, serializers
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param

from config.problems import PROBLEM_CONTENT_TYPE

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_JSON_DEPTH = 32


class ProblemJSONRenderer(renderers.JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE
    format = "problem+json"


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


class ResourceLinkField(serializers.HyperlinkedIdentityField):
    """The URL of the resource itself. DRF carries the request's ``?format=`` over into
    links, so the links of a CSV export would ask each resource for CSV, which a single
    resource does not have (406)."""

    def get_url(self, obj: Any, view_name: str, request: Any, format: Any) -> str | None:
        url: str | None = super().get_url(obj, view_name, request, format)
        if url and api_settings.URL_FORMAT_OVERRIDE:
            url = remove_query_param(url, api_settings.URL_FORMAT_OVERRIDE)
        return url


class StrictTextMixin:
    """Text as JSON text only. DRF's ``CharField`` also takes a number and stores its digits
    (``"category": 393547``), where the OpenAPI document promises a string."""

    default_error_messages: ClassVar[dict[str, StrOrPromise]] = {
        "not_text": "Give text, in quotes."
    }

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("not_text")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(StrictTextMixin, serializers.CharField):
    pass


class StrictSlugField(StrictTextMixin, serializers.SlugField):
    pass


class StrictURLField(StrictTextMixin, serializers.URLField):
    pass


class StrictEmailField(StrictTextMixin, serializers.EmailField):
    pass


class StrictTypesMixin:
    """For model serializers: the strict text fields above in place of DRF's defaults."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.URLField: StrictURLField,
        models.EmailField: StrictEmailField,
    }


class MoneyField(serializers.DecimalField):
    """A sum of money, never negative, as a decimal string: “40000000.00”. Only what the
    OpenAPI document states is read (``pattern``): no JSON number, whose binary fraction is
    not the amount meant, no sign, exponent, surrounding space or non-ASCII digit, all of
    which a plain ``DecimalField`` would take."""

    default_error_messages = {
        "format": "Give the amount as a decimal string of up to {whole} digits, optionally "
        "followed by a point and up to {fraction} digits, e.g. “40000000.00”.",
    }

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        self.whole_digits = max_digits - decimal_places
        self.pattern = rf"^[0-9]{{1,{self.whole_digits}}}(?:\.[0-9]{{1,{decimal_places}}})?$"

    def to_internal_value(self, data: Any) -> Decimal:
        if type(data) is not str or not re.fullmatch(self.pattern[1:-1], data):
            self.fail("format", whole=self.whole_digits, fraction=self.decimal_places)
        value: Decimal = super().to_internal_value(data)
        return value


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


def csv_columns(serializer: serializers.BaseSerializer, prefix: str = "") -> list[str]:
    """The CSV header of ``serializer``'s rows: its readable fields, a nested object's
    fields as ``outer.inner`` (the names ``flatten`` gives)."""
    columns: list[str] = []
    for name, field in serializer.fields.items():  # type: ignore[attr-defined]
        if field.write_only:
            continue
        if isinstance(field, serializers.Serializer):
            columns.extend(csv_columns(field, f"{prefix}{name}."))
        else:
            columns.append(f"{prefix}{name}")
    return columns


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
