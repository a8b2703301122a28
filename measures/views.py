"""API views for measures, their timelines, funding, strategy reports and the change feed."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from django.db import router
from django.db.models import QuerySet
from django.http import Http404, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from config.api.conditional import not_modified, representation_etag
from config.api.csv_export import stream_copy_csv
from config.api.filters import (
    INSTANT_OR_DATE_SCHEMA,
    TrackerFilterBackend,
    query_date,
    query_instant,
)
from config.api.pagination import CURSOR_PATTERN, TrackerCursorPagination, parse_page_size
from config.api.prepared import PreparedReads
from config.api.problems import PreconditionFailed, QueryParameterError
from config.api.views import (
    SLUG_LOOKUP,
    TrackerGenericViewSet,
    TrackerViewSet,
    is_csv_request,
    service_errors,
)
from legislation.choices import Extent
from legislation.queries import legislation_chain
from legislation.serializers import MeasureLegislationSerializer
from measures import feed, reports, search
from measures.filters import (
    RELEVANCE,
    FundingLineFilterSet,
    MeasureFilterSet,
    MeasureOrderingFilter,
    StatusEventFilterSet,
)
from measures.models import ANYWHERE, FundingLine, Measure, Place, StatusEvent
from measures.representation import (
    ETAG_COLUMNS,
    MeasureRepresentation,
    MeasureSerializer,
    csv_columns,
    etag_row,
    expected_version,
    measure_etag,
    row_columns,
)
from measures.serializers import (
    ChangeFeedPageSerializer,
    FundingLineSerializer,
    MeasureWriteSerializer,
    StatusEventRetractionSerializer,
    StatusEventSerializer,
    StatusEventWriteSerializer,
    StrategyDiffSerializer,
    StrategySummarySerializer,
)
from measures.services import (
    CitationInput,
    StaleVersionError,
    funding_line_create,
    funding_line_update,
    measure_create,
    measure_update,
    status_event_record,
    status_event_retract,
)
from strategy.models import Strategy
from strategy.serializers import StrategyReferenceSerializer

AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description="Answer with each measure's status on this date (valid time), e.g. 2019-04-09.",
)
KNOWN_AT = OpenApiParameter(
    "known_at",
    INSTANT_OR_DATE_SCHEMA,
    description=(
        "Answer as the tracker knew it at this instant (transaction time), before any later "
        "corrections, e.g. 2024-01-01T00:00:00Z."
    ),
)
EXTENT = OpenApiParameter(
    "extent",
    OpenApiTypes.STR,
    enum=Extent.values,
    description=(
        "Answer for this nation: the events not limited to other nations or to an area "
        "within it, e.g. `extent=scotland&as_of=2021-02-01` asks whether it was in force "
        "in Scotland then. Without it (and without `area`), anywhere."
    ),
)
AREA = OpenApiParameter(
    "area",
    {"type": "string", "minLength": 1, "maxLength": 200},
    description=(
        "Answer for this area (a pilot's), as recorded, in any case: its events and those "
        "not limited to an area, e.g. “Metropolitan police district”."
    ),
)
PLACE_PARAMETERS = frozenset({"extent", "area"})


def query_place(request: Request) -> Place:
    """The place the client asks about (``extent``, ``area``), or anywhere; an unknown
    nation or an empty or overlong value is refused."""
    extent = request.query_params.get("extent")
    area = request.query_params.get("area")
    errors: dict[str, list[str]] = {}
    if extent is not None and extent not in Extent.values:
        errors["extent"] = [f"Use one of {', '.join(Extent.values)}."]
    if area is not None and not 0 < len(area) <= 200:
        errors["area"] = [
            "Name an area of 1 to 200 characters, e.g. “Metropolitan police district”."
        ]
    if errors:
        raise QueryParameterError(errors)
    return Place(extent=extent, area=area.strip() if area is not None else None)


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag you read; if the resource has changed since, the write is refused with 412.",
)


# The measure list's and detail's statements, by shape (config/api/prepared.py).
MEASURE_READS = PreparedReads()


class MeasurePagination(TrackerCursorPagination):
    """Pages of ``.values()`` rows rather than model instances."""

    def position_of(self, row: Any) -> tuple[Any, ...]:
        return tuple(row[field.attname] for field in self.fields)


@extend_schema_view(
    list=extend_schema(parameters=[AS_OF, KNOWN_AT, EXTENT, AREA]),
    retrieve=extend_schema(parameters=[AS_OF, KNOWN_AT, EXTENT, AREA]),
    create=extend_schema(request=MeasureWriteSerializer, responses={201: MeasureSerializer}),
    update=extend_schema(
        request=MeasureWriteSerializer, responses=MeasureSerializer, parameters=[IF_MATCH]
    ),
    partial_update=extend_schema(
        request=MeasureWriteSerializer, responses=MeasureSerializer, parameters=[IF_MATCH]
    ),
)
class MeasureViewSet(TrackerViewSet):
    """The commitments of strategies, with their current (or past) stage, verdict and
    delivery confidence."""

    queryset = Measure.objects.for_api()
    serializer_class = MeasureSerializer
    filterset_class = MeasureFilterSet
    filter_backends = [TrackerFilterBackend, MeasureOrderingFilter]
    pagination_class = MeasurePagination
    lookup_field = "slug"
    lookup_value_regex = SLUG_LOOKUP
    ordering = ("slug",)
    ordering_fields = ("slug", "title", "updated_at", "created_at", RELEVANCE)
    extra_query_parameters = frozenset({"as_of", "known_at", *PLACE_PARAMETERS})
    csv_filename = "measures.csv"

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("create", "update", "partial_update"):
            return MeasureWriteSerializer
        return MeasureSerializer

    def time_travel(self) -> tuple[datetime.date | None, datetime.datetime | None, Place]:
        if self.request.method not in ("GET", "HEAD"):
            return None, None, ANYWHERE
        return (
            query_date(self.request, "as_of"),
            query_instant(self.request, "known_at"),
            query_place(self.request),
        )

    def read_shape(self) -> Hashable:
        """What a read's SQL is built from besides the slug or the cursor: the operation, the
        query string (the cursor aside), and today's date, which decides today's status."""
        query = self.request.query_params
        parameters = tuple(
            sorted((name, tuple(query.getlist(name))) for name in query if name != "cursor")
        )
        return (self.action, timezone.localdate(), parameters)

    def get_queryset(self) -> QuerySet[Measure]:
        # The status read is always the ``*_then`` annotations: the history's answer for a
        # date, instant or place asked for, else today's (the cached columns while they
        # hold). ``request.time_travel`` tells the filters and the CSV to read them.
        queryset: Any = super().get_queryset()
        as_of, known_at, place = self.time_travel()
        self.request.time_travel = True
        self.request.as_of = as_of
        if as_of or known_at or place != ANYWHERE:
            return queryset.with_history(as_of=as_of, known_at=known_at, place=place)
        return queryset.with_current_status()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Rows straight from .values() into JSON: no model instances, no per-field
        # serializer work (see MeasureRepresentation). The docstring would become the
        # operation's description in the OpenAPI document, hence a comment.
        # The page's SQL is prepared once per shape of request (config/api/prepared.py):
        # the queryset is built, and its filters checked, only for a shape not seen yet.
        if is_csv_request(request):
            return self.csv_export(self.filter_queryset(self.get_queryset()))
        built: list[QuerySet[Any]] = []

        def rows() -> QuerySet[Any]:
            if not built:
                queryset = self.filter_queryset(self.get_queryset())
                columns = row_columns(time_travel=True)
                if search.RANK in queryset.query.annotations:
                    # A page ordered by relevance ends at a rank: the cursor holds it.
                    columns += (search.RANK,)
                built.append(queryset.values(*columns))
            return built[0]

        paginator: Any = self.paginator
        # A search is planned for its words (PreparedReads.prepare).
        searched = "q" in request.query_params
        page = paginator.paginate_prepared(
            MEASURE_READS, self.read_shape(), rows, request, self, plan_each_time=searched
        )
        as_of, _, _ = self.time_travel()
        represent = MeasureRepresentation(request, on=as_of)
        return self.get_paginated_response([represent(row) for row in page])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Like the list, from .values(). A client revalidating with If-None-Match is
        # answered from a three-column read when nothing changed.
        as_of, known_at, place = self.time_travel()

        def current_etag() -> str | None:
            row = etag_row(kwargs["slug"])
            return None if row is None else measure_etag(request, row, as_of, known_at, place)

        if (not_modified_response := not_modified(request, current_etag)) is not None:
            return not_modified_response
        columns = (*row_columns(time_travel=True), *ETAG_COLUMNS[1:])

        def measure(slots: Mapping[str, Any]) -> QuerySet[Any]:
            # A slug names one row: no ORDER BY (first() would sort by Meta.ordering).
            return self.get_queryset().filter(slug=slots["slug"]).order_by().values(*columns)[:1]

        slug = {"slug": kwargs["slug"]}
        statement = MEASURE_READS.prepare(self.read_shape(), measure, slug)
        rows = statement.rows(slug) if statement is not None else list(measure(slug))
        if not rows:
            raise Http404
        row = rows[0]
        return Response(
            MeasureRepresentation(request, on=as_of)(row),
            headers={"ETag": measure_etag(request, row, as_of, known_at, place)},
        )

    @extend_schema(
        summary="Read the law that carries a measure",
        responses=MeasureLegislationSerializer,
    )
    @action(detail=True, methods=["get"], url_path="legislation")
    def legislation(self, request: Request, slug: str) -> Response:
        """The chain from the measure to the law: the provisions that carry it, each with
        the instruments that brought it into force (where, from when and until when), and
        the Acts they are part of, each with the bill it was enacted from and the bill's
        dated stages in each House."""
        measure = get_object_or_404(Measure.objects.only("id", "slug", "title"), slug=slug)
        data = MeasureLegislationSerializer(
            legislation_chain(measure), context=self.get_serializer_context()
        ).data
        return Response(data, headers={"ETag": representation_etag(data)})

    def allowed_query_parameters(self) -> set[str]:
        allowed = super().allowed_query_parameters()
        if self.action == "legislation":
            # The law's path has no date or place to answer for: it is the record as it is.
            allowed -= self.extra_query_parameters
        return allowed

    def create_instance(self, fields: dict[str, Any]) -> Measure:
        return measure_create(fields=fields)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        measure = self.get_object()
        expected = expected_version(request, measure)
        serializer = MeasureWriteSerializer(
            measure, data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        try:
            with service_errors(serializer):
                measure = measure_update(
                    measure=measure, fields=serializer.validated_data, expected_version=expected
                )
        except StaleVersionError as error:
            raise PreconditionFailed(str(error)) from error
        return self.written(measure, status.HTTP_200_OK)

    def written(self, instance: Any, status_code: int) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        data = MeasureSerializer(fresh, context=self.get_serializer_context()).data
        headers = {"ETag": measure_etag(self.request, fresh)}
        if status_code == status.HTTP_201_CREATED:
            headers["Location"] = str(data["url"])
        return Response(data, status=status_code, headers=headers)

    def csv_response(self, queryset: QuerySet[Measure]) -> StreamingHttpResponse:
        """Every matching measure, written as CSV by PostgreSQL and streamed as it comes."""
        travelling = getattr(self.request, "time_travel", False)
        queryset = queryset.with_overdue(  # type: ignore[attr-defined]
            getattr(self.request, "as_of", None), "stage_then" if travelling else "stage"
        )
        columns = csv_columns(self.request, time_travel=travelling)
        return stream_copy_csv(queryset, columns, self.csv_filename)


@extend_schema_view(
    list=extend_schema(summary="List a measure's status events"),
    retrieve=extend_schema(summary="Read a status event"),
    create=extend_schema(
        summary="Record a status event",
        request=StatusEventWriteSerializer,
        responses={201: StatusEventSerializer},
        parameters=[IF_MATCH],
        description=(
            "Record a status event with its evidence. The move is checked against the allowed "
            "stage moves; to correct an earlier event, give its id in `supersedes`. "
            "`If-Match` takes the measure's ETag."
        ),
    ),
)
class MeasureEventViewSet(TrackerViewSet):
    """A measure's timeline: every status event, newest first, corrections included."""

    serializer_class = StatusEventSerializer
    filterset_class = StatusEventFilterSet
    # Events are never edited or deleted: a correction is a new event that supersedes one.
    http_method_names = ["get", "post", "head", "options"]
    ordering = ("-effective_on", "-recorded_at", "-id")
    csv_filename = "events.csv"
    queryset = StatusEvent.objects.for_api()

    def measure(self) -> Measure:
        if not hasattr(self, "_measure"):
            self._measure = get_object_or_404(
                Measure.objects.for_api(), slug=self.kwargs["measure_slug"]
            )
        return self._measure

    def get_queryset(self) -> QuerySet[StatusEvent]:
        return super().get_queryset().filter(measure=self.measure())

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return StatusEventWriteSerializer if self.action == "create" else StatusEventSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        measure = self.measure()
        serializer = StatusEventWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        expected = expected_version(request, measure)
        data = serializer.validated_data
        try:
            with service_errors(serializer):
                event = status_event_record(
                    measure=measure,
                    axis=data["axis"],
                    value=data["value"],
                    effective_on=data["effective_on"],
                    effective_on_precision=data["effective_on_precision"],
                    extent=data["extent"],
                    area=data["area"],
                    ends_on=data["ends_on"],
                    rationale=data["rationale"],
                    citations=[CitationInput(**citation) for citation in data["citations"]],
                    supersedes=data.get("supersedes"),
                    recorded_by=request.user,
                    expected_version=expected,
                )
        except StaleVersionError as error:
            raise PreconditionFailed(str(error)) from error
        return self.recorded(event)

    @extend_schema(
        summary="Retract a status event",
        request=StatusEventRetractionSerializer,
        responses={201: StatusEventSerializer},
        parameters=[IF_MATCH],
        description=(
            "Withdraw an event that should not have been recorded (for example, it named the "
            "wrong measure): records a retraction (`is_retraction: true`) that supersedes it. "
            "Both stay in the history and `known_at` an earlier instant still finds the "
            "withdrawn event; from now on neither counts towards the measure's status. An "
            "event already corrected or retracted cannot be retracted, nor a stage event "
            "whose removal leaves a move the lifecycle does not allow. To replace an event "
            "with the right one, correct it instead (`supersedes`). `If-Match` takes the "
            "measure's ETag."
        ),
    )
    @action(detail=True, methods=["post"], url_path="retract")
    def retract(self, request: Request, measure_slug: str, pk: str) -> Response:
        event = self.get_object()
        serializer = StatusEventRetractionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with service_errors(serializer):
                retraction = status_event_retract(
                    event=event,
                    rationale=data["rationale"],
                    citations=[CitationInput(**citation) for citation in data["citations"]],
                    recorded_by=request.user,
                    expected_version=expected_version(request, self.measure()),
                )
        except StaleVersionError as error:
            raise PreconditionFailed(str(error)) from error
        return self.recorded(retraction)

    def recorded(self, event: StatusEvent) -> Response:
        """201 with the new event as a GET of its URL shows it, its URL and its ETag."""
        fresh = self.get_queryset().get(pk=event.pk)
        body = StatusEventSerializer(fresh, context=self.get_serializer_context()).data
        location = reverse(
            "measure-event-detail",
            kwargs={"measure_slug": self.measure().slug, "pk": event.pk},
            request=self.request,
        )
        headers = {"Location": location, "ETag": representation_etag(body)}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


