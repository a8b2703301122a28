"""The rule the strategy summary totals money by (``measures.money``), held over generated
funding lines by hypothesis: no part exceeds its whole in any phase, no sum is counted
twice, and ``as_of`` never shows money announced after that date. Then the same through the
API, over lines stored in PostgreSQL."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from measures.choices import FundingPhase
from measures.money import Line, counted_lines, summary_groups
from tests.api.conftest import API
from tests.factories import FundingLineFactory, MeasureFactory, StrategyFactory

PHASES = FundingPhase.values
FIRST_DAY = datetime.date(2018, 1, 1)


@st.composite
def forests(draw: st.DrawFn) -> list[Line]:
    """Up to 14 lines in one or two currencies: each may be drawn from an earlier line and
    may realise an earlier line (so no cycle), with or without a date, a measure, a ceiling."""
    count = draw(st.integers(min_value=0, max_value=14))
    lines: list[Line] = []
    for index in range(count):
        earlier = st.sampled_from([line.id for line in lines]) if lines else st.nothing()
        lines.append(
            Line(
                id=index + 1,
                amount=Decimal(draw(st.integers(min_value=0, max_value=10**7))) / 100,
                currency=draw(st.sampled_from(["GBP", "GBP", "GBP", "EUR"])),
                phase=draw(st.sampled_from(PHASES)),
                parent_id=draw(st.none() | earlier),
                realises_id=draw(st.none() | earlier),
                announced_on=draw(
                    st.none() | st.dates(min_value=FIRST_DAY, max_value=datetime.date(2025, 12, 31))
                ),
                has_measure=draw(st.booleans()),
                is_ceiling=draw(st.booleans()),
            )
        )
    return lines


def as_table(rows: list) -> dict[tuple[str, str], Decimal]:
    return {(row.currency, row.phase): row.total for row in rows}


AS_OF = st.none() | st.dates(min_value=FIRST_DAY, max_value=datetime.date(2026, 1, 1))


@settings(max_examples=200, deadline=None)
@given(lines=forests(), as_of=AS_OF)
def test_no_part_exceeds_its_whole_in_any_phase(
    lines: list[Line], as_of: datetime.date | None
) -> None:
    groups = summary_groups(lines, PHASES, as_of)
    whole = as_table(groups["by_phase"])
    for part in ("envelope", "drawn_from_envelope", "allocated_to_measures"):
        for key, total in as_table(groups[part]).items():
            assert total <= whole.get(key, Decimal(0)), (part, key)
    # And inside the whole: an envelope as counted holds at least the lines it holds.
    counted = counted_lines(lines, as_of)
    held: dict[int, Decimal] = defaultdict(Decimal)
    for item in counted:
        if item.holder_id is not None:
            held[item.holder_id] += item.value
    for item in counted:
        assert item.value >= held[item.line.id]
        assert item.value >= (item.contribution + held[item.line.id]) - Decimal("0.00")


@settings(max_examples=200, deadline=None)
@given(lines=forests(), as_of=AS_OF)
def test_no_sum_is_counted_twice(lines: list[Line], as_of: datetime.date | None) -> None:
    counted = counted_lines(lines, as_of)
    by_id = {item.line.id: item for item in counted}
    assert len(by_id) == len(counted)  # each line at most once
    for item in counted:
        # A line adds at most its own figure, never a negative sum.
        assert Decimal(0) <= item.contribution <= item.line.amount
        # A line realised by a counted line of its phase and currency adds nothing.
        if any(
            other.line.realises_id == item.line.id
            and other.line.phase == item.line.phase
            and other.line.currency == item.line.currency
            for other in counted
        ):
            assert item.contribution == 0
    # The total of a phase is exactly the sum of what its lines add.
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for item in counted:
        expected[(item.line.currency, item.line.phase)] += item.contribution
    assert as_table(summary_groups(lines, PHASES, as_of)["by_phase"]) == dict(expected)


@settings(max_examples=200, deadline=None)
@given(lines=forests(), as_of=st.dates(min_value=FIRST_DAY, max_value=datetime.date(2026, 1, 1)))
def test_as_of_never_shows_money_announced_after_it(
    lines: list[Line], as_of: datetime.date
) -> None:
    counted = counted_lines(lines, as_of)
    for item in counted:
        assert item.line.announced_on is not None
        assert item.line.announced_on <= as_of
    # Every line announced by then is counted (if only as replaced by a later figure).
    announced = {line.id for line in lines if line.announced_on and line.announced_on <= as_of}
    assert {item.line.id for item in counted} == announced


def test_the_worked_examples() -> None:
    """The cases the review found, in figures: a re-announcement counted once, money drawn
    from an envelope of another phase counted in its own, a part never above its whole."""
    april, july = datetime.date(2018, 4, 9), datetime.date(2018, 7, 30)
    lines = [
        Line(1, Decimal(40_000_000), "GBP", "announced", announced_on=april),
        Line(2, Decimal(11_000_000), "GBP", "announced", announced_on=april, has_measure=True),
        Line(
            3,
            Decimal(22_000_000),
            "GBP",
            "announced",
            realises_id=2,
            announced_on=july,
            has_measure=True,
        ),
        Line(
            4,
            Decimal(3_600_000),
            "GBP",
            "disbursed",
            parent_id=1,
            announced_on=july,
            has_measure=True,
        ),
        Line(
            5,
            Decimal(1_380_000),
            "GBP",
            "announced",
            parent_id=1,
            announced_on=july,
            has_measure=True,
        ),
    ]
    groups = summary_groups(lines, PHASES)
    assert as_table(groups["by_phase"]) == {
        ("GBP", "announced"): Decimal(62_000_000),  # £40m + £22m; the £11m is inside the £22m
        ("GBP", "disbursed"): Decimal(3_600_000),  # not lost for want of a disbursed envelope
    }
    assert as_table(groups["drawn_from_envelope"]) == {
        ("GBP", "announced"): Decimal(1_380_000),
        ("GBP", "disbursed"): Decimal(3_600_000),
    }
    on_launch_day = summary_groups(lines, PHASES, datetime.date(2018, 4, 10))
    assert as_table(on_launch_day["by_phase"]) == {("GBP", "announced"): Decimal(51_000_000)}


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=forests(), as_of=AS_OF)
def test_the_summary_endpoint_keeps_the_rule(
    lines: list[Line], as_of: datetime.date | None
) -> None:
    """Stored in PostgreSQL and read through the API, the generated lines give the same
    totals as the rule computes, and no part exceeds its whole."""
    strategy = StrategyFactory.create()
    measure = MeasureFactory.create(strategy=strategy)
    stored: dict[int, object] = {}
    for line in lines:
        stored[line.id] = FundingLineFactory.create(
            strategy=strategy,
            measure=measure if line.has_measure else None,
            parent=stored.get(line.parent_id) if line.parent_id else None,
            realises=stored.get(line.realises_id) if line.realises_id else None,
            amount=line.amount,
            currency=line.currency,
            phase=line.phase,
            announced_on=line.announced_on,
            is_ceiling=line.is_ceiling,
        )
    params = {"as_of": as_of.isoformat()} if as_of else {}
    funding = (
        APIClient().get(f"{API}/strategies/{strategy.slug}/summary/", params).json()["funding"]
    )
    whole = {(row["currency"], row["phase"]): Decimal(row["total"]) for row in funding["by_phase"]}
    renumbered = [
        Line(
            stored[line.id].pk,  # type: ignore[attr-defined]
            line.amount,
            line.currency,
            line.phase,
            stored[line.parent_id].pk if line.parent_id else None,  # type: ignore[attr-defined]
            stored[line.realises_id].pk if line.realises_id else None,  # type: ignore[attr-defined]
            line.announced_on,
            line.has_measure,
            line.is_ceiling,
        )
        for line in lines
    ]
    assert whole == as_table(summary_groups(renumbered, PHASES, as_of)["by_phase"])
    for part in ("envelope", "drawn_from_envelope", "allocated_to_measures"):
        for row in funding[part]:
            assert Decimal(row["total"]) <= whole[(row["currency"], row["phase"])]
