"""The stage timeline's picture: labels of changes days apart never overlap, leaders cross
no label, the picture spans its whole width, and the years are marked on an axis."""

from __future__ import annotations

import datetime
import itertools
import re

from measures.charts import (
    CHARACTER_WIDTH,
    LABEL_GAP,
    LabelPlacement,
    label_lanes,
    stage_timeline_svg,
    year_ticks,
)

LEFT, RIGHT = 8.0, 952.0


def overlapping(placements: list[LabelPlacement]) -> list[tuple[LabelPlacement, LabelPlacement]]:
    return [
        (a, b)
        for a, b in itertools.combinations(placements, 2)
        if a.lane == b.lane and a.start < b.end + LABEL_GAP and b.start < a.end + LABEL_GAP
    ]


def crossed(placements: list[LabelPlacement]) -> list[tuple[LabelPlacement, LabelPlacement]]:
    """Pairs (label, leader) where the leader runs through the label's text."""
    return [
        (text, leader)
        for text in placements
        for leader in placements
        if text.lane < leader.lane and text.start < leader.marker < text.end
    ]


def test_labels_of_changes_days_apart_go_in_separate_lanes_without_overlap() -> None:
    markers = [100.0, 103.0, 106.0, 110.0, 112.0]
    placements = label_lanes(markers, [160.0] * 5, left=LEFT, right=RIGHT)
    assert not overlapping(placements)
    assert not crossed(placements)
    assert len({place.lane for place in placements}) == 5
    assert [place.marker for place in placements] == markers  # in the order given


def test_labels_far_apart_share_the_first_lane() -> None:
    placements = label_lanes([10.0, 300.0, 600.0], [150.0] * 3, left=LEFT, right=RIGHT)
    assert [place.lane for place in placements] == [0, 0, 0]


def test_labels_near_the_right_edge_stay_inside_and_apart() -> None:
    markers = [900.0, 930.0, 950.0]
    placements = label_lanes(markers, [170.0] * 3, left=LEFT, right=RIGHT)
    assert all(place.start >= LEFT and place.end <= RIGHT for place in placements)
    assert not overlapping(placements)


def test_many_crowded_labels_never_overlap() -> None:
    markers = [float(x) for x in range(20, 900, 13)]
    widths = [CHARACTER_WIDTH * (20 + x % 9) for x in range(len(markers))]
    placements = label_lanes(markers, widths, left=LEFT, right=RIGHT)
    assert not overlapping(placements)
    # A leader may cross only a label the right edge pushed left of its own marker.
    assert all(text.start < text.marker for text, _ in crossed(placements))


def test_year_ticks_mark_each_year_or_fewer_over_a_long_span() -> None:
    assert year_ticks(datetime.date(2018, 4, 9), datetime.date(2020, 6, 1)) == [
        datetime.date(2019, 1, 1),
        datetime.date(2020, 1, 1),
    ]
    long = year_ticks(datetime.date(1990, 1, 1), datetime.date(2026, 1, 1))
    assert len(long) <= 12
    assert all(day.year % 5 == 0 for day in long)


def test_timeline_spans_the_full_width_with_a_year_axis_and_every_label() -> None:
    changes = [
        (datetime.date(2018, 4, 9), "announced"),
        (datetime.date(2018, 4, 12), "legislating"),
        (datetime.date(2018, 4, 20), "enacted"),
        (datetime.date(2021, 6, 1), "in_force"),
    ]
    svg = str(stage_timeline_svg(changes, until=datetime.date(2024, 1, 1), width=960))
    assert 'viewBox="0 0 960 ' in svg
    # The last period ends at the right edge.
    rects = re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)
    assert float(rects[-1][0]) + float(rects[-1][1]) == RIGHT
    for year in ("2019", "2020", "2021", "2022", "2023", "2024"):
        assert f">{year}</text>" in svg
    for label in (
        "Announced · 09 Apr 2018",
        "Legislating · 12 Apr 2018",
        "Enacted (Royal Assent) · 20 Apr 2018",
    ):
        assert label in svg
    # Three changes in eleven days: three lanes of labels.
    assert len(set(re.findall(r'<text x="[\d.]+" y="(\d+)" style', svg))) == 3
