"""Recording status events through the one service: allowed and refused stage moves,
validation, corrections and the cached current status."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from measures.choices import ALLOWED_STAGE_MOVES, Stage
from measures.models import Measure, StatusEvent
from measures.services import (
    CitationInput,
    StaleVersionError,
    measure_update,
    status_event_record,
)
from tests.factories import MeasureFactory, SourceFactory, UserFactory
from tests.support import Record

pytestmark = pytest.mark.django_db

D1 = datetime.date(2018, 4, 9)
D2 = datetime.date(2019, 5, 16)
D3 = datetime.date(2022, 4, 6)

ALLOWED = sorted(
    (source, target)
    for source, targets in ALLOWED_STAGE_MOVES.items()
    if source
    for target in targets
)
FORBIDDEN = sorted(
    (source, target)
    for source in Stage
    for target in Stage
    if target not in ALLOWED_STAGE_MOVES[source]
)


def test_the_move_table_covers_every_stage() -> None:
    assert set(ALLOWED_STAGE_MOVES) == {None, *Stage}
    assert ALLOWED_STAGE_MOVES[None] == frozenset(Stage)
    # Final stages really are final.
    assert ALLOWED_STAGE_MOVES[Stage.WITHDRAWN] == frozenset()
    assert ALLOWED_STAGE_MOVES[Stage.SUPERSEDED] == frozenset()


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=lambda s: str(s))
def test_allowed_move_is_recorded_and_cached(
    measure: Measure, record: Record, source: Stage, target: Stage
) -> None:
    version = record(measure, source, D1).measure.version
    event = record(measure, target, D2)
    measure.refresh_from_db()
    assert (measure.stage, measure.stage_since) == (target, D2)
    assert measure.version == version + 1
    assert (event.measure.stage, event.measure.version) == (target, measure.version)
    assert event.recorded_at is not None


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=lambda s: str(s))
def test_forbidden_move_is_refused_naming_both_stages(
    measure: Measure, record: Record, source: Stage, target: Stage
) -> None:
    record(measure, source, D1)
    with pytest.raises(ValidationError) as refusal:
        record(measure, target, D2)
    message = refusal.value.message_dict["value"][0]
    assert f"from “{source.label}” to “{target.label}”" in message
    measure.refresh_from_db()
    assert measure.stage == source
    assert measure.events.count() == 1


def test_move_from_completed_to_announced_is_refused(measure: Measure, record: Record) -> None:
    record(measure, "implementing", D1)
    record(measure, "completed", D2)
    with pytest.raises(ValidationError, match="from “Completed” to “Announced”"):
        record(measure, "announced", D3)


def test_back_dated_event_is_checked_against_the_events_on_both_sides(
    measure: Measure, record: Record
) -> None:
    record(measure, "announced", D1)
    record(measure, "legislating", D2)
    # Enacted before legislating began would put "announced → enacted" in the history.
    with pytest.raises(ValidationError, match="from “Announced” to “Enacted"):
        record(measure, "enacted", datetime.date(2018, 6, 1))
    # Between legislating and now it fits.
    record(measure, "enacted", D3)
    measure.refresh_from_db()
    assert measure.stage == "enacted"


def test_first_event_may_be_any_stage(measure: Measure, record: Record) -> None:
    record(measure, "in_force", D3)
    measure.refresh_from_db()
    assert measure.stage == "in_force"


def test_event_dated_in_the_future_is_recorded_without_changing_today(
    measure: Measure, record: Record
) -> None:
    record(measure, "announced", D1)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    record(measure, "legislating", tomorrow)
    measure.refresh_from_db()
    assert (measure.stage, measure.stage_since) == ("announced", D1)
    assert measure.status_valid_until == tomorrow


def test_event_needs_a_citation_with_a_quote_or_locator(measure: Measure) -> None:
    source = SourceFactory.create()
    cases = [
        ([], "citations"),
        ([CitationInput(source=source)], "citations.0.quote"),
        (
            [CitationInput(source=source, quote="q"), CitationInput(source=source, locator=" ")],
            "citations.1.quote",
        ),
    ]
    for citations, refused in cases:
        with pytest.raises(ValidationError) as refusal:
            status_event_record(
                measure=measure,
                axis="stage",
                value="announced",
                effective_on=D1,
                rationale="r",
                citations=citations,
            )
        assert list(refusal.value.message_dict) == [refused]
    assert not StatusEvent.objects.exists()


def test_event_needs_a_rationale(measure: Measure, record: Record) -> None:
    with pytest.raises(ValidationError) as refusal:
        record(measure, "announced", D1, rationale="   ")
    assert "rationale" in refusal.value.message_dict


@pytest.mark.parametrize(("axis", "value"), [("mood", "happy"), ("verdict", "in_force")])
def test_unknown_axis_or_value_is_refused(
    measure: Measure, record: Record, axis: str, value: str
) -> None:
    with pytest.raises(ValidationError):
        record(measure, value, D1, axis=axis)


def test_verdict_and_confidence_have_their_own_cache_and_any_order(
    measure: Measure, record: Record
) -> None:
    record(measure, "announced", D1)
    record(measure, "broken", D1, axis="verdict")
    record(measure, "kept", D2, axis="verdict")
    record(measure, "red", D2, axis="confidence")
    record(measure, "green", D3, axis="confidence")
    measure.refresh_from_db()
    assert (measure.stage, measure.verdict, measure.confidence) == ("announced", "kept", "green")


def test_recorded_by_is_kept_for_a_real_user(measure: Measure, record: Record) -> None:
    user = UserFactory.create()
    event = record(measure, "announced", D1, recorded_by=user)
    assert event.recorded_by == user


class TestCorrections:
    def test_correction_supersedes_and_keeps_the_original(
        self, measure: Measure, record: Record
    ) -> None:
        record(measure, "announced", D1)
        wrong = record(measure, "legislating", D2)
        fixed = record(measure, "consultation", D2, supersedes=wrong)
        measure.refresh_from_db()
        assert measure.stage == "consultation"
        wrong.refresh_from_db()
        assert wrong.value == "legislating"  # unchanged, still in the history
        assert list(wrong.superseded_by.all()) == [fixed]

    def test_correction_may_move_the_date(self, measure: Measure, record: Record) -> None:
        record(measure, "announced", D1)
        wrong = record(measure, "legislating", D3)
        record(measure, "legislating", D2, supersedes=wrong)
        measure.refresh_from_db()
        assert (measure.stage, measure.stage_since) == ("legislating", D2)

    def test_correcting_the_only_event_empties_nothing_but_replaces_it(
        self, measure: Measure, record: Record
    ) -> None:
        wrong = record(measure, "enacted", D2)
        record(measure, "announced", D1, supersedes=wrong)
        measure.refresh_from_db()
        assert (measure.stage, measure.stage_since) == ("announced", D1)

    def test_an_event_can_be_corrected_only_once(self, measure: Measure, record: Record) -> None:
        wrong = record(measure, "announced", D1)
        record(measure, "consultation", D1, supersedes=wrong)
        with pytest.raises(ValidationError, match="already been corrected"):
            record(measure, "legislating", D1, supersedes=wrong)

    def test_event_of_another_measure_cannot_be_corrected(self, record: Record) -> None:
        other = record(MeasureFactory.create(), "announced", D1)
        with pytest.raises(ValidationError, match="another measure"):
            record(MeasureFactory.create(), "consultation", D1, supersedes=other)

    def test_correction_must_keep_the_axis(self, measure: Measure, record: Record) -> None:
        verdict = record(measure, "kept", D1, axis="verdict")
        with pytest.raises(ValidationError, match="verdict event must be one too"):
            record(measure, "announced", D1, supersedes=verdict)

    def test_correction_that_breaks_the_sequence_is_refused(
        self, measure: Measure, record: Record
    ) -> None:
        record(measure, "announced", D1)
        legislating = record(measure, "legislating", D2)
        record(measure, "enacted", D3)
        with pytest.raises(ValidationError, match="from “Consultation” to “Enacted"):
            record(measure, "consultation", D2, supersedes=legislating)


class TestVersions:
    def test_stale_version_is_refused_for_events(self, measure: Measure, record: Record) -> None:
        record(measure, "announced", D1)
        with pytest.raises(StaleVersionError):
            record(measure, "consultation", D2, expected_version=1)

    def test_stale_version_is_refused_for_edits(self, measure: Measure) -> None:
        edited = measure_update(measure=measure, fields={"title": "First edit"}, expected_version=1)
        assert (edited.title, edited.version) == ("First edit", 2)
        with pytest.raises(StaleVersionError, match="you had version 1, it is now version 2"):
            measure_update(measure=measure, fields={"title": "Second edit"}, expected_version=1)
        measure.refresh_from_db()
        assert measure.title == "First edit"

    def test_an_edit_that_changes_nothing_keeps_the_version(self, measure: Measure) -> None:
        measure_update(measure=measure, fields={"title": measure.title}, expected_version=1)
        assert Measure.objects.get(pk=measure.pk).version == 1

    @pytest.mark.parametrize("field", ["stage", "version", "slug", "created_at"])
    def test_server_owned_fields_cannot_be_edited(self, measure: Measure, field: str) -> None:
        with pytest.raises(ValidationError) as refusal:
            measure_update(measure=measure, fields={field: "x"})
        assert field in refusal.value.message_dict


class TestStrategyMoves:
    def test_a_measure_with_funding_cannot_change_strategy(self) -> None:
        from tests.factories import FundingLineFactory, StrategyFactory

        measure = MeasureFactory.create()
        FundingLineFactory.create(strategy=measure.strategy, measure=measure)
        with pytest.raises(ValidationError) as refusal:
            measure_update(measure=measure, fields={"strategy": StrategyFactory.create()})
        assert "funding lines" in refusal.value.message_dict["strategy"][0]

    def test_a_measure_without_funding_may_change_strategy(self) -> None:
        from tests.factories import StrategyFactory

        measure = MeasureFactory.create()
        other = StrategyFactory.create()
        measure_update(measure=measure, fields={"strategy": other})
        assert Measure.objects.get(pk=measure.pk).strategy == other

    def test_an_envelope_with_lines_drawn_from_it_cannot_change_strategy(self) -> None:
        from measures.services import funding_line_update
        from tests.factories import FundingLineFactory, StrategyFactory

        envelope = FundingLineFactory.create()
        FundingLineFactory.create(strategy=envelope.strategy, parent=envelope)
        with pytest.raises(ValidationError) as refusal:
            funding_line_update(line=envelope, fields={"strategy": StrategyFactory.create()})
        assert "drawn from this one" in refusal.value.message_dict["strategy"][0]

    def test_an_unchanged_slug_may_be_repeated(self, measure: Measure) -> None:
        measure_update(measure=measure, fields={"slug": measure.slug, "title": "New"})
        assert Measure.objects.get(pk=measure.pk).title == "New"
