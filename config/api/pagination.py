"""Keyset ("cursor") pagination for every list of the API, and the page-size rule it
shares with the change feed."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib import parse

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

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
    max_cursor_length = 4000

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
        self.fields = [self.field_of(queryset.model, term) for term in self.columns]
        self.keyset = self.decode_cursor(request)
        going_back = self.keyset is not None and self.keyset.reverse
        ordering = reversed_ordering(self.columns) if going_back else self.columns
        queryset = queryset.order_by(*ordering)
        if self.keyset is not None:
            queryset = queryset.filter(after(ordering, self.keyset.position, self.fields))
        rows = list(queryset[: self.page_size + 1])
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
        self.fields = [self.field_of(queryset.model, term) for term in columns]
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
    def field_of(model: type[models.Model], term: str) -> models.Field[Any, Any]:
        name = term.removeprefix("-")
        return model._meta.pk if name == "pk" else model._meta.get_field(name)  # type: ignore[return-value]

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
        # ``p`` holds one value per ordering column; ``z`` names the columns that are null.
        # A cursor on one column is then DRF's own ``p=<value>``.
        tokens: list[tuple[str, str]] = []
        if cursor.reverse:
            tokens.append(("r", "1"))
        for index, value in enumerate(cursor.position):
            if value is None:
                tokens.append(("z", str(index)))
                value = ""
            tokens.append(("p", value.isoformat() if hasattr(value, "isoformat") else str(value)))
        encoded = base64.b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        return replace_query_param(str(self.base_url), self.cursor_query_param, encoded)

    def decode_cursor(self, request: Request) -> Any:
        """The ``KeysetCursor`` of the request, ``None`` on a first page."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            if len(encoded) > self.max_cursor_length:
                raise ValueError("too long")
            text = base64.b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
            if set(tokens) - {"p", "r", "z"} or tokens.get("r", ["1"]) != ["1"]:
                raise ValueError("unknown part")
            raw = tokens.get("p", [])
            nulls = {int(index) for index in tokens.get("z", [])}
            if len(raw) != len(self.fields) or not nulls <= set(range(len(raw))):
                raise ValueError("not a position in this ordering")
            position = tuple(
                None if index in nulls else self.column_value(self.fields[index], value)
                for index, value in enumerate(raw)
            )
        except (ValueError, UnicodeError, binascii.Error):
            raise QueryParameterError({"cursor": [self.invalid_cursor]}) from None
        return KeysetCursor(position, reverse="r" in tokens)

    @staticmethod
    def column_value(field: models.Field[Any, Any], text: str) -> Any:
        """``text`` as a value of ``field``, or ``ValueError``: a forged value would
        otherwise fail inside the query."""
        if "\x00" in text:
            raise ValueError("NUL")
        try:
            value = field.to_python(text)
        except ValidationError as error:
            raise ValueError(text) from error
        if value is None:
            raise ValueError("null without z")
        return value


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
