"""Retracting a mistaken status event from the measure's page in the admin."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse

from measures.models import Measure, StatusEvent
from tests.admin.test_admin import signed_in
from tests.factories import MeasureFactory, SourceFactory
from tests.support import Record

pytestmark = pytest.mark.django_db


def retract_url(event: StatusEvent) -> str:
    return reverse("admin:measures_measure_retract_event", args=[event.measure_id, event.pk])


def test_a_researcher_retracts_an_event_and_the_page_shows_it_retracted(
    researcher: Any, record: Record
) -> None:
    measure = MeasureFactory.create()
    record(measure, "announced", datetime.date(2018, 4, 9))
    wrong = record(measure, "legislating", datetime.date(2018, 6, 20))
    client = signed_in(researcher)
    change_url = reverse("admin:measures_measure_change", args=[measure.pk])
    assert f'href="{retract_url(wrong)}"' in client.get(change_url).content.decode()

    form = client.get(retract_url(wrong))
    assert form.status_code == 200
    assert "Retract event #" in form.content.decode()
    source = SourceFactory.create()
    done = client.post(
        retract_url(wrong),
        {
            "rationale": "Recorded against the wrong measure.",
            "source": source.pk,
            "locator": "p. 2",
        },
    )
    assert done.status_code == 302
    retraction = StatusEvent.objects.get(supersedes=wrong)
    assert retraction.is_retraction
    assert retraction.recorded_by == researcher
    assert retraction.citations.get().locator == "p. 2"
    measure.refresh_from_db()
    assert measure.stage == "announced"

    page = client.get(change_url).content.decode()
    assert f"retracted by #{retraction.pk}" in page
    assert f"retracts #{wrong.pk}" in page
    # Neither the retracted event nor the retraction can be corrected or retracted again.
    assert f'href="{retract_url(wrong)}"' not in page
    assert f'href="{retract_url(retraction)}"' not in page


def test_a_retraction_without_a_reason_is_refused_on_the_form(
    researcher: Any, record: Record
) -> None:
    measure = MeasureFactory.create()
    wrong = record(measure, "announced", datetime.date(2018, 4, 9))
    answer = signed_in(researcher).post(retract_url(wrong), {"rationale": ""})
    assert answer.status_code == 200
    assert "This field is required." in answer.content.decode()
    assert not StatusEvent.objects.filter(is_retraction=True).exists()


def test_a_retraction_that_leaves_a_forbidden_move_names_it(
    researcher: Any, record: Record
) -> None:
    measure: Measure = MeasureFactory.create()
    record(measure, "announced", datetime.date(2018, 4, 9))
    record(measure, "legislating", datetime.date(2018, 6, 20))
    enacted = record(measure, "enacted", datetime.date(2019, 5, 16))
    record(measure, "in_force", datetime.date(2022, 4, 6))
    answer = signed_in(researcher).post(retract_url(enacted), {"rationale": "Wrong Act."})
    assert answer.status_code == 200
    assert "cannot move from “Legislating” to “In force (commenced)”" in answer.content.decode()
    assert not StatusEvent.objects.filter(is_retraction=True).exists()


def test_a_reviewer_cannot_retract(reviewer: Any, record: Record) -> None:
    measure = MeasureFactory.create()
    wrong = record(measure, "announced", datetime.date(2018, 4, 9))
    client = signed_in(reviewer)
    assert client.get(retract_url(wrong)).status_code == 403
    assert client.post(retract_url(wrong), {"rationale": "x"}).status_code == 403
    assert not StatusEvent.objects.filter(is_retraction=True).exists()
