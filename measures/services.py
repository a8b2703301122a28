"""Writes that carry a rule. The API, the admin, the importers and the seed loader all go
through these functions, so every path obeys the same invariants."""

from __future__ import annotations

import datetime
import itertools
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, router, transaction
from django.db.models import ExpressionWrapper, F, Min, OuterRef, Q, Subquery, Value
from django.db.models.expressions import DatabaseDefault, RawSQL
from django.db.models.functions import Coalesce, Least
from django.db.models.sql import Query
from django.utils import timezone

from legislation.choices import DatePrecision, normalised_extent
from measures.choices import Axis, Stage, stage_move_allowed
from measures.models import EventCitation, FundingLine, Measure, StatusEvent, status_subqueries
from strategy.changes import ChangeKind, record_change, record_changes
from strategy.models import FieldCheckConstraint, Source
from strategy.services import apply_changes

# What a client, a researcher or an import may write, in the order forms, serializers and
# spreadsheets show it. The rest of a measure (its status, version and timestamps) belongs
# to the server: the status comes only from recorded events.
MEASURE_WRITABLE_FIELDS = (
    "slug",
    "strategy",
    "title",
    "summary",
    "category",
    "lead_organisation",
    "instrument",
    "legal_vehicle",
    "target_on",
)
FUNDING_LINE_WRITABLE_FIELDS = (
    "strategy",
    "measure",
    "parent",
    "title",
    "amount",
    "currency",
    "phase",
    "period_start",
    "period_end",
    "period_label",
    "funder",
    "recipient",
    "announced_on",
    "announced_on_precision",
    "realises",
    "is_ceiling",
    "novelty",
    "source",
    "quote",
    "locator",
    "notes",
)


class StaleVersionError(Exception):
    """The caller based its write on a version of the measure that is no longer current."""

    def __init__(self, *, expected: int, current: int) -> None:
        self.expected = expected
        self.current = current
        super().__init__(
            f"The measure has changed since you read it (you had version {expected}, "
            f"it is now version {current}). Reload it and apply your change again."
        )


@dataclass(frozen=True)
class CitationInput:
    """One piece of evidence for a new status event."""

    source: Source
    quote: str = ""
    locator: str = ""


def _user_or_none(user: AbstractBaseUser | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) else None


def _stage_label(value: str | None) -> str:
    return "no stage" if value is None else f"“{Stage(value).label}”"


@dataclass(frozen=True)
class StageStep:
    """A standing stage event of a measure, as the stage sequence rule reads it."""

    effective_on: datetime.date
    value: str
    extent: Sequence[str]
    area: str
    event_id: int | None = None

    def shares_scope(self, extent: Sequence[str], area: str) -> bool:
        """Whether this step counts in the sequence of an event limited to ``extent`` and
        ``area``: it is of the same nations and area, or limited to none."""
        return (not self.extent and not self.area) or (
            list(self.extent) == list(extent) and self.area == area
        )


def standing_stages(measure_ids: Collection[int]) -> dict[int, list[StageStep]]:
    """The standing stage events of each measure of ``measure_ids``, in the order the
    stage sequence rule reads them (date, then the order they were recorded in): one query
    for all of them."""
    steps: dict[int, list[StageStep]] = {pk: [] for pk in measure_ids}
    rows = (
        StatusEvent.objects.filter(measure_id__in=list(measure_ids), axis=Axis.STAGE)
        .standing()
        .order_by("measure_id", "effective_on", "recorded_at", "id")
        .values_list("measure_id", "effective_on", "value", "extent", "area", "id")
    )
    for measure_id, day, value, extent, area, pk in rows:
        steps[measure_id].append(StageStep(day, value, extent, area, pk))
    return steps


def stage_sequence_error(
    history: Sequence[StageStep],
    *,
    new_value: str | None,
    effective_on: datetime.date,
    extent: Sequence[str],
    area: str,
    replaces: int | None = None,
) -> ValidationError | None:
    """The refusal of an event whose stage history (``history``: a measure's standing stage
    events, in order) would contain a move that is not in ``ALLOWED_STAGE_MOVES``, or None.
    The whole sequence is checked, because a back-dated event or a correction changes the
    moves on both sides of it. The sequence is that of the event's own scope (the same
    nations and area) with the events not limited to any: a commencement in Scotland and a
    later one in England and Wales are each a move from “enacted”. With no ``new_value``,
    ``replaces`` is only withdrawn (a retraction)."""
    sequence = [
        (step.effective_on, step.value)
        for step in history
        if replaces is None or step.event_id != replaces
        if step.shares_scope(extent, area)
    ]
    if new_value is not None:
        # Recorded last, the new event comes after every event of the same day.
        position = sum(1 for day, _ in sequence if day <= effective_on)
        sequence.insert(position, (effective_on, new_value))
    previous: str | None = None
    for day, value in sequence:
        if not stage_move_allowed(previous, value):
            return ValidationError(
                {
                    "value": (
                        f"A measure cannot move from {_stage_label(previous)} to "
                        f"{_stage_label(value)} (on {day.isoformat()})."
                    )
                }
            )
        previous = value
    return None


def _check_stage_sequence(
    measure: Measure,
    *,
    new_value: str | None,
    effective_on: datetime.date,
    extent: Sequence[str],
    area: str,
    replaces: int | None,
) -> None:
    """Refuse the event if the stage history it would produce for ``measure`` contains a
    move the lifecycle does not allow (``stage_sequence_error``)."""
    error = stage_sequence_error(
        standing_stages([measure.pk])[measure.pk],
        new_value=new_value,
        effective_on=effective_on,
        extent=extent,
        area=area,
        replaces=replaces,
    )
    if error is not None:
        raise error


def _refuse_unwritable(fields: Mapping[str, Any], writable: Sequence[str]) -> None:
    unknown = sorted(set(fields) - set(writable))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be written here."))


def refresh_cached_statuses(measure_ids: Collection[int]) -> None:
    """Set the cached status of the (locked) measures ``measure_ids`` to what their history
    says today, anywhere (``status_subqueries``, the answer reads give where a cache has
    expired), with the day until which that holds (the next future-dated event, or the day
    after an event's end), and raise their version: one statement for all of them."""
    today = timezone.localdate()
    live = StatusEvent.objects.filter(measure=OuterRef("pk")).standing().order_by()
    next_event = (
        live.filter(effective_on__gt=today)
        .values("measure")
        .annotate(day=Min("effective_on"))
        .values("day")
    )
    day_after_end = (
        live.filter(ends_on__gte=today)
        .values("measure")
        .annotate(day=ExpressionWrapper(Min("ends_on") + 1, output_field=models.DateField()))
        .values("day")
    )
    Measure.objects.filter(pk__in=list(measure_ids)).update(
        **status_subqueries(today),
        status_valid_until=Least(
            Subquery(next_event, output_field=models.DateField()),
            Subquery(day_after_end, output_field=models.DateField()),
        ),
        version=F("version") + 1,
        updated_at=timezone.now(),
    )