class FundingLineViewSet(TrackerViewSet):
    """Money figures, one per phase: announced, allocated, committed, disbursed, spent."""

    queryset = FundingLine.objects.for_api()
    serializer_class = FundingLineSerializer
    filterset_class = FundingLineFilterSet
    ordering = ("id",)
    ordering_fields = ("id", "amount", "period_start", "updated_at")
    csv_filename = "funding-lines.csv"

    def create_instance(self, fields: dict[str, Any]) -> FundingLine:
        return funding_line_create(fields=fields, recorded_by=self.request.user)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> FundingLine:
        return funding_line_update(line=instance, fields=fields)


# The strategy reports' statements, by shape (config/api/prepared.py).
REPORT_READS = PreparedReads()

# What the summary shows of its strategy (``StrategyReferenceSerializer``), with its id.
REPORT_STRATEGY_COLUMNS = ("id", *StrategyReferenceSerializer.Meta.fields)


class StrategyReportViewSet(TrackerGenericViewSet):
    """Reports on one strategy: its summary and how it changed between two dates."""

    queryset = Strategy.objects.select_related("owner")
    lookup_field = "slug"
    lookup_value_regex = SLUG_LOOKUP
    pagination_class = None  # type: ignore[assignment]
    filter_backends: list[Any] = []

    @extend_schema(
        summary="Summarise a strategy",
        parameters=[AS_OF, EXTENT, AREA],
        responses=StrategySummarySerializer,
    )
    @action(detail=True, methods=["get"], url_path="summary")
    def summary(self, request: Request, slug: str) -> Response:
        """Measure counts per stage, verdict and confidence (on a date, in a nation or area
        if asked), and money per currency and phase (never summed across phases), each sum
        counted once: the strategy's envelope, what is drawn from it and what is attached
        to its measures, each a part of the whole. With `as_of`, only money announced by
        then."""
        strategy = self.report_strategy(slug)
        data = reports.strategy_summary(
            strategy, as_of=query_date(request, "as_of"), place=query_place(request)
        )
        return Response(StrategySummarySerializer(data, context=self.get_serializer_context()).data)

    def report_strategy(self, slug: str) -> Strategy:
        """The strategy ``get_object`` finds, read by a prepared statement: with the columns
        of ``REPORT_STRATEGY_COLUMNS`` (any other is loaded when read, as with ``only()``)."""

        def build(slots: Mapping[str, Any]) -> QuerySet[Any]:
            # A slug names one row: no ORDER BY.
            queryset = self.get_queryset().filter(**{self.lookup_field: slots["slug"]})
            return queryset.order_by().values(*REPORT_STRATEGY_COLUMNS)[:1]

        rows = REPORT_READS.rows("strategy", build, {"slug": slug})
        if not rows:
            # The 404 get_object answers, in Django's words: a lookup among no rows sends
            # no query.
            get_object_or_404(self.get_queryset().none(), **{self.lookup_field: slug})
        (row,) = rows
        strategy = Strategy.from_db(router.db_for_read(Strategy), list(row), list(row.values()))
        self.check_object_permissions(self.request, strategy)
        return strategy

    @extend_schema(
        summary="Compare a strategy on two dates",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                required=True,
                description=(
                    "The date to compare from, e.g. 2018-04-09. It may be after `to`: the "
                    "diff then runs backwards in time."
                ),
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                required=True,
                description="The date to compare to, e.g. 2022-04-06.",
            ),
            OpenApiParameter(
                "changed_only",
                OpenApiTypes.BOOL,
                description="Only measures whose status differs between the dates.",
            ),
        ],
        responses=StrategyDiffSerializer,
    )
    @action(detail=True, methods=["get"], url_path="diff")
    def diff(self, request: Request, slug: str) -> Response:
        """Per measure: stage, verdict and confidence on both dates, and the events that
        took effect in between."""
        strategy = self.get_object()
        start = query_date(request, "from", required=True) or datetime.date.min
        end = query_date(request, "to", required=True) or datetime.date.max
        changed_only = request.query_params.get("changed_only", "false").lower()
        if changed_only not in ("true", "false", "1", "0"):
            raise QueryParameterError({"changed_only": ["Use true or false."]})
        data = reports.strategy_diff(
            strategy, start=start, end=end, changed_only=changed_only in ("true", "1")
        )
        return Response(StrategyDiffSerializer(data, context=self.get_serializer_context()).data)

    def allowed_query_parameters(self) -> set[str]:
        allowed = super().allowed_query_parameters()
        if self.action == "summary":
            allowed.update({"as_of", *PLACE_PARAMETERS})
        elif self.action == "diff":
            allowed.update({"from", "to", "changed_only"})
        return allowed


