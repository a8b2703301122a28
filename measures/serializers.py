"""JSON shapes of measures, their status events and funding lines. Reads nest the related
objects a reader needs; writes name them by slug or id."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from config.api.fields import (
    MoneyField,
    ResourceLinkField,
    StrictCharField,
    StrictDateField,
    StrictPrimaryKeyRelatedField,
    TrackerModelSerializer,
    slug_reference,
)
from legislation.choices import DatePrecision, Extent
from measures.choices import (
    AXIS_VALUES,
    Axis,
    Confidence,
    FundingPhase,
    Stage,
    Verdict,
)
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from measures.representation import MeasureSerializer
from measures.services import FUNDING_LINE_WRITABLE_FIELDS, MEASURE_WRITABLE_FIELDS
from strategy.models import Organisation, Source, Strategy
from strategy.serializers import SourceReferenceSerializer, StrategyReferenceSerializer

STATUS_VALUES = sorted({value for choices in AXIS_VALUES.values() for value in choices.values})


@extend_schema_serializer(component_name="Measure")
class MeasureWriteSerializer(TrackerModelSerializer):
    """A measure as written. Its status is not written here: record a status event.

    Rules, refused with 400: the slug is unique and fixed once created (a `PUT` may repeat
    it); a measure with funding lines stays in its strategy."""

    strategy = slug_reference(
        Strategy.objects.all(), "Slug of the strategy, e.g. “serious-violence-strategy-2018”."
    )
    lead_organisation = slug_reference(
        Organisation.objects.all(),
        "Slug of the lead organisation, e.g. “home-office”.",
        optional=True,
    )

    class Meta:
        model = Measure
        fields = list(MEASURE_WRITABLE_FIELDS)


class EventCitationSerializer(serializers.ModelSerializer):
    source = SourceReferenceSerializer(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = EventCitation
        fields = ["source", "quote", "locator"]
        read_only_fields = fields


@extend_schema_serializer(component_name="EventCitation")
class EventCitationWriteSerializer(serializers.Serializer):
    source = StrictPrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Source.objects.all(), help_text="Id of the source, e.g. 12."
    )
    quote = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=10_000,
        help_text="The passage that supports the event.",
    )
    locator = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Where in the source, e.g. “reg. 2(b)”.",
    )


class StatusEventSerializer(serializers.ModelSerializer):
    """One dated change of one axis of a measure, with its evidence."""

    measure: serializers.SlugRelatedField[Measure] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    value = serializers.ChoiceField(choices=STATUS_VALUES, read_only=True)
    recorded_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Who recorded it; null for seed data.",
    )
    superseded_by = serializers.SerializerMethodField(
        help_text="The id of the event that corrects or retracts this one, if any."
    )
    citations = EventCitationSerializer(many=True, read_only=True)

    class Meta:
        model = StatusEvent
        fields = [
            "id",
            "measure",
            "axis",
            "value",
            "effective_on",
            "effective_on_precision",
            "extent",
            "area",
            "ends_on",
            "recorded_at",
            "recorded_by",
            "rationale",
            "supersedes",
            "superseded_by",
            "is_retraction",
            "citations",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_superseded_by(self, event: StatusEvent) -> int | None:
        corrections = event.superseded_by.all()  # prefetched
        return corrections[0].pk if corrections else None


@extend_schema_serializer(component_name="StatusEvent")
class StatusEventWriteSerializer(serializers.Serializer):
    """A status event to record, with its evidence.

    Rules across fields and stored events, refused with 400: `value` is one of the axis's
    values; a stage move is one the lifecycle allows, before and after the event's date, in
    the event's scope (its `extent` and `area`, with the events limited to neither); a date
    known only to the month or year is the last day of it; `ends_on` is not before
    `effective_on`; a correction (`supersedes`) names an event of the same measure and axis
    that has not been corrected yet; each citation gives `quote` or `locator`.

    `effective_on` may be in the future (a commencement known in advance): the measure's
    status changes on that day without another write."""

    axis = serializers.ChoiceField(choices=Axis.choices, help_text="Which axis changed.")
    value = serializers.ChoiceField(
        choices=STATUS_VALUES,
        help_text=(
            "The new value, valid for the axis. Stages: "
            + ", ".join(Stage.values)
            + ". Verdicts: "
            + ", ".join(Verdict.values)
            + ". Confidence: "
            + ", ".join(Confidence.values)
            + "."
        ),
    )
    effective_on = StrictDateField(
        help_text=(
            "When it became (or becomes) true in the world, e.g. 2022-04-06. Known only to the "
            "month or year: the last day of it, e.g. 2019-05-31."
        )
    )
    effective_on_precision = serializers.ChoiceField(
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        help_text="How much of the date the evidence gives.",
    )
    extent = serializers.ListField(
        child=serializers.ChoiceField(choices=Extent.choices),
        default=list,
        max_length=len(Extent.values),
        help_text="The nations it applies to, e.g. [“england”, “wales”]; empty: not limited.",
    )
    area = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="An area within them it is limited to, e.g. “Metropolitan police district”.",
    )
    ends_on = StrictDateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The last day it holds, if it ends (a pilot), e.g. 2023-03-31.",
    )
    rationale = StrictCharField(max_length=10_000, help_text="Why the value changed.")
    supersedes = StrictPrimaryKeyRelatedField(
        queryset=StatusEvent.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the earlier event of this measure and axis that this event corrects.",
    )
    citations = EventCitationWriteSerializer(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]


@extend_schema_serializer(component_name="StatusEventRetraction")
class StatusEventRetractionSerializer(serializers.Serializer):
    """Why an event is withdrawn, with any evidence for that."""

    rationale = StrictCharField(
        max_length=10_000,
        help_text="Why the event should not have been recorded, e.g. “It is another measure's Royal Assent.”",
    )
    citations = EventCitationWriteSerializer(many=True, required=False, default=list, max_length=50)  # type: ignore[call-arg]


class FundingLineSerializer(TrackerModelSerializer):
    """One money figure in one phase (announced, allocated, committed, disbursed or spent),
    with its evidence. Figures in different phases are never added together.

    Rules across fields, refused with 400: the period cannot end before it starts; the
    measure and the envelope (`parent`) belong to the line's strategy; a line is not drawn
    from itself, directly or through other lines, nor realises itself; a realised line
    (`realises`) is of the same strategy and not announced after this one; a date known only
    to the month or year is the last day of it; `quote` or `locator` is given; a line that
    others are drawn from stays in its strategy."""

    url = ResourceLinkField(view_name="fundingline-detail")
    strategy = slug_reference(Strategy.objects.all(), "Slug of the strategy.")
    measure = slug_reference(
        Measure.objects.all(),
        "Slug of the measure it funds; null for a strategy-wide envelope.",
        optional=True,
    )
    funder = slug_reference(
        Organisation.objects.all(), "Slug of the organisation that pays.", optional=True
    )
    recipient = slug_reference(
        Organisation.objects.all(), "Slug of the organisation that receives it.", optional=True
    )
    amount = MoneyField(
        max_digits=15,
        decimal_places=2,
        help_text="In the currency's major unit, as a decimal string, e.g. “40000000.00”.",
    )
    realises = StrictPrimaryKeyRelatedField(
        queryset=FundingLine.objects.all(),
        required=False,
        allow_null=True,
        help_text=(
            "Id of an earlier line this one is the same money as, at a later phase or "
            "restated; in a phase, a realised line is counted once, as its latest figure."
        ),
    )

    class Meta:
        model = FundingLine
        fields = ["url", "id", *FUNDING_LINE_WRITABLE_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


def _counts_serializer(name: str, values: list[str], what: str) -> type[serializers.Serializer]:
    fields: dict[str, Any] = {
        value: serializers.IntegerField(help_text=f"Measures whose {what} is “{value}”.")
        for value in values
    }
    fields["none"] = serializers.IntegerField(help_text=f"Measures with no {what} recorded.")
    return type(name, (serializers.Serializer,), fields)


StageCountsSerializer = _counts_serializer("StageCountsSerializer", Stage.values, "stage")
VerdictCountsSerializer = _counts_serializer("VerdictCountsSerializer", Verdict.values, "verdict")
ConfidenceCountsSerializer = _counts_serializer(
    "ConfidenceCountsSerializer", Confidence.values, "delivery confidence"
)


class MoneyTotalSerializer(serializers.Serializer):
    """The sum of funding lines of one currency in one phase."""

    currency = serializers.CharField(help_text="ISO 4217 code, e.g. GBP.")
    phase = serializers.ChoiceField(choices=FundingPhase.choices)
    total = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="e.g. “40000000.00”."
    )
    line_count = serializers.IntegerField(help_text="How many funding lines make up the total.")
    ceiling_total = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        help_text="How much of the total is ceilings (“up to”) rather than sums known to be paid.",
    )


class FundingSummarySerializer(serializers.Serializer):
    """Money per currency and phase, by one rule (docs/record.md, “How money is counted”):
    each sum is counted once; a line drawn from an envelope of the same phase is inside it
    and the envelope counts as at least its parts; a line realised by a later line of the
    same phase is replaced by it; with `as_of`, only lines announced by then count. Each
    group after `by_phase` is a part of it, never more, in the same currency and phase."""

    by_phase = MoneyTotalSerializer(many=True, help_text="All money, each sum counted once.")
    envelope = MoneyTotalSerializer(
        many=True,
        help_text="The strategy-wide envelopes (no measure, drawn from nothing), with what is drawn from them in the same phase.",
    )
    drawn_from_envelope = MoneyTotalSerializer(
        many=True, help_text="Money drawn from a strategy-wide envelope for particular purposes."
    )
    allocated_to_measures = MoneyTotalSerializer(many=True, help_text="Money attached to measures.")
    undated_line_count = serializers.IntegerField(
        help_text="Lines with no announcement date: counted today, in no `as_of` answer."
    )


class StrategySummarySerializer(serializers.Serializer):
    strategy = StrategyReferenceSerializer()
    as_of = serializers.DateField(
        allow_null=True, help_text="The date the counts are for; null for today."
    )
    extent = serializers.ChoiceField(
        choices=Extent.choices,
        allow_null=True,
        help_text="The nation the counts are for; null: anywhere.",
    )
    area = serializers.CharField(
        allow_null=True, help_text="The area the counts are for; null: anywhere."
    )
    measure_count = serializers.IntegerField()
    overdue_count = serializers.IntegerField()
    by_stage = StageCountsSerializer()
    by_verdict = VerdictCountsSerializer()
    by_confidence = ConfidenceCountsSerializer()
    funding = FundingSummarySerializer()


class StatusAtSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices, allow_null=True)
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_null=True)
    confidence = serializers.ChoiceField(choices=Confidence.choices, allow_null=True)


class MeasureDiffSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    status_from = StatusAtSerializer(source="from")
    status_to = StatusAtSerializer(source="to")
    changed = serializers.BooleanField(
        help_text="Whether anything happened or differs between the dates."
    )
    events = StatusEventSerializer(
        many=True,
        help_text=(
            "Events that took effect after the earlier date, up to the later, listed from "
            "`from` towards `to`."
        ),
    )


class StrategyDiffSerializer(serializers.Serializer):
    strategy = StrategyReferenceSerializer()
    date_from = serializers.DateField(source="from")
    date_to = serializers.DateField(source="to")
    measures = MeasureDiffSerializer(many=True)


class ChangeSerializer(serializers.Serializer):
    """One change. Exactly one of ``measure``, ``status_event`` and ``funding_line`` is set,
    as named by ``kind``; it holds the object as it is now."""

    kind = serializers.ChoiceField(choices=["measure", "status_event", "funding_line"])
    changed_at = serializers.DateTimeField()
    measure = MeasureSerializer(allow_null=True)
    status_event = StatusEventSerializer(allow_null=True)
    funding_line = FundingLineSerializer(allow_null=True)


# The feed's ``list`` answers one page object, not an array of them.
@extend_schema_serializer(many=False)
class ChangeFeedPageSerializer(serializers.Serializer):
    items = ChangeSerializer(many=True)
    next_cursor = serializers.CharField(
        help_text="Pass as `cursor` to continue; keep it to sync again later."
    )
    has_more = serializers.BooleanField(help_text="Whether more changes are waiting now.")
