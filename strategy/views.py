"""API views for organisations, strategies and sources: declarative, on the shared base."""

from __future__ import annotations

from django.db.models import Count

from config.api.views import SLUG_LOOKUP, TrackerViewSet
from strategy.filters import OrganisationFilterSet, SourceFilterSet, StrategyFilterSet
from strategy.models import Organisation, Source, Strategy
from strategy.serializers import OrganisationSerializer, SourceSerializer, StrategySerializer


class OrganisationViewSet(TrackerViewSet):
    """Departments, police forces, parliamentary bodies and others that lead, fund or
    receive measures."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    filterset_class = OrganisationFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_LOOKUP
    ordering = ("slug",)
    ordering_fields = ("slug", "name", "updated_at")
    csv_filename = "organisations.csv"


class StrategyViewSet(TrackerViewSet):
    """Published government plans whose commitments are tracked as measures."""

    queryset = Strategy.objects.select_related("owner").annotate(measure_count=Count("measures"))
    serializer_class = StrategySerializer
    filterset_class = StrategyFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_LOOKUP
    ordering = ("slug",)
    ordering_fields = ("slug", "published_on", "updated_at")
    csv_filename = "strategies.csv"


class SourceViewSet(TrackerViewSet):
    """The evidence behind every status event and funding line."""

    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet
    ordering = ("-id",)
    ordering_fields = ("id", "published_on", "updated_at")
    csv_filename = "sources.csv"
