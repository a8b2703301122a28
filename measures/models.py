"""What is tracked: each measure of a strategy, the dated events that move it, and the money
attached to it. Fields are declared one by one, Django's way: alike in shape, each with its
own meaning and example."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, ClassVar

import pghistory
import pghistory.models
import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Concat, Now
from django.utils import timezone

from legislation.choices import DatePrecision, date_label, extent_label, is_last_day_of
from legislation.models import Provision, extent_field, extent_is_valid
from measures.choices import (
    AXIS_VALUES,
    FINISHED_STAGES,
    Axis,
    Confidence,
    FundingNovelty,
    FundingPhase,
    Instrument,
    Stage,
    Verdict,
)
from strategy.models import (
    FIXED_ONCE_CREATED,
    HISTORY_OBJ_FIELD,
    FieldCheckConstraint,
    Organisation,
    Source,
    Strategy,
    slug_is_lowercase,
)

CURRENCY_PATTERN = r"^[A-Z]{3}$"

# The change feed orders rows by the id of the transaction that last wrote them, and only
# shows transactions older than every one still running, so a reader that resumes from
# its last position can never miss a row committed late by a slow transaction.
STAMP_CHANGE_XID = "NEW.change_xid := pg_current_xact_id()::text::bigint; RETURN NEW;"


def change_xid_field() -> models.BigIntegerField:
    return models.BigIntegerField(
        "change transaction",
        null=True,
        editable=False,
        help_text="Id of the database transaction that last wrote the row (set by a trigger).",
    )


def stamp_change_xid(operation: Any) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name="stamp_change_xid", when=pgtrigger.Before, operation=operation, func=STAMP_CHANGE_XID
    )


def append_only() -> pgtrigger.Protect:
    return pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)


def quote_or_locator(table: str) -> FieldCheckConstraint:
    """Evidence is a quoted passage, or at least a locator within the source."""
    return FieldCheckConstraint(
        condition=~Q(quote="") | ~Q(locator=""),
        name=f"{table}_quote_or_locator",
        field="quote",
        violation_error_message="Quote the passage or give a locator.",
    )


def is_overdue(target_on: datetime.date | None, stage: str | None, on: datetime.date) -> bool:
    """Past its target date on ``on`` without having reached a finished stage. The same rule
    as ``MeasureQuerySet.with_overdue`` computes in SQL (a test holds the two equal)."""
    return target_on is not None and target_on < on and stage not in FINISHED_STAGES


class StatusEventQuerySet(models.QuerySet["StatusEvent"]):
    def for_api(self) -> StatusEventQuerySet:
        """With what a status event is shown with: its measure, who recorded it, its
        citations and their sources, and the id of the event correcting it."""
        return self.select_related("measure", "recorded_by").prefetch_related(
            models.Prefetch("citations", queryset=EventCitation.objects.select_related("source")),
            models.Prefetch(
                "superseded_by",
                queryset=StatusEvent.objects.only("id", "supersedes_id", "is_retraction"),
            ),
        )

    def standing(self) -> StatusEventQuerySet:
        """The events that say what happened: neither corrected nor retracted since, and
        not retractions themselves (a retraction only withdraws the event it supersedes)."""
        return self.filter(superseded_by__isnull=True, is_retraction=False)

    def known_at(self, instant: datetime.datetime | None) -> StatusEventQuerySet:
        """The events standing at ``instant``: those the database held then, less those
        corrected or retracted by then (``standing`` as it was at that instant)."""
        if instant is None:
            return self.standing()
        corrected = StatusEvent.objects.filter(supersedes=OuterRef("pk"), recorded_at__lte=instant)
        return self.filter(recorded_at__lte=instant, is_retraction=False).exclude(Exists(corrected))

    def in_effect(
        self, on: datetime.date, *, extent: str | None = None, area: str | None = None
    ) -> StatusEventQuerySet:
        """The events in effect on ``on`` (taken effect, not yet ended) in a place.

        The place is where an event applies (docs/record.md, “Where and when”): with no
        ``extent`` and no ``area``, anywhere (a pilot or a Scottish commencement counts);
        with ``extent`` (a nation), the events not limited to other nations and not limited
        to an area; with ``area``, the events of that area and those not limited to an area
        (with ``extent`` too, in that nation)."""
        events = self.filter(effective_on__lte=on).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=on)
        )
        if extent is not None:
            events = events.filter(Q(extent=[]) | Q(extent__contains=[extent]))
        if area is not None:
            events = events.filter(Q(area="") | Q(area__iexact=area))
        elif extent is not None:
            events = events.filter(area="")
        return events

    def in_effect_order(self) -> StatusEventQuerySet:
        """Latest in valid time first; on the same day, the one recorded last wins."""
        return self.order_by("-effective_on", "-recorded_at", "-id")


@dataclass(frozen=True)
class Place:
    """Where a status is asked about: a nation, an area, both or neither (anywhere)."""

    extent: str | None = None
    area: str | None = None


ANYWHERE = Place()


def status_subqueries(
    on: datetime.date,
    *,
    known_at: datetime.datetime | None = None,
    place: Place = ANYWHERE,
) -> dict[str, Subquery]:
    """Per axis, the SQL of a measure's value on ``on`` in ``place`` as known at
    ``known_at``, and of the day its stage took effect: one correlated subquery each."""

    def latest(axis: str) -> StatusEventQuerySet:
        return (
            StatusEvent.objects.filter(measure=OuterRef("pk"), axis=axis)
            .in_effect(on, extent=place.extent, area=place.area)
            .known_at(known_at)
            .in_effect_order()
        )

    subqueries = {axis.value: Subquery(latest(axis).values("value")[:1]) for axis in Axis}
    subqueries["stage_since"] = Subquery(latest(Axis.STAGE).values("effective_on")[:1])
    return subqueries


class MeasureQuerySet(models.QuerySet["Measure"]):
    def for_api(self) -> MeasureQuerySet:
        """With what a measure is shown with: its strategy and lead organisation."""
        return self.select_related("strategy", "lead_organisation")

    def with_history(
        self,
        *,
        as_of: datetime.date | None = None,
        known_at: datetime.datetime | None = None,
        place: Place = ANYWHERE,
        label: str = "then",
    ) -> MeasureQuerySet:
        """Annotate ``stage_then``, ``verdict_then``, ``confidence_then`` and
        ``stage_since_then`` (``then`` being ``label``): each axis's value on ``as_of``
        (default: today) in ``place`` (default: anywhere) as the database knew it at
        ``known_at`` (default: now).

        One correlated subquery per axis, so the whole answer is one SQL query."""
        on = as_of or timezone.localdate()
        subqueries = status_subqueries(on, known_at=known_at, place=place)
        return self.annotate(**{f"{name}_{label}": sql for name, sql in subqueries.items()})

    def with_current_status(self, label: str = "then") -> MeasureQuerySet:
        """Annotate the status today, anywhere, as ``with_history`` does, from the cached
        columns while they hold: a measure whose cache expired (a future-dated event took
        effect, or a pilot ended, on or before today: ``status_valid_until``) gets the
        history's answer instead, so the status is right on the day without any write.
        PostgreSQL runs a subquery of a CASE only for the rows that reach it."""
        today = timezone.localdate()
        expired = Q(status_valid_until__lte=today)
        subqueries = status_subqueries(today)
        return self.annotate(
            **{
                f"{name}_{label}": Case(When(expired, then=sql), default=F(name))
                for name, sql in subqueries.items()
            }
        )

    def with_overdue(
        self, on: datetime.date | None = None, stage_field: str = "stage"
    ) -> MeasureQuerySet:
        """Annotate ``is_overdue`` (see the function of that name) on ``on`` (default
        today). ``stage_field`` may name a time-travel annotation."""
        day = on or timezone.localdate()
        unfinished = Q(**{f"{stage_field}__isnull": True}) | ~Q(
            **{f"{stage_field}__in": FINISHED_STAGES}
        )
        return self.annotate(
            is_overdue=Case(
                When(Q(target_on__lt=day) & unfinished, then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            )
        )


def search_text() -> Concat:
    """A measure's searched columns (those of ``search_vector``) as one text, which the
    search compares word by word with what was typed to tolerate typos. Its trigram index
    is on this very expression: a query that spells it otherwise cannot use the index."""
    return Concat(
        "title",
        Value(" "),
        "summary",
        Value(" "),
        "legal_vehicle",
        Value(" "),
        "category",
        output_field=models.TextField(),
    )


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["search_vector", "change_xid"],
    model_name="MeasureHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class Measure(models.Model):
    """One commitment of a strategy, e.g. “make it a criminal offence to possess corrosive
    substances in a public place”. Its current stage, verdict and confidence are a cache of
    its event history, kept in step by ``measures.services.status_event_record``."""

    slug = models.SlugField(
        "slug",
        max_length=120,
        unique=True,
        help_text="Stable identifier used in URLs, e.g. “corrosive-substance-possession-offence”.",
    )
    strategy = models.ForeignKey(
        Strategy,
        on_delete=models.PROTECT,
        related_name="measures",
        verbose_name="strategy",
        help_text="The strategy that committed to it.",
    )
    title = models.CharField(
        "title",
        max_length=300,
        help_text="The commitment in a line, e.g. “Offence of possessing a corrosive substance in a public place”.",
    )
    summary = models.TextField(
        "summary", blank=True, help_text="What was promised, in the strategy's own terms."
    )
    category = models.CharField(
        "category",
        max_length=100,
        blank=True,
        help_text="The strategy's theme it belongs to, e.g. “Law enforcement and criminal justice”.",
    )
    lead_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_measures",
        verbose_name="lead organisation",
        help_text="Who is responsible for delivering it, e.g. the Home Office.",
    )
    instrument = models.CharField(
        "instrument",
        max_length=32,
        choices=Instrument.choices,
        help_text="How it is to be delivered, e.g. “legislation”.",
    )
    legal_vehicle = models.CharField(
        "legal vehicle",
        max_length=200,
        blank=True,
        help_text="The bill or instrument that carries it, e.g. “Offensive Weapons Bill”.",
    )
    target_on = models.DateField(
        "target date",
        null=True,
        blank=True,
        help_text="When delivery was promised, if a date was given, e.g. 2020-03-31.",
    )
    stage = models.CharField(  # noqa: DJ001 - null means no event yet on this axis
        "stage",
        max_length=32,
        choices=Stage.choices,
        null=True,
        blank=True,
        editable=False,
        help_text="Current stage, derived from the event history (read-only).",
    )
    stage_since = models.DateField(
        "stage since",
        null=True,
        blank=True,
        editable=False,
        help_text="The date the current stage took effect (read-only).",
    )
    verdict = models.CharField(  # noqa: DJ001 - null means no event yet on this axis
        "verdict",
        max_length=32,
        choices=Verdict.choices,
        null=True,
        blank=True,
        editable=False,
        help_text="Current editorial verdict, derived from the event history (read-only).",
    )
    confidence = models.CharField(  # noqa: DJ001 - null means no event yet on this axis
        "delivery confidence",
        max_length=32,
        choices=Confidence.choices,
        null=True,
        blank=True,
        editable=False,
        help_text="Current delivery-confidence rating, derived from the event history (read-only).",
    )
    status_valid_until = models.DateField(
        "cached status valid until",
        null=True,
        blank=True,
        editable=False,
        help_text=(
            "The first day on which the cached status no longer holds without a write: the "
            "next future-dated event, or the day after an event's end (read-only)."
        ),
    )
    provisions = models.ManyToManyField(
        Provision,
        through="MeasureProvision",
        related_name="measures",
        blank=True,
        verbose_name="provisions",
        help_text="The provisions of Acts that carry it.",
    )
    version = models.PositiveIntegerField(
        "version",
        default=1,
        editable=False,
        help_text="Rises by one on every change; a write based on an older version is refused.",
    )
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
        + SearchVector("legal_vehicle", "category", weight="C", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
        verbose_name="search vector",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())
    change_xid = change_xid_field()

    objects = MeasureQuerySet.as_manager()

    fixed_once_created: ClassVar[tuple[str, ...]] = FIXED_ONCE_CREATED

    class Meta:
        ordering = ["strategy_id", "title"]
        verbose_name = "measure"
        verbose_name_plural = "measures"
        constraints = [
            slug_is_lowercase("measures_measure"),
            models.CheckConstraint(
                condition=Q(instrument__in=Instrument.values),
                name="measures_measure_instrument_valid",
            ),
            models.CheckConstraint(
                condition=Q(stage__isnull=True) | Q(stage__in=Stage.values),
                name="measures_measure_stage_valid",
            ),
            models.CheckConstraint(
                condition=Q(verdict__isnull=True) | Q(verdict__in=Verdict.values),
                name="measures_measure_verdict_valid",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__in=Confidence.values),
                name="measures_measure_confidence_valid",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="measures_measure_version_positive"
            ),
            # Target of the composite foreign key that keeps a funding line's measure inside
            # the line's own strategy.
            models.UniqueConstraint(
                fields=["id", "strategy"], name="measures_measure_id_strategy_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["strategy", "stage"], name="measures_measure_strat_stage"),
            models.Index(fields=["stage"], name="measures_measure_stage"),
            models.Index(fields=["updated_at", "id"], name="measures_measure_updated"),
            models.Index(fields=["target_on"], name="measures_measure_target_on"),
            GinIndex(fields=["search_vector"], name="measures_measure_search"),
            GinIndex(
                OpClass(search_text(), name="gin_trgm_ops"), name="measures_measure_search_trgm"
            ),
            models.Index(fields=["change_xid", "id"], name="measures_measure_change"),
        ]
        triggers = [stamp_change_xid(pgtrigger.Insert | pgtrigger.Update)]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.pk and self.strategy_id:
            stored = (
                Measure.objects.filter(pk=self.pk).values_list("strategy_id", flat=True).first()
            )
            if stored is not None and stored != self.strategy_id and self.funding_lines.exists():
                raise ValidationError(
                    {
                        "strategy": "This measure has funding lines in its strategy: move or "
                        "detach them before moving the measure to another strategy."
                    }
                )


@pghistory.track(
    pghistory.InsertEvent(),
    exclude=["change_xid"],
    model_name="StatusEventHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class StatusEvent(models.Model):
    """One dated change of one axis (stage, verdict or confidence) of one measure, with the
    evidence for it. Events are never edited or deleted: a correction is a new event that
    supersedes the old one."""

    measure = models.ForeignKey(
        Measure,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name="measure",
        help_text="The measure whose status changed.",
    )
    axis = models.CharField(
        "axis",
        max_length=16,
        choices=Axis.choices,
        help_text="Which of the three axes changed, e.g. “stage”.",
    )
    value = models.CharField(
        "value",
        max_length=32,
        help_text="The new value on that axis, e.g. “in_force”.",
    )
    effective_on = models.DateField(
        "effective on",
        help_text=(
            "When it became true in the world (valid time), e.g. 2022-04-06; may be in the "
            "future (a scheduled commencement). Known only to the month or year: the last day "
            "of it."
        ),
    )
    effective_on_precision = models.CharField(
        "precision of the date",
        max_length=8,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        db_default=DatePrecision.DAY,
        help_text="How much of the date the evidence gives: “day”, “month” or “year”.",
    )
    ends_on = models.DateField(
        "ends on",
        null=True,
        blank=True,
        help_text="The last day it holds, if it is known to end (a pilot), e.g. 2023-03-31.",
    )
    extent = extent_field(
        "The nations it applies to, e.g. [“england”, “wales”]; empty: not limited."
    )
    area = models.CharField(
        "area",
        max_length=200,
        blank=True,
        db_default="",
        help_text="An area within them it is limited to, e.g. “Metropolitan police district”.",
    )
    recorded_at = models.DateTimeField(
        "recorded at",
        db_default=Now(),
        editable=False,
        help_text="When the tracker learned it (transaction time); set by the database.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="recorded by",
        help_text="The researcher or API client that recorded it; empty for seed data.",
    )
    rationale = models.TextField(
        "rationale",
        help_text="Why the value changed, e.g. “SI 2022/418 commenced section 6 on 6 April 2022”.",
        error_messages={"blank": "Say why the value changed."},
    )
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name="corrects",
        help_text="The earlier event of the same measure and axis that this one corrects.",
    )
    is_retraction = models.BooleanField(
        "retraction",
        default=False,
        db_default=False,
        help_text=(
            "This event withdraws the event it supersedes, which should not have been "
            "recorded (e.g. it named the wrong measure), and says nothing else: its axis, "
            "value, dates and place repeat the withdrawn event's."
        ),
    )

    change_xid = change_xid_field()

    objects = StatusEventQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_on", "-recorded_at", "-id"]
        verbose_name = "status event"
        verbose_name_plural = "status events"
        get_latest_by = "recorded_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(axis__in=Axis.values), name="measures_statusevent_axis_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(axis=Axis.STAGE, value__in=Stage.values)
                    | Q(axis=Axis.VERDICT, value__in=Verdict.values)
                    | Q(axis=Axis.CONFIDENCE, value__in=Confidence.values)
                ),
                name="measures_statusevent_value_valid_for_axis",
            ),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(supersedes=F("id")),
                name="measures_statusevent_not_self_superseding",
            ),
            models.CheckConstraint(
                condition=Q(is_retraction=False) | Q(supersedes__isnull=False),
                name="measures_statusevent_retraction_withdraws_an_event",
                violation_error_message="A retraction names the event it withdraws.",
            ),
            models.CheckConstraint(
                condition=Q(effective_on_precision__in=DatePrecision.values),
                name="measures_statusevent_precision_valid",
            ),
            FieldCheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("effective_on")),
                name="measures_statusevent_period_in_order",
                field="ends_on",
                violation_error_message="It cannot end before it takes effect.",
            ),
            extent_is_valid("measures_statusevent"),
            # An event is corrected at most once; a wrong correction is itself corrected.
            models.UniqueConstraint(
                fields=["supersedes"],
                name="measures_statusevent_superseded_once",
                violation_error_code="unique",
                violation_error_message=(
                    "That event has already been corrected; correct the correction."
                ),
            ),
            # Target of the composite foreign key (supersedes_id, measure_id, axis): a
            # correction can only supersede an event of the same measure and axis.
            models.UniqueConstraint(
                fields=["id", "measure", "axis"], name="measures_statusevent_id_measure_axis"
            ),
        ]
        indexes = [
            models.Index(
                F("measure"),
                F("axis"),
                F("effective_on").desc(),
                F("recorded_at").desc(),
                F("id").desc(),
                name="measures_event_history",
            ),
            models.Index(fields=["recorded_at", "id"], name="measures_event_recorded"),
            models.Index(fields=["change_xid", "id"], name="measures_event_change"),
        ]
        triggers = [stamp_change_xid(pgtrigger.Insert), append_only()]

    def __str__(self) -> str:
        said = f"{self.get_axis_display()} → {self.value} on {self.effective_on}"
        return f"Retraction of “{said}”" if self.is_retraction else said

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.effective_on and not is_last_day_of(self.effective_on, self.effective_on_precision):
            errors["effective_on"] = (
                f"A date known to the {self.effective_on_precision} is recorded as the last "
                f"day of that {self.effective_on_precision}."
            )
        choices = AXIS_VALUES.get(self.axis)
        if choices is not None and self.value not in choices.values:
            errors["value"] = (
                f"“{self.value}” is not a {self.axis}; choose one of {', '.join(choices.values)}."
            )
        corrected = self.supersedes
        if corrected is not None:
            # The composite foreign key (supersedes, measure, axis) holds the same in the
            # database; this says it in words.
            if corrected.measure_id != self.measure_id:
                errors["supersedes"] = "That event belongs to another measure."
            elif corrected.axis != self.axis:
                errors["supersedes"] = f"A correction of a {corrected.axis} event must be one too."
            elif corrected.is_retraction and self.is_retraction:
                errors["supersedes"] = (
                    "That event is a retraction; to restore what it withdrew, record it again."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def stands(self) -> bool:
        """Whether it says what happened, as ``StatusEventQuerySet.standing`` has it; read
        from the prefetched ``superseded_by`` (``for_api``)."""
        return not self.is_retraction and not self.superseded_by.all()

    @property
    def effective_on_label(self) -> str:
        return date_label(self.effective_on, self.effective_on_precision)

    @property
    def scope_label(self) -> str:
        """Where it applies, in words: “England and Wales”, “Metropolitan police district
        (England)”, “not limited”."""
        nations = extent_label(self.extent)
        return f"{self.area} ({nations})" if self.area else nations

    @property
    def value_label(self) -> str:
        choices = AXIS_VALUES.get(self.axis)
        return (
            str(choices(self.value).label)
            if choices and self.value in choices.values
            else self.value
        )


@pghistory.track(
    pghistory.InsertEvent(),
    model_name="EventCitationHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class EventCitation(models.Model):
    """The evidence for a status event: a source plus the quoted passage or a locator."""

    event = models.ForeignKey(
        StatusEvent,
        on_delete=models.PROTECT,
        related_name="citations",
        verbose_name="event",
        help_text="The event this evidence supports.",
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="event_citations",
        verbose_name="source",
        help_text="Where the evidence is.",
    )
    quote = models.TextField(
        "quoted passage",
        blank=True,
        help_text="The words that support the event, e.g. “The following provisions … come into force on 6th April 2022”.",
    )
    locator = models.CharField(
        "locator",
        max_length=300,
        blank=True,
        help_text="Where in the source, e.g. “reg. 2(b)” or “col. 345”.",
    )

    class Meta:
        ordering = ["id"]
        verbose_name = "citation"
        verbose_name_plural = "citations"
        constraints = [quote_or_locator("measures_eventcitation")]
        triggers = [append_only()]

    def __str__(self) -> str:
        return f"{self.source} ({self.locator or 'quoted'})"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.DeleteEvent(),
    model_name="MeasureProvisionHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class MeasureProvision(models.Model):
    """That a provision of an Act carries a measure (in whole or in part)."""

    measure = models.ForeignKey(
        Measure,
        on_delete=models.CASCADE,
        related_name="provision_links",
        verbose_name="measure",
    )
    provision = models.ForeignKey(
        Provision,
        on_delete=models.PROTECT,
        related_name="measure_links",
        verbose_name="provision",
        help_text="A section or schedule that carries the measure.",
    )

    class Meta:
        ordering = ["provision_id"]
        verbose_name = "provision carrying it"
        verbose_name_plural = "provisions carrying it"
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "provision"],
                name="measures_measureprovision_once",
                violation_error_message="That provision is already linked.",
            )
        ]

    def __str__(self) -> str:
        return str(self.provision)


class FundingLineQuerySet(models.QuerySet["FundingLine"]):
    def for_api(self) -> FundingLineQuerySet:
        """With what a funding line is shown with: its strategy, measure and organisations."""
        return self.select_related("strategy", "measure", "funder", "recipient")


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["change_xid"],
    model_name="FundingLineHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class FundingLine(models.Model):
    """One money figure attached to a strategy or one of its measures, in one phase: £40
    million announced, £3.6 million spent. Lines in different phases are never summed."""

    strategy = models.ForeignKey(
        Strategy,
        on_delete=models.PROTECT,
        related_name="funding_lines",
        verbose_name="strategy",
        help_text="The strategy the money belongs to.",
    )
    measure = models.ForeignKey(
        Measure,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="funding_lines",
        verbose_name="measure",
        help_text="The measure it funds; empty for a strategy-wide envelope.",
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="drawn from",
        help_text="The envelope this money comes out of, e.g. the strategy's £40 million.",
    )
    title = models.CharField(
        "title",
        max_length=300,
        help_text="What the money is for, e.g. “Early Intervention Youth Fund”.",
    )
    amount = models.DecimalField(
        "amount",
        max_digits=15,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="The figure in the currency's major unit, e.g. 40000000.00.",
    )
    currency = models.CharField(
        "currency",
        max_length=3,
        default="GBP",
        validators=[
            RegexValidator(CURRENCY_PATTERN, "Use a three-letter ISO 4217 code, e.g. GBP.")
        ],
        help_text="ISO 4217 code, e.g. “GBP”.",
    )
    phase = models.CharField(
        "phase",
        max_length=16,
        choices=FundingPhase.choices,
        help_text="How far the money has travelled, e.g. “announced” or “spent”.",
    )
    period_start = models.DateField(
        "period start",
        null=True,
        blank=True,
        help_text="First day of the period the money covers, e.g. 2018-04-01.",
    )
    period_end = models.DateField(
        "period end",
        null=True,
        blank=True,
        help_text="Last day of the period the money covers, e.g. 2020-03-31.",
    )
    period_label = models.CharField(
        "period",
        max_length=100,
        blank=True,
        help_text="The period as the source puts it, e.g. “2018-19 and 2019-20”.",
    )
    funder = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="funding_given",
        verbose_name="funder",
        help_text="Who pays, e.g. the Home Office.",
    )
    recipient = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="funding_received",
        verbose_name="recipient",
        help_text="Who receives it, e.g. the Metropolitan Police Service.",
    )
    announced_on = models.DateField(
        "announced on",
        null=True,
        blank=True,
        help_text=(
            "When the figure was announced or decided, e.g. 2018-07-30. Known only to the "
            "month or year: the last day of it."
        ),
    )
    announced_on_precision = models.CharField(
        "precision of the date",
        max_length=8,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        db_default=DatePrecision.DAY,
        help_text="How much of the date the source gives: “day”, “month” or “year”.",
    )
    realises = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="realised_by",
        verbose_name="realises",
        help_text=(
            "An earlier line this one is the same money as, at a later phase or restated "
            "(the £22 million that doubled the £11 million fund): in a phase, a realised "
            "line is counted once, as its latest figure."
        ),
    )
    is_ceiling = models.BooleanField(
        "a maximum",
        default=False,
        db_default=False,
        help_text="The figure is a ceiling (“up to £700,000”), not a sum known to be paid.",
    )
    novelty = models.CharField(
        "new or re-announced",
        max_length=16,
        choices=FundingNovelty.choices,
        default=FundingNovelty.UNKNOWN,
        help_text="Whether this is additional money or money announced before.",
    )
    # Cited as an EventCitation is (source, quote, locator), with help texts about a figure;
    # the rule both keep is quote_or_locator().
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="funding_citations",
        verbose_name="source",
        help_text="Where the figure is stated.",
    )
    quote = models.TextField(
        "quoted passage",
        blank=True,
        help_text="The words that state the figure, e.g. “backed with £40m of Home Office funding”.",
    )
    locator = models.CharField(
        "locator",
        max_length=300,
        blank=True,
        help_text="Where in the source, e.g. “para. 4.2”.",
    )
    notes = models.TextField("notes", blank=True, help_text="Anything a reader should know.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="recorded by",
        help_text="Who recorded it; empty for seed data.",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())
    change_xid = change_xid_field()

    objects = FundingLineQuerySet.as_manager()

    class Meta:
        ordering = ["strategy_id", "period_start", "id"]
        verbose_name = "funding line"
        verbose_name_plural = "funding lines"
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="measures_fundingline_amount_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN),
                name="measures_fundingline_currency_iso_4217",
            ),
            models.CheckConstraint(
                condition=Q(phase__in=FundingPhase.values), name="measures_fundingline_phase_valid"
            ),
            models.CheckConstraint(
                condition=Q(novelty__in=FundingNovelty.values),
                name="measures_fundingline_novelty_valid",
            ),
            FieldCheckConstraint(
                condition=Q(period_start__isnull=True)
                | Q(period_end__isnull=True)
                | Q(period_start__lte=F("period_end")),
                name="measures_fundingline_period_in_order",
                field="period_end",
                violation_error_message="The period cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(announced_on_precision__in=DatePrecision.values),
                name="measures_fundingline_precision_valid",
            ),
            FieldCheckConstraint(
                condition=Q(realises__isnull=True) | ~Q(realises=F("id")),
                name="measures_fundingline_not_realising_itself",
                field="realises",
                violation_error_message="A funding line cannot realise itself.",
            ),
            FieldCheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=F("id")),
                name="measures_fundingline_not_own_parent",
                field="parent",
                violation_error_message="A funding line cannot be drawn from itself.",
            ),
            quote_or_locator("measures_fundingline"),
            # Target of the composite foreign key that keeps a child line in its parent's strategy.
            models.UniqueConstraint(
                fields=["id", "strategy"], name="measures_fundingline_id_strategy_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["strategy", "phase"], name="measures_funding_strat_phase"),
            models.Index(fields=["measure", "phase"], name="measures_funding_measure_phase"),
            models.Index(fields=["updated_at", "id"], name="measures_funding_updated"),
            models.Index(fields=["change_xid", "id"], name="measures_funding_change"),
        ]
        triggers = [stamp_change_xid(pgtrigger.Insert | pgtrigger.Update)]

    def __str__(self) -> str:
        return f"{self.title}: {self.currency} {self.amount:,} {self.phase}"

    def clean(self) -> None:
        # The composite foreign keys (measure, strategy) and (parent, strategy) hold the
        # first two in the database; this says them in words.
        errors: dict[str, Any] = {}
        if self.measure and self.strategy_id and self.measure.strategy_id != self.strategy_id:
            errors["measure"] = "The measure belongs to another strategy."
        if self.parent and self.strategy_id and self.parent.strategy_id != self.strategy_id:
            errors["parent"] = "The envelope belongs to another strategy."
        if self.realises and self.strategy_id and self.realises.strategy_id != self.strategy_id:
            errors["realises"] = "That line belongs to another strategy."
        elif (
            self.realises
            and self.realises.announced_on
            and self.announced_on
            and self.realises.announced_on > self.announced_on
        ):
            errors["realises"] = "A line can only realise one announced before it."
        if self.announced_on and not is_last_day_of(self.announced_on, self.announced_on_precision):
            errors["announced_on"] = (
                f"A date known to the {self.announced_on_precision} is recorded as the last "
                f"day of that {self.announced_on_precision}."
            )
        if self.pk and self.strategy_id:
            stored = (
                FundingLine.objects.filter(pk=self.pk).values_list("strategy_id", flat=True).first()
            )
            if stored is not None and stored != self.strategy_id and self.children.exists():
                errors["strategy"] = (
                    "Other funding lines are drawn from this one: it cannot move to another "
                    "strategy without them."
                )
        if errors:
            raise ValidationError(errors)


class AuditEvent(pghistory.models.MiddlewareEvents):
    """The audit trail: every insert, update and delete of a tracked row, whoever made it
    (admin, API, import, raw SQL), recorded by PostgreSQL triggers with the user and URL of
    the request when there was one, and the change against the previous version."""

    class Meta:
        proxy = True
        verbose_name = "audit trail entry"
        verbose_name_plural = "audit trail"
