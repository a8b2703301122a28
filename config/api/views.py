"""The base of every API view: JSON-only request bodies, problem details for errors,
refusal of unknown query parameters, cursor pagination with a capped page size
(``pagination``), strict filters (``filters``), CSV as a second representation of lists
(``csv_export``) and conditional requests (``conditional``)."""

from __future__ import annotations

import contextlib
import functools
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError, connection, models, transaction
from django.http import Http404, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from rest_framework import exceptions, renderers, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from config.api.browsable import api_renderers
from config.api.conditional import ConditionalRequestsMixin, representation_etag
from config.api.csv_export import CSVRenderer, csv_columns, flatten, stream_csv
from config.api.filters import TrackerFilterBackend, TrackerOrderingFilter
from config.api.pagination import TrackerCursorPagination
from config.api.problems import (
    PROBLEM_CONTENT_TYPE,
    ProblemJSONRenderer,
    QueryParameterError,
    is_write_conflict,
    validation_detail,
)

# What a URL may hold where a slug or an id goes: anything else (upper case, a NUL byte, a
# dot) cannot name a row, so the URL matches nothing and the answer is a plain 404.
SLUG_LOOKUP = r"[a-z0-9]+(?:-[a-z0-9]+)*"
ID_LOOKUP = r"[0-9]+"


# How many times a write runs when PostgreSQL keeps choosing it to break a deadlock.
WRITE_ATTEMPTS = 3


def retrying_write_conflicts[**P, R](handler: Callable[P, R]) -> Callable[P, R]:
    """``handler``, run again when PostgreSQL aborted its transaction to break a deadlock
    or a serialization conflict with another request: each attempt starts afresh from the
    request, after a short random pause. The last attempt's conflict is answered 409."""

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, WRITE_ATTEMPTS):
            try:
                return handler(*args, **kwargs)
            except OperationalError as error:
                # Inside a transaction that cannot go on (an idempotent POST whose own
                # transaction was aborted), there is nothing to retry in.
                if not is_write_conflict(error) or connection.needs_rollback:
                    raise
                time.sleep(random.uniform(0.005, 0.05 * attempt))  # noqa: S311 - jitter
        return handler(*args, **kwargs)

    return run


@contextlib.contextmanager
def service_errors(serializer: serializers.BaseSerializer | None = None) -> Iterator[None]:
    """A service's ``ValidationError`` as a 400 naming what the client sent: a model field
    under the serializer field's name (a source's ``url`` is the API's ``link``), and a
    service's dotted key (``citations.0.quote``) as the nested field it is."""
    try:
        yield
    except DjangoValidationError as error:
        names = (
            {
                field.source: name
                for name, field in serializer.fields.items()  # type: ignore[attr-defined]
                if not field.read_only
            }
            if serializer is not None
            else {}
        )
        raise exceptions.ValidationError(validation_detail(error, names)) from error


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
        # DRF reads an empty ``format`` as none given; an empty value is a client's mistake
        # (a variable that came out empty), answered as one rather than with JSON.
        format_name = api_settings.URL_FORMAT_OVERRIDE or "format"
        if self.request.query_params.get(format_name) == "":
            raise QueryParameterError({format_name: ["Name a format, e.g. json or csv."]})


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
        if method not in ("get", "head", "options"):
            # DRF looks the handler up after this, and so runs the retrying one.
            setattr(self, method, retrying_write_conflicts(getattr(self, method)))

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
        return api_renderers()


class TrackerViewSet(TrackerGenericViewSet):
    """A resource that can be listed (JSON or CSV), read, created and updated. Nothing is
    deleted through the API: a public record is corrected, not erased."""

    csv_filename: ClassVar[str] = "export.csv"

    def get_renderers(self) -> list[renderers.BaseRenderer]:
        if getattr(self, "action", None) == "list":
            return api_renderers(CSVRenderer())
        return api_renderers()

    # Reads ---------------------------------------------------------------------------

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        queryset = self.filter_queryset(self.get_queryset())
        if is_csv_request(request):
            return self.csv_export(queryset)
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        data = self.get_serializer(self.get_object()).data
        return Response(data, headers={"ETag": representation_etag(data)})

    def csv_export(self, queryset: models.QuerySet[Any]) -> StreamingHttpResponse:
        """The list as CSV: every matching row, no pages. ``page_size`` and ``cursor`` are
        the same operation's parameters, so a malformed one is refused here too."""
        if self.paginator is not None:
            self.paginator.check_query(self.request, queryset, self)  # type: ignore[attr-defined]
        return self.csv_response(queryset)

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
        with transaction.atomic(), service_errors(serializer):
            instance = self.create_instance(serializer.validated_data)
        return self.written(instance, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        with transaction.atomic():
            # Lock the row, then compare If-Match with what it holds now: of concurrent
            # writers holding the same ETag, only the first gets through.
            type(instance)._default_manager.select_for_update(no_key=True).filter(
                pk=instance.pk
            ).first()
            instance = self.get_queryset().get(pk=instance.pk)
            self.check_if_match(instance)
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            with service_errors(serializer):
                instance = self.update_instance(instance, serializer.validated_data)
        return self.written(instance, status.HTTP_200_OK)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def create_instance(self, fields: dict[str, Any]) -> Any:
        """Create the resource from the validated ``fields``, through the app's service."""
        raise NotImplementedError(f"{type(self).__name__} writes through a service")

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Any:
        """Change ``instance`` through the app's service; return it as stored."""
        raise NotImplementedError(f"{type(self).__name__} writes through a service")

    def written(self, instance: models.Model, status_code: int) -> Response:
        """The stored resource as a GET would return it, with its new ``ETag``."""
        fresh = self.get_queryset().get(pk=instance.pk)
        data = self.get_serializer(fresh).data
        headers = {"ETag": representation_etag(data)}
        if status_code == status.HTTP_201_CREATED and isinstance(data, Mapping) and data.get("url"):
            headers["Location"] = str(data["url"])
        return Response(data, status=status_code, headers=headers)
