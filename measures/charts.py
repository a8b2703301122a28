"""Server-rendered SVG pictures for the admin: a measure's stage timeline and a strategy's
money per phase. Plain SVG, no script and nothing fetched from elsewhere."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from measures.choices import FundingPhase, Stage

# One colour per stage family: planning (blue), law-making (purple), delivery (green),
# trouble (amber/red), finished (grey).
STAGE_COLOURS = {
    Stage.ANNOUNCED: "#8fb3d9",
    Stage.IN_DEVELOPMENT: "#5b8fc7",
    Stage.CONSULTATION: "#3a6ea5",
    Stage.LEGISLATING: "#9b7fc4",
    Stage.ENACTED: "#7655a8",
    Stage.IN_FORCE: "#3d9a5b",
    Stage.IMPLEMENTING: "#5cb377",
    Stage.COMPLETED: "#2a6b3f",
    Stage.STALLED: "#e0a030",
    Stage.SUSPENDED: "#d9772b",
    Stage.WITHDRAWN: "#b33a3a",
    Stage.SUPERSEDED: "#888888",
}
PHASE_COLOURS = {
    FundingPhase.ANNOUNCED: "#8fb3d9",
    FundingPhase.ALLOCATED: "#5b8fc7",
    FundingPhase.COMMITTED: "#7655a8",
    FundingPhase.DISBURSED: "#5cb377",
    FundingPhase.SPENT: "#2a6b3f",
}
FONT = "font-family:system-ui,sans-serif;font-size:12px"


@dataclass(frozen=True)
class StagePeriod:
    stage: str
    start: datetime.date
    end: datetime.date


def stage_periods(
    changes: Sequence[tuple[datetime.date, str]], until: datetime.date
) -> list[StagePeriod]:
    """Turn (effective_on, stage) changes, oldest first, into consecutive periods."""
    periods = []
    for index, (start, stage) in enumerate(changes):
        end = changes[index + 1][0] if index + 1 < len(changes) else until
        periods.append(StagePeriod(stage, start, max(start, end)))
    return periods


def stage_timeline_svg(
    changes: Sequence[tuple[datetime.date, str]], *, until: datetime.date, width: int = 760
) -> SafeString:
    """A horizontal band coloured by stage over time, with a label and date per change."""
    if not changes:
        return format_html('<p class="help">{}</p>', "No stage recorded yet.")
    periods = stage_periods(changes, until)
    first, last = periods[0].start, until
    span = max((last - first).days, 1)
    left, right, band_y, band_h = 10, width - 10, 20, 26

    def x(day: datetime.date) -> float:
        return left + (right - left) * (day - first).days / span

    rects = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} to {}</title></rect>',
        (
            (
                f"{x(p.start):.1f}",
                band_y,
                f"{max(x(p.end) - x(p.start), 2.0):.1f}",
                band_h,
                STAGE_COLOURS.get(Stage(p.stage), "#999"),
                Stage(p.stage).label,
                p.start.isoformat(),
                p.end.isoformat(),
            )
            for p in periods
        ),
    )
    # Labels alternate above and below the band so that close changes stay readable.
    labels = format_html_join(
        "",
        '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="#333"/>'
        '<text x="{x}" y="{ty}" style="{font}">{label} · {day}</text>',
        (
            {
                "x": f"{x(p.start):.1f}",
                "y1": band_y - 4 if n % 2 == 0 else band_y + band_h,
                "y2": band_y if n % 2 == 0 else band_y + band_h + 4,
                "ty": 14 if n % 2 == 0 else band_y + band_h + 16,
                "font": FONT,
                "label": Stage(p.stage).label,
                "day": p.start.strftime("%d %b %Y"),
            }
            for n, p in enumerate(periods)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" class="stage-timeline">{}{}</svg>',
        "Stage timeline",
        width + 160,
        band_y + band_h + 24,
        width + 160,
        band_y + band_h + 24,
        rects,
        labels,
    )


def format_money(amount: Decimal | None, currency: str = "GBP", *, exact: bool = False) -> str:
    """A sum as a reader reads it: “£40.00m”, “£700,000”; ``exact``: “£40,000,000.00”."""
    if amount is None:
        return "-"
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, f"{currency} ")
    if exact:
        return f"{symbol}{amount:,.2f}"
    if amount >= 1_000_000:
        return f"{symbol}{amount / 1_000_000:,.2f}m"
    return f"{symbol}{amount:,.0f}"


def money_by_phase_svg(
    series: Sequence[tuple[str, Sequence[dict[str, object]]]], *, width: int = 640
) -> SafeString:
    """Horizontal bars, one group per series (e.g. "All money", "Strategy envelope") and one
    bar per phase. Totals are never added across phases."""
    rows = [(name, total) for name, totals in series for total in totals]
    if not rows:
        return format_html('<p class="help">{}</p>', "No funding recorded yet.")
    largest = max(Decimal(str(total["total"])) for _, total in rows) or Decimal(1)
    label_w, bar_h, gap = 230, 18, 6
    parts: list[SafeString] = []
    y = 0
    for name, totals in series:
        if not totals:
            continue
        parts.append(
            format_html(
                '<text x="0" y="{}" style="{};font-weight:600">{}</text>', y + 13, FONT, name
            )
        )
        y += 20
        for total in totals:
            amount = Decimal(str(total["total"]))
            phase = FundingPhase(str(total["phase"]))
            bar = float((width - label_w - 110) * amount / largest)
            parts.append(
                format_html(
                    '<text x="12" y="{}" style="{}">{} ({})</text>'
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>'
                    '<text x="{}" y="{}" style="{}">{}</text>',
                    y + 13,
                    FONT,
                    phase.label,
                    total["currency"],
                    label_w,
                    y,
                    f"{max(bar, 1.0):.1f}",
                    bar_h,
                    PHASE_COLOURS[phase],
                    f"{phase.label}: {format_money(amount, str(total['currency']))} in {total['line_count']} line(s)",
                    f"{label_w + max(bar, 1.0) + 6:.1f}",
                    y + 13,
                    FONT,
                    format_money(amount, str(total["currency"])),
                )
            )
            y += bar_h + gap
        y += 8
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Money per phase" '
        'width="{}" height="{}" viewBox="0 0 {} {}" class="money-chart">{}</svg>',
        width,
        y,
        width,
        y,
        mark_safe("".join(parts)),  # noqa: S308 - every part is format_html output
    )
