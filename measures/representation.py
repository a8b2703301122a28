"""A measure as read, declared once.

``MeasureSerializer`` declares a measure's JSON object: its fields in order, their types
(the OpenAPI document is generated from it) and their formats. The reads serve it in three
ways, each derived from that declaration or held to it by a test:

- a list page or a detail is read as ``.values()`` rows (``row_columns``, derived from the
  declared fields) and built into JSON by hand (``MeasureRepresentation``), the hottest
  read of the API, at a fraction of what DRF's per-field machinery costs. A test
  (``tests/measures/test_representation.py``) holds its output equal to DRF's own
  rendering of the serializer: the same keys, in the same order, with the same values;
- CSV is written by PostgreSQL (``csv_columns``, derived): the JSON's fields flattened
  (``strategy.slug``), in the same order and the same formats;
- a measure's ``ETag`` (``measure_etag``) is computed from what its representation depends
  on, so that a revalidation needs no serialization at all.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any, ClassVar

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, router
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.reverse import reverse

from config.api import prepared
from config.api.conditional import etag_from_parts, require_current
from config.api.csv_export import sql_text
from measures.models import ANYWHERE, Measure, Place, is_overdue
from measures.services import MEASURE_WRITABLE_FIELDS
from strategy.models import Organisation, Strategy
from strategy.serializers import OrganisationReferenceSerializer, StrategyReferenceSerializer


class MeasureSerializer(serializers.ModelSerializer):
    """A measure as read. With ``as_of`` / ``known_at`` the status fields are the history's
    answer for that date and instant."""

    url = serializers.HyperlinkedIdentityField(view_name="measure-detail", lookup_field="slug")
    strategy = StrategyReferenceSerializer(read_only=True)
    lead_organisation = OrganisationReferenceSerializer(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(
        read_only=True,
        help_text="Past its target date without reaching a finished stage (completed, withdrawn, superseded).",
    )
    events_url = serializers.HyperlinkedIdentityField(
        view_name="measure-event-list", lookup_field="slug", lookup_url_kwarg="measure_slug"
    )
    legislation_url = serializers.HyperlinkedIdentityField(
        view_name="measure-legislation",
        lookup_field="slug",
        help_text="The law that carries it: the provisions, their Acts, bills and commencements.",
    )

    # On a time-travel read these come from the history, as ``<name>_then`` annotations
    # (``MeasureQuerySet.with_history``), instead of the cached current status.
    time_travelled: ClassVar[tuple[str, ...]] = ("stage", "stage_since", "verdict", "confidence")

    class Meta:
        model = Measure
        # What may be written, framed by what the server adds.
        fields = [
            "url",
            *MEASURE_WRITABLE_FIELDS,
            "is_overdue",
            "stage",
            "stage_since",
            "verdict",
            "confidence",
            "version",
            "events_url",
            "legislation_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Any) -> dict[str, Any]:
        context: dict[str, Any] = self.context  # type: ignore[assignment]
        represent = context.get("measure_representation")
        if represent is None:
            represent = context["measure_representation"] = MeasureRepresentation(
                context["request"]
            )
        return represent(instance_row(instance))


def _is_column(name: str) -> bool:
    try:
        Measure._meta.get_field(name)
    except FieldDoesNotExist:  # a computed field
        return False
    return True


@functools.cache
def _declared_columns() -> tuple[str, ...]:
    """The ``.values()`` columns the declared fields are built from: a link needs its
    lookup column, a nested object its fields, a computed field (``is_overdue``) none."""
    columns = ["id"]  # pages are cut after a row's ordering columns, which end with the id
    for field in MeasureSerializer().fields.values():
        if isinstance(field, serializers.HyperlinkedIdentityField):
            columns.append(field.lookup_field)
        elif isinstance(field, serializers.Serializer):
            columns.extend(f"{field.source}__{inner.source}" for inner in field.fields.values())
        elif field.source is not None and _is_column(field.source):
            columns.append(field.source)
    return tuple(dict.fromkeys(columns))


TIME_TRAVEL_COLUMNS = tuple(f"{name}_then" for name in MeasureSerializer.time_travelled)


def row_columns(*, time_travel: bool = False) -> tuple[str, ...]:
    """What to read with ``.values()`` for ``MeasureRepresentation``."""
    return _declared_columns() + (TIME_TRAVEL_COLUMNS if time_travel else ())


def instance_row(measure: Measure) -> dict[str, Any]:
    """A measure instance as the row ``.values(*row_columns())`` would give, with the
    annotations it carries (``is_overdue``, a time-travel read's ``*_then``)."""
    row: dict[str, Any] = {}
    for column in _declared_columns():
        value: Any = measure
        for part in column.split("__"):
            value = getattr(value, part) if value is not None else None
        row[column] = value
    for name in ("is_overdue", *TIME_TRAVEL_COLUMNS):
        if hasattr(measure, name):
            row[name] = getattr(measure, name)
    return row


# Asked only for its time zone (settings.USE_TZ, the current zone): DRF's rule.
_INSTANTS = serializers.DateTimeField()


@functools.lru_cache(maxsize=16)
def _instant_writer(zone: datetime.tzinfo | None) -> Any:
    """How DRF's ``DateTimeField`` writes an instant in ``zone``: one field per zone, kept
    (it holds no state of a request), rather than two built for every request."""
    return serializers.DateTimeField(default_timezone=zone).to_representation


@functools.lru_cache(maxsize=16)
def _list_path(script_prefix: str, urlconf: str | None) -> str:
    """The measure list's path, which only the script prefix (which ``reverse`` reads
    itself) and the URLconf can change: reversed once for each rather than for every
    request."""
    return reverse("measure-list", urlconf=urlconf)


class MeasureRepresentation:
    """Builds a measure's JSON, as ``MeasureSerializer`` declares it, from a row of
    ``row_columns()``. One instance serves one request: the base URL and the date that
    decides ``is_overdue`` (today, or a time-travel read's ``as_of``) are computed once."""

    def __init__(self, request: Any, on: datetime.date | None = None) -> None:
        self.base = request.build_absolute_uri(_list_path(get_script_prefix(), get_urlconf()))
        # DRF's own field, with the time zone looked up once for the page rather than once
        # per value (a context-local lookup that cost a list page a fifth of its time).
        self.datetime = _instant_writer(_INSTANTS.default_timezone())
        self.on = on or timezone.localdate()

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if "stage_then" in row:
            stage, since = row["stage_then"], row["stage_since_then"]
            verdict, confidence = row["verdict_then"], row["confidence_then"]
        else:
            stage, since = row["stage"], row["stage_since"]
            verdict, confidence = row["verdict"], row["confidence"]
        target_on, overdue = row["target_on"], row.get("is_overdue")
        if overdue is None:
            overdue = is_overdue(target_on, stage, self.on)
        lead_slug = row["lead_organisation__slug"]
        url = f"{self.base}{row['slug']}/"
        return {
            "url": url,
            "slug": row["slug"],
            "strategy": {"slug": row["strategy__slug"], "title": row["strategy__title"]},
            "title": row["title"],
            "summary": row["summary"],
            "category": row["category"],
            "lead_organisation": (
                {"slug": lead_slug, "name": row["lead_organisation__name"]} if lead_slug else None
            ),
            "instrument": row["instrument"],
            "legal_vehicle": row["legal_vehicle"],
            "target_on": target_on.isoformat() if target_on else None,
            "is_overdue": overdue,
            "stage": stage,
            "stage_since": since.isoformat() if since else None,
            "verdict": verdict,
            "confidence": confidence,
            "version": row["version"],
            "events_url": f"{url}events/",
            "legislation_url": f"{url}legislation/",
            "created_at": self.datetime(row["created_at"]),
            "updated_at": self.datetime(row["updated_at"]),
        }


# A slug no measure can have in a URL of the API (a URL built with it is cut around it).
_PLACEHOLDER = "x0placeholder0x"


def _link(field: serializers.HyperlinkedIdentityField, request: Request) -> Any:
    """The SQL of ``field``'s URL for each row: the URL around the row's lookup value."""
    url = request.build_absolute_uri(
        reverse(str(field.view_name), kwargs={field.lookup_url_kwarg: _PLACEHOLDER})
    )
    before, after = url.split(_PLACEHOLDER)
    return Concat(Value(before), F(field.lookup_field), Value(after), output_field=TextField())


def csv_columns(request: Request, *, time_travel: bool) -> list[tuple[str, Any]]:
    """The CSV of measures, column by column: the JSON's fields in order, a nested object's
    fields as ``outer.inner``, each with the SQL giving its text as the JSON writes it. The
    queryset must carry ``is_overdue`` (``with_overdue``) and, on a time-travel read, the
    history's ``*_then`` annotations."""
    columns: list[tuple[str, Any]] = []
    for name, field in MeasureSerializer(context={"request": request}).fields.items():
        if isinstance(field, serializers.HyperlinkedIdentityField):
            columns.append((name, _link(field, request)))
        elif isinstance(field, serializers.Serializer):
            columns.extend(
                (f"{name}.{inner_name}", sql_text(f"{field.source}__{inner.source}", inner))
                for inner_name, inner in field.fields.items()
            )
        else:
            travelled = time_travel and name in MeasureSerializer.time_travelled
            source = f"{field.source}_then" if travelled else str(field.source)
            columns.append((name, sql_text(source, field)))
    return columns


# What a measure's ETag is computed from, as ``.values()`` names it.
ETAG_COLUMNS = ("version", "strategy__updated_at", "lead_organisation__updated_at")


@functools.cache
def _etag_statement() -> str:
    quote = connection.ops.quote_name
    measure, strategy, organisation = (
        quote(model._meta.db_table) for model in (Measure, Strategy, Organisation)
    )
    return (
        f"SELECT m.version, s.updated_at, o.updated_at FROM {measure} m "  # noqa: S608
        f"JOIN {strategy} s ON s.id = m.strategy_id "
        f"LEFT JOIN {organisation} o ON o.id = m.lead_organisation_id WHERE m.slug = %s"
    )


def etag_row(slug: str) -> dict[str, Any] | None:
    """``ETAG_COLUMNS`` of the measure ``slug``, or None. Written out rather than built by
    the ORM: a revalidation is the most frequent read of a polling client, and building
    this query cost it as much as running it."""
    rows = prepared.execute(router.db_for_read(Measure), _etag_statement(), [slug])
    return dict(zip(ETAG_COLUMNS, rows[0], strict=True)) if rows else None


def measure_etag(
    request: Any,
    measure: Measure | dict[str, Any],
    as_of: datetime.date | None = None,
    known_at: datetime.datetime | None = None,
    place: Place = ANYWHERE,
) -> str:
    """A validator that changes whenever the measure's representation can: its version, the
    names of what it nests, today's date (for ``is_overdue``, and for the status, which a
    future-dated event changes on its day), the time-travel parameters, the place asked
    about and the host in its links. It is known before serializing, so a 304 costs one query.
    ``measure`` is an instance or a row holding ``ETAG_COLUMNS``."""
    if isinstance(measure, Measure):
        lead = measure.lead_organisation
        version, strategy_updated, lead_updated = (
            measure.version,
            measure.strategy.updated_at,
            lead.updated_at if lead else None,
        )
    else:
        version, strategy_updated, lead_updated = (measure[name] for name in ETAG_COLUMNS)
    return etag_from_parts(
        f"v{version}",
        [
            strategy_updated.isoformat(),
            lead_updated.isoformat() if lead_updated else "",
            timezone.localdate().isoformat(),
            as_of.isoformat() if as_of else "",
            known_at.isoformat() if known_at else "",
            place.extent or "",
            (place.area or "").casefold(),
            request.get_host(),
        ],
    )


def expected_version(request: Any, measure: Measure) -> int | None:
    """The version the client's ``If-Match`` vouches for (412 if it is not the current
    one), or None when it vouches for nothing. The service compares it again under a row
    lock, so that of concurrent writers only one wins."""
    if not request.headers.get("If-Match"):
        return None
    if require_current(request, measure_etag(request, measure), "measure"):
        return measure.version
    return None