def _refresh_cached_status(measure: Measure) -> None:
    """``refresh_cached_statuses`` of the locked ``measure``, which is then read again."""
    refresh_cached_statuses([measure.pk])
    measure.refresh_from_db(
        fields=[*Axis.values, "stage_since", "status_valid_until", "version", "updated_at"]
    )


def refresh_expired_statuses() -> int:
    """Rewrite the cached status of every measure whose cache has expired (a future-dated
    event has taken effect or an event has ended since it was written); return how many.
    Reads are right without it (``MeasureQuerySet.with_current_status``); this keeps the
    columns, and the change feed, in step."""
    expired = Measure.objects.filter(status_valid_until__lte=timezone.localdate())
    count = 0
    for pk in expired.values_list("pk", flat=True):
        with transaction.atomic():
            locked = Measure.objects.select_for_update(no_key=True).get(pk=pk)
            _refresh_cached_status(locked)
        count += 1
    return count


def measure_lock(*, measure: Measure, expected_version: int | None = None) -> Measure:
    """The measure as stored, its row locked until the end of the current transaction.
    With ``expected_version``, a caller that based its write on another version is refused
    (``StaleVersionError``): of two researchers editing at once, the second cannot silently
    overwrite the first."""
    locked = Measure.objects.select_for_update(no_key=True).get(pk=measure.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(expected=expected_version, current=locked.version)
    return locked


def _new_event(
    measure: Measure | None,
    *,
    axis: str,
    value: str,
    effective_on: datetime.date,
    rationale: str,
    recorded_by: AbstractBaseUser | AnonymousUser | None = None,
    supersedes: StatusEvent | None = None,
    effective_on_precision: str = DatePrecision.DAY,
    extent: Sequence[str] = (),
    area: str = "",
    ends_on: datetime.date | None = None,
) -> StatusEvent:
    """A status event of ``measure`` as the services record it (nations in order, text
    stripped), not yet checked or written."""
    return StatusEvent(
        measure=measure,
        axis=axis,
        value=value,
        effective_on=effective_on,
        effective_on_precision=effective_on_precision,
        extent=normalised_extent(extent),
        area=area.strip(),
        ends_on=ends_on,
        rationale=rationale.strip(),
        recorded_by=_user_or_none(recorded_by),
        supersedes=supersedes,
    )


def _citation_rows(citations: Sequence[CitationInput]) -> list[EventCitation]:
    return [
        EventCitation(
            source=citation.source,
            quote=citation.quote.strip(),
            locator=citation.locator.strip(),
        )
        for citation in citations
    ]


def _events_errors(
    events: Sequence[tuple[StatusEvent, Sequence[EventCitation]]],
    refused: Mapping[int, ValidationError] | None = None,
) -> dict[int, dict[str, list[str]]]:
    """Everything wrong with each event and its citations, by the event's index, the
    citations' errors under ``citations.<index>.<field>``: the models' rules, checked for
    the whole set at once (``full_clean_many``). A retraction may cite nothing: what it
    says is that the withdrawn event had no ground. ``refused``: errors already found."""
    event_errors = full_clean_many(
        [event for event, _ in events], exclude=["recorded_at"], refused=refused
    )
    cited = [
        (index, position, citation)
        for index, (_, citations) in enumerate(events)
        for position, citation in enumerate(citations)
    ]
    citation_errors = full_clean_many([citation for *_, citation in cited], exclude=["event"])
    found: dict[int, dict[str, list[str]]] = {}
    for index, (event, citations) in enumerate(events):
        errors: dict[str, list[str]] = {}
        if not citations and not event.is_retraction:
            errors["citations"] = ["Cite at least one source."]
        if index in event_errors:
            errors.update(event_errors[index].message_dict)
        found[index] = errors
    for number, (index, position, _) in enumerate(cited):
        if number in citation_errors:
            for field, messages in citation_errors[number].message_dict.items():
                found[index][f"citations.{position}.{field}"] = messages
    return {index: errors for index, errors in found.items() if errors}


def _event_errors(event: StatusEvent, citations: Sequence[EventCitation]) -> dict[str, list[str]]:
    """Everything wrong with ``event`` and its citations (``_events_errors`` of one)."""
    return _events_errors([(event, citations)]).get(0, {})


def status_event_record(
    *,
    measure: Measure,
    axis: str,
    value: str,
    effective_on: datetime.date,
    rationale: str,
    citations: Sequence[CitationInput],
    recorded_by: AbstractBaseUser | AnonymousUser | None = None,
    supersedes: StatusEvent | None = None,
    expected_version: int | None = None,
    effective_on_precision: str = DatePrecision.DAY,
    extent: Sequence[str] = (),
    area: str = "",
    ends_on: datetime.date | None = None,
) -> StatusEvent:
    """Record that ``measure``'s ``axis`` became ``value`` on ``effective_on`` (known to
    ``effective_on_precision``), in ``extent`` and ``area`` if limited, until ``ends_on`` if
    it ends, with evidence. The date may be in the future: a scheduled commencement.

    Locks the measure, checks the event and its citations (the models' rules), checks the
    move against the allowed stage moves, writes the event and its citations and updates
    the measure's cached status, all in one transaction. With ``supersedes`` the new event
    is a correction of that earlier event, which stays in the history as it was. With
    ``expected_version`` a stale caller is refused (``StaleVersionError``). The event is
    returned with its measure as it now stands (``event.measure``).
    """
    with transaction.atomic():
        locked = measure_lock(measure=measure, expected_version=expected_version)
        event = _new_event(
            locked,
            axis=axis,
            value=value,
            effective_on=effective_on,
            effective_on_precision=effective_on_precision,
            extent=extent,
            area=area,
            ends_on=ends_on,
            rationale=rationale,
            recorded_by=recorded_by,
            supersedes=supersedes,
        )
        _write_event(
            locked,
            event,
            citations,
            ChangeKind.STATUS_EVENT_CORRECTED if supersedes else ChangeKind.STATUS_EVENT_RECORDED,
        )
    event.refresh_from_db(fields=["recorded_at"])
    return event


def _write_event(
    locked: Measure, event: StatusEvent, citations: Sequence[CitationInput], kind: ChangeKind
) -> None:
    """Check ``event`` of the ``locked`` measure and its citations against the models' rules
    and the allowed stage moves (a retraction only takes the event it supersedes away),
    then write both, update the measure's cached status and announce the change."""
    rows = _citation_rows(citations)
    errors = _event_errors(event, rows)
    if errors:
        raise ValidationError(errors)
    if event.axis == Axis.STAGE:
        _check_stage_sequence(
            locked,
            new_value=None if event.is_retraction else event.value,
            effective_on=event.effective_on,
            extent=event.extent,
            area=event.area,
            replaces=event.supersedes_id,
        )
    event.save()
    for row in rows:
        row.event = event
        row.save()
    _refresh_cached_status(locked)
    record_change(kind, event, measure=locked)


def status_event_retract(
    *,
    event: StatusEvent,
    rationale: str,
    citations: Sequence[CitationInput] = (),
    recorded_by: AbstractBaseUser | AnonymousUser | None = None,
    expected_version: int | None = None,
) -> StatusEvent:
    """Withdraw ``event``, which should not have been recorded: record a retraction that
    supersedes it, saying why (and citing evidence, if there is any). Both stay in the
    history; from now on neither counts, and ``known_at`` an earlier instant still finds
    the withdrawn event. Refused like a correction: an event already corrected or
    retracted, a move the remaining stages would not allow, a stale ``expected_version``.
    Returns the retraction with its measure as it now stands."""
    with transaction.atomic():
        locked = measure_lock(measure=event.measure, expected_version=expected_version)
        retraction = StatusEvent(
            measure=locked,
            axis=event.axis,
            value=event.value,
            effective_on=event.effective_on,
            effective_on_precision=event.effective_on_precision,
            extent=event.extent,
            area=event.area,
            ends_on=event.ends_on,
            rationale=rationale.strip(),
            recorded_by=_user_or_none(recorded_by),
            supersedes=event,
            is_retraction=True,
        )
        _write_event(locked, retraction, citations, ChangeKind.STATUS_EVENT_RETRACTED)
    retraction.refresh_from_db(fields=["recorded_at"])
    return retraction


def measure_create(*, fields: Mapping[str, Any]) -> Measure:
    """Create a measure. Its status starts empty and comes only from recorded events."""
    _refuse_unwritable(fields, MEASURE_WRITABLE_FIELDS)
    measure = Measure(**fields)
    measure.full_clean()
    with transaction.atomic():
        measure.save()
        record_change(ChangeKind.MEASURE_CREATED, measure, measure=measure)
    return measure


def measure_update(
    *, measure: Measure, fields: Mapping[str, Any], expected_version: int | None = None
) -> Measure:
    """Change a measure's descriptive fields and raise its version; return it as stored.
    Nothing is written when nothing changes. Refuses a write based on a stale version."""
    _refuse_unwritable(fields, MEASURE_WRITABLE_FIELDS)
    with transaction.atomic():
        locked = measure_lock(measure=measure, expected_version=expected_version)
        if apply_changes(locked, fields):
            locked.full_clean()
            locked.version += 1
            locked.save()
            record_change(ChangeKind.MEASURE_CHANGED, locked, measure=locked)
    return locked


# Names the advisory lock that changes of a funding line's envelope take in turn.
FUNDING_TREE_LOCK = 4_242_001


# What a funding line may not lead back to itself through, with the refusal.
FUNDING_TREE_FIELDS = {
    "parent": "A funding line cannot be drawn from itself.",
    "realises": "A funding line cannot realise itself, even through others.",
}


def _funding_chains(column: str, starts: Collection[int]) -> dict[int, int | None]:
    """For every stored line reached from ``starts`` by following ``column`` (the envelope
    or the realised line), the line it leads to: one recursive query."""
    if not starts:
        return {}
    table = connection.ops.quote_name(FundingLine._meta.db_table)
    column = connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(
            # Identifiers quoted by the connection; the ids are a parameter.
            f"SELECT id, next FROM (WITH RECURSIVE chain(id, next) AS ("  # noqa: S608
            f"SELECT id, {column} FROM {table} WHERE id = ANY(%s) "
            f"UNION SELECT line.id, line.{column} "
            f"FROM {table} AS line JOIN chain ON line.id = chain.next"
            ") SELECT id, next FROM chain) AS chain",
            [list(starts)],
        )
        return dict(cursor.fetchall())


def funding_cycle_errors(lines: Sequence[FundingLine]) -> dict[int, ValidationError]:
    """For each of ``lines`` (new, or stored with changes not yet written), by index, the
    refusal if the envelopes it is drawn from or the lines it realises lead back to it,
    or round in a circle: through the stored lines as they are and the lines of the set as
    they will be. One query per field reads the chains."""
    found: dict[int, ValidationError] = {}
    for field, message in FUNDING_TREE_FIELDS.items():
        column = f"{field}_id"
        pending = {line.pk: getattr(line, column) for line in lines if line.pk is not None}
        stored = _funding_chains(column, {getattr(line, column) for line in lines} - {None})
        for index, line in enumerate(lines):
            if index in found:
                continue
            seen = {line.pk} if line.pk else set()
            earlier = getattr(line, column)
            while earlier is not None:
                if earlier in seen:
                    found[index] = ValidationError({field: message})
                    break
                seen.add(earlier)
                earlier = pending[earlier] if earlier in pending else stored.get(earlier)
    return found


def _check_no_cycle(line: FundingLine) -> None:
    """Neither the envelopes a line is drawn from nor the lines it realises lead back to it."""
    errors = funding_cycle_errors([line])
    if errors:
        raise errors[0]


def funding_line_create(
    *, fields: Mapping[str, Any], recorded_by: AbstractBaseUser | AnonymousUser | None = None
) -> FundingLine:
    _refuse_unwritable(fields, FUNDING_LINE_WRITABLE_FIELDS)
    line = FundingLine(**fields, recorded_by=_user_or_none(recorded_by))
    line.full_clean()
    _check_no_cycle(line)
    with transaction.atomic():
        line.save()
        record_change(ChangeKind.FUNDING_LINE_ADDED, line, measure=line.measure)
    return line


def funding_line_update(*, line: FundingLine, fields: Mapping[str, Any]) -> FundingLine:
    """Change a funding line; return it as stored. Nothing is written when nothing changes."""
    _refuse_unwritable(fields, FUNDING_LINE_WRITABLE_FIELDS)
    with transaction.atomic():
        locked = FundingLine.objects.select_for_update(no_key=True).get(pk=line.pk)
        if changed := apply_changes(locked, fields):
            if {"parent", "realises"} & set(changed):
                # Two lines given each other as envelope at once would each see no cycle;
                # changes of envelope take turns, each seeing the one before.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FUNDING_TREE_LOCK])
                if locked.parent_id is not None:
                    locked.parent = FundingLine.objects.get(pk=locked.parent_id)
                if locked.realises_id is not None:
                    locked.realises = FundingLine.objects.get(pk=locked.realises_id)
            locked.full_clean()
            _check_no_cycle(locked)
            locked.save()
            record_change(ChangeKind.FUNDING_LINE_CHANGED, locked, measure=locked.measure)
    return locked


# Many rows at once ----------------------------------------------------------------------
#
# The researcher's spreadsheet import checks a whole file before it writes any of it, and
# writes all of it in one transaction. The functions below check a set of rows with a
# statement per rule rather than per row, by the very definitions the services above use
# for one row (the models' fields, ``clean()`` and constraints, the stage moves, the
# funding tree), then write the set with a statement per table. The rows are written by
# the same SQL as one row is (the audit history and change-feed triggers fire for each
# row), and each change is announced (``record_change``) as the single-row service does.


class InvalidRowsError(Exception):
    """Rows of a set that were refused, each with its errors by field (``errors``: a row's
    index in the set → ``ValidationError``). Nothing of the set was written."""

    def __init__(self, errors: Mapping[int, ValidationError]) -> None:
        self.errors = dict(errors)
        super().__init__(f"{len(self.errors)} rows refused")


@dataclass(frozen=True)
class RowWrite:
    """One row of a set to write: the fields of a new row, or the fields to change of the
    stored row whose primary key is ``target``."""

    fields: Mapping[str, Any]
    target: int | None = None


class _RecordEncoder(DjangoJSONEncoder):
    """Values as PostgreSQL reads them from JSON (instants to the microsecond)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.date):
            return o.isoformat()
        return super().default(o)


def _primary_key(model: type[models.Model]) -> models.Field[Any, Any]:
    return model._meta.pk


def _column(field: models.Field[Any, Any]) -> str:
    return connection.ops.quote_name(str(field.column))


def _record_type(field: models.Field[Any, Any]) -> str:
    """The column's type without its length or precision (a value too long is refused by
    the model's own checks, with words, not by a cast)."""
    return re.sub(r"\(\d+(?:,\s*\d+)?\)", "", field.db_type(connection) or "text")


def _record_value(field: models.Field[Any, Any], instance: models.Model) -> Any:
    value = getattr(instance, field.attname)
    if isinstance(value, DatabaseDefault):
        default = field.db_default
        return None if isinstance(default, models.expressions.BaseExpression) else default
    return field.get_db_prep_value(value, connection, prepared=False)


def _records(
    fields: Sequence[models.Field[Any, Any]],
    instances: Sequence[models.Model],
    skipped: Sequence[Collection[str]] | None = None,
) -> str:
    """``instances`` as a JSON array of records, one per row (its index as ``_row``), for
    ``jsonb_to_recordset``: the values of ``fields``, null for the fields ``skipped``."""
    return json.dumps(
        [
            {
                "_row": index,
                **{
                    field.column: _record_value(field, instance)
                    for field in fields
                    if skipped is None or field.name not in skipped[index]
                },
            }
            for index, instance in enumerate(instances)
        ],
        cls=_RecordEncoder,
    )


def _record_columns(fields: Sequence[models.Field[Any, Any]]) -> str:
    return ", ".join(
        ["_row integer", *(f"{_column(field)} {_record_type(field)}" for field in fields)]
    )


def _update_rows(
    model: type[models.Model], rows: Sequence[models.Model], names: Sequence[str]
) -> None:
    """Write the fields ``names`` of the stored ``rows``, as set on them, in one statement."""
    if not rows:
        return
    quote = connection.ops.quote_name
    pk = _primary_key(model)
    fields = [pk, *(cast(models.Field[Any, Any], model._meta.get_field(name)) for name in names)]
    assignments = ", ".join(
        f"{_column(field)} = candidate.{_column(field)}" for field in fields[1:]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            # Identifiers quoted by the connection; every value is in the one parameter.
            f"UPDATE {quote(model._meta.db_table)} AS target SET {assignments} "  # noqa: S608
            f"FROM jsonb_to_recordset(%s::jsonb) AS candidate({_record_columns(fields)}) "
            f"WHERE target.{_column(pk)} = candidate.{_column(pk)}",
            [_records(fields, rows)],
        )


def full_clean_many(
    instances: Sequence[models.Model],
    *,
    exclude: Collection[str] = (),
    refused: Mapping[int, ValidationError] | None = None,
    clean: Callable[[Any], None] | None = None,
) -> dict[int, ValidationError]:
    """What ``full_clean(exclude=exclude)`` raises for each of ``instances`` (of one model),
    by index, with a statement per rule for the whole set instead of per row: one per
    foreign key (does the row it names exist), one per unique field or constraint, one for
    every check constraint together. Each field's own checks and ``clean()`` run per row
    in Python, as ``full_clean`` runs them (``clean`` may stand in for the model's
    ``clean()``).

    ``refused``: errors already found for some rows (cells that could not be read); they
    come first and their fields are not checked again. Rows of the set that share a unique
    value conflict as they would once the first is stored: the later ones are refused."""
    if not instances:
        return {}
    model = type(instances[0])
    found: list[dict[str, list[Any]]] = []
    skipped: list[set[str]] = []
    for index in range(len(instances)):
        errors: dict[str, list[Any]] = {}
        if refused and index in refused:
            refused[index].update_error_dict(errors)
        found.append(errors)
        skipped.append({*exclude, *errors})
    _clean_fields_many(model, instances, skipped, found)
    for instance, errors in zip(instances, found, strict=True):
        try:
            (clean or type(instance).clean)(instance)
        except ValidationError as error:
            error.update_error_dict(errors)
    # As full_clean: the unique checks, then the constraints, of the fields that passed.
    for index, errors in enumerate(found):
        skipped[index] |= {name for name in errors if name != NON_FIELD_ERRORS}
    _validate_unique_many(instances, skipped, found)
    for index, errors in enumerate(found):
        skipped[index] |= {name for name in errors if name != NON_FIELD_ERRORS}
    _validate_constraints_many(model, instances, skipped, found)
    return {index: ValidationError(errors) for index, errors in enumerate(found) if errors}


def _clean_fields_many(
    model: type[models.Model],
    instances: Sequence[models.Model],
    skipped: Sequence[set[str]],
    found: Sequence[dict[str, list[Any]]],
) -> None:
    """``clean_fields()`` of each instance, a foreign key's look-up of the row it names
    being made once per foreign key for the whole set."""
    relations = [
        field
        for field in model._meta.fields
        if isinstance(field, models.ForeignKey) and not field.remote_field.parent_link
    ]
    names = {field.name for field in relations}
    named: dict[models.ForeignKey[Any, Any], dict[int, Any]] = {field: {} for field in relations}
    per_row: list[dict[str, list[Any]]] = []
    for index, instance in enumerate(instances):
        errors: dict[str, list[Any]] = {}
        try:
            instance.clean_fields(exclude=skipped[index] | names)
        except ValidationError as error:
            errors.update(error.error_dict)
        for field in relations:
            raw = getattr(instance, field.attname)
            if field.name in skipped[index] or isinstance(raw, DatabaseDefault):
                continue
            if field.blank and raw in field.empty_values:
                continue
            try:
                value = field.to_python(raw)
                # The field's own checks (null, blank, choices); its look-up is below.
                super(models.ForeignKey, field).validate(value, instance)
                field.run_validators(value)
            except ValidationError as error:
                errors[field.name] = error.error_list
                continue
            setattr(instance, field.attname, value)
            if value is not None:
                named[field][index] = value
        per_row.append(errors)
    for field, values in named.items():
        if not values:
            continue
        target = field.remote_field
        present = set(
            target.model._base_manager.using(router.db_for_read(target.model))
            .filter(**{f"{target.field_name}__in": set(values.values())})
            .complex_filter(field.get_limit_choices_to())
            .values_list(str(target.field_name), flat=True)
        )
        for index, value in values.items():
            if value not in present:
                per_row[index].setdefault(field.name, []).append(
                    ValidationError(
                        field.error_messages["invalid"],
                        code="invalid",
                        params={
                            "model": target.model._meta.verbose_name,
                            "pk": value,
                            "field": target.field_name,
                            "value": value,
                        },
                    )
                )
    for errors, row in zip(found, per_row, strict=True):
        for name in (f.name for f in model._meta.fields):  # in clean_fields' order
            if name in row:
                errors.setdefault(name, []).extend(row[name])


def _stored_keys(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    keys: Iterable[tuple[Any, ...]],
) -> dict[tuple[Any, ...], set[Any]]:
    """For each of ``keys`` (values of ``fields``) held by stored rows, their primary keys."""
    first = fields[0].attname
    stored: dict[tuple[Any, ...], set[Any]] = {}
    rows = model._default_manager.filter(**{f"{first}__in": {key[0] for key in keys}}).values_list(
        *(field.attname for field in fields), "pk"
    )
    for *values, pk in rows:
        stored.setdefault(tuple(values), set()).add(pk)
    return stored


def _clashes(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    candidates: Mapping[int, tuple[Any, ...]],
    instances: Sequence[models.Model],
) -> list[int]:
    """The rows among ``candidates`` (index → values of ``fields``) whose values a stored
    row other than themselves holds, or an earlier row of the set."""
    stored = _stored_keys(model, fields, candidates.values())
    seen: set[tuple[Any, ...]] = set()
    clashing = []
    for index, key in candidates.items():
        instance: Any = instances[index]
        own = (
            instance._get_pk_val(model._meta)
            if not instance._state.adding and instance._is_pk_set(model._meta)
            else None
        )
        if key in seen or stored.get(key, set()) - {own}:
            clashing.append(index)
        seen.add(key)
    return clashing


def _validate_unique_many(
    instances: Sequence[models.Model],
    skipped: Sequence[set[str]],
    found: Sequence[dict[str, list[Any]]],
) -> None:
    """``validate_unique()`` of each instance: one query per unique field or set of fields."""
    groups: dict[tuple[type[models.Model], tuple[str, ...]], list[int]] = {}
    instance: Any
    for index, instance in enumerate(instances):
        unique_checks, date_checks = instance._get_unique_checks(exclude=skipped[index])
        for model_class, names in unique_checks:
            groups.setdefault((model_class, tuple(names)), []).append(index)
        if date_checks:
            for key, messages in instance._perform_date_checks(date_checks).items():
                found[index].setdefault(key, []).extend(messages)
    for (model_class, names), indices in groups.items():
        fields = [model_class._meta.get_field(name) for name in names]
        candidates: dict[int, tuple[Any, ...]] = {}
        for index in indices:
            instance = instances[index]
            values = []
            for field in fields:
                value = getattr(instance, field.attname)  # type: ignore[union-attr]
                if value is None or (
                    field in model_class._meta.pk_fields and not instance._state.adding
                ):
                    break  # as _perform_unique_checks: no check
                values.append(value)
            else:
                candidates[index] = tuple(values)
        if not candidates:
            continue
        for index in _clashes(model_class, fields, candidates, instances):  # type: ignore[arg-type]
            key = names[0] if len(names) == 1 else NON_FIELD_ERRORS
            found[index].setdefault(key, []).append(
                instances[index].unique_error_message(model_class, names)
            )


def _add_constraint_error(
    errors: dict[str, list[Any]], constraint: models.BaseConstraint, error: ValidationError
) -> None:
    # As validate_constraints files them.
    fields: Sequence[str] = getattr(constraint, "fields", ())
    if getattr(error, "code", None) == "unique" and len(fields) == 1:
        errors.setdefault(fields[0], []).append(error)
    else:
        error.update_error_dict(errors)


def _is_plain_unique(model: type[models.Model], constraint: models.BaseConstraint) -> bool:
    return (
        isinstance(constraint, models.UniqueConstraint)
        and bool(constraint.fields)
        and not constraint.condition
        and not constraint.expressions
        and constraint.nulls_distinct is not False
        and not any(
            getattr(model._meta.get_field(name), "generated", False) for name in constraint.fields
        )
    )


def _validate_constraints_many(
    model: type[models.Model],
    instances: Sequence[models.Model],
    skipped: Sequence[set[str]],
    found: Sequence[dict[str, list[Any]]],
) -> None:
    """``validate_constraints()`` of each instance: every check constraint evaluated by
    PostgreSQL for all the rows in one statement, each unique constraint in one query. A
    constraint of a field that failed its own checks is not checked, as Django does."""
    using = router.db_for_write(model)
    failures: dict[tuple[int, int], ValidationError] = {}
    checks: list[tuple[int, models.CheckConstraint]] = []
    declared: list[models.BaseConstraint] = []
    for model_class, constraints in instances[0].get_constraints():
        for constraint in constraints:
            number = len(declared)
            declared.append(constraint)
            if isinstance(constraint, models.CheckConstraint) and model_class is model:
                checks.append((number, constraint))
            elif _is_plain_unique(model_class, constraint):
                failures.update(
                    _unique_constraint_failures(
                        model_class,
                        cast(models.UniqueConstraint, constraint),
                        number,
                        instances,
                        skipped,
                    )
                )
            else:
                for index, instance in enumerate(instances):
                    try:
                        constraint.validate(
                            model_class, instance, exclude=skipped[index], using=using
                        )
                    except ValidationError as error:
                        failures[index, number] = error
    failures.update(_check_constraint_failures(model, checks, instances, skipped))
    for (index, number), failure in sorted(failures.items()):
        _add_constraint_error(found[index], declared[number], failure)


def _unique_constraint_failures(
    model: type[models.Model],
    constraint: models.UniqueConstraint,
    number: int,
    instances: Sequence[models.Model],
    skipped: Sequence[set[str]],
) -> dict[tuple[int, int], ValidationError]:
    fields = [model._meta.get_field(name) for name in constraint.fields]
    candidates: dict[int, tuple[Any, ...]] = {}
    for index, instance in enumerate(instances):
        if skipped[index] & set(constraint.fields):
            continue
        values = tuple(getattr(instance, field.attname) for field in fields)  # type: ignore[union-attr]
        if None not in values:
            candidates[index] = values
    failures = {}
    for index in _clashes(model, fields, candidates, instances):  # type: ignore[arg-type]
        if constraint.violation_error_message == constraint.default_violation_error_message:
            message = instances[index].unique_error_message(model, constraint.fields)
            failures[index, number] = ValidationError(message, code=message.code)
        else:
            failures[index, number] = ValidationError(
                constraint.get_violation_error_message(), code=constraint.violation_error_code
            )
    return failures


def _check_constraint_failures(
    model: type[models.Model],
    checks: Sequence[tuple[int, models.CheckConstraint]],
    instances: Sequence[models.Model],
    skipped: Sequence[set[str]],
) -> dict[tuple[int, int], ValidationError]:
    """The check constraints (``checks``: their number and themselves) each row of
    ``instances`` breaks. Each condition is compiled as Django compiles it to validate one
    row (``Q.check``), against the row's columns in a ``jsonb_to_recordset`` of all the
    rows instead of against literal values, so PostgreSQL evaluates every condition for
    every row in one statement; an unknown result passes, as in the table itself."""
    if not checks:
        return {}
    fields = [field for field in model._meta.concrete_fields if not field.generated]
    query = Query(None)
    # Each field (and ``pk``) stands for the candidate row's column, a quoted identifier.
    for field in fields:
        column = RawSQL(f"candidate.{_column(field)}", (), output_field=field)  # noqa: S611
        query.add_annotation(column, field.name, select=False)
        query.add_annotation(column, field.attname, select=False)
    pk = _primary_key(model)
    query.add_annotation(
        RawSQL(f"candidate.{_column(pk)}", (), output_field=pk),  # noqa: S611
        "pk",
        select=False,
    )
    compiler = query.get_compiler(connection=connection)
    conditions, params = [], []
    for position, (_, constraint) in enumerate(checks):
        condition: Any = constraint.condition
        if connection.features.supports_comparing_boolean_expr:
            condition = Coalesce(condition, True, output_field=models.BooleanField())
        sql, condition_params = compiler.compile(query.build_where(Q(condition)))
        conditions.append(f"({sql}) AS c{position}")
        params.extend(condition_params)
    holds = " AND ".join(f"checked.c{position}" for position in range(len(checks)))
    columns = ", ".join(f"checked.c{position}" for position in range(len(checks)))
    with connection.cursor() as cursor:
        cursor.execute(
            # The conditions as Django compiles them, their values in parameters.
            f"SELECT checked._row, {columns} FROM ("  # noqa: S608
            f"SELECT candidate._row, {', '.join(conditions)} "
            f"FROM jsonb_to_recordset(%s::jsonb) AS candidate({_record_columns(fields)})"
            f") AS checked WHERE NOT ({holds})",
            [*params, _records(fields, instances, skipped)],
        )
        rows = cursor.fetchall()
    failures = {}
    for index, *results in rows:
        for (number, constraint), holds_for_row in zip(checks, results, strict=True):
            if holds_for_row or cast(Any, constraint)._expression_refs_exclude(
                model, constraint.condition, skipped[index]
            ):
                continue
            error = ValidationError(
                constraint.get_violation_error_message(), code=constraint.violation_error_code
            )
            if isinstance(constraint, FieldCheckConstraint):
                # As FieldCheckConstraint.validate files it: under its field.
                error = ValidationError({constraint.field: error})
            failures[index, number] = error
    return failures


def _announce(changes: Iterable[tuple[ChangeKind, models.Model, Measure | None]]) -> None:
    """Announce each change of a set (its kind, the row written, its measure), in order, as
    the single-row services announce one: ``record_change``, whose receivers (the webhook
    outbox) write in this transaction."""
    for kind, run in itertools.groupby(changes, key=lambda change: change[0]):
        record_changes(kind, [(instance, measure) for _, instance, measure in run])


def _stored_rows[M: models.Model](
    model: type[M], targets: Collection[int], *, lock: bool, related: Sequence[str] = ()
) -> dict[int, M]:
    """The stored rows ``targets``, with the rows they name (``related``), locked until the
    end of the transaction if ``lock`` (in the order of their keys, as every writer takes
    them, so that two imports cannot deadlock)."""
    if not targets:
        return {}
    queryset = model._default_manager.filter(pk__in=list(targets))
    if related:
        queryset = queryset.select_related(*related)
    if lock:
        queryset = queryset.select_for_update(no_key=True, of=("self",))
    return {row.pk: row for row in queryset.order_by("pk")}


def _clean_keeping_stored_strategy(stored: Mapping[int, int]) -> Callable[[Any], None]:
    """A measure's or funding line's ``clean()`` for a set of rows, ``stored`` giving the
    stored strategy of each stored row. Its look-up of the stored row only concerns a row
    moving to another strategy (a measure with funding lines, a line with lines drawn from
    it, cannot move): for a row keeping its strategy it is left out, the row being cleaned
    as a new one, so that the set costs no query per row; a row that moves is cleaned as it
    is, look-up included."""

    def clean(instance: Any) -> None:
        if instance.pk is None or stored.get(instance.pk) != instance.strategy_id:
            instance.clean()
            return
        pk, instance.pk = instance.pk, None
        try:
            instance.clean()
        finally:
            instance.pk = pk

    return clean


@dataclass
class _Prepared[M: models.Model]:
    """A set of rows made ready to check: per row, the new row or the stored row with its
    changes applied, whether it is to be written, and the errors found on the way."""

    rows: list[M]
    changes: list[list[str]]
    stored_strategy: dict[int, int]
    errors: dict[int, ValidationError]

    @property
    def written(self) -> list[bool]:
        return [bool(changed) for changed in self.changes]

    def checked(self) -> list[int]:
        """The rows to check: those to write, unless refused already."""
        return [i for i, changed in enumerate(self.changes) if changed and i not in self.errors]


def _prepare[M: models.Model](
    model: type[M],
    rows: Sequence[RowWrite],
    writable: Sequence[str],
    *,
    lock: bool,
    related: Sequence[str],
    extra: Mapping[str, Any] | None = None,
) -> _Prepared[M]:
    """The rows of a set as the single-row services make them before their checks: a new
    row from its fields (and ``extra``), or the stored row (locked if ``lock``) with its
    fields applied (``apply_changes``: a field fixed once created cannot change; a row
    whose fields change nothing is not written)."""
    stored = _stored_rows(
        model, {row.target for row in rows if row.target is not None}, lock=lock, related=related
    )
    prepared = _Prepared[M](
        [], [], {pk: cast(Any, row).strategy_id for pk, row in stored.items()}, {}
    )
    targeted: set[int] = set()
    for index, row in enumerate(rows):
        instance: M | None = None
        changed: list[str] = []
        try:
            _refuse_unwritable(row.fields, writable)
            if row.target is None:
                instance, changed = model(**row.fields, **(extra or {})), list(row.fields)
            elif row.target not in stored:
                raise ValidationError(f"This {model._meta.verbose_name} no longer exists.")
            elif row.target in targeted:
                raise ValidationError(
                    f"This {model._meta.verbose_name} is changed by an earlier row of the set."
                )
            else:
                targeted.add(row.target)
                instance = stored[row.target]
                changed = apply_changes(instance, row.fields)
        except ValidationError as error:
            prepared.errors[index] = error
        prepared.rows.append(model() if instance is None else instance)
        prepared.changes.append(changed)
    return prepared


def _merge(
    errors: Mapping[int, ValidationError], more: Mapping[int, ValidationError]
) -> dict[int, ValidationError]:
    merged = {index: error.update_error_dict({}) for index, error in errors.items()}
    for index, error in more.items():
        error.update_error_dict(merged.setdefault(index, {}))
    return {index: ValidationError(found) for index, found in sorted(merged.items())}


def _check_prepared(
    prepared: _Prepared[Any], refused: Mapping[int, ValidationError] | None
) -> dict[int, ValidationError]:
    """The errors of each row: those found making it ready, else the models' checks of it
    (with what could not be read, ``refused``)."""
    refused = refused or {}
    indices = sorted({*prepared.checked(), *(i for i in refused if i not in prepared.errors)})
    found = full_clean_many(
        [prepared.rows[i] for i in indices],
        refused={n: refused[i] for n, i in enumerate(indices) if i in refused},
        clean=_clean_keeping_stored_strategy(prepared.stored_strategy),
    )
    before = _merge({i: refused[i] for i in refused if i in prepared.errors}, prepared.errors)
    return _merge(before, {indices[n]: error for n, error in found.items()})


MEASURE_IMPORT_FIELDS = tuple(name for name in MEASURE_WRITABLE_FIELDS if name != "slug")


def measure_check_many(
    *, rows: Sequence[RowWrite], refused: Mapping[int, ValidationError] | None = None
) -> dict[int, ValidationError]:
    """What ``measure_create`` or ``measure_update`` would refuse of each row (by index),
    checked for the whole set at once; ``refused``: errors already found (cells that could
    not be read), kept and their fields not checked again. Writes nothing."""
    prepared = _prepare(
        Measure,
        rows,
        MEASURE_WRITABLE_FIELDS,
        lock=False,
        related=("strategy", "lead_organisation"),
    )
    return _check_prepared(prepared, refused)


def measure_write_many(
    *, rows: Sequence[RowWrite], refused: Mapping[int, ValidationError] | None = None
) -> list[Measure]:
    """Create and change measures as ``measure_create`` and ``measure_update`` do, a whole
    set at once, in one transaction: every row is checked first (``measure_check_many``,
    the stored rows locked), and if any is refused nothing is written (``InvalidRowsError``).
    Returns the measures, in the order of ``rows``, as stored."""
    with transaction.atomic():
        prepared = _prepare(
            Measure,
            rows,
            MEASURE_WRITABLE_FIELDS,
            lock=True,
            related=("strategy", "lead_organisation"),
        )
        errors = _check_prepared(prepared, refused)
        if errors:
            raise InvalidRowsError(errors)
        created = [m for m, row in zip(prepared.rows, rows, strict=True) if row.target is None]
        Measure.objects.bulk_create(created)
        now = timezone.now()
        changed = []
        for measure, row, write in zip(prepared.rows, rows, prepared.written, strict=True):
            if row.target is not None and write:
                measure.version += 1
                measure.updated_at = now
                changed.append(measure)
        _update_rows(Measure, changed, [*MEASURE_IMPORT_FIELDS, "version", "updated_at"])
        _announce(
            (
                ChangeKind.MEASURE_CREATED if row.target is None else ChangeKind.MEASURE_CHANGED,
                measure,
                measure,
            )
            for measure, row, write in zip(prepared.rows, rows, prepared.written, strict=True)
            if write
        )
    return prepared.rows


FUNDING_LINE_RELATED = (
    "strategy",
    "measure",
    "parent",
    "realises",
    "funder",
    "recipient",
    "source",
)


def _prepare_funding_lines(
    rows: Sequence[RowWrite],
    *,
    lock: bool,
    recorded_by: AbstractBaseUser | AnonymousUser | None,
) -> _Prepared[FundingLine]:
    prepared = _prepare(
        FundingLine,
        rows,
        FUNDING_LINE_WRITABLE_FIELDS,
        lock=lock,
        related=FUNDING_LINE_RELATED,
        extra={"recorded_by": _user_or_none(recorded_by)},
    )
    moved = [
        line
        for line, row, changed in zip(prepared.rows, rows, prepared.changes, strict=True)
        if row.target is not None and set(FUNDING_TREE_FIELDS) & set(changed)
    ]
    if moved:
        # As funding_line_update: changes of envelope take turns, each seeing the one
        # before, and read the envelopes as they now are.
        if lock:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FUNDING_TREE_LOCK])
        named = {getattr(line, f"{field}_id") for line in moved for field in FUNDING_TREE_FIELDS}
        fresh = FundingLine.objects.in_bulk([pk for pk in named if pk is not None])
        for line in moved:
            for field in FUNDING_TREE_FIELDS:
                pk = getattr(line, f"{field}_id")
                if pk in fresh:
                    setattr(line, field, fresh[pk])
    return prepared


