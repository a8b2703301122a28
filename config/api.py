"""The HTTP conventions every endpoint of the API shares: JSON-only request bodies with
sane limits, problem details for errors, refusal of unknown query parameters, cursor
pagination with a capped page size, CSV as an alternative representation of lists, and
conditional requests (``ETag`` / ``If-None-Match`` on reads, ``If-Match`` on writes)."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from django.db import models, transaction
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags, quote_etag
from rest_framework import exceptions, renderers, serializers, status, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from config.formats import CSVRenderer, ProblemJSONRenderer, flatten
from config.problems import PROBLEM_CONTENT_TYPE, PreconditionFailed, QueryParameterError


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_csv(
    header: list[str], rows: Iterable[Iterable[Any]], filename: str
) -> StreamingHttpResponse:
    """A CSV body written row by row as the database cursor is read: constant memory."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class TrackerCursorPagination(CursorPagination):
    """Cursor pagination: stable under concurrent inserts and as fast on page 10,000 as on
    page 1. ``page_size`` above the cap is reduced to the cap."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    page_size_query_description = "Number of results per page (1 to 500, default 50)."
    ordering = "-id"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1 or len(raw) > 12:
            raise QueryParameterError(
                {"page_size": [f"Give a whole number from 1 to {self.max_page_size}."]}
            )
        return min(size, self.max_page_size)

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise QueryParameterError(
                {
                    "cursor": [
                        "This cursor is not valid; use the `next` or `previous` link as given."
                    ]
                }
            ) from None


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

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.check_query_parameters()

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
        """Every matching row (no pages), serialized one at a time."""
        serializer = self.get_serializer()

        def rows() -> Iterator[list[Any]]:
            header: list[str] | None = None
            for obj in queryset.iterator(chunk_size=2000):
                flat = flatten(serializer.to_representation(obj))
                if header is None:
                    header = list(flat)
                    yield header
                yield [flat.get(name) for name in header]

        iterator = rows()
        header = next(iterator, [])
        return stream_csv(header, iterator, self.csv_filename)

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
