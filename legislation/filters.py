"""Query filters for bills, provisions and commencements."""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import Q, QuerySet

from config.api.filters import ISODateFilter, StrictBooleanFilter, StrictChoiceFilter
from legislation.choices import Extent
from legislation.models import Bill, Commencement, Provision


class BillFilterSet(django_filters.FilterSet):
    session = django_filters.CharFilter(help_text="The session, e.g. “2017-19”.")
    enacted = StrictBooleanFilter(
        field_name="act",
        lookup_expr="isnull",
        exclude=True,
        help_text="true: only bills that became Acts; false: only those that did not.",
    )

    class Meta:
        model = Bill
        fields: list[str] = []


def _extent_filter(help_text: str) -> StrictChoiceFilter:
    return StrictChoiceFilter(choices=Extent.choices, method="filter_extent", help_text=help_text)


class ProvisionFilterSet(django_filters.FilterSet):
    act = django_filters.CharFilter(
        field_name="act__slug", help_text="Slug of the Act, e.g. “offensive-weapons-act-2019”."
    )
    extent = _extent_filter("Only provisions that extend to this nation.")
    measure = django_filters.CharFilter(
        field_name="measures__slug", help_text="Only provisions carrying this measure (slug)."
    )

    class Meta:
        model = Provision
        fields: list[str] = []

    def filter_extent(
        self, queryset: QuerySet[Provision], name: str, value: str
    ) -> QuerySet[Provision]:
        return queryset.filter(extent__contains=[value]) if value else queryset


class InForceOnFilter(ISODateFilter):
    """Commencements under which provisions are in force on the date: begun, not ended."""

    def filter(
        self, qs: QuerySet[Commencement], value: datetime.date | None
    ) -> QuerySet[Commencement]:
        if value is None:
            return qs
        return qs.filter(in_force_on__lte=value).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=value)
        )


class CommencementFilterSet(django_filters.FilterSet):
    act = django_filters.CharFilter(field_name="act__slug", help_text="Slug of the Act.")
    provision = django_filters.CharFilter(
        field_name="provisions__slug", help_text="Only commencements of this provision (slug)."
    )
    extent = _extent_filter("Only commencements that apply in this nation.")
    area = django_filters.CharFilter(
        lookup_expr="iexact", help_text="Only commencements limited to this area (a pilot)."
    )
    in_force_after = ISODateFilter(
        field_name="in_force_on", lookup_expr="gte", help_text="In force on or after this date."
    )
    in_force_before = ISODateFilter(
        field_name="in_force_on", lookup_expr="lte", help_text="In force on or before this date."
    )
    in_force_on = InForceOnFilter(
        help_text="Only those under which provisions are in force on this date (begun, not ended).",
    )

    class Meta:
        model = Commencement
        fields: list[str] = []

    def filter_extent(
        self, queryset: QuerySet[Commencement], name: str, value: str
    ) -> QuerySet[Commencement]:
        return queryset.filter(extent__contains=[value]) if value else queryset
