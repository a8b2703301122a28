"""JSON shapes of the law's path: bills and their stages, Acts, provisions, commencements,
and the chain that carries one measure. Read-only: researchers edit them in the admin."""

from __future__ import annotations

from rest_framework import serializers

from config.api.fields import ResourceLinkField
from legislation.models import Act, Bill, BillStage, Commencement, Provision
from strategy.serializers import SourceReferenceSerializer


def blankable_uri(help_text: str) -> serializers.URLField:
    """A stored address that may be empty: documented as a URI or an empty string."""
    return serializers.URLField(read_only=True, allow_blank=True, help_text=help_text)


class BillStageSerializer(serializers.ModelSerializer):
    """One dated step of the bill in one House, with its evidence."""

    source = SourceReferenceSerializer(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = BillStage
        fields = ["house", "stage", "on", "source", "quote", "locator"]
        read_only_fields = fields


class ActReferenceSerializer(serializers.ModelSerializer):
    """An Act named inside another resource."""

    url = blankable_uri("Its text on legislation.gov.uk; empty if not recorded.")

    class Meta:
        model = Act
        fields = ["slug", "title", "citation", "uri", "url", "royal_assent_on"]
        read_only_fields = fields


class BillSerializer(serializers.ModelSerializer):
    """A bill before Parliament, its stages in date order and the Act it became, if any."""

    url = ResourceLinkField(view_name="bill-detail", lookup_field="slug")
    link = serializers.URLField(source="url", read_only=True, help_text="The bill's page.")
    stages = BillStageSerializer(many=True, read_only=True)
    act = ActReferenceSerializer(
        read_only=True, allow_null=True, help_text="The Act it became; null if none."
    )

    class Meta:
        model = Bill
        fields = [
            "url",
            "slug",
            "title",
            "session",
            "parliament_bill_id",
            "link",
            "stages",
            "act",
            "updated_at",
        ]
        read_only_fields = fields


class MeasureReferenceSerializer(serializers.Serializer):
    """A measure named inside another resource."""

    slug = serializers.SlugField(read_only=True)
    title = serializers.CharField(read_only=True)


class ProvisionReferenceSerializer(serializers.ModelSerializer):
    """A provision named inside another resource."""

    class Meta:
        model = Provision
        fields = ["slug", "reference"]
        read_only_fields = fields


class CommencementSerializer(serializers.ModelSerializer):
    """An instrument that brought provisions into force on a date, in some nations,
    perhaps only in an area and until a date (a pilot), with its evidence."""

    url = ResourceLinkField(view_name="commencement-detail", lookup_field="slug")
    act: serializers.SlugRelatedField[Act] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    provisions = ProvisionReferenceSerializer(many=True, read_only=True)
    source = SourceReferenceSerializer(read_only=True)  # type: ignore[assignment]
    instrument_uri = blankable_uri(
        "e.g. “http://www.legislation.gov.uk/id/uksi/2022/418”; empty if not known."
    )

    class Meta:
        model = Commencement
        fields = [
            "url",
            "slug",
            "act",
            "instrument",
            "instrument_title",
            "instrument_uri",
            "made_on",
            "in_force_on",
            "ends_on",
            "extent",
            "area",
            "provisions",
            "source",
            "quote",
            "locator",
            "note",
            "updated_at",
        ]
        read_only_fields = fields


class ProvisionSerializer(serializers.ModelSerializer):
    """A section, group of sections or schedule of an Act, with its extent and the
    measures it carries."""

    url = ResourceLinkField(view_name="provision-detail", lookup_field="slug")
    act = ActReferenceSerializer(read_only=True)
    uri = blankable_uri(
        "e.g. “http://www.legislation.gov.uk/id/ukpga/2019/17/section/6”; empty if not known."
    )
    measures = MeasureReferenceSerializer(many=True, read_only=True)

    class Meta:
        model = Provision
        fields = [
            "url",
            "slug",
            "act",
            "reference",
            "title",
            "uri",
            "extent",
            "note",
            "measures",
            "updated_at",
        ]
        read_only_fields = fields


class ChainCommencementSerializer(CommencementSerializer):
    class Meta(CommencementSerializer.Meta):
        fields = [
            name for name in CommencementSerializer.Meta.fields if name not in ("provisions",)
        ]
        read_only_fields = fields


class ChainProvisionSerializer(serializers.ModelSerializer):
    """A provision carrying the measure, with the instruments that commenced it."""

    url = ResourceLinkField(view_name="provision-detail", lookup_field="slug")
    act: serializers.SlugRelatedField[Act] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    uri = blankable_uri("Its identifier on legislation.gov.uk; empty if not known.")
    commencements = ChainCommencementSerializer(many=True, read_only=True)

    class Meta:
        model = Provision
        fields = ["url", "slug", "act", "reference", "title", "uri", "extent", "commencements"]
        read_only_fields = fields


class ChainActSerializer(ActReferenceSerializer):
    """An Act carrying the measure, with the bill it was enacted from."""

    bill = BillSerializer(read_only=True, allow_null=True)

    class Meta(ActReferenceSerializer.Meta):
        fields = [*ActReferenceSerializer.Meta.fields, "bill"]
        read_only_fields = fields


class MeasureLegislationSerializer(serializers.Serializer):
    """The law that carries a measure, as a chain: the bill and its stages, the Act, the
    provisions and the commencements that brought each into force, where and until when."""

    measure = MeasureReferenceSerializer()
    acts = ChainActSerializer(many=True)
    provisions = ChainProvisionSerializer(many=True)
