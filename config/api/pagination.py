"""Keyset ("cursor") pagination for every list of the API, and the page-size rule it
shares with the change feed."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from config.api.prepared import PreparedReads
from config.api.problems import QueryParameterError

MAX_PAGE_SIZE = 500


def parse_page_size(
    raw: str | None, *, default: int, maximum: int = MAX_PAGE_SIZE, name: str = "page_size"
) -> int:
    """A page size from the query string: a whole number from 1. A larger number than
    ``maximum`` is reduced to it rather than refused, so asking for everything gets the
    largest page."""
    if raw is None:
        return default
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit()) or not digits:
        raise QueryParameterError({name: [f"Give a whole number from 1 to {maximum}."]})
    # A number with more digits than the cap is above it: no need to convert it.
    if len(digits) > len(str(maximum)):
        return maximum
    return min(int(digits), maximum)


def total_ordering(model: type[models.Model], ordering: Iterable[str]) -> tuple[str, ...]:
    """``ordering``, ending with the primary key unless a column of it is already unique:
    rows that tie on the requested columns then always come in the same order."""
    terms = tuple(ordering)
    for term in terms:
        name = term.removeprefix("-")
        if name == "pk":
            return terms
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if (
            isinstance(field, models.Field)
            and (field.primary_key or field.unique)
            and not field.null
        ):
            return terms
    return (*terms, "pk")


@dataclass(frozen=True)
class KeysetCursor:
    """Where a page starts: after (or, going back, before) the row whose ordering columns
    hold ``position``."""

    position: tuple[Any, ...]
    reverse: bool


class TrackerCursorPagination(CursorPagination):
    """Keyset pagination: a cursor holds every ordering column of the row a page starts
    after, and the ordering always ends with a unique column, so pages neither repeat nor
    skip rows that tie on the requested ordering, in either direction, nulls included. On a
    unique indexed ordering (the default ones) a deep page costs what the first does.
    ``page_size`` above the cap is reduced to the cap.

    DRF's own cursor keeps only the first column and counts ties with an offset, which
    loses rows when a ``previous`` link crosses a run of ties."""

    page_size = 50
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    page_size_query_description = "Number of results per page (1 to 500, default 50)."
    ordering = "-id"
    invalid_cursor = "This cursor is not valid; use the `next` or `previous` link as given."

    def get_page_size(self, request: Request) -> int:
        return parse_page_size(
            request.query_params.get(self.page_size_query_param),
            default=self.page_size,
            maximum=self.max_page_size,
        )

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return total_ordering(queryset.model, super().get_ordering(request, queryset, view))

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.columns = self.get_ordering(request, queryset, view)
        self.fields = [self.field_of(queryset, term) for term in self.columns]
        self.keyset = self.decode_cursor(request)
        going_back = self.keyset is not None and self.keyset.reverse
        ordering = reversed_ordering(self.columns) if going_back else self.columns
        queryset = queryset.order_by(*ordering)
        if self.keyset is not None:
            queryset = queryset.filter(after(ordering, self.keyset.position, self.fields))
        return self.cut(list(queryset[: self.page_size + 1]))

    def paginate_prepared(
        self,
        reads: PreparedReads,
        shape: Hashable,
        build: Callable[[], Any],
        request: Request,
        view: Any = None,
        *,
        plan_each_time: bool = False,
    ) -> list[Any]:
        """``paginate_queryset`` of ``build()`` (a ``.values()`` queryset of the request),
        through ``reads`` (``config/api/prepared.py``): ``shape`` names everything the
        queryset is built from but the cursor, whose position fills the statement's slots.
        ``build`` is only called for a shape not prepared yet. ``plan_each_time``: as
        ``PreparedReads.prepare`` takes it."""
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()

        def ordering_of() -> tuple[tuple[str, ...], list[models.Field[Any, Any]]]:
            queryset = build()
            columns = self.get_ordering(request, queryset, view)
            return columns, [self.field_of(queryset, term) for term in columns]

        self.columns, self.fields = reads.remembered(("ordering", shape), ordering_of)
        self.keyset = self.decode_cursor(request)
        going_back = self.keyset is not None and self.keyset.reverse
        ordering = reversed_ordering(self.columns) if going_back else self.columns
        position = self.keyset.position if self.keyset is not None else ()
        # A null in the position changes the SQL (IS NULL), a value only a parameter.
        values = {f"p{i}": value for i, value in enumerate(position) if value is not None}
        page_shape = (
            shape,
            self.keyset is not None,
            going_back,
            tuple(v is None for v in position),
        )

        def page_query(slots: Mapping[str, Any]) -> Any:
            queryset = build().order_by(*ordering)
            if self.keyset is not None:
                at = tuple(slots.get(f"p{i}") for i in range(len(position)))
                queryset = queryset.filter(after(ordering, at, self.fields))
            return queryset[: self.page_size + 1]

        statement = reads.prepare(page_shape, page_query, values, plan_each_time=plan_each_time)
        rows = statement.rows(values) if statement is not None else list(page_query(values))
        return self.cut(rows)

    def cut(self, rows: list[Any]) -> list[Any]:
        """The page of ``rows`` (one more than a page when there is a next one), in order."""
        going_back = self.keyset is not None and self.keyset.reverse
        self.page = rows[: self.page_size]
        beyond = len(rows) > self.page_size
        if going_back:
            self.page.reverse()
            self.has_next, self.has_previous = True, beyond
        else:
            self.has_next, self.has_previous = beyond, self.keyset is not None
        return self.page

    def check_query(self, request: Request, queryset: Any, view: Any = None) -> None:
        """Refuse a malformed ``page_size`` or ``cursor`` where no page is cut (a CSV export
        has every row), as a paged list would: the parameters are documented for both."""
        self.get_page_size(request)
        columns = self.get_ordering(request, queryset, view)
        self.fields = [self.field_of(queryset, term) for term in columns]
        self.decode_cursor(request)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # DRF's own says ``nullable: true``, which OpenAPI 3.1 ignores: the last page's
        # null ``next`` would break generated clients.
        def link(description: str) -> dict[str, Any]:
            return {"type": ["string", "null"], "format": "uri", "description": description}

        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": link("The next page; null on the last page."),
                "previous": link("The previous page; null on the first page."),
                "results": schema,
            },
        }

    @staticmethod
    def field_of(queryset: Any, term: str) -> models.Field[Any, Any]:
        """The field of an ordering column; for a computed one (a search's ``rank``), a
        field of its type under its name."""
        name = term.removeprefix("-")
        model = queryset.model
        if name == "pk":
            return model._meta.pk
        annotation = queryset.query.annotations.get(name)
        if annotation is not None:
            field = copy.copy(annotation.output_field)
            field.set_attributes_from_name(name)
            return field
        return model._meta.get_field(name)

    def position_of(self, row: models.Model) -> tuple[Any, ...]:
        return tuple(getattr(row, field.attname) for field in self.fields)

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self.encode_cursor(KeysetCursor(self.position_of(self.page[-1]), reverse=False))

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self.encode_cursor(KeysetCursor(self.position_of(self.page[0]), reverse=True))

    def encode_cursor(self, cursor: Any) -> str:
        return replace_query_param(
            str(self.base_url), self.cursor_query_param, encode_position(cursor)
        )

    def decode_cursor(self, request: Request) -> Any:
        """The ``KeysetCursor`` of the request, ``None`` on a first page. Everything in it is
        checked before it is used. A value that is not a cursor at all (not URL-safe base64,
        too long) is refused with 400; one of the right form that names no position of this
        ordering (a forged one, or one from another ordering) is a page that does not exist,
        404."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        if len(encoded) > MAX_CURSOR_LENGTH or not re.fullmatch(CURSOR_PATTERN, encoded):
            raise QueryParameterError({"cursor": [self.invalid_cursor]})
        try:
            reverse, raw = decode_position(encoded)
            if len(raw) != len(self.fields):
                raise ValueError("not a position in this ordering")
            position = tuple(
                self.column_value(field, value)
                for field, value in zip(self.fields, raw, strict=True)
            )
        except (ValueError, TypeError, UnicodeError, binascii.Error, ValidationError):
            raise exceptions.NotFound(
                "No page starts at this cursor: it names no position in this ordering. "
                "Use the `next` or `previous` link as given, or start from the first page."
            ) from None
        return KeysetCursor(position, reverse=reverse)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = (
                    "Where the page starts: pass on the cursor of the `next` or `previous` "
                    "link as given. It is opaque, URL-safe base64 of at most "
                    f"{MAX_CURSOR_LENGTH} characters, and valid only with the same ordering."
                )
                parameter["schema"] = {
                    "type": "string",
                    "pattern": CURSOR_PATTERN,
                    "maxLength": MAX_CURSOR_LENGTH,
                }
        return parameters

    @staticmethod
    def column_value(field: models.Field[Any, Any], value: Any) -> Any:
        """``value`` as a value of ``field``, or an error: a forged value would otherwise
        fail inside the query."""
        if value is None:
            if not field.null:
                raise ValueError("null in a column that cannot be null")
            return None
        if type(value) is str:
            if "\x00" in value:
                raise ValueError("NUL")
            value = field.to_python(value)
        elif type(value) is not int:
            raise ValueError("neither text nor a whole number")
        if isinstance(field, models.IntegerField):
            if type(value) is not int or not -(2**63) <= value < 2**63:
                raise ValueError("not a 64-bit whole number")
        elif isinstance(field, models.FloatField):
            # Written as text, the shortest that reads back as the same double.
            if type(value) is not float or not math.isfinite(value):
                raise ValueError("not a finite number")
        elif isinstance(value, int | float):
            raise ValueError("a number where the column is not one")
        return value


# A cursor is URL-safe base64 (no padding) of the JSON ``[reverse, [value, ...]]``: one value
# per ordering column, null where the row's column is null. Text travels as UTF-8, so a
# position of long non-ASCII titles stays well under this length (which a web server's
# limit on the request line leaves room for).
MAX_CURSOR_LENGTH = 4000
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def encode_position(cursor: KeysetCursor) -> str:
    data = [cursor.reverse, [_json_value(value) for value in cursor.position]]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def decode_position(encoded: str) -> tuple[bool, list[Any]]:
    """``(reverse, values)`` of a cursor of the right form, or ``ValueError``."""
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    data = json.loads(raw.decode())
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not isinstance(data[0], bool)
        or not isinstance(data[1], list)
    ):
        raise ValueError("not a cursor")
    return data[0], data[1]


