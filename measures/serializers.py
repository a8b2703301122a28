"""JSON shapes of measures, their status events and funding lines. Reads nest the related
objects a reader needs; writes name them by slug or id."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from config.api.fields import MoneyField, StrictCharField, StrictTypesMixin
from measures.choices import (
    AXIS_VALUES,
    FINISHED_STAGES,
    Axis,
    Confidence,
    FundingPhase,
    Stage,
    Verdict,
)
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from strategy.models import Organisation, Source, Strategy
from strategy.serializers import (
    OrganisationReferenceSerializer,
    StrategyReferenceSerializer,
)

STATUS_VALUES = sorted({value for choices in AXIS_VALUES.values() for value in choices.values})


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

    class Meta:
        model = Measure
        fields = [
            "url",
            "slug",
            "strategy",
            "title",
            "summary",
            "category",
            "lead_organisation",
            "instrument",
            "legal_vehicle",
            "target_on",
            "is_overdue",
            "stage",
            "stage_since",
            "verdict",
            "confidence",
            "version",
            "events_url",
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
        return represent(measure_values(instance))


# What a measure's JSON is made of, as ``.values()`` names it; ``*_then`` hold the
# history's answer on a time-travel read.
MEASURE_VALUES = (
    "id",
    "slug",
    "strategy__slug",
    "strategy__title",
    "title",
    "summary",
    "category",
    "lead_organisation__slug",
    "lead_organisation__name",
    "instrument",
    "legal_vehicle",
    "target_on",
    "stage",
    "stage_since",
    "verdict",
    "confidence",
    "version",
    "created_at",
    "updated_at",
)
TIME_TRAVEL_VALUES = ("stage_then", "stage_since_then", "verdict_then", "confidence_then")


def measure_values(measure: Measure) -> dict[str, Any]:
    """A measure instance as the row ``.values(*MEASURE_VALUES)`` would give."""
    lead = measure.lead_organisation
    row = {name: getattr(measure, name, None) for name in MEASURE_VALUES if "__" not in name}
    row.update(
        is_overdue=getattr(measure, "is_overdue", None),
        strategy__slug=measure.strategy.slug,
        strategy__title=measure.strategy.title,
        lead_organisation__slug=lead.slug if lead else None,
        lead_organisation__name=lead.name if lead else None,
    )
    if hasattr(measure, "stage_then"):
        row.update({name: getattr(measure, name) for name in TIME_TRAVEL_VALUES})
    return row


class MeasureRepresentation:
    """Builds a measure's JSON by hand, as ``MeasureSerializer`` declares it, from a row of
    ``MEASURE_VALUES``: the hottest read of the API, a page of 50 measures, then costs a
    fraction of what model instances and DRF's per-field machinery spend on it. One
    instance serves one request (the base URL and today's date are computed once).
    ``tests/api`` holds the output to the schema of ``MeasureSerializer`` and to the fields
    it declares, in order."""

    def __init__(self, request: Any, on: datetime.date | None = None) -> None:
        self.base = request.build_absolute_uri(reverse("measure-list"))
        self.datetime = serializers.DateTimeField().to_representation
        # is_overdue is decided here, on this date (today, or the as_of date of a
        # time-travel read), unless the row brings it from SQL.
        self.on = on or timezone.localdate()

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if "stage_then" in row:
            # A time-travel read: the status is the history's answer, not the cache.
            stage, since = row["stage_then"], row["stage_since_then"]
            verdict, confidence = row["verdict_then"], row["confidence_then"]
        else:
            stage, since = row["stage"], row["stage_since"]
            verdict, confidence = row["verdict"], row["confidence"]
        target_on, overdue = row["target_on"], row.get("is_overdue")
        if overdue is None:
            overdue = bool(target_on and target_on < self.on and stage not in FINISHED_STAGES)
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
            "created_at": self.datetime(row["created_at"]),
            "updated_at": self.datetime(row["updated_at"]),
        }


@extend_schema_serializer(component_name="Measure")
class MeasureWriteSerializer(StrictTypesMixin, serializers.ModelSerializer):
    """A measure as written. Its status is not written here: record a status event."""

    strategy = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Strategy.objects.all(),
        help_text="Slug of the strategy, e.g. “serious-violence-strategy-2018”.",
    )
    lead_organisation = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Organisation.objects.all(),
        allow_null=True,
        required=False,
        help_text="Slug of the lead organisation, e.g. “home-office”.",
    )

    class Meta:
        model = Measure
        fields = [
            "slug",
            "strategy",
            "title",
            "summary",
            "category",
            "lead_organisation",
            "instrument",
            "legal_vehicle",
            "target_on",
        ]
        extra_kwargs: dict[str, Any] = {"slug": {"validators": []}}

    def validate_slug(self, value: str) -> str:
        if self.instance is not None and value != self.instance.slug:
            raise serializers.ValidationError("A measure's slug cannot be changed once created.")
        if self.instance is None and Measure.objects.filter(slug=value).exists():
            raise serializers.ValidationError("A measure with this slug already exists.")
        return value


class SourceReferenceSerializer(serializers.ModelSerializer):
    """A source named inside another resource."""

    link = serializers.URLField(source="url", read_only=True)

    class Meta:
        model = Source
        fields = ["id", "title", "publisher", "link"]
        read_only_fields = fields


class EventCitationSerializer(serializers.ModelSerializer):
    source = SourceReferenceSerializer(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = EventCitation
        fields = ["source", "quote", "locator"]
        read_only_fields = fields


@extend_schema_serializer(component_name="EventCitation")
class EventCitationWriteSerializer(serializers.Serializer):
    source = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("quote", "").strip() or attrs.get("locator", "").strip()):
            raise serializers.ValidationError("Give the quoted passage or a locator.")
        return attrs


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
        help_text="The id of the event that corrects this one, if any."
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
            "recorded_at",
            "recorded_by",
            "rationale",
            "supersedes",
            "superseded_by",
            "citations",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_superseded_by(self, event: StatusEvent) -> int | None:
        corrections = event.superseded_by.all()  # prefetched
        return corrections[0].pk if corrections else None


@extend_schema_serializer(component_name="StatusEvent")
class StatusEventWriteSerializer(serializers.Serializer):
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
    effective_on = serializers.DateField(
        help_text="When it became true in the world, e.g. 2022-04-06."
    )
    rationale = StrictCharField(max_length=10_000, help_text="Why the value changed.")
    supersedes = serializers.PrimaryKeyRelatedField(
        queryset=StatusEvent.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the earlier event of this measure and axis that this event corrects.",
    )
    citations = EventCitationWriteSerializer(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]


class FundingLineSerializer(StrictTypesMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="fundingline-detail")
    strategy = serializers.SlugRelatedField(
        slug_field="slug", queryset=Strategy.objects.all(), help_text="Slug of the strategy."
    )
    measure = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Measure.objects.all(),
        allow_null=True,
        required=False,
        help_text="Slug of the measure it funds; null for a strategy-wide envelope.",
    )
    funder = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Organisation.objects.all(),
        allow_null=True,
        required=False,
        help_text="Slug of the organisation that pays.",
    )
    recipient = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Organisation.objects.all(),
        allow_null=True,
        required=False,
        help_text="Slug of the organisation that receives it.",
    )
    amount = MoneyField(
        max_digits=15,
        decimal_places=2,
        help_text="In the currency's major unit, as a decimal string, e.g. “40000000.00”.",
    )

    class Meta:
        model = FundingLine
        fields = [
            "url",
            "id",
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
            "novelty",
            "source",
            "quote",
            "locator",
            "notes",
            "created_at",
            "updated_at",
        ]
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


class FundingSummarySerializer(serializers.Serializer):
    by_phase = MoneyTotalSerializer(
        many=True, help_text="All money, counted once: lines drawn from an envelope are inside it."
    )
    envelope = MoneyTotalSerializer(
        many=True, help_text="Strategy-wide money not attached to a measure."
    )
    drawn_from_envelope = MoneyTotalSerializer(
        many=True, help_text="Money drawn from the strategy-wide envelope for particular purposes."
    )
    allocated_to_measures = MoneyTotalSerializer(
        many=True, help_text="Money attached to measures that is not drawn from an envelope."
    )


class StrategySummarySerializer(serializers.Serializer):
    strategy = StrategyReferenceSerializer()
    as_of = serializers.DateField(
        allow_null=True, help_text="The date the counts are for; null for today."
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
        many=True, help_text="Events that took effect after `from`, up to `to`."
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
