"""JSON shapes of organisations, strategies and sources. Writes run the model's own
validation (``full_clean``), so the API and the admin refuse the same things."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import models
from rest_framework import serializers

from config.api.fields import ResourceLinkField, StrictTypesMixin, StrictURLField
from strategy.models import SLUG_PATTERN, Organisation, Source, Strategy

# The database refuses any other slug; saying so here names the field in the error.
validate_kebab_slug = RegexValidator(
    SLUG_PATTERN,
    "Use lowercase letters and digits in words joined by single hyphens, e.g. “home-office”.",
)


class ValidatedModelSerializer(StrictTypesMixin, serializers.ModelSerializer):
    """Runs ``Model.full_clean()`` on the would-be instance before saving, so model
    invariants are checked in one place for every way of writing."""

    immutable_fields: tuple[str, ...] = ()

    def validate_slug(self, value: str) -> str:
        validate_kebab_slug(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        for name in self.immutable_fields:
            if (
                self.instance is not None
                and name in attrs
                and attrs[name] != getattr(self.instance, name)
            ):
                raise serializers.ValidationError({name: "This cannot be changed once created."})
        model: type[models.Model] = self.Meta.model
        instance = model()
        if self.instance is not None:
            instance = model(
                **{
                    f.attname: getattr(self.instance, f.attname)
                    for f in model._meta.concrete_fields
                }
            )
            # A copy of a stored row: uniqueness is then checked against the other rows,
            # not against the row itself.
            instance._state.adding = False
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean(validate_unique=True)
        except DjangoValidationError as error:
            # The model names its fields, the client knows the API's names (``link`` for
            # a source's ``url``): report each error under the name the client sent.
            api_names = {
                field.source: name for name, field in self.fields.items() if not field.read_only
            }
            errors = serializers.as_serializer_error(error)
            raise serializers.ValidationError(
                {api_names.get(key, key): messages for key, messages in errors.items()}
            ) from error
        return attrs


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


class OrganisationSerializer(ValidatedModelSerializer):
    immutable_fields = ("slug",)
    url = ResourceLinkField(view_name="organisation-detail", lookup_field="slug")

    class Meta:
        model = Organisation
        fields = ["url", "slug", "name", "kind", "url_homepage", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"url_homepage": {"source": "url"}}


class SourceSerializer(ValidatedModelSerializer):
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


class StrategySerializer(ValidatedModelSerializer):
    immutable_fields = ("slug",)
    url = ResourceLinkField(view_name="strategy-detail", lookup_field="slug")
    owner = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Organisation.objects.all(),
        help_text="Slug of the organisation that published it, e.g. “home-office”.",
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
