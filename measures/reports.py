"""Read-side reports: a strategy's summary and its diff between two dates."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)

from measures.choices import Axis, Confidence, FundingPhase, Stage, Verdict
from measures.models import FundingLine, Measure, StatusEvent
from strategy.models import Strategy

NO_VALUE = "none"


def _counts(queryset: QuerySet[Measure], field: str, values: list[str]) -> dict[str, Any]:
    aggregates = {value: Count("pk", filter=Q(**{field: value})) for value in values}
    aggregates[NO_VALUE] = Count("pk", filter=Q(**{f"{field}__isnull": True}))
    return aggregates


def _money(lines: QuerySet[FundingLine]) -> list[dict[str, Any]]:
    rows = (
        lines.values("currency", "phase")
        .annotate(total=Sum("amount"), line_count=Count("pk"))
        .order_by("currency", "phase")
    )
    order = {phase: n for n, phase in enumerate(FundingPhase.values)}
    return sorted(
        ({**row, "total": row["total"] or Decimal("0.00")} for row in rows),
        key=lambda row: (row["currency"], order[row["phase"]]),
    )


def strategy_summary(strategy: Strategy, *, as_of: datetime.date | None) -> dict[str, Any]:
    """Counts per stage, verdict and confidence (as of a date if given) and money per phase.
    Money is totalled per currency and phase, never across phases; a line drawn from an
    envelope is counted inside the envelope, not again beside it."""
    measures: Any = Measure.objects.filter(strategy=strategy)
    suffix = ""
    if as_of is not None:
        measures = measures.with_history(as_of=as_of)
        suffix = "_then"
    measures = measures.with_overdue(as_of, f"stage{suffix}")
    aggregates: dict[str, Any] = {
        "measure_count": Count("pk"),
        "overdue_count": Count("pk", filter=Q(is_overdue=True)),
    }
    groups = {
        "by_stage": _counts(measures, f"stage{suffix}", Stage.values),
        "by_verdict": _counts(measures, f"verdict{suffix}", Verdict.values),
        "by_confidence": _counts(measures, f"confidence{suffix}", Confidence.values),
    }
    for group, counts in groups.items():
        aggregates.update({f"{group}__{name}": count for name, count in counts.items()})
    totals = measures.aggregate(**aggregates)
    result: dict[str, Any] = {
        "strategy": strategy,
        "as_of": as_of,
        "measure_count": totals["measure_count"],
        "overdue_count": totals["overdue_count"],
    }
    for group in groups:
        result[group] = {
            name: totals[key]
            for key in totals
            if key.startswith(f"{group}__")
            for name in [key.split("__", 1)[1]]
        }

    lines = FundingLine.objects.filter(strategy=strategy)
    result["funding"] = {
        "by_phase": _money(lines.filter(parent__isnull=True)),
        "envelope": _money(lines.filter(measure__isnull=True, parent__isnull=True)),
        "drawn_from_envelope": _money(
            lines.filter(
                parent__isnull=False, parent__measure__isnull=True, parent__parent__isnull=True
            )
        ),
        "allocated_to_measures": _money(lines.filter(measure__isnull=False, parent__isnull=True)),
    }
    return result


def strategy_diff(
    strategy: Strategy, *, start: datetime.date, end: datetime.date, changed_only: bool
) -> dict[str, Any]:
    """Each measure's status on ``start`` and on ``end``, and the events (as now known) that
    took effect after the earlier of the two dates, up to the later, listed from ``start``
    towards ``end`` (so backwards in time when ``start`` is the later date). Three queries
    whatever the number of measures."""
    earlier, later = sorted((start, end))
    order = ("effective_on", "recorded_at", "id")
    between = (
        StatusEvent.objects.for_api()
        .filter(effective_on__gt=earlier, effective_on__lte=later, superseded_by__isnull=True)
        .order_by(*(order if start <= end else (f"-{term}" for term in order)))
    )
    measures = (
        Measure.objects.filter(strategy=strategy)
        .with_history(as_of=start, label="from")
        .with_history(as_of=end, label="to")
        .prefetch_related(Prefetch("events", queryset=between, to_attr="events_between"))
        .order_by("slug")
    )
    rows = []
    for measure in measures:
        before = {axis: getattr(measure, f"{axis}_from") for axis in Axis.values}
        after = {axis: getattr(measure, f"{axis}_to") for axis in Axis.values}
        changed = before != after or bool(measure.events_between)
        if changed_only and not changed:
            continue
        rows.append(
            {
                "slug": measure.slug,
                "title": measure.title,
                "from": before,
                "to": after,
                "changed": changed,
                "events": measure.events_between,
            }
        )
    return {"strategy": strategy, "from": start, "to": end, "measures": rows}