def _check_funding_lines(
    prepared: _Prepared[FundingLine], refused: Mapping[int, ValidationError] | None
) -> dict[int, ValidationError]:
    errors = _check_prepared(prepared, refused)
    sound = [index for index in prepared.checked() if index not in errors]
    cycles = funding_cycle_errors([prepared.rows[index] for index in sound])
    return _merge(errors, {sound[number]: error for number, error in cycles.items()})


def funding_line_check_many(
    *,
    rows: Sequence[RowWrite],
    recorded_by: AbstractBaseUser | AnonymousUser | None = None,
    refused: Mapping[int, ValidationError] | None = None,
) -> dict[int, ValidationError]:
    """What ``funding_line_create`` or ``funding_line_update`` would refuse of each row (by
    index), checked for the whole set at once; ``refused``: errors already found. Writes
    nothing."""
    prepared = _prepare_funding_lines(rows, lock=False, recorded_by=recorded_by)
    return _check_funding_lines(prepared, refused)


def funding_line_write_many(
    *,
    rows: Sequence[RowWrite],
    recorded_by: AbstractBaseUser | AnonymousUser | None = None,
    refused: Mapping[int, ValidationError] | None = None,
) -> list[FundingLine]:
    """Add and change funding lines as ``funding_line_create`` and ``funding_line_update``
    do, a whole set at once, in one transaction: every row is checked first (the stored
    rows locked), and if any is refused nothing is written (``InvalidRowsError``). Returns the
    lines, in the order of ``rows``, as stored."""
    with transaction.atomic():
        prepared = _prepare_funding_lines(rows, lock=True, recorded_by=recorded_by)
        errors = _check_funding_lines(prepared, refused)
        if errors:
            raise InvalidRowsError(errors)
        FundingLine.objects.bulk_create(
            [line for line, row in zip(prepared.rows, rows, strict=True) if row.target is None]
        )
        now = timezone.now()
        changed = []
        for line, row, write in zip(prepared.rows, rows, prepared.written, strict=True):
            if row.target is not None and write:
                line.updated_at = now
                changed.append(line)
        _update_rows(FundingLine, changed, [*FUNDING_LINE_WRITABLE_FIELDS, "updated_at"])
        _announce(
            (
                ChangeKind.FUNDING_LINE_ADDED
                if row.target is None
                else ChangeKind.FUNDING_LINE_CHANGED,
                line,
                line.measure,
            )
            for line, row, write in zip(prepared.rows, rows, prepared.written, strict=True)
            if write
        )
    return prepared.rows


