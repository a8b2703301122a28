"""Time travel: the stage of a measure on a date (``as_of``, valid time) as the database
knew it at an instant (``known_at``, transaction time), and the cache of the current status
always equal to what the history derives."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from pytest_django import DjangoAssertNumQueries

from measures.choices import AXIS_VALUES, Axis, stage_move_allowed
from measures.models import Measure, StatusEvent
from measures.services import CitationInput, status_event_record
from tests.factories import MeasureFactory, SourceFactory
from tests.support import Record, database_now


@dataclass(frozen=True)
class Row:
    id: int
    axis: str
    value: str
    effective_on: datetime.date
    recorded_at: datetime.datetime
    supersedes_id: int | None


def rows(measure: Measure) -> list[Row]:
    return [
        Row(**values)
        for values in StatusEvent.objects.filter(measure=measure).values(
            "id", "axis", "value", "effective_on", "recorded_at", "supersedes_id"
        )
    ]


def derive(
    events: list[Row],
    axis: str,
    as_of: datetime.date,
    known_at: datetime.datetime | None = None,
) -> str | None:
    """The history's answer, computed independently of the code under test."""
    known = [e for e in events if known_at is None or e.recorded_at <= known_at]
    corrected = {e.supersedes_id for e in known if e.supersedes_id is not None}
    candidates = [
        e for e in known if e.axis == axis and e.id not in corrected and e.effective_on <= as_of
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda e: (e.effective_on, e.recorded_at, e.id)).value


def stage_then(
    measure: Measure,
    as_of: datetime.date | None = None,
    known_at: datetime.datetime | None = None,
) -> str | None:
    answer = Measure.objects.with_history(as_of=as_of, known_at=known_at).get(pk=measure.pk)
    return answer.stage_then  # type: ignore[attr-defined]


@pytest.mark.django_db
class TestHandWrittenTimeline:
    """The Offensive Weapons Bill, with a wrong Royal Assent date later corrected."""

    def test_as_of_and_known_at(self, measure: Measure, record: Record) -> None:
        before_anything = database_now()
        record(measure, "announced", datetime.date(2018, 4, 9))
        record(measure, "legislating", datetime.date(2018, 6, 20))
        before_mistake = database_now()
        mistake = record(measure, "enacted", datetime.date(2019, 5, 6))
        before_correction = database_now()
        record(measure, "enacted", datetime.date(2019, 5, 16), supersedes=mistake)
        record(measure, "in_force", datetime.date(2022, 4, 6))

        may_10 = datetime.date(2019, 5, 10)
        assert stage_then(measure, as_of=datetime.date(2017, 12, 31)) is None
        assert stage_then(measure, as_of=datetime.date(2018, 5, 1)) == "announced"
        assert stage_then(measure, as_of=may_10) == "legislating"
        assert stage_then(measure, as_of=may_10, known_at=before_correction) == "enacted"
        assert stage_then(measure, as_of=may_10, known_at=before_mistake) == "legislating"
        assert stage_then(measure, as_of=datetime.date(2019, 6, 1)) == "enacted"
        assert stage_then(measure) == "in_force"
        assert stage_then(measure, known_at=before_correction) == "enacted"
        assert stage_then(measure, known_at=before_anything) is None

        measure.refresh_from_db()
        assert (measure.stage, measure.stage_since) == ("in_force", datetime.date(2022, 4, 6))

    def test_stage_since_follows_the_answer(self, measure: Measure, record: Record) -> None:
        record(measure, "announced", datetime.date(2018, 4, 9))
        record(measure, "consultation", datetime.date(2018, 9, 9))
        answer = Measure.objects.with_history(as_of=datetime.date(2018, 12, 1)).get(pk=measure.pk)
        assert (answer.stage_then, answer.stage_since_then) == (  # type: ignore[attr-defined]
            "consultation",
            datetime.date(2018, 9, 9),
        )

    def test_many_measures_are_answered_in_one_query(
        self, record: Record, django_assert_num_queries: DjangoAssertNumQueries
    ) -> None:
        for n in range(12):
            m = MeasureFactory.create()
            record(m, "announced", datetime.date(2018, 4, 9))
            if n % 2:
                record(m, "legislating", datetime.date(2018, 6, 20))
        instant = database_now()
        with django_assert_num_queries(1):
            answers = list(
                Measure.objects.with_history(as_of=datetime.date(2019, 1, 1), known_at=instant)
            )
        assert sorted(a.stage_then for a in answers) == ["announced"] * 6 + ["legislating"] * 6  # type: ignore[attr-defined]


DAYS = st.integers(min_value=0, max_value=3000).map(
    lambda n: datetime.date(2017, 1, 1) + datetime.timedelta(days=n)
)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, str, datetime.date, int | None]]:
    """Events on random axes with random values and dates; some correct an earlier event."""
    result = []
    for _ in range(draw(st.integers(min_value=1, max_value=14))):
        axis = draw(st.sampled_from(list(Axis)))
        value = draw(st.sampled_from(AXIS_VALUES[axis].values))
        corrects = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=20)))
        result.append((axis.value, value, draw(DAYS), corrects))
    return result


class TestCacheEqualsHistory(TestCase):
    """After any sequence of events and corrections, in any order of valid time, the cached
    status equals what the history derives, the stage history only makes allowed moves, and
    every earlier state of knowledge can still be recalled with ``known_at``."""

    @given(operations())
    def test_cache_and_time_travel_agree_with_the_history(
        self, ops: list[tuple[str, str, datetime.date, int | None]]
    ) -> None:
        measure = MeasureFactory.create()
        source = SourceFactory.create()
        recorded: list[StatusEvent] = []
        snapshots: list[tuple[datetime.datetime, list[Row]]] = []
        today = timezone.localdate()
        for axis, value, day, corrects in ops:
            same_axis = [e for e in recorded if e.axis == axis]
            supersedes = (
                same_axis[corrects % len(same_axis)] if corrects is not None and same_axis else None
            )
            try:
                event = status_event_record(
                    measure=measure,
                    axis=axis,
                    value=value,
                    effective_on=day,
                    rationale="generated",
                    citations=[CitationInput(source=source, locator="p. 1")],
                    supersedes=supersedes,
                )
            except ValidationError:
                continue  # a refused move or a second correction: nothing may have changed
            recorded.append(event)
            snapshots.append((database_now(), rows(measure)))

        history = rows(measure)
        measure.refresh_from_db()
        for axis in Axis:
            assert getattr(measure, axis.value) == derive(history, axis, today)

        stage_sequence = sorted(
            (
                e
                for e in history
                if e.axis == Axis.STAGE and e.id not in {h.supersedes_id for h in history}
            ),
            key=lambda e: (e.effective_on, e.recorded_at, e.id),
        )
        previous = None
        for e in stage_sequence:
            assert stage_move_allowed(previous, e.value), (previous, e.value)
            previous = e.value

        for instant, known in snapshots:
            for as_of in (datetime.date(2018, 1, 1), datetime.date(2020, 6, 1), today):
                answer = Measure.objects.with_history(as_of=as_of, known_at=instant).get(
                    pk=measure.pk
                )
                for axis in Axis:
                    assert getattr(answer, f"{axis.value}_then") == derive(known, axis, as_of)
