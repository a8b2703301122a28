"""Serializer fields the whole API shares: strict text, money as a decimal string, and a
resource's own link."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import models
from rest_framework import serializers
from rest_framework.relations import RelatedField
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param
from rest_framework.validators import UniqueValidator

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ResourceLinkField(serializers.HyperlinkedIdentityField):
    """The URL of the resource itself. DRF carries the request's ``?format=`` over into
    links, so the links of a CSV export would ask each resource for CSV, which a single
    resource does not have (406)."""

    def get_url(self, obj: Any, view_name: str, request: Any, format: Any) -> str | None:
        url: str | None = super().get_url(obj, view_name, request, format)
        if url and api_settings.URL_FORMAT_OVERRIDE:
            url = remove_query_param(url, api_settings.URL_FORMAT_OVERRIDE)
        return url


class StrictTextMixin:
    """Text as JSON text only. DRF's ``CharField`` also takes a number and stores its digits
    (``"category": 393547``), where the OpenAPI document promises a string. Its length is
    the length sent, as ``maxLength`` counts it: DRF would measure it after trimming the
    white space around it, and take 301 characters where the document allows 300."""

    default_error_messages: ClassVar[dict[str, StrOrPromise]] = {
        "not_text": "Give text, in quotes."
    }
    max_length: int | None

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("not_text")  # type: ignore[attr-defined]
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(StrictTextMixin, serializers.CharField):
    pass


class StrictSlugField(StrictTextMixin, serializers.SlugField):
    pass


class StrictURLField(StrictTextMixin, serializers.URLField):
    pass


class StrictEmailField(StrictTextMixin, serializers.EmailField):
    pass


class StrictDateField(serializers.DateField):
    """A date as ``YYYY-MM-DD`` in ASCII digits and nothing else, as the OpenAPI ``date``
    format says and the query filters read it. DRF's ``DateField`` also takes ``20180203``,
    ``2018-2-3``, ``2018-W05-6`` and other digits."""

    default_error_messages = {"strict": "Give a date as YYYY-MM-DD, e.g. 2019-05-16."}

    def to_internal_value(self, value: Any) -> Any:
        if type(value) is not str or not ISO_DATE.fullmatch(value):
            self.fail("strict")
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.fail("strict")


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
LARGEST_ID = 2**63 - 1


class NoEmptyRelationMixin:
    """An empty string does not name a related object. DRF reads ``""`` as null for a
    relation, where the document says a relation is a slug (or an id) or ``null``."""

    default_error_messages: ClassVar[dict[str, StrOrPromise]] = {
        "empty": "Name the object, or give null for none."
    }

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data == "":
            self.fail("empty")  # type: ignore[attr-defined]
        return super().run_validation(data)  # type: ignore[misc]


class StrictSlugRelatedField(NoEmptyRelationMixin, serializers.SlugRelatedField[Any]):
    pass


class StrictPrimaryKeyRelatedField(NoEmptyRelationMixin, serializers.PrimaryKeyRelatedField[Any]):
    """A stored object named by its id: a JSON whole number from 1 to 2^63 - 1, and nothing
    else. DRF's own field reads ``52.5`` as 52 and ``"52"`` as 52, and fails inside the
    query on ``1e400``. (``52.0`` is 52: JSON, like JSON Schema, knows one kind of number.)"""

    default_error_messages = {
        **NoEmptyRelationMixin.default_error_messages,
        "not_an_id": "Give the id as a whole number from 1, e.g. 12.",
    }

    def to_internal_value(self, data: Any) -> Any:
        if type(data) is float and data.is_integer():
            data = int(data)
        if type(data) is not int or not 1 <= data <= LARGEST_ID:
            self.fail("not_an_id")
        return super().to_internal_value(data)


class StrictTypesMixin:
    """For model serializers: the strict fields above in place of DRF's defaults."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.URLField: StrictURLField,
        models.EmailField: StrictEmailField,
        models.DateField: StrictDateField,
    }
    serializer_related_field: type[RelatedField[Any, Any, Any]] = StrictPrimaryKeyRelatedField


class MoneyField(serializers.DecimalField):
    """A sum of money, never negative, as a decimal string: “40000000.00”. Only what the
    OpenAPI document states is read (``pattern``): no JSON number, whose binary fraction is
    not the amount meant, no sign, exponent, surrounding space or non-ASCII digit, all of
    which a plain ``DecimalField`` would take."""

    default_error_messages = {
        "format": "Give the amount as a decimal string of up to {whole} digits, optionally "
        "followed by a point and up to {fraction} digits, e.g. “40000000.00”.",
    }

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        self.whole_digits = max_digits - decimal_places
        self.pattern = rf"^[0-9]{{1,{self.whole_digits}}}(?:\.[0-9]{{1,{decimal_places}}})?$"

    def to_internal_value(self, data: Any) -> Decimal:
        if type(data) is not str or not re.fullmatch(self.pattern[1:-1], data):
            self.fail("format", whole=self.whole_digits, fraction=self.decimal_places)
        value: Decimal = super().to_internal_value(data)
        return value


def slug_reference(
    queryset: models.QuerySet[Any], help_text: str, *, optional: bool = False
) -> StrictSlugRelatedField:
    """A related object named by its slug, as every write of the API names one;
    ``optional``: it may be null or left out."""
    return StrictSlugRelatedField(
        slug_field="slug",
        queryset=queryset,
        help_text=help_text,
        allow_null=optional,
        required=not optional,
    )


class TrackerModelSerializer(StrictTypesMixin, serializers.ModelSerializer):
    """A model serializer that shapes and type-checks, and leaves the rules to the model
    and the services that the views call: no uniqueness check of its own (DRF adds one per
    unique field), since the model's ``full_clean()`` makes it. Errors from a service come
    back under the names the client sent (``config.api.views.service_errors``)."""

    def get_validators(self) -> list[Any]:
        return []

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[Any, Any]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        kwargs["validators"] = [
            validator
            for validator in kwargs.get("validators", [])
            if not isinstance(validator, UniqueValidator)
        ]
        return field_class, kwargs