# The keyword arguments of status_event_record that an event of a set may give.
EVENT_FIELDS = (
    "measure",
    "axis",
    "value",
    "effective_on",
    "effective_on_precision",
    "extent",
    "area",
    "ends_on",
    "rationale",
    "citations",
)


def _prepare_events(
    events: Sequence[Mapping[str, Any]],
    *,
    recorded_by: AbstractBaseUser | AnonymousUser | None,
    measures: Mapping[int, Measure],
) -> list[tuple[StatusEvent, list[EventCitation]]]:
    prepared = []
    for given in events:
        _refuse_unwritable(given, EVENT_FIELDS)
        fields = {"axis": "", "value": "", "effective_on": None, "rationale": "", **given}
        measure = fields.pop("measure", None)
        citations = fields.pop("citations", ())
        if measure is not None:
            measure = measures.get(measure.pk, measure)
        event = _new_event(measure, recorded_by=recorded_by, **fields)
        prepared.append((event, _citation_rows(citations)))
    return prepared


def _check_events(
    events: Sequence[tuple[StatusEvent, Sequence[EventCitation]]],
    refused: Mapping[int, ValidationError] | None,
) -> dict[int, ValidationError]:
    """What ``status_event_record`` would refuse of each event, the events being recorded
    in turn: the models' rules (``_events_errors``), then the stage moves of each measure,
    all of whose standing stage events are read in one query, each event of the set
    counting in the sequences of the later ones, as once recorded it would."""
    found = _events_errors(events, refused)
    stages = standing_stages(
        {
            event.measure_id
            for index, (event, _) in enumerate(events)
            if event.axis == Axis.STAGE and index not in found
        }
    )
    for index, (event, _) in enumerate(events):
        if index in found or event.axis != Axis.STAGE:
            continue
        history = stages[event.measure_id]
        error = stage_sequence_error(
            history,
            new_value=event.value,
            effective_on=event.effective_on,
            extent=event.extent,
            area=event.area,
        )
        if error is not None:
            found[index] = error.message_dict
            continue
        # Recorded last, the event comes after every event of the same day.
        position = sum(1 for step in history if step.effective_on <= event.effective_on)
        history.insert(
            position, StageStep(event.effective_on, event.value, event.extent, event.area)
        )
    return {index: ValidationError(errors) for index, errors in sorted(found.items())}


