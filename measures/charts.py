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


# A label's width is estimated from its length: the picture is drawn on the server, which
# cannot measure text. An average character of the 12 px system font is about 6.5 px wide;
# 7 px keeps a margin.
CHARACTER_WIDTH = 7.0
LABEL_GAP = 8.0
# A label's text starts this far right of its marker's leader.
LABEL_OFFSET = 3.0


@dataclass(frozen=True)
class LabelPlacement:
    """Where a marker's label goes: ``marker`` is the marker's x, the text spans ``start`` to
    ``end``, in ``lane`` (0 nearest the band); a leader joins the marker to its text."""

    marker: float
    start: float
    end: float
    lane: int


def label_lanes(
    markers: Sequence[float],
    widths: Sequence[float],
    *,
    left: float,
    right: float,
    gap: float = LABEL_GAP,
) -> list[LabelPlacement]:
    """Place one label per marker so that no two labels overlap: each text starts just right
    of its marker (or ends at the right edge when it would run past it) and goes in the
    first lane where it keeps ``gap`` from every other text and leader. The markers are
    taken right to left, so that a leader, drawn down through the lanes above its label,
    passes only texts that start to its right: it crosses none, but where a label had to
    be pushed left by the right edge. Placements are returned in the order given."""
    # Per lane, the spans taken by texts and by the leaders passing through it.
    taken: list[list[tuple[float, float]]] = []

    def free(lane: int, start: float, end: float) -> bool:
        return all(end + gap <= a or b + gap <= start for a, b in taken[lane])

    def leader_clear(lane: int, marker: float) -> bool:
        return all(not (a < marker < b) for above in range(lane) for a, b in taken[above])

    placements: dict[int, LabelPlacement] = {}
    order = sorted(range(len(markers)), key=lambda index: markers[index], reverse=True)
    for index in order:
        marker, width = markers[index], widths[index]
        start = max(left, min(marker + LABEL_OFFSET, right - width))
        end = start + width
        lane = 0
        # A new, empty lane always takes the label: the loop ends.
        while lane < len(taken) and not (free(lane, start, end) and leader_clear(lane, marker)):
            lane += 1
        if lane == len(taken):
            taken.append([])
        taken[lane].append((start, end))
        for above in range(lane):
            taken[above].append((marker, marker))
        placements[index] = LabelPlacement(marker, start, end, lane)
    return [placements[index] for index in range(len(markers))]


def year_ticks(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """1 January of the years between ``first`` and ``last``, every year or, over a long
    span, every 2, 5 or 10 years, so that about a dozen ticks at most are drawn."""
    years = last.year - first.year + 1
    step = next(step for step in (1, 2, 5, 10, 20, 50) if years / step <= 12)
    start = first.year + 1 if (first.month, first.day) != (1, 1) else first.year
    start += -start % step
    return [datetime.date(year, 1, 1) for year in range(start, last.year + 1, step)]


def stage_timeline_svg(
    changes: Sequence[tuple[datetime.date, str]], *, until: datetime.date, width: int = 960
) -> SafeString:
    """A horizontal band coloured by stage over time, with a year axis above it and, below
    it, a label and date per change, set in lanes so that no two labels overlap and no
    leader crosses a label. The picture scales to the width of its box (``viewBox``)."""
    if not changes:
        return format_html('<p class="help">{}</p>', "No stage recorded yet.")
    periods = stage_periods(changes, until)
    first, last = periods[0].start, max(until, periods[-1].end)
    span = max((last - first).days, 1)
    left, right, axis_y, band_h = 8.0, width - 8.0, 22, 26
    band_y = axis_y
    lanes_y, lane_h = band_y + band_h + 24, 18

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
    ticks = format_html_join(
        "",
        '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="#666"/>'
        '<text x="{tx}" y="{ty}" text-anchor="middle" style="{font}">{year}</text>',
        (
            {
                "x": f"{x(day):.1f}",
                "tx": f"{min(max(x(day), left + 14), right - 14):.1f}",
                "y1": axis_y - 5,
                "y2": axis_y,
                "ty": axis_y - 8,
                "font": FONT,
                "year": day.year,
            }
            for day in year_ticks(first, last)
        ),
    )
    texts = [f"{Stage(p.stage).label} · {p.start.strftime('%d %b %Y')}" for p in periods]
    placements = label_lanes(
        [x(p.start) for p in periods],
        [len(text) * CHARACTER_WIDTH for text in texts],
        left=left,
        right=right,
    )
    labels = format_html_join(
        "",
        '<line class="leader" x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="#666"/>'
        '<circle class="marker" cx="{x}" cy="{y1}" r="2.5" fill="#333"/>'
        '<text x="{tx}" y="{ty}" style="{font}">{text}</text>',
        (
            {
                "x": f"{place.marker:.1f}",
                "y1": band_y + band_h,
                "y2": lanes_y + place.lane * lane_h - 11,
                "tx": f"{place.start:.1f}",
                "ty": lanes_y + place.lane * lane_h,
                "font": FONT,
                "text": text,
            }
            for place, text in zip(placements, texts, strict=True)
        ),
    )
    height = lanes_y + max(place.lane for place in placements) * lane_h + 8
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" class="stage-timeline">{}<g class="axis">'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#666"/>{}</g>{}</svg>',
        "Stage timeline",
        width,
        height,
        width,
        height,
        rects,
        left,
        right,
        axis_y,
        axis_y,
        ticks,
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
