"""The rule by which a strategy's money is totalled, as a function of plain facts about its
funding lines, so that a property-based test can hold it over any lines at all
(``tests/measures/test_money_rule.py``). docs/record.md states the rule in words.

Per currency and phase, each sum is counted once:

1. With ``as_of``, only lines announced on or before that day count (a line with no date
   counts in no dated answer). A line known only to the month or year is dated the last day
   of it, so no earlier day claims it.
2. A line realised by a counted later line of the same phase (the same money, restated:
   the £22 million fund that doubled the £11 million one) is replaced by it: it adds nothing.
3. A line drawn from an envelope (``parent``) is part of the envelope's money: within one
   phase, the envelope counts as at least the sum of the lines drawn from it, and those
   lines add nothing beside it. The nearest counted envelope of the same phase holds a line;
   an envelope in another phase does not (money disbursed from an announced envelope is
   counted among the disbursed money).

A line's ``contribution`` is what it adds to its phase's total: its own figure less what
is already counted in the lines drawn from it, never below nothing. The total of a phase is
the sum of the contributions, so no line's figure is counted twice and no part (the lines
drawn from an envelope) exceeds its whole (the envelope as counted).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Line:
    """What the rule needs of a funding line."""

    id: int
    amount: Decimal
    currency: str
    phase: str
    parent_id: int | None = None
    realises_id: int | None = None
    announced_on: datetime.date | None = None
    has_measure: bool = False
    is_ceiling: bool = False


@dataclass(frozen=True)
class Counted:
    """A counted line: what it adds to its phase, and its value as a whole (its
    contribution plus the values of the lines it holds)."""

    line: Line
    contribution: Decimal
    value: Decimal
    holder_id: int | None  # the nearest counted envelope of the same phase


@dataclass
class Totals:
    """One currency and phase of a strategy's money."""

    currency: str
    phase: str
    total: Decimal = ZERO
    line_count: int = 0
    ceiling_total: Decimal = ZERO


def counted_lines(lines: Iterable[Line], as_of: datetime.date | None = None) -> list[Counted]:
    """Each line that counts, with its contribution and value (see the module's rule)."""
    by_id = {line.id: line for line in lines}
    live = {
        line.id: line
        for line in by_id.values()
        if as_of is None or (line.announced_on is not None and line.announced_on <= as_of)
    }
    # 2. Realised by a counted line of the same phase and currency: replaced.
    replaced = {
        line.realises_id
        for line in live.values()
        if line.realises_id in live
        and live[line.realises_id].phase == line.phase
        and live[line.realises_id].currency == line.currency
    }

    def holder(line: Line) -> int | None:
        seen = {line.id}
        parent_id = line.parent_id
        while parent_id is not None and parent_id in by_id and parent_id not in seen:
            seen.add(parent_id)
            parent = by_id[parent_id]
            if (
                parent_id in live
                and parent.phase == line.phase
                and parent.currency == line.currency
            ):
                return parent_id
            parent_id = parent.parent_id
        return None

    holders = {line_id: holder(line) for line_id, line in live.items()}
    held: dict[int, list[int]] = defaultdict(list)
    for line_id, holder_id in holders.items():
        if holder_id is not None:
            held[holder_id].append(line_id)

    values: dict[int, Decimal] = {}

    def value(line_id: int) -> Decimal:
        if line_id not in values:
            values[line_id] = ZERO  # a guard against a cycle in bad data
            inner = sum((value(child) for child in held[line_id]), ZERO)
            own = ZERO if line_id in replaced else live[line_id].amount
            values[line_id] = max(own, inner)
        return values[line_id]

    result = []
    for line_id, line in live.items():
        whole = value(line_id)
        inner = sum((value(child) for child in held[line_id]), ZERO)
        result.append(Counted(line, whole - inner, whole, holders[line_id]))
    return result