def status_event_check_many(
    *,
    events: Sequence[Mapping[str, Any]],
    recorded_by: AbstractBaseUser | AnonymousUser | None = None,
    refused: Mapping[int, ValidationError] | None = None,
) -> dict[int, ValidationError]:
    """What ``status_event_record`` would refuse of each of ``events`` (each a mapping of
    its keyword arguments ``EVENT_FIELDS``), recorded in the order given; ``refused``:
    errors already found. Writes nothing."""
    return _check_events(_prepare_events(events, recorded_by=recorded_by, measures={}), refused)


def _insert_events(events: Sequence[StatusEvent]) -> None:
    """Insert ``events``, their ids rising in the order given, as statements PostgreSQL
    plans quickly. Django writes rows as one ``UNNEST`` of a column's values, planned
    once, unless a column is an array (``extent``): then as ``VALUES``, planned row by
    row, 0.15 ms a row. So the ids are drawn from the table's sequence first, in order;
    the events not limited to some nations are inserted with ``extent`` left to its
    database default (the same empty list), which leaves the column out and lets Django
    use ``UNNEST``; only those limited to some nations go by ``VALUES``."""
    if not events:
        return
    table = StatusEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, StatusEvent._meta.pk.column, len(events)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
    unlimited = [event for event in events if not event.extent]
    extent = StatusEvent._meta.get_field("extent")
    default = DatabaseDefault(Value(extent.db_default), output_field=extent)
    for event in unlimited:
        event.extent = default
    try:
        StatusEvent.objects.bulk_create(unlimited)
    finally:
        for event in unlimited:
            event.extent = []
    StatusEvent.objects.bulk_create([event for event in events if event.extent])


