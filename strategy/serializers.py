"""JSON shapes of organisations, strategies and sources. They shape and type-check; writes
go through ``strategy.services``, whose model validation (``full_clean``) is the one the
admin and the importers use too."""

from __future__ import annotations

from rest_framework import serializers

from config.api.fields import (
    ResourceLinkField,
    StrictURLField,
    TrackerModelSerializer,
    slug_reference,
)
from strategy.models import Organisation, Source, Strategy


class OrganisationReferenceSerializer(serializers.ModelSerializer):
    """An organisation named inside another resource."""

    class Meta:
        model = Organisation
        fields = ["slug", "name"]
        read_only_fields = fields


class StrategyReferenceSerializer(serializers.ModelSerializer):
    """A strategy named inside another resource."""

    class Meta:
        model = Strategy
        fields = ["slug", "title"]
        read_only_fields = fields


class SourceReferenceSerializer(serializers.ModelSerializer):
    """A source named inside another resource."""

    link = serializers.URLField(source="url", read_only=True)

    class Meta:
        model = Source
        fields = ["id", "title", "publisher", "link"]
        read_only_fields = fields


class OrganisationSerializer(TrackerModelSerializer):
    """A department, police force, parliamentary body, company or party that leads, funds or
    receives measures, or publishes a strategy."""

    url = ResourceLinkField(view_name="organisation-detail", lookup_field="slug")

    class Meta:
        model = Organisation
        fields = ["url", "slug", "name", "kind", "url_homepage", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"url_homepage": {"source": "url"}}


class SourceSerializer(TrackerModelSerializer):
    """A piece of evidence, cited by status events and funding lines: a government page,
    a Hansard debate, an Act on legislation.gov.uk, a news report."""

    url = ResourceLinkField(view_name="source-detail")
    link = StrictURLField(
        source="url",
        max_length=1000,
        help_text="Where the evidence can be read, e.g. “https://www.legislation.gov.uk/ukpga/2019/17”.",
    )

    class Meta:
        model = Source
        fields = [
            "url",
            "id",
            "link",
            "title",
            "publisher",
            "kind",
            "published_on",
            "archived_url",
            "external_id",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class StrategySerializer(TrackerModelSerializer):
    """A published government plan whose commitments are tracked as measures."""

    url = ResourceLinkField(view_name="strategy-detail", lookup_field="slug")
    owner = slug_reference(
        Organisation.objects.all(),
        "Slug of the organisation that published it, e.g. “home-office”.",
    )
    page = StrictURLField(
        source="url",
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="The official page, e.g. “https://www.gov.uk/government/publications/serious-violence-strategy”.",
    )
    measure_count = serializers.IntegerField(
        read_only=True, help_text="How many measures the strategy commits to."
    )

    class Meta:
        model = Strategy
        fields = [
            "url",
            "slug",
            "title",
            "owner",
            "published_on",
            "summary",
            "page",
            "source",
            "source_quote",
            "measure_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
