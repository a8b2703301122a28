"""The HTTP conventions every endpoint of the API shares: JSON-only request bodies with
sane limits, problem details for errors, refusal of unknown query parameters, cursor
pagination with a capped page size, CSV as an alternative representation of lists, and
conditional requests (``ETag`` / ``If-None-Match`` on reads, ``If-Match`` on writes)."""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib import parse

import django_filters
from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags, quote_etag
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, filters, renderers, serializers, status, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param

from config.formats import CSVRenderer, ProblemJSONRenderer, csv_columns, flatten
from config.problems import PROBLEM_CONTENT_TYPE, PreconditionFailed, QueryParameterError


class _Echo:
    def write(self, value: str) -> str:
        return value


_NO_ROW = object()


def stream_csv(
    header: list[str], rows: Iterable[Iterable[Any]], filename: str
) -> StreamingHttpResponse:
    """A CSV body written row by row as the database cursor is read: constant memory.

    The first row is read before the response starts, so that a query the database refuses
    (a value it cannot search for, an outage) is answered with a problem document instead
    of a download cut short after its status line was sent."""
    writer = csv.writer(_Echo())
    remaining = iter(rows)
    first = next(remaining, _NO_ROW)

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        if first is _NO_ROW:
            return
        yield writer.writerow(first)  # type: ignore[arg-type]
        for row in remaining:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


MAX_PAGE_SIZE = 500
# What a URL may hold where a slug or an id goes: anything else (upper case, a NUL byte, a
# dot) cannot name a row, so the URL matches nothing and the answer is a plain 404.
SLUG_LOOKUP = r"[a-z0-9]+(?:-[a-z0-9]+)*"
ID_LOOKUP = r"[0-9]+"


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
    skip rows that tie on the requested ordering, in either direction, nulls included; and
    page 10,000 costs what page 1 does. ``page_size`` above the cap is reduced to the cap.

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
            queryset = queryset.filter(after(ordering, self.keyset.position))
        rows = list(queryset[: self.page_size + 1])
        self.page = rows[: self.page_size]
        beyond = len(rows) > self.page_size
        if going_back:
            self.page.reverse()
            self.has_next, self.has_previous = True, beyond
        else:
            self.has_next, self.has_previous = beyond, self.keyset is not None
        return self.page

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


def after(ordering: Iterable[str], position: Iterable[Any]) -> models.Q:
    """Rows that come strictly after ``position`` in ``ordering``, as PostgreSQL sorts:
    ascending puts nulls last, descending puts them first."""
    condition = models.Q(pk__in=[])
    equal_so_far = models.Q()
    for term, value in zip(ordering, position, strict=True):
        name = term.removeprefix("-")
        if term.startswith("-"):
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


def _invalid_ordering(allowed: Iterable[str]) -> QueryParameterError:
    names = ", ".join(sorted(allowed))
    return QueryParameterError(
        {
            api_settings.ORDERING_PARAM: [
                f"Order by one or more of: {names} (comma-separated; prefix - for descending)."
            ]
        }
    )


class TrackerOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` that refuses a field it does not know instead of silently ignoring it,
    and that always ends with a unique column (see ``total_ordering``)."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        params = request.query_params.get(self.ordering_param)
        if params is not None:
            allowed = [name for name, _ in self.get_valid_fields(queryset, view)]
            terms = [term.strip() for term in params.split(",")]
            if not terms or any(term.removeprefix("-") not in allowed for term in terms):
                raise _invalid_ordering(allowed)
            ordering: tuple[str, ...] = tuple(terms)
        else:
            ordering = tuple(self.get_default_ordering(view) or ())
        return total_ordering(queryset.model, ordering) if ordering else ordering


class ISODateFilter(django_filters.DateFilter):
    """A date filter that takes ISO 8601 dates only: the locale's formats would read
    03/04/2020 as 3 April for one client and 4 March for another."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``). Anything else is an error, where Django's
    ``NullBooleanField`` reads it as "not given" and the filter silently does nothing."""

    default_error_messages = {"invalid": "Use true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class TrackerFilterBackend(DjangoFilterBackend):
    """django-filter, reporting an invalid filter value as a query parameter error."""

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise QueryParameterError(
                {
                    name: [str(message) for message in messages]
                    for name, messages in filterset.errors.items()
                }
            )
        return filterset.qs


class StrictQueryParametersMixin:
    """Refuse query parameters the operation does not know, so that a misspelt filter is an
    error instead of silently unfiltered data."""

    extra_query_parameters: ClassVar[frozenset[str]] = frozenset()
    request: Any

    def allowed_query_parameters(self) -> set[str]:
        allowed = {api_settings.URL_FORMAT_OVERRIDE or "format", *self.extra_query_parameters}
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None and getattr(self, "action", None) == "list":
            allowed.update(filterset_class.base_filters)
        paginator = getattr(self, "paginator", None)
        if paginator is not None and getattr(self, "action", None) == "list":
            allowed.update({paginator.cursor_query_param, paginator.page_size_query_param})
        if getattr(self, "ordering_fields", None) and getattr(self, "action", None) == "list":
            allowed.add(api_settings.ORDERING_PARAM)
        return allowed

    def check_query_parameters(self) -> None:
        unknown = sorted(set(self.request.query_params) - self.allowed_query_parameters())
        if unknown:
            allowed = ", ".join(sorted(self.allowed_query_parameters()))
            raise QueryParameterError(
                {
                    name: [f"Unknown parameter. This operation accepts: {allowed}."]
                    for name in unknown
                },
                unknown=True,
            )
        # PostgreSQL cannot store or compare text holding NUL: refuse it here, by name,
        # rather than let a filter or a lookup fail inside the query.
        with_nul = sorted(
            name
            for name, values in self.request.query_params.lists()
            if any("\x00" in value for value in values)
        )
        if with_nul:
            raise QueryParameterError(
                {name: ["A parameter cannot contain a NUL character."] for name in with_nul}
            )


def etag_of(content: bytes) -> str:
    return quote_etag(hashlib.md5(content, usedforsecurity=False).hexdigest())


class ConditionalRequestsMixin:
    """``If-Match`` on writes: the write proceeds only if the resource still has the ``ETag``
    the client read. The comparison runs while the row is locked, so of many concurrent
    writers holding the same tag exactly one succeeds."""

    request: Request
    get_serializer: Callable[..., Any]

    def current_etag(self, instance: models.Model) -> str:
        """The ``ETag`` a GET of ``instance`` would return now."""
        data = self.get_serializer(instance).data
        return etag_of(renderers.JSONRenderer().render(data))

    def check_if_match(self, instance: models.Model) -> None:
        header = self.request.headers.get("If-Match")
        if not header:
            return
        tags = parse_etags(header)
        if "*" in tags:
            return
        current = self.current_etag(instance)
        if current not in tags:
            raise PreconditionFailed(
                f"The resource has changed since you read it (its ETag is now {current}). "
                "Fetch it again and re-apply your change."
            )


class ProblemResponsesMixin:
    """Error responses are always ``application/problem+json``, whatever representation the
    client asked for (an error in a CSV export is not CSV)."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = ProblemJSONRenderer()
            response.accepted_media_type = PROBLEM_CONTENT_TYPE
            response.content_type = PROBLEM_CONTENT_TYPE
        if isinstance(response, Response) and request.method in ("GET", "HEAD"):
            patch_vary_headers(response, ("Accept",))
        return response


def is_csv_request(request: HttpRequest | Request) -> bool:
    renderer = getattr(request, "accepted_renderer", None)
    return isinstance(renderer, CSVRenderer)


class TrackerGenericViewSet(
    ProblemResponsesMixin,
    StrictQueryParametersMixin,
    ConditionalRequestsMixin,
    viewsets.GenericViewSet,
):
    """Base of every API view: problem details, strict query parameters, conditional
    requests, cursor pagination."""

    pagination_class = TrackerCursorPagination
    filter_backends: list[Any] = [TrackerFilterBackend, TrackerOrderingFilter]
    lookup_value_regex = ID_LOOKUP

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # What a resource allows does not depend on who asks: 405 comes before 401 and 403.
        method = request.method.lower() if request.method else ""
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)
        self.check_query_parameters()

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            # DRF answers a ``?format=`` this operation cannot give with 404; the resource
            # exists, only not in that representation.
            raise exceptions.NotAcceptable(
                "This operation is not available in the requested format."
            ) from None

    def get_renderers(self) -> list[renderers.BaseRenderer]:
        return [renderers.JSONRenderer()]

    def representation_etag(self, data: Any) -> str:
        return etag_of(renderers.JSONRenderer().render(data))


class TrackerViewSet(TrackerGenericViewSet):
    """A resource that can be listed (JSON or CSV), read, created and updated. Nothing is
    deleted through the API: a public record is corrected, not erased."""

    csv_filename: ClassVar[str] = "export.csv"

    def get_renderers(self) -> list[renderers.BaseRenderer]:
        if getattr(self, "action", None) == "list":
            return [renderers.JSONRenderer(), CSVRenderer()]
        return [renderers.JSONRenderer()]

    # Reads ---------------------------------------------------------------------------

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        queryset = self.filter_queryset(self.get_queryset())
        if is_csv_request(request):
            return self.csv_response(queryset)
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        data = self.get_serializer(self.get_object()).data
        return Response(data, headers={"ETag": self.representation_etag(data)})

    def csv_response(self, queryset: models.QuerySet[Any]) -> StreamingHttpResponse:
        """Every matching row (no pages), serialized one at a time. The columns come from
        the serializer, so an empty export still has its header and a null nested object
        leaves its columns empty instead of shifting them."""
        serializer = self.get_serializer()
        header = csv_columns(serializer)

        def rows() -> Iterator[list[Any]]:
            for obj in queryset.iterator(chunk_size=2000):
                flat = flatten(serializer.to_representation(obj))
                yield [flat.get(name) for name in header]

        return stream_csv(header, rows(), self.csv_filename)

    # Writes --------------------------------------------------------------------------

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            instance = self.perform_create(serializer)
        return self.written(instance, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        with transaction.atomic():
            # Lock the row, then compare If-Match with what it holds now: of concurrent
            # writers holding the same ETag, only the first gets through.
            type(instance)._default_manager.select_for_update().filter(pk=instance.pk).first()
            instance = self.get_queryset().get(pk=instance.pk)
            self.check_if_match(instance)
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            instance = self.perform_update(serializer)
        return self.written(instance, status.HTTP_200_OK)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> Any:
        return serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer) -> Any:
        return serializer.save()

    def written(self, instance: models.Model, status_code: int) -> Response:
        """The stored resource as a GET would return it, with its new ``ETag``."""
        fresh = self.get_queryset().get(pk=instance.pk)
        data = self.get_serializer(fresh).data
        headers = {"ETag": self.representation_etag(data)}
        if status_code == status.HTTP_201_CREATED and isinstance(data, Mapping) and data.get("url"):
            headers["Location"] = str(data["url"])
        return Response(data, status=status_code, headers=headers)