class ChangeFeedViewSet(TrackerGenericViewSet):
    """What was recorded after an instant, in recording order: measure edits, status
    events and funding lines. Follow ``next_cursor`` to sync without missing or repeating
    anything, even when slow transactions commit late."""

    queryset = Measure.objects.none()
    pagination_class = None  # type: ignore[assignment]
    filter_backends: list[Any] = []
    extra_query_parameters = frozenset({"since", "cursor", "page_size"})

    @extend_schema(
        summary="Read the change feed",
        parameters=[
            OpenApiParameter(
                "since",
                INSTANT_OR_DATE_SCHEMA,
                description=(
                    "Start after this instant (first call), e.g. 2026-01-01T00:00:00Z; a date "
                    "means its first instant in UTC."
                ),
            ),
            OpenApiParameter(
                "cursor",
                {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": feed.MAX_CURSOR_LENGTH},
                description=(
                    "Continue from the `next_cursor` of the previous page, as given: opaque, "
                    f"URL-safe base64 of at most {feed.MAX_CURSOR_LENGTH} characters."
                ),
            ),
            OpenApiParameter(
                "page_size", int, description="Changes per page (1 to 500, default 100)."
            ),
        ],
        responses=ChangeFeedPageSerializer,
    )
    def list(self, request: Request) -> Response:
        since = query_instant(request, "since")
        cursor_text = request.query_params.get("cursor")
        cursor = None
        if cursor_text is not None:
            if len(cursor_text) > feed.MAX_CURSOR_LENGTH or not re.fullmatch(
                CURSOR_PATTERN, cursor_text
            ):
                raise QueryParameterError(
                    {"cursor": ["This cursor is not valid; use `next_cursor` as given."]}
                )
            try:
                cursor = feed.Cursor.decode(cursor_text)
            except ValueError:
                raise NotFound(
                    "No change starts at this cursor; use `next_cursor` as given, or start "
                    "again with `since`."
                ) from None
        limit = parse_page_size(request.query_params.get("page_size"), default=100)
        page = feed.read(since=since, cursor=cursor, limit=limit)
        return Response(change_feed_data(page, self.get_serializer_context()))


def change_feed_data(page: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """``ChangeFeedPageSerializer(page).data`` for a page of ``feed.read``, whose measures are
    rows: each is built by ``MeasureRepresentation``, as ``MeasureSerializer`` builds it from
    an instance. ``changed_at``, a plain ``DateTimeField``, is written as the representation
    writes instants (DRF's field, with the time zone looked up once for the page); every
    other value by the serializers' own fields, as DRF would."""
    fields = ChangeFeedPageSerializer(context=dict(context)).fields
    items_field: Any = fields["items"]
    represent_measure = MeasureRepresentation(context["request"])
    own: dict[str, Callable[[Any], Any]] = {
        "measure": represent_measure,
        "changed_at": represent_measure.datetime,
    }
    writers = [
        (name, str(field.source), own.get(name, field.to_representation))
        for name, field in items_field.child.fields.items()
    ]

    def represented(item: Mapping[str, Any]) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for name, source, write in writers:
            value = item[source]
            shown[name] = None if value is None else write(value)
        return shown

    data: dict[str, Any] = {}
    for name, field in fields.items():
        value = page[str(field.source)]
        if field is items_field:
            data[name] = [represented(item) for item in value]
        else:
            data[name] = field.to_representation(value)
    return data
