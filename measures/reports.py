"""Read-side reports: a strategy's summary and its diff between two dates.

The summary's two statements (the counts and the funding lines) are prepared reads
(``config/api/prepared.py``): built by the ORM once per shape, run with the strategy and
the date of each request."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone

from config.api.prepared import Aggregation, PreparedReads
from measures import money
from measures.choices import Axis, Confidence, FundingPhase, Stage, Verdict
from measures.models import ANYWHERE, FundingLine, Measure, Place, StatusEvent
from strategy.models import Strategy

NO_VALUE = "none"

# The summary's statements, by shape.
SUMMARY_READS = PreparedReads()

GROUPS = {
    "by_stage": ("stage_then", Stage.values),
    "by_verdict": ("verdict_then", Verdict.values),
    "by_confidence": ("confidence_then", Confidence.values),
}


def _counts(field: str, values: list[str]) -> dict[str, Any]:
    aggregates = {value: Count("pk", filter=Q(**{field: value})) for value in values}
    aggregates[NO_VALUE] = Count("pk", filter=Q(**{f"{field}__isnull": True}))
    return aggregates


def _funding_rows(slots: Mapping[str, Any]) -> QuerySet[Any]:
    return FundingLine.objects.filter(strategy=slots["strategy"]).values(
        "id",
        "amount",
        "currency",
        "phase",
        "parent_id",
        "realises_id",
        "announced_on",
        "measure_id",
        "is_ceiling",
    )


def money_lines(strategy: Strategy) -> list[money.Line]:
    """Every funding line of ``strategy`` as the money rule reads it (``money.Line``)."""
    rows = SUMMARY_READS.rows(("funding lines",), _funding_rows, {"strategy": strategy.pk})
    return [
        money.Line(
            id=row["id"],
            amount=row["amount"],
            currency=row["currency"],
            phase=row["phase"],
            parent_id=row["parent_id"],
            realises_id=row["realises_id"],
            announced_on=row["announced_on"],
            has_measure=row["measure_id"] is not None,
            is_ceiling=row["is_ceiling"],
        )
        for row in rows
    ]


def _status_counts(place: Place) -> Callable[[Mapping[str, Any]], Aggregation]:
    """How ``strategy_summary`` counts the measures of the strategy ``slots["strategy"]``
    on ``slots["as_of"]`` (without it, today) in ``place``: ``build`` for a prepared read."""

    def build(slots: Mapping[str, Any]) -> Aggregation:
        as_of = slots.get("as_of")
        measures: Any = Measure.objects.filter(strategy=slots["strategy"])
        if as_of is None and place == ANYWHERE:
            measures = measures.with_current_status()
        else:
            measures = measures.with_history(as_of=as_of, place=place)
        measures = measures.with_overdue(as_of, "stage_then")
        aggregates: dict[str, Any] = {
            "measure_count": Count("pk"),
            "overdue_count": Count("pk", filter=Q(is_overdue=True)),
        }
        for group, (field, values) in GROUPS.items():
            counts = _counts(field, values)
            aggregates.update({f"{group}__{name}": count for name, count in counts.items()})
        # Counted over a subquery that computes each measure's status once (DISTINCT, a
        # no-op on rows unique by id, makes Django keep it a subquery): counted straight off
        # the table, the status expression was written into each of the 31 counts, and
        # PostgreSQL planned 31 copies of its subqueries on every request.
        columns = ("pk", "stage_then", "verdict_then", "confidence_then", "is_overdue")
        return Aggregation(measures.values(*columns).order_by().distinct(), aggregates)

    return build


def strategy_summary(
    strategy: Strategy, *, as_of: datetime.date | None, place: Place = ANYWHERE
) -> dict[str, Any]:
    """Counts per stage, verdict and confidence on ``as_of`` (default today) in ``place``
    (default anywhere), and the money per currency and phase by the rule of
    ``measures.money``: each sum counted once, parts never above their whole, and with
    ``as_of`` only the money announced by then."""
    # The SQL depends on the place and on whether a date is given; without one, on today's
    # date, which decides the status (a date given is a slot).
    shape = ("counts", timezone.localdate(), as_of is None, place.extent, place.area)
    values: dict[str, Any] = {"strategy": strategy.pk}
    if as_of is not None:
        values["as_of"] = as_of
    (totals,) = SUMMARY_READS.rows(shape, _status_counts(place), values)
    result: dict[str, Any] = {
        "strategy": strategy,
        "as_of": as_of,
        "extent": place.extent,
        "area": place.area,
        "measure_count": totals["measure_count"],
        "overdue_count": totals["overdue_count"],
    }
    for group in GROUPS:
        result[group] = {
            name: totals[key]
            for key in totals
            if key.startswith(f"{group}__")
            for name in [key.split("__", 1)[1]]
        }
    lines = money_lines(strategy)
    result["funding"] = {
        group: [vars(row) for row in rows]
        for group, rows in money.summary_groups(lines, FundingPhase.values, as_of).items()
    }
    result["funding"]["undated_line_count"] = sum(1 for line in lines if line.announced_on is None)
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
        .standing()
        .filter(effective_on__gt=earlier, effective_on__lte=later)
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
