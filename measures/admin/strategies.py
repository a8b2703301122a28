"""What a strategy's admin page shows of its measures and money."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from measures import reports
from measures.charts import money_by_phase_svg
from measures.choices import Stage
from strategy.admin import StrategyAdmin
from strategy.models import Strategy


def strategy_summary_section(
    request: HttpRequest, strategy: Strategy
) -> tuple[str, dict[str, Any]]:
    summary = reports.strategy_summary(strategy, as_of=None)
    funding = summary["funding"]
    return "admin/measures/strategy_summary.html", {
        "summary": summary,
        "stage_rows": [
            (Stage(stage).label if stage in Stage.values else "No stage yet", count)
            for stage, count in summary["by_stage"].items()
            if count
        ],
        "money_svg": money_by_phase_svg(
            [
                ("All money (each sum counted once)", funding["by_phase"]),
                ("Strategy-wide envelope", funding["envelope"]),
                ("Drawn from the envelope", funding["drawn_from_envelope"]),
                ("Attached to measures", funding["allocated_to_measures"]),
            ]
        ),
        "measures_url": reverse("admin:measures_measure_changelist")
        + f"?strategy__id__exact={strategy.pk}",
    }


StrategyAdmin.sections.append(strategy_summary_section)
