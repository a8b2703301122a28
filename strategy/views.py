"""API views for organisations, strategies and sources: declarative, on the shared base, and
writing through ``strategy.services``."""

from __future__ import annotations

from typing import Any

from config.api.views import SLUG_LOOKUP, TrackerViewSet
from strategy.filters import OrganisationFilterSet, SourceFilterSet, StrategyFilterSet
from strategy.models import Organisation, Source, Strategy
from strategy.serializers import OrganisationSerializer, SourceSerializer, StrategySerializer
from strategy.services import (
    organisation_create,
    organisation_update,
    source_create,
    source_update,
    strategy_create,
    strategy_update,
)


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
        return organisation_create(fields=fields)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Organisation:
        return organisation_update(organisation=instance, fields=fields)


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
        return strategy_create(fields=fields)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Strategy:
        return strategy_update(strategy=instance, fields=fields)


class SourceViewSet(TrackerViewSet):
    """The evidence behind every status event and funding line."""

    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet
    ordering = ("-id",)
    ordering_fields = ("id", "published_on", "updated_at")
    csv_filename = "sources.csv"

    def create_instance(self, fields: dict[str, Any]) -> Source:
        return source_create(fields=fields)

    def update_instance(self, instance: Any, fields: dict[str, Any]) -> Source:
        return source_update(source=instance, fields=fields)
