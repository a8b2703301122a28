"""Reads of the law's path that more than one reader needs (the API, the admin, the site)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from legislation.models import Act, BillStage, Commencement, Provision


def legislation_chain(measure: Any) -> dict[str, Any]:
    """The law that carries ``measure``: its provisions with their commencements, and the
    Acts they belong to with their bills and the bills' stages. Four queries."""
    provisions = (
        Provision.objects.filter(measure_links__measure=measure)
        .select_related("act")
        .prefetch_related(
            Prefetch("commencements", queryset=Commencement.objects.select_related("act", "source"))
        )
        .order_by("act_id", "id")
    )
    acts = (
        Act.objects.filter(provisions__measure_links__measure=measure)
        .distinct()
        .select_related("bill", "bill__act")
        .prefetch_related(
            Prefetch("bill__stages", queryset=BillStage.objects.select_related("source"))
        )
        .order_by("slug")
    )
    return {"measure": measure, "acts": list(acts), "provisions": list(provisions)}
