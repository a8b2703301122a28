"""/api/v1/measures/{slug}/events/: a measure's timeline, and recording a status event
through the one service that checks the move."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from measures.models import Measure, StatusEvent
from strategy.models import Source
from tests.api.conftest import API, ClientFor, assert_problem, assert_validation_problem
from tests.factories import MeasureFactory, SourceFactory
from tests.support import Record

pytestmark = pytest.mark.django_db

D1 = datetime.date(2018, 4, 9)
D2 = datetime.date(2018, 6, 20)
D3 = datetime.date(2019, 5, 16)


def events_url(measure: Measure) -> str:
    return f"{API}/measures/{measure.slug}/events/"


@pytest.fixture
def source(db: None) -> Source:
    return SourceFactory.create(title="Offensive Weapons Act 2019", publisher="legislation.gov.uk")


@pytest.fixture
def recorder(client_for: ClientFor) -> APIClient:
    """A researcher who may record status events, and nothing else."""
    return client_for("measures.add_statusevent", username="recorder")


def event_body(source: Source, **overrides: Any) -> dict[str, Any]:
    return {
        "axis": "stage",
        "value": "enacted",
        "effective_on": "2019-05-16",
        "rationale": "Royal Assent.",
        "citations": [
            {"source": source.pk, "quote": "An Act to make provision", "locator": "s. 6"}
        ],
        **overrides,
    }


# Reads -----------------------------------------------------------------------------------


def test_timeline_newest_first_with_citations_and_corrections(
    anonymous: APIClient, measure: Measure, record: Record
) -> None:
    announced = record(measure, "announced", D1)
    wrong = record(measure, "legislating", datetime.date(2018, 6, 2))
    fixed = record(measure, "legislating", D2, supersedes=wrong)
    response = anonymous.get(events_url(measure))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [fixed.pk, wrong.pk, announced.pk]
    assert rows[1]["superseded_by"] == fixed.pk
    assert rows[0]["supersedes"] == wrong.pk
    assert rows[0] == {
        "id": fixed.pk,
        "measure": measure.slug,
        "axis": "stage",
        "value": "legislating",
        "effective_on": "2018-06-20",
        "effective_on_precision": "day",
        "extent": [],
        "area": "",
        "ends_on": None,
        "recorded_at": rows[0]["recorded_at"],
        "recorded_by": None,
        "rationale": "stage became legislating",
        "supersedes": wrong.pk,
        "superseded_by": None,
        "is_retraction": False,
        "citations": [
            {
                "source": {
                    "id": rows[0]["citations"][0]["source"]["id"],
                    "title": rows[0]["citations"][0]["source"]["title"],
                    "publisher": "Home Office",
                    "link": rows[0]["citations"][0]["source"]["link"],
                },
                "quote": "quoted",
                "locator": "",
            }
        ],
    }


def test_timeline_shows_only_this_measures_events(
    anonymous: APIClient, measure: Measure, record: Record
) -> None:
    other = MeasureFactory.create()
    record(other, "announced", D1)
    assert anonymous.get(events_url(measure)).json()["results"] == []


def test_timeline_filters(anonymous: APIClient, measure: Measure, record: Record) -> None:
    announced = record(measure, "announced", D1)
    wrong = record(measure, "legislating", datetime.date(2018, 6, 2))
    fixed = record(measure, "legislating", D2, supersedes=wrong)
    verdict = record(measure, "in_the_works", D2, axis="verdict")
    confidence = record(measure, "amber", D3, axis="confidence")

    def ids(**params: Any) -> list[int]:
        response = anonymous.get(events_url(measure), params)
        assert response.status_code == 200, response.json()
        return sorted(row["id"] for row in response.json()["results"])

    assert ids(axis="verdict") == [verdict.pk]
    assert ids(axis=["verdict", "confidence"]) == sorted([verdict.pk, confidence.pk])
    assert ids(current="true") == sorted([announced.pk, fixed.pk, verdict.pk, confidence.pk])
    assert ids(current="false") == [wrong.pk]
    assert ids(effective_after="2018-06-20") == sorted([fixed.pk, verdict.pk, confidence.pk])
    assert ids(effective_before="2018-06-02") == sorted([announced.pk, wrong.pk])
    assert_validation_problem(
        anonymous.get(events_url(measure), {"axis": "mood"}), parameter="axis"
    )
    assert_validation_problem(
        anonymous.get(events_url(measure), {"current": "maybe"}), parameter="current"
    )
    assert_validation_problem(
        anonymous.get(events_url(measure), {"ordering": "effective_on"}), parameter="ordering"
    )


def test_retrieve_one_event(anonymous: APIClient, measure: Measure, record: Record) -> None:
    event = record(measure, "announced", D1)
    response = anonymous.get(f"{events_url(measure)}{event.pk}/")
    assert response.status_code == 200
    assert response.json()["value"] == "announced"
    assert response["ETag"]


def test_an_event_is_not_found_under_another_measure(
    anonymous: APIClient, measure: Measure, record: Record
) -> None:
    other = MeasureFactory.create()
    event = record(other, "announced", D1)
    assert_problem(anonymous.get(f"{events_url(measure)}{event.pk}/"), 404)


def test_timeline_of_an_unknown_measure_is_404(anonymous: APIClient, db: None) -> None:
    assert_problem(anonymous.get(f"{API}/measures/nothing/events/"), 404)


# Recording -------------------------------------------------------------------------------


def test_record_an_event(recorder: APIClient, measure: Measure, source: Source) -> None:
    response = recorder.post(
        events_url(measure), event_body(source, value="announced", effective_on="2018-04-09")
    )
    assert response.status_code == 201, response.json()
    event = StatusEvent.objects.get(measure=measure)
    assert response["Location"] == f"http://testserver{events_url(measure)}{event.pk}/"
    assert response["ETag"] == recorder.get(response["Location"])["ETag"]
    data = response.json()
    assert (data["axis"], data["value"], data["effective_on"]) == (
        "stage",
        "announced",
        "2018-04-09",
    )
    assert data["recorded_by"] == "recorder"
    assert data["citations"][0]["quote"] == "An Act to make provision"
    assert data["citations"][0]["source"]["id"] == source.pk
    measure.refresh_from_db()
    assert (measure.stage, measure.stage_since, measure.version) == ("announced", D1, 2)


def test_server_owned_fields_of_an_event_are_not_taken(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "legislating", D2)
    response = recorder.post(
        events_url(measure),
        event_body(
            source,
            id=1,
            recorded_at="2001-01-01T00:00:00Z",
            recorded_by="someone-else",
            measure="another",
            superseded_by=1,
        ),
    )
    assert response.status_code == 201, response.json()
    event = StatusEvent.objects.get(pk=response.json()["id"])
    assert event.recorded_at > timezone.now() - datetime.timedelta(hours=1)
    assert event.recorded_by is not None
    assert event.recorded_by.username == "recorder"
    assert event.measure == measure


def test_record_with_the_measures_current_etag(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "legislating", D2)
    etag = recorder.get(f"{API}/measures/{measure.slug}/")["ETag"]
    response = recorder.post(events_url(measure), event_body(source), headers={"If-Match": etag})
    assert response.status_code == 201, response.json()


def test_record_with_a_stale_etag_is_412_and_records_nothing(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "announced", D1)
    stale = recorder.get(f"{API}/measures/{measure.slug}/")["ETag"]
    record(measure, "legislating", D2)
    response = recorder.post(events_url(measure), event_body(source), headers={"If-Match": stale})
    assert_problem(response, 412)
    assert StatusEvent.objects.filter(measure=measure).count() == 2
    measure.refresh_from_db()
    assert measure.stage == "legislating"


def test_an_event_may_be_scheduled_and_changes_nothing_before_its_day(
    recorder: APIClient, anonymous: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "announced", D1)
    record(measure, "legislating", D2)
    record(measure, "enacted", D3)
    commencement = timezone.localdate() + datetime.timedelta(days=7)
    body = event_body(source, value="in_force", effective_on=commencement.isoformat())
    response = recorder.post(events_url(measure), body)
    assert response.status_code == 201, response.content
    assert response.json()["effective_on"] == commencement.isoformat()
    today = anonymous.get(f"{API}/measures/{measure.slug}/").json()
    assert (today["stage"], today["stage_since"]) == ("enacted", D3.isoformat())
    then = anonymous.get(
        f"{API}/measures/{measure.slug}/", {"as_of": commencement.isoformat()}
    ).json()
    assert (then["stage"], then["stage_since"]) == ("in_force", commencement.isoformat())


def test_a_scoped_event_is_checked_in_its_own_scope(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "enacted", D3)
    scotland = {"extent": ["scotland"], "effective_on": "2021-01-01"}
    england_and_wales = {"extent": ["wales", "england"], "effective_on": "2021-07-14"}
    for scope in (scotland, england_and_wales):
        response = recorder.post(
            events_url(measure), {**event_body(source, value="in_force"), **scope}
        )
        assert response.status_code == 201, response.content
    assert response.json()["extent"] == ["england", "wales"]  # in the nations' order
    again = recorder.post(
        events_url(measure),
        {**event_body(source, value="in_force"), **scotland, "effective_on": "2021-02-01"},
    )
    problem = assert_validation_problem(again, pointer="#/value")
    assert "In force" in problem["detail"]


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"extent": ["atlantis"]}, "#/extent/0"),
        ({"effective_on_precision": "month", "effective_on": "2019-05-15"}, "#/effective_on"),
        ({"effective_on": "2021-07-05", "ends_on": "2021-07-04"}, "#/ends_on"),
        ({"area": "x" * 201}, "#/area"),
    ],
)
def test_bad_scope_or_precision_is_a_400(
    recorder: APIClient, measure: Measure, source: Source, fields: dict[str, Any], pointer: str
) -> None:
    response = recorder.post(events_url(measure), {**event_body(source), **fields})
    assert_validation_problem(response, pointer=pointer)
    assert not StatusEvent.objects.exists()


def test_a_forbidden_stage_move_names_both_stages(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "announced", D1)
    record(measure, "withdrawn", D2)
    response = recorder.post(events_url(measure), event_body(source, value="announced"))
    problem = assert_validation_problem(response, pointer="#/value")
    assert "Withdrawn" in problem["detail"]
    assert "Announced" in problem["detail"]
    measure.refresh_from_db()
    assert measure.stage == "withdrawn"


def test_a_value_must_belong_to_its_axis(
    recorder: APIClient, measure: Measure, source: Source
) -> None:
    response = recorder.post(
        events_url(measure), event_body(source, axis="verdict", value="enacted")
    )
    assert_validation_problem(response, pointer="#/value")
    response = recorder.post(events_url(measure), event_body(source, value="sideways"))
    assert_validation_problem(response, pointer="#/value")
    response = recorder.post(events_url(measure), event_body(source, axis="mood"))
    assert_validation_problem(response, pointer="#/axis")


def test_an_event_needs_evidence(recorder: APIClient, measure: Measure, source: Source) -> None:
    assert_validation_problem(
        recorder.post(events_url(measure), event_body(source, citations=[])), pointer="#/citations"
    )
    assert_validation_problem(
        recorder.post(
            events_url(measure), event_body(source, citations=[{"source": source.pk, "quote": " "}])
        ),
        pointer="#/citations/0/quote",
    )
    assert_validation_problem(
        recorder.post(
            events_url(measure), event_body(source, citations=[{"source": 10**9, "quote": "q"}])
        ),
        pointer="#/citations/0/source",
    )
    assert_validation_problem(
        recorder.post(events_url(measure), event_body(source, rationale="")), pointer="#/rationale"
    )
    assert not StatusEvent.objects.exists()


def test_a_correction_supersedes_an_event_of_the_same_measure(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "legislating", D2)
    wrong = record(measure, "enacted", datetime.date(2019, 5, 6))
    response = recorder.post(events_url(measure), event_body(source, supersedes=wrong.pk))
    assert response.status_code == 201, response.json()
    assert response.json()["supersedes"] == wrong.pk
    measure.refresh_from_db()
    assert measure.stage_since == D3


def test_a_correction_cannot_supersede_another_measures_event(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    other = MeasureFactory.create()
    theirs = record(other, "legislating", D2)
    response = recorder.post(events_url(measure), event_body(source, supersedes=theirs.pk))
    assert_validation_problem(response, pointer="#/supersedes")
    assert not StatusEvent.objects.filter(measure=measure).exists()
    assert not StatusEvent.objects.filter(supersedes=theirs).exists()


def test_an_event_cannot_be_corrected_twice(
    recorder: APIClient, measure: Measure, source: Source, record: Record
) -> None:
    record(measure, "legislating", D2)
    wrong = record(measure, "enacted", datetime.date(2019, 5, 6))
    record(measure, "enacted", datetime.date(2019, 5, 7), supersedes=wrong)
    response = recorder.post(events_url(measure), event_body(source, supersedes=wrong.pk))
    assert_validation_problem(response, pointer="#/supersedes")


def test_recording_for_an_unknown_measure_is_404(recorder: APIClient, source: Source) -> None:
    assert_problem(recorder.post(f"{API}/measures/nothing/events/", event_body(source)), 404)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("who", ["anonymous", "editor"])
def test_events_are_never_edited_or_deleted(
    request: pytest.FixtureRequest,
    measure: Measure,
    record: Record,
    source: Source,
    method: str,
    who: str,
) -> None:
    client: APIClient = request.getfixturevalue(who)
    event = record(measure, "announced", D1)
    response = getattr(client, method)(
        f"{events_url(measure)}{event.pk}/", event_body(source, value="withdrawn")
    )
    assert_problem(response, 405)
    assert "PUT" not in response["Allow"]
    assert "DELETE" not in response["Allow"]
    event.refresh_from_db()
    assert event.value == "announced"
    assert_problem(getattr(client, method)(events_url(measure), event_body(source)), 405)
