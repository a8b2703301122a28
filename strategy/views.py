"""API views for organisations, strategies and sources: declarative, on the shared base, and
writing through ``strategy.services``. The three are alike by design (NetBox's pattern): a
view set names its queryset, serializer, filters and the services it writes with."""

from __future__ import annotations

from typing import Any

from config.api.views import SLUG_LOOKUP, TrackerViewSet
from strategy import services
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

    def create_instance(self, fields: dict[str, Any]) -> Organisation:
        return services.organisation_create(fields=fields)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Organisation:
        return services.organisation_update(organisation=instance, fields=fields)


class StrategyViewSet(TrackerViewSet):
    """Published government plans whose commitments are tracked as measures."""

    queryset = Strategy.objects.for_api()
    serializer_class = StrategySerializer
    filterset_class = StrategyFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_LOOKUP
    ordering = ("slug",)
    ordering_fields = ("slug", "published_on", "updated_at")
    csv_filename = "strategies.csv"

    def create_instance(self, fields: dict[str, Any]) -> Strategy:
        return services.strategy_create(fields=fields)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Strategy:
        return services.strategy_update(strategy=instance, fields=fields)


class SourceViewSet(TrackerViewSet):
    """The evidence behind every status event and funding line."""

    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet
    ordering = ("-id",)
    ordering_fields = ("id", "published_on", "updated_at")
    csv_filename = "sources.csv"

    def create_instance(self, fields: dict[str, Any]) -> Source:
        return services.source_create(fields=fields)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Source:
        return services.source_update(source=instance, fields=fields)