def totals(counted: Sequence[Counted], phases: Sequence[str]) -> list[Totals]:
    """The contributions summed per currency and phase, in ``phases`` order."""
    rows: dict[tuple[str, str], Totals] = {}
    for item in counted:
        key = (item.line.currency, item.line.phase)
        row = rows.setdefault(key, Totals(*key))
        row.total += item.contribution
        row.line_count += 1
        if item.line.is_ceiling:
            row.ceiling_total += item.contribution
    order = {phase: index for index, phase in enumerate(phases)}
    return sorted(rows.values(), key=lambda row: (row.currency, order.get(row.phase, 99)))


def part_totals(
    counted: Sequence[Counted], phases: Sequence[str], tops: Iterable[Counted]
) -> list[Totals]:
    """The money of the subtrees whose tops are ``tops`` (disjoint: no top holds another),
    summed per currency and phase: a part of the phase's total."""
    rows: dict[tuple[str, str], Totals] = {}
    by_holder: dict[int | None, list[Counted]] = defaultdict(list)
    for item in counted:
        by_holder[item.holder_id].append(item)

    def add(item: Counted, row: Totals) -> None:
        row.line_count += 1
        if item.line.is_ceiling:
            row.ceiling_total += item.contribution
        for child in by_holder[item.line.id]:
            add(child, row)

    for top in tops:
        key = (top.line.currency, top.line.phase)
        row = rows.setdefault(key, Totals(*key))
        row.total += top.value
        add(top, row)
    order = {phase: index for index, phase in enumerate(phases)}
    return sorted(rows.values(), key=lambda row: (row.currency, order.get(row.phase, 99)))


def summary_groups(
    lines: Iterable[Line], phases: Sequence[str], as_of: datetime.date | None = None
) -> dict[str, list[Totals]]:
    """The strategy summary's money: all of it, and three parts of it, each a part of the
    whole in the same currency and phase.

    - ``by_phase``: all money, each sum counted once;
    - ``envelope``: the strategy-wide envelopes (no measure, not drawn from anything), with
      what is drawn from them in the same phase;
    - ``drawn_from_envelope``: money drawn (directly or through other lines) from a
      strategy-wide envelope, counted at its topmost line below the envelope;
    - ``allocated_to_measures``: money attached to a measure, counted at its topmost line
      attached to a measure."""
    all_lines = list(lines)
    by_id = {line.id: line for line in all_lines}
    counted = counted_lines(all_lines, as_of)
    counted_by_id = {item.line.id: item for item in counted}

    def is_envelope(line: Line) -> bool:
        return not line.has_measure and line.parent_id is None

    def drawn_from_envelope(line: Line) -> bool:
        seen = {line.id}
        parent_id = line.parent_id
        while parent_id is not None and parent_id in by_id and parent_id not in seen:
            seen.add(parent_id)
            if is_envelope(by_id[parent_id]):
                return True
            parent_id = by_id[parent_id].parent_id
        return False

    def holder(item: Counted) -> Line | None:
        return counted_by_id[item.holder_id].line if item.holder_id is not None else None

    envelopes = [i for i in counted if is_envelope(i.line) and i.holder_id is None]
    drawn = [
        item
        for item in counted
        if drawn_from_envelope(item.line)
        and ((up := holder(item)) is None or not drawn_from_envelope(up))
    ]

    def under_a_measure(item: Counted) -> bool:
        """Whether a line holding this one, however far up, is attached to a measure."""
        seen = {item.line.id}
        up = holder(item)
        while up is not None and up.id not in seen:
            if up.has_measure:
                return True
            seen.add(up.id)
            up = holder(counted_by_id[up.id])
        return False

    allocated = [item for item in counted if item.line.has_measure and not under_a_measure(item)]
    return {
        "by_phase": totals(counted, phases),
        "envelope": part_totals(counted, phases, envelopes),
        "drawn_from_envelope": part_totals(counted, phases, drawn),
        "allocated_to_measures": part_totals(counted, phases, allocated),
    }