def reversed_ordering(ordering: Iterable[str]) -> tuple[str, ...]:
    return tuple(
        term.removeprefix("-") if term.startswith("-") else f"-{term}" for term in ordering
    )


def after(
    ordering: Iterable[str],
    position: Iterable[Any],
    fields: Iterable[models.Field[Any, Any]],
) -> models.Q:
    """Rows that come strictly after ``position`` in ``ordering`` (whose columns are
    ``fields``), as PostgreSQL sorts: ascending puts nulls last, descending puts them
    first. A column that cannot be null gets no ``IS NULL`` branch, which would keep
    PostgreSQL from reading its index as a range."""
    condition = models.Q(pk__in=[])
    equal_so_far = models.Q()
    for term, value, field in zip(ordering, position, fields, strict=True):
        name = term.removeprefix("-")
        if not field.null:
            beyond = models.Q(**{f"{name}__lt" if term.startswith("-") else f"{name}__gt": value})
        elif term.startswith("-"):
            beyond = (
                models.Q(**{f"{name}__isnull": False})
                if value is None
                else models.Q(**{f"{name}__lt": value})
            )
        elif value is None:
            beyond = models.Q(pk__in=[])
        else:
            beyond = models.Q(**{f"{name}__gt": value}) | models.Q(**{f"{name}__isnull": True})
        condition |= equal_so_far & beyond
        equal_so_far &= (
            models.Q(**{f"{name}__isnull": True}) if value is None else models.Q(**{name: value})
        )
    return condition
