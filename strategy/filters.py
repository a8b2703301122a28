"""Query filters for organisations, strategies and sources."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from config.api.filters import ISODateFilter
from strategy.choices import OrganisationKind, SourceKind
from strategy.models import Organisation, Source, Strategy


class OrganisationFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(
        choices=OrganisationKind.choices, help_text="Only organisations of these kinds."
    )
    q = django_filters.CharFilter(
        method="filter_text", help_text="Words in the name or slug, e.g. “home office”."
    )

    class Meta:
        model = Organisation
        fields = ["kind"]

    def filter_text(
        self, queryset: QuerySet[Organisation], name: str, value: str
    ) -> QuerySet[Organisation]:
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


class PublishedOnFilterSet(django_filters.FilterSet):
    """Filters on ``published_on``, which strategies and sources both have."""

    published_after = ISODateFilter(
        field_name="published_on", lookup_expr="gte", help_text="Published on or after this date."
    )
    published_before = ISODateFilter(
        field_name="published_on", lookup_expr="lte", help_text="Published on or before this date."
    )


class StrategyFilterSet(PublishedOnFilterSet):
    owner = django_filters.CharFilter(
        field_name="owner__slug", help_text="Slug of the owning organisation, e.g. “home-office”."
    )

    class Meta:
        model = Strategy
        fields = ["owner"]


class SourceFilterSet(PublishedOnFilterSet):
    kind = django_filters.MultipleChoiceFilter(
        choices=SourceKind.choices, help_text="Only sources of these kinds."
    )
    publisher = django_filters.CharFilter(
        lookup_expr="icontains", help_text="Part of the publisher's name, e.g. “ITV”."
    )
    q = django_filters.CharFilter(
        method="filter_text", help_text="Words in the title or address, e.g. “Offensive Weapons”."
    )

    class Meta:
        model = Source
        fields = ["kind"]

    def filter_text(self, queryset: QuerySet[Source], name: str, value: str) -> QuerySet[Source]:
        return queryset.filter(Q(title__icontains=value) | Q(url__icontains=value))
