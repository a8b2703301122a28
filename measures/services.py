"""Writes that carry a rule. The API, the admin, the importers and the seed loader all go
through these functions, so every path obeys the same invariants."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from legislation.choices import DatePrecision, normalised_extent
from measures.choices import Axis, Stage, stage_move_allowed
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from strategy.changes import ChangeKind, record_change
from strategy.models import Source
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


def _same_scope_or_unscoped(extent: Sequence[str], area: str) -> Q:
    return Q(extent=[], area="") | Q(extent=list(extent), area=area)


def _check_stage_sequence(
    measure: Measure,
    *,
    new_value: str | None,
    effective_on: datetime.date,
    extent: Sequence[str],
    area: str,
    replaces: int | None,
) -> None:
    """Refuse the event if the stage history it would produce contains a move that is not
    in ``ALLOWED_STAGE_MOVES``. The whole sequence is checked, because a back-dated event
    or a correction changes the moves on both sides of it. The sequence is that of the
    event's own scope (the same nations and area) with the events not limited to any: a
    commencement in Scotland and a later one in England and Wales are each a move from
    “enacted”. With no ``new_value``, ``replaces`` is only withdrawn (a retraction)."""
    history = list(
        StatusEvent.objects.filter(measure=measure, axis=Axis.STAGE)
        .standing()
        .filter(_same_scope_or_unscoped(extent, area))
        .exclude(pk__in=[replaces] if replaces else [])
        .order_by("effective_on", "recorded_at", "id")
        .values_list("effective_on", "value")
    )
    if new_value is not None:
        # Recorded last, the new event comes after every event of the same day.
        position = sum(1 for day, _ in history if day <= effective_on)
        history.insert(position, (effective_on, new_value))
    previous: str | None = None
    for day, value in history:
        if not stage_move_allowed(previous, value):
            raise ValidationError(
                {
                    "value": (
                        f"A measure cannot move from {_stage_label(previous)} to "
                        f"{_stage_label(value)} (on {day.isoformat()})."
                    )
                }
            )
        previous = value


def _refuse_unwritable(fields: Mapping[str, Any], writable: Sequence[str]) -> None:
    unknown = sorted(set(fields) - set(writable))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be written here."))


def _refresh_cached_status(measure: Measure) -> None:
    """Set the locked ``measure``'s cached status to what its history says today,
    anywhere, with the day until which that holds (the next future-dated event, or the day
    after an event's end), and raise its version."""
    today = timezone.localdate()
    live = StatusEvent.objects.filter(measure=measure).standing()
    changes: dict[str, Any] = {}
    for axis in Axis.values:
        latest = (
            live.filter(axis=axis)
            .in_effect(today)
            .in_effect_order()
            .values("value", "effective_on")
            .first()
        )
        changes[axis] = latest["value"] if latest else None
        if axis == Axis.STAGE:
            changes["stage_since"] = latest["effective_on"] if latest else None
    upcoming = [
        *live.filter(effective_on__gt=today).values_list("effective_on", flat=True),
        *(
            day + datetime.timedelta(days=1)
            for day in live.filter(ends_on__gte=today).values_list("ends_on", flat=True)
            if day is not None
        ),
    ]
    changes["status_valid_until"] = min(upcoming, default=None)
    Measure.objects.filter(pk=measure.pk).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    measure.refresh_from_db(fields=[*changes, "version", "updated_at"])


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


def _event_errors(event: StatusEvent, citations: Sequence[EventCitation]) -> dict[str, list[str]]:
    """Everything wrong with ``event`` and its citations, the citations' errors under
    ``citations.<index>.<field>``. A retraction may cite nothing: what it says is that the
    withdrawn event had no ground."""
    errors: dict[str, list[str]] = {}
    if not citations and not event.is_retraction:
        errors["citations"] = ["Cite at least one source."]
    try:
        event.full_clean(exclude=["recorded_at"])
    except ValidationError as error:
        errors.update(error.message_dict)
    for index, citation in enumerate(citations):
        try:
            citation.full_clean(exclude=["event"])
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"citations.{index}.{field}"] = messages
    return errors


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
        event = StatusEvent(
            measure=locked,
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
    rows = [
        EventCitation(
            source=citation.source,
            quote=citation.quote.strip(),
            locator=citation.locator.strip(),
        )
        for citation in citations
    ]
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


def _check_no_cycle(line: FundingLine) -> None:
    """Neither the envelopes a line is drawn from nor the lines it realises lead back to it."""
    for field, message in (
        ("parent", "A funding line cannot be drawn from itself."),
        ("realises", "A funding line cannot realise itself, even through others."),
    ):
        seen = {line.pk} if line.pk else set()
        earlier = getattr(line, field)
        while earlier is not None:
            if earlier.pk in seen:
                raise ValidationError({field: message})
            seen.add(earlier.pk)
            earlier = getattr(earlier, field)


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
