"""A strategy's or a measure's stage timeline laid out for an inline SVG: one row per measure,
a band coloured by stage over time and a date axis. The periods come from the admin's chart
code (``measures.charts.stage_periods``); the colours are CSS classes of the site's style
sheet, so the picture needs no style attribute."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.text import Truncator

from measures.charts import stage_periods
from measures.choices import Stage

WIDTH = 960
ROW_HEIGHT = 24
BAR_HEIGHT = 16
AXIS_HEIGHT = 28


@dataclass(frozen=True)
class Bar:
    x: str
    width: str
    stage: str
    label: str
    start: datetime.date
    end: datetime.date


@dataclass(frozen=True)
class Row:
    label: str
    title: str
    y: int
    text_y: int
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    x: str
    label: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    label_width: int
    start: datetime.date
    end: datetime.date
    rows: list[Row]
    ticks: list[Tick]
    axis_y: int
    stages: list[tuple[str, str]]


def stage_timeline(
    rows: Sequence[tuple[str, Sequence[tuple[datetime.date, str]]]],
    *,
    until: datetime.date,
    label_width: int = 300,
) -> Timeline | None:
    """Lay out ``rows`` of (label, stage changes oldest first) from the first change to
    ``until``; None when no row has a change."""
    changed = [(label, changes) for label, changes in rows if changes]
    if not changed:
        return None
    start = min(changes[0][0] for _, changes in changed)
    span = max((until - start).days, 1)
    left, right = label_width, WIDTH - 10

    def x(day: datetime.date) -> float:
        return left + (right - left) * (min(day, until) - start).days / span

    laid_out = []
    used: set[str] = set()
    for index, (label, changes) in enumerate(rows):
        y = 4 + index * ROW_HEIGHT
        bars = []
        for period in stage_periods(changes, until) if changes else []:
            used.add(period.stage)
            bars.append(
                Bar(
                    x=f"{x(period.start):.1f}",
                    width=f"{max(x(period.end) - x(period.start), 2.0):.1f}",
                    stage=period.stage,
                    label=str(Stage(period.stage).label),
                    start=period.start,
                    end=period.end,
                )
            )
        laid_out.append(
            Row(
                label=Truncator(label).chars(44),
                title=label,
                y=y,
                text_y=y + BAR_HEIGHT - 3,
                bars=bars,
            )
        )
    axis_y = 4 + len(rows) * ROW_HEIGHT
    years = range(start.year + 1, until.year + 1)
    step = 1 if len(years) <= 12 else 2
    ticks = [
        Tick(x=f"{x(datetime.date(year, 1, 1)):.1f}", label=str(year)) for year in years[::step]
    ]
    return Timeline(
        width=WIDTH,
        height=axis_y + AXIS_HEIGHT,
        label_width=label_width,
        start=start,
        end=until,
        rows=laid_out,
        ticks=ticks,
        axis_y=axis_y,
        stages=[(stage.value, str(stage.label)) for stage in Stage if stage.value in used],
    )
