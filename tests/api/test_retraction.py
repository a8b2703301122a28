"""Retracting a status event that should not have been recorded: a retraction supersedes
it, both stay in the history, and from then on neither counts."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from measures.models import Measure, StatusEvent
from measures.services import status_event_retract
from tests.api.conftest import API, ClientFor, assert_problem, assert_validation_problem
from tests.factories import MeasureFactory, SourceFactory
from tests.support import Record

pytestmark = pytest.mark.django_db

ANNOUNCED = datetime.date(2018, 4, 9)
LEGISLATING = datetime.date(2018, 6, 20)
ENACTED = datetime.date(2019, 5, 16)


@pytest.fixture
def recorder(client_for: ClientFor) -> APIClient:
    return client_for("measures.add_statusevent", username="recorder")


def retract_url(event: StatusEvent) -> str:
    return f"{API}/measures/{event.measure.slug}/events/{event.pk}/retract/"


def test_a_retracted_event_no_longer_counts_and_both_stay_in_the_history(
    recorder: APIClient, anonymous: APIClient, measure: Measure, record: Record
) -> None:
    record(measure, "announced", ANNOUNCED)
    wrong = record(measure, "legislating", LEGISLATING)
    before = timezone.now()
    answer = recorder.post(retract_url(wrong), {"rationale": "That bill carries another measure."})
    assert answer.status_code == 201, answer.json()
    retraction = answer.json()
    assert retraction["is_retraction"] is True
    assert retraction["supersedes"] == wrong.pk
    assert retraction["citations"] == []
    assert retraction["recorded_by"] == "recorder"
    assert answer["Location"].endswith(f"/events/{retraction['id']}/")

    now = anonymous.get(f"{API}/measures/{measure.slug}/").json()
    assert (now["stage"], now["stage_since"]) == ("announced", "2018-04-09")
    # As the tracker knew it before the retraction, the event stood.
    then = anonymous.get(f"{API}/measures/{measure.slug}/", {"known_at": before.isoformat()}).json()
    assert then["stage"] == "legislating"

    timeline = anonymous.get(f"{API}/measures/{measure.slug}/events/").json()["results"]
    by_id = {event["id"]: event for event in timeline}
    assert by_id[wrong.pk]["superseded_by"] == retraction["id"]
    assert by_id[wrong.pk]["is_retraction"] is False
    standing = anonymous.get(f"{API}/measures/{measure.slug}/events/", {"current": "true"}).json()[
        "results"
    ]
    assert [event["value"] for event in standing] == ["announced"]
    others = anonymous.get(f"{API}/measures/{measure.slug}/events/", {"current": "false"}).json()[
        "results"
    ]
    assert {event["id"] for event in others} == {wrong.pk, retraction["id"]}


def test_a_retraction_may_cite_evidence(
    recorder: APIClient, measure: Measure, record: Record
) -> None:
    wrong = record(measure, "announced", ANNOUNCED)
    source = SourceFactory.create()
    answer = recorder.post(
        retract_url(wrong),
        {
            "rationale": "The strategy does not announce it.",
            "citations": [{"source": source.pk, "locator": "chapter 3"}],
        },
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["citations"][0]["locator"] == "chapter 3"


def test_a_retraction_must_say_why(recorder: APIClient, measure: Measure, record: Record) -> None:
    wrong = record(measure, "announced", ANNOUNCED)
    assert_validation_problem(recorder.post(retract_url(wrong), {}), pointer="#/rationale")
    assert_validation_problem(
        recorder.post(retract_url(wrong), {"rationale": "  "}), pointer="#/rationale"
    )
    assert not StatusEvent.objects.filter(is_retraction=True).exists()


def test_an_event_is_retracted_once(recorder: APIClient, measure: Measure, record: Record) -> None:
    wrong = record(measure, "announced", ANNOUNCED)
    assert recorder.post(retract_url(wrong), {"rationale": "Wrong measure."}).status_code == 201
    again = recorder.post(retract_url(wrong), {"rationale": "Wrong measure."})
    assert_validation_problem(again, pointer="#/supersedes")
    assert StatusEvent.objects.filter(is_retraction=True).count() == 1


def test_a_corrected_event_cannot_be_retracted(
    recorder: APIClient, measure: Measure, record: Record
) -> None:
    wrong = record(measure, "announced", datetime.date(2018, 4, 8))
    record(measure, "announced", ANNOUNCED, supersedes=wrong)
    assert_validation_problem(
        recorder.post(retract_url(wrong), {"rationale": "x"}), pointer="#/supersedes"
    )


def test_a_retraction_cannot_be_retracted(
    recorder: APIClient, measure: Measure, record: Record
) -> None:
    wrong = record(measure, "announced", ANNOUNCED)
    retraction = status_event_retract(event=wrong, rationale="Wrong measure.")
    answer = recorder.post(retract_url(retraction), {"rationale": "Undo."})
    assert_validation_problem(answer, pointer="#/supersedes")
    assert "record it again" in str(answer.json())


def test_a_retraction_that_leaves_a_forbidden_move_is_refused(
    recorder: APIClient, measure: Measure, record: Record
) -> None:
    record(measure, "announced", ANNOUNCED)
    legislating = record(measure, "legislating", LEGISLATING)
    record(measure, "enacted", ENACTED)
    record(measure, "in_force", datetime.date(2022, 4, 6))
    # Without its Royal Assent the measure would go from legislating to in force.
    enacted = StatusEvent.objects.get(measure=measure, value="enacted")
    answer = recorder.post(retract_url(enacted), {"rationale": "x"})
    assert_validation_problem(answer, pointer="#/value")
    measure.refresh_from_db()
    assert measure.stage == "in_force"
    assert legislating.superseded_by.count() == 0


def test_retracting_with_a_stale_etag_is_412(
    recorder: APIClient, anonymous: APIClient, measure: Measure, record: Record
) -> None:
    wrong = record(measure, "announced", ANNOUNCED)
    stale = anonymous.get(f"{API}/measures/{measure.slug}/")["ETag"]
    record(measure, "legislating", LEGISLATING)
    answer = recorder.post(retract_url(wrong), {"rationale": "x"}, HTTP_IF_MATCH=stale)
    assert_problem(answer, 412)
    assert not StatusEvent.objects.filter(is_retraction=True).exists()


def test_only_those_who_may_record_events_may_retract(
    anonymous: APIClient, client_for: ClientFor, measure: Measure, record: Record
) -> None:
    wrong = record(measure, "announced", ANNOUNCED)
    assert_problem(anonymous.post(retract_url(wrong), {"rationale": "x"}), 401)
    reader = client_for("measures.view_statusevent")
    assert_problem(reader.post(retract_url(wrong), {"rationale": "x"}), 403)
    assert not StatusEvent.objects.filter(is_retraction=True).exists()


def test_an_event_is_retracted_only_under_its_own_measure(
    recorder: APIClient, measure: Measure, record: Record
) -> None:
    wrong = record(measure, "announced", ANNOUNCED)
    other = MeasureFactory.create()
    answer = recorder.post(
        f"{API}/measures/{other.slug}/events/{wrong.pk}/retract/", {"rationale": "x"}
    )
    assert_problem(answer, 404)
    assert not StatusEvent.objects.filter(is_retraction=True).exists()