def status_event_record_many(
    *,
    events: Sequence[Mapping[str, Any]],
    recorded_by: AbstractBaseUser | AnonymousUser | None = None,
    refused: Mapping[int, ValidationError] | None = None,
) -> list[StatusEvent]:
    """Record ``events`` (each a mapping of ``status_event_record``'s keyword arguments
    ``EVENT_FIELDS``) as ``status_event_record`` records each, in the order given, but as a
    whole set in one transaction: their measures are locked, every event is checked first
    (``status_event_check_many``, each counting in the sequences of the later ones), and if
    any is refused nothing is written (``InvalidRowsError``). Then the events and their
    citations are written, with a statement for each table, and each measure's cached
    status is refreshed once, from all of its events, raising its version by one: the set
    is one change of each measure it touches, as an import of measures is, and its history
    gains one row a measure (every row of the transaction bears the same instant, so the
    states between two events of the set were never anyone's to read). The events are
    announced in the order given, and returned in that order, each with its measure as it
    now stands."""
    with transaction.atomic():
        locked = _stored_rows(
            Measure,
            {given["measure"].pk for given in events if given.get("measure") is not None},
            lock=True,
        )
        prepared = _prepare_events(events, recorded_by=recorded_by, measures=locked)
        errors = _check_events(prepared, refused)
        if errors:
            raise InvalidRowsError(errors)
        _insert_events([event for event, _ in prepared])
        for event, citations in prepared:
            for citation in citations:
                citation.event = event
        EventCitation.objects.bulk_create(
            [citation for _, citations in prepared for citation in citations]
        )
        refresh_cached_statuses({event.measure_id for event, _ in prepared})
        _announce(
            (ChangeKind.STATUS_EVENT_RECORDED, event, locked[event.measure_id])
            for event, _ in prepared
        )
        # Each event's recorded_at came back from its insert (a database default).
        measures = Measure.objects.in_bulk(list(locked))
    events_recorded = []
    for event, _ in prepared:
        event.measure = measures[event.measure_id]
        events_recorded.append(event)
    return events_recorded
