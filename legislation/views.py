"""Read-only API views for the law's path. Researchers edit it in the admin and the seed
files; the API serves it, as lists (JSON or CSV) and details."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from config.api.views import SLUG_LOOKUP, TrackerViewSet
from legislation.filters import BillFilterSet, CommencementFilterSet, ProvisionFilterSet
from legislation.models import Bill, BillStage, Commencement, Provision
from legislation.serializers import BillSerializer, CommencementSerializer, ProvisionSerializer


class ReadOnlyViewSet(TrackerViewSet):
    http_method_names = ["get", "head", "options"]
    lookup_field = "slug"
    lookup_value_regex = SLUG_LOOKUP
    ordering: tuple[str, ...] = ("slug",)


class BillViewSet(ReadOnlyViewSet):
    """Bills before Parliament, each with its dated stages in each House and the Act it
    became."""

    queryset = Bill.objects.select_related("act").prefetch_related(
        Prefetch("stages", queryset=BillStage.objects.select_related("source"))
    )
    serializer_class = BillSerializer
    filterset_class = BillFilterSet
    ordering_fields = ("slug", "updated_at")
    csv_filename = "bills.csv"


class ProvisionViewSet(ReadOnlyViewSet):
    """Sections and schedules of Acts, with their territorial extent and the measures they
    carry."""

    queryset = Provision.objects.for_api()
    serializer_class = ProvisionSerializer
    filterset_class = ProvisionFilterSet
    ordering_fields = ("slug", "updated_at")
    csv_filename = "provisions.csv"

    def get_queryset(self) -> QuerySet[Provision]:
        # Filtering by measure joins the links: one row per provision all the same.
        return super().get_queryset().distinct()


class CommencementViewSet(ReadOnlyViewSet):
    """Instruments bringing provisions into force: on a date, in some nations, and for a
    pilot only in an area and until a date."""

    queryset = Commencement.objects.for_api()
    serializer_class = CommencementSerializer
    filterset_class = CommencementFilterSet
    ordering = ("in_force_on", "slug")
    ordering_fields = ("slug", "in_force_on", "updated_at")
    csv_filename = "commencements.csv"

    def get_queryset(self) -> QuerySet[Commencement]:
        return super().get_queryset().distinct()
