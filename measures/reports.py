"""Read-side reports: a strategy's summary, its diff between two dates, and the streaming
CSV export of measures."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    Func,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
)
from django.http import StreamingHttpResponse

from config.api.csv_export import stream_copy_csv
from measures.choices import Axis, Confidence, FundingPhase, Stage, Verdict
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
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
    took effect after ``start`` up to ``end``. Three queries whatever the number of measures."""
    between = (
        StatusEvent.objects.filter(
            effective_on__gt=start, effective_on__lte=end, superseded_by__isnull=True
        )
        .select_related("measure", "recorded_by")
        .prefetch_related(
            Prefetch("citations", queryset=EventCitation.objects.select_related("source")),
            Prefetch("superseded_by", queryset=StatusEvent.objects.only("id", "supersedes_id")),
        )
        .order_by("effective_on", "recorded_at", "id")
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


MEASURE_CSV_COLUMNS = [
    ("slug", "slug"),
    ("title", "title"),
    ("strategy.slug", "strategy__slug"),
    ("strategy.title", "strategy__title"),
    ("category", "category"),
    ("lead_organisation.slug", "lead_organisation__slug"),
    ("lead_organisation.name", "lead_organisation__name"),
    ("instrument", "instrument"),
    ("legal_vehicle", "legal_vehicle"),
    ("target_on", "target_on"),
    ("is_overdue", "is_overdue"),
    ("stage", "stage"),
    ("stage_since", "stage_since"),
    ("verdict", "verdict"),
    ("confidence", "confidence"),
    ("version", "version"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
]
TIME_TRAVELLED = {"stage", "stage_since", "verdict", "confidence"}


def _as_text(column: str) -> Any:
    """The column as the CSV shows it, formatted by PostgreSQL: dates and instants in ISO
    8601 (instants in UTC, as Python's ``isoformat`` writes them), ``true``/``false``."""
    kind = CSV_KINDS.get(column)
    if kind == "date":
        return Func(F(column), Value("YYYY-MM-DD"), function="to_char", output_field=TextField())
    if kind == "bool":
        return Case(When(**{column: True}, then=Value("true")), default=Value("false"))
    if kind == "instant":
        return Func(
            F(column),
            template=(
                "(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
                " || CASE WHEN to_char(%(expressions)s, 'US') = '000000'"
                " THEN '' ELSE to_char(%(expressions)s AT TIME ZONE 'UTC', '.US') END"
                " || '+00:00')"
            ),
            output_field=TextField(),
        )
    return F(column)


CSV_KINDS = {
    "target_on": "date",
    "stage_since": "date",
    "stage_since_then": "date",
    "is_overdue": "bool",
    "created_at": "instant",
    "updated_at": "instant",
}


def measures_csv(queryset: QuerySet[Measure], *, time_travel: bool) -> StreamingHttpResponse:
    """Every matching measure, written as CSV by PostgreSQL and streamed as it comes."""
    columns = [
        (header, _as_text(f"{column}_then" if time_travel and column in TIME_TRAVELLED else column))
        for header, column in MEASURE_CSV_COLUMNS
    ]
    return stream_copy_csv(queryset, columns, "measures.csv")
