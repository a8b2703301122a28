"""Each invariant of the measures app's models is enforced by PostgreSQL itself: these rows
are written past Django's validation (``objects.create`` and ``update`` skip ``full_clean``)
and the database refuses every one, naming the constraint."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pgtrigger
import pytest
from django.db import ProgrammingError, connection, transaction

from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from tests.factories import FundingLineFactory, MeasureFactory, SourceFactory
from tests.support import refused_by

pytestmark = pytest.mark.django_db

DAY = datetime.date(2019, 5, 16)


def event(measure: Measure, **fields: object) -> StatusEvent:
    values: dict[str, object] = {
        "axis": "stage",
        "value": "announced",
        "effective_on": DAY,
        "rationale": "r",
    }
    values.update(fields)
    return StatusEvent.objects.create(measure=measure, **values)


class TestMeasure:
    def test_slug_is_unique(self) -> None:
        existing = MeasureFactory.create(slug="acid-offence")
        with refused_by("measures_measure_slug_key"):
            Measure.objects.create(
                slug="acid-offence",
                strategy=existing.strategy,
                title="Again",
                instrument="legislation",
            )

    def test_slug_must_be_lowercase_kebab_case(self) -> None:
        with refused_by("measures_measure_slug_lowercase_kebab"):
            MeasureFactory.create(slug="Acid_Offence")

    @pytest.mark.parametrize(
        ("field", "value", "constraint"),
        [
            ("instrument", "magic", "measures_measure_instrument_valid"),
            ("stage", "forgotten", "measures_measure_stage_valid"),
            ("verdict", "great", "measures_measure_verdict_valid"),
            ("confidence", "purple", "measures_measure_confidence_valid"),
            ("version", 0, "measures_measure_version_positive"),
        ],
    )
    def test_value_outside_its_domain_is_refused(
        self, field: str, value: object, constraint: str
    ) -> None:
        measure = MeasureFactory.create()
        with refused_by(constraint):
            Measure.objects.filter(pk=measure.pk).update(**{field: value})


class TestStatusEvent:
    def test_axis_outside_choices_is_refused(self) -> None:
        with refused_by("measures_statusevent_axis_valid"):
            event(MeasureFactory.create(), axis="mood", value="announced")

    @pytest.mark.parametrize(
        ("axis", "value"),
        [("stage", "kept"), ("verdict", "in_force"), ("confidence", "broken"), ("stage", "")],
    )
    def test_value_must_belong_to_its_axis(self, axis: str, value: str) -> None:
        with refused_by("measures_statusevent_value_valid_for_axis"):
            event(MeasureFactory.create(), axis=axis, value=value)

    def test_correction_cannot_supersede_an_event_of_another_measure(self) -> None:
        other = event(MeasureFactory.create())
        with refused_by("measures_statusevent_supersedes_same_measure_axis"):
            event(MeasureFactory.create(), supersedes=other)

    def test_correction_cannot_supersede_an_event_of_another_axis(self) -> None:
        measure = MeasureFactory.create()
        verdict = event(measure, axis="verdict", value="kept")
        with refused_by("measures_statusevent_supersedes_same_measure_axis"):
            event(measure, supersedes=verdict)

    def test_an_event_is_superseded_at_most_once(self) -> None:
        measure = MeasureFactory.create()
        original = event(measure)
        event(measure, supersedes=original, value="consultation")
        with refused_by("measures_statusevent_superseded_once"):
            event(measure, supersedes=original, value="legislating")

    def test_an_event_cannot_supersede_itself(self) -> None:
        measure = MeasureFactory.create()
        with refused_by("measures_statusevent_not_self_superseding"), transaction.atomic():
            StatusEvent.objects.raw(
                "INSERT INTO measures_statusevent "
                "(id, measure_id, axis, value, effective_on, rationale, supersedes_id) "
                "VALUES (987654, %s, 'stage', 'announced', %s, 'r', 987654) RETURNING id",
                [measure.pk, DAY],
            )[0]

    def test_events_cannot_be_edited(self) -> None:
        row = event(MeasureFactory.create())
        with refused_by("Cannot update or delete rows from measures_statusevent", ProgrammingError):
            StatusEvent.objects.filter(pk=row.pk).update(value="withdrawn")

    def test_events_cannot_be_deleted(self) -> None:
        row = event(MeasureFactory.create())
        with refused_by("Cannot update or delete rows from measures_statusevent", ProgrammingError):
            StatusEvent.objects.filter(pk=row.pk).delete()

    def test_sessions_ignore_no_trigger_and_pgtrigger_can_still_ignore_one(self) -> None:
        """Every session starts with ``pgtrigger.ignore`` an empty list (config/settings.py),
        so that the triggers' first question, whether they are ignored, is answered without
        an error raised and caught in PostgreSQL for every row. pgtrigger's ``ignore`` still
        lifts a trigger within its block, and the trigger guards again after it."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('pgtrigger.ignore')")
            assert cursor.fetchone() == ("{}",)
        row = event(MeasureFactory.create())
        with pgtrigger.ignore("measures.StatusEvent:append_only"):
            StatusEvent.objects.filter(pk=row.pk).update(rationale="lifted")
        row.refresh_from_db()
        assert row.rationale == "lifted"
        with refused_by("Cannot update or delete rows from measures_statusevent", ProgrammingError):
            StatusEvent.objects.filter(pk=row.pk).update(value="withdrawn")

    def test_citation_needs_a_quote_or_a_locator(self) -> None:
        row = event(MeasureFactory.create())
        with refused_by("measures_eventcitation_quote_or_locator"):
            EventCitation.objects.create(
                event=row, source=SourceFactory.create(), quote="", locator=""
            )

    def test_citations_cannot_be_edited(self) -> None:
        citation = EventCitation.objects.create(
            event=event(MeasureFactory.create()), source=SourceFactory.create(), quote="q"
        )
        with refused_by(
            "Cannot update or delete rows from measures_eventcitation", ProgrammingError
        ):
            EventCitation.objects.filter(pk=citation.pk).update(quote="changed")


