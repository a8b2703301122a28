"""Writes that carry a rule. The API, the admin, the importers and the seed loader all go
through these functions, so every path obeys the same invariants."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from measures.choices import AXIS_VALUES, Axis, Stage, stage_move_allowed
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from strategy.models import Source

# Fields of a measure that belong to the server: never set from outside.
MEASURE_SERVER_FIELDS = frozenset(
    {"id", "stage", "stage_since", "verdict", "confidence", "version", "created_at", "updated_at"}
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


def _check_stage_sequence(
    measure: Measure, *, new_value: str, effective_on: datetime.date, replaces: int | None
) -> None:
    """Refuse the event if the stage history it would produce contains a move that is not
    in ``ALLOWED_STAGE_MOVES``. The whole sequence is checked, because a back-dated event
    or a correction changes the moves on both sides of it."""
    history = list(
        StatusEvent.objects.filter(measure=measure, axis=Axis.STAGE, superseded_by__isnull=True)
        .exclude(pk__in=[replaces] if replaces else [])
        .order_by("effective_on", "recorded_at", "id")
        .values_list("effective_on", "value")
    )
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


def _refresh_cached_status(measure: Measure, axis: str) -> None:
    """Set the measure's cached value for ``axis`` to what its history says today."""
    latest = (
        StatusEvent.objects.filter(
            measure=measure,
            axis=axis,
            superseded_by__isnull=True,
            effective_on__lte=timezone.localdate(),
        )
        .in_effect_order()
        .values("value", "effective_on")
        .first()
    )
    value = latest["value"] if latest else None
    changes: dict[str, Any] = {axis: value}
    if axis == Axis.STAGE:
        changes["stage_since"] = latest["effective_on"] if latest else None
    Measure.objects.filter(pk=measure.pk).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    measure.refresh_from_db(fields=[*changes, "version", "updated_at"])


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
) -> StatusEvent:
    """Record that ``measure``'s ``axis`` became ``value`` on ``effective_on``, with evidence.

    Locks the measure, checks the move against the allowed stage moves, writes the event and
    its citations and updates the measure's cached status, all in one transaction. With
    ``supersedes`` the new event is a correction of that earlier event, which stays in the
    history as it was. With ``expected_version`` a stale caller is refused (``StaleVersionError``).
    """
    errors: dict[str, str] = {}
    choices = AXIS_VALUES.get(axis)
    if choices is None:
        errors["axis"] = f"“{axis}” is not an axis; choose one of {', '.join(Axis.values)}."
    elif value not in choices.values:
        errors["value"] = f"“{value}” is not a {axis}; choose one of {', '.join(choices.values)}."
    if effective_on > timezone.localdate():
        errors["effective_on"] = (
            "An event records what has happened: its date cannot be in the future."
        )
    if not rationale.strip():
        errors["rationale"] = "Say why the value changed."
    if not citations:
        errors["citations"] = "Cite at least one source."
    elif any(not (c.quote.strip() or c.locator.strip()) for c in citations):
        errors["citations"] = "Each citation needs the quoted passage or a locator."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        locked = Measure.objects.select_for_update().get(pk=measure.pk)
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersionError(expected=expected_version, current=locked.version)
        if supersedes is not None:
            corrected = StatusEvent.objects.filter(pk=supersedes.pk).first()
            if corrected is None or corrected.measure_id != locked.pk:
                raise ValidationError({"supersedes": "That event belongs to another measure."})
            if corrected.axis != axis:
                raise ValidationError(
                    {"supersedes": f"A correction of a {corrected.axis} event must be one too."}
                )
            if StatusEvent.objects.filter(supersedes=corrected).exists():
                raise ValidationError(
                    {"supersedes": "That event has already been corrected; correct the correction."}
                )
        if axis == Axis.STAGE:
            _check_stage_sequence(
                locked,
                new_value=value,
                effective_on=effective_on,
                replaces=supersedes.pk if supersedes else None,
            )
        event = StatusEvent(
            measure=locked,
            axis=axis,
            value=value,
            effective_on=effective_on,
            rationale=rationale.strip(),
            recorded_by=_user_or_none(recorded_by),
            supersedes=supersedes,
        )
        event.full_clean(exclude=["recorded_at"])
        event.save()
        for citation in citations:
            row = EventCitation(
                event=event,
                source=citation.source,
                quote=citation.quote.strip(),
                locator=citation.locator.strip(),
            )
            row.full_clean()
            row.save()
        _refresh_cached_status(locked, axis)
    event.refresh_from_db(fields=["recorded_at"])
    measure.__dict__.update(
        {
            f: getattr(locked, f)
            for f in ("stage", "stage_since", "verdict", "confidence", "version", "updated_at")
        }
    )
    return event


def measure_create(*, fields: Mapping[str, Any]) -> Measure:
    """Create a measure. Its status starts empty and comes only from recorded events."""
    unknown = set(fields) & MEASURE_SERVER_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field is set by the server."))
    measure = Measure(**fields)
    measure.full_clean()
    measure.save()
    return measure


def measure_update(
    *, measure: Measure, fields: Mapping[str, Any], expected_version: int | None = None
) -> Measure:
    """Change a measure's descriptive fields. Refuses a write based on a stale version, so
    two researchers editing at once cannot silently overwrite each other."""
    if "slug" in fields and fields["slug"] == measure.slug:
        # A full update repeats the slug; only a change of it is refused.
        fields = {name: value for name, value in fields.items() if name != "slug"}
    unknown = set(fields) & (MEASURE_SERVER_FIELDS | {"slug"})
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    with transaction.atomic():
        locked = Measure.objects.select_for_update().get(pk=measure.pk)
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersionError(expected=expected_version, current=locked.version)
        changed = {name: value for name, value in fields.items() if getattr(locked, name) != value}
        if changed:
            for name, value in changed.items():
                setattr(locked, name, value)
            locked.full_clean()
            locked.version += 1
            locked.save()
    measure.__dict__.update(
        {f.attname: getattr(locked, f.attname) for f in Measure._meta.concrete_fields}
    )
    return measure


def _check_no_parent_cycle(line: FundingLine) -> None:
    seen = {line.pk} if line.pk else set()
    parent = line.parent
    while parent is not None:
        if parent.pk in seen:
            raise ValidationError({"parent": "A funding line cannot be drawn from itself."})
        seen.add(parent.pk)
        parent = parent.parent


def funding_line_create(
    *, fields: Mapping[str, Any], recorded_by: AbstractBaseUser | AnonymousUser | None = None
) -> FundingLine:
    line = FundingLine(**fields, recorded_by=_user_or_none(recorded_by))
    line.full_clean()
    _check_no_parent_cycle(line)
    line.save()
    return line


def funding_line_update(*, line: FundingLine, fields: Mapping[str, Any]) -> FundingLine:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(line, name, value)
        line.full_clean()
        _check_no_parent_cycle(line)
        line.save()
    return line