class TestFundingLine:
    @pytest.mark.parametrize(
        ("field", "value", "constraint"),
        [
            ("amount", Decimal("-0.01"), "measures_fundingline_amount_non_negative"),
            ("currency", "gbp", "measures_fundingline_currency_iso_4217"),
            ("currency", "GB", "measures_fundingline_currency_iso_4217"),
            ("currency", "£££", "measures_fundingline_currency_iso_4217"),
            ("phase", "rumoured", "measures_fundingline_phase_valid"),
            ("novelty", "recycled", "measures_fundingline_novelty_valid"),
        ],
    )
    def test_value_outside_its_domain_is_refused(
        self, field: str, value: object, constraint: str
    ) -> None:
        line = FundingLineFactory.create()
        with refused_by(constraint):
            FundingLine.objects.filter(pk=line.pk).update(**{field: value})

    def test_period_cannot_end_before_it_starts(self) -> None:
        line = FundingLineFactory.create()
        with refused_by("measures_fundingline_period_in_order"):
            FundingLine.objects.filter(pk=line.pk).update(
                period_start=datetime.date(2019, 4, 1), period_end=datetime.date(2019, 3, 31)
            )

    def test_line_cannot_be_drawn_from_itself(self) -> None:
        line = FundingLineFactory.create()
        with refused_by("measures_fundingline_not_own_parent"):
            FundingLine.objects.filter(pk=line.pk).update(parent=line.pk)

    def test_envelope_must_belong_to_the_same_strategy(self) -> None:
        envelope = FundingLineFactory.create()
        line = FundingLineFactory.create()
        with refused_by("measures_fundingline_parent_in_strategy"):
            FundingLine.objects.filter(pk=line.pk).update(parent=envelope)

    def test_measure_must_belong_to_the_lines_strategy(self) -> None:
        line = FundingLineFactory.create()
        with refused_by("measures_fundingline_measure_in_strategy"):
            FundingLine.objects.filter(pk=line.pk).update(measure=MeasureFactory.create())

    def test_citation_needs_a_quote_or_a_locator(self) -> None:
        line = FundingLineFactory.create()
        with refused_by("measures_fundingline_quote_or_locator"):
            FundingLine.objects.filter(pk=line.pk).update(quote="", locator="")
