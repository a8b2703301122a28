"""/api/v1/measures/: list, read, create and update; every filter; time travel with
``as_of`` and ``known_at``."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from measures.models import Measure, StatusEvent
from strategy.models import Organisation, Strategy
from tests.api.conftest import API, assert_problem, assert_validation_problem
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    StrategyFactory,
)
from tests.support import Record, database_now, recorder, shared_rows

pytestmark = pytest.mark.django_db

URL = f"{API}/measures/"


def slugs(response: object) -> list[str]:
    assert response.status_code == 200, response.json()  # type: ignore[attr-defined]
    return [row["slug"] for row in response.json()["results"]]  # type: ignore[attr-defined]


@dataclass
class StagedMeasures:
    """Two strategies and four measures at different stages, the first with a wrong Royal
    Assent date corrected later."""

    svs: Strategy
    other: Strategy
    home_office: Organisation
    acid: Measure
    knives: Measure
    youth: Measure
    review: Measure
    before_correction: datetime.datetime
    wrong_assent: StatusEvent


def stage_measures(record: Record) -> StagedMeasures:
    home_office = OrganisationFactory.create(slug="home-office", name="Home Office")
    treasury = OrganisationFactory.create(slug="hm-treasury", name="HM Treasury")
    svs = StrategyFactory.create(slug="svs", owner=home_office)
    other = StrategyFactory.create(slug="other")
    acid = MeasureFactory.create(
        slug="acid",
        strategy=svs,
        title="Offence of possessing a corrosive substance in a public place",
        summary="Make it an offence to carry acid without good reason.",
        category="Law enforcement and criminal justice",
        lead_organisation=home_office,
        instrument="legislation",
        legal_vehicle="Offensive Weapons Bill",
        target_on=datetime.date(2019, 12, 31),
    )
    knives = MeasureFactory.create(
        slug="knives",
        strategy=svs,
        title="Ban the sale of knives to under-18s online",
        summary="Stop online retailers delivering knives to young people.",
        category="Law enforcement and criminal justice",
        lead_organisation=home_office,
        instrument="legislation",
        legal_vehicle="Offensive Weapons Bill",
        target_on=None,
    )
    youth = MeasureFactory.create(
        slug="youth-fund",
        strategy=svs,
        title="Early Intervention Youth Fund",
        summary="Money for community projects for young people.",
        category="Early intervention and prevention",
        lead_organisation=treasury,
        instrument="funding",
        legal_vehicle="",
        target_on=datetime.date(2020, 3, 31),
    )
    review = MeasureFactory.create(
        slug="review",
        strategy=other,
        title="Review of drug misuse",
        summary="An independent review.",
        category="Drugs",
        lead_organisation=None,
        instrument="operational",
        target_on=datetime.date(2021, 1, 1),
    )
    record(acid, "announced", datetime.date(2018, 4, 9))
    record(acid, "legislating", datetime.date(2018, 6, 20))
    wrong = record(acid, "enacted", datetime.date(2019, 5, 6))
    before_correction = database_now()
    record(acid, "enacted", datetime.date(2019, 5, 16), supersedes=wrong)
    record(acid, "in_the_works", datetime.date(2018, 4, 9), axis="verdict")
    record(acid, "amber_green", datetime.date(2019, 1, 1), axis="confidence")
    record(knives, "announced", datetime.date(2018, 4, 9))
    record(knives, "legislating", datetime.date(2018, 6, 20))
    record(knives, "enacted", datetime.date(2019, 5, 16))
    record(knives, "in_force", datetime.date(2022, 4, 6))
    record(knives, "kept", datetime.date(2022, 4, 6), axis="verdict")
    record(youth, "announced", datetime.date(2018, 4, 9))
    record(youth, "red", datetime.date(2020, 1, 1), axis="confidence")
    record(review, "announced", datetime.date(2018, 4, 9))
    record(review, "implementing", datetime.date(2018, 5, 1))
    record(review, "completed", datetime.date(2018, 6, 1))
    for measure in (acid, knives, youth, review):
        measure.refresh_from_db()
    return StagedMeasures(
        svs, other, home_office, acid, knives, youth, review, before_correction, wrong
    )


@pytest.fixture(scope="module")
def staged_for_the_module(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[StagedMeasures]:
    """Made once: every test here starts from the same rows, and what it writes is undone."""
    with shared_rows(django_db_blocker):
        yield stage_measures(recorder())


@pytest.fixture
def staged(staged_for_the_module: StagedMeasures, db: None) -> StagedMeasures:
    """A copy for each test, which may change the objects in memory."""
    return copy.deepcopy(staged_for_the_module)


# Reads -----------------------------------------------------------------------------------


def test_list_in_slug_order_with_the_current_status(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    response = anonymous.get(URL)
    assert slugs(response) == ["acid", "knives", "review", "youth-fund"]
    acid = response.json()["results"][0]
    assert acid == {
        "url": "http://testserver/api/v1/measures/acid/",
        "slug": "acid",
        "strategy": {"slug": "svs", "title": staged.svs.title},
        "title": "Offence of possessing a corrosive substance in a public place",
        "summary": "Make it an offence to carry acid without good reason.",
        "category": "Law enforcement and criminal justice",
        "lead_organisation": {"slug": "home-office", "name": "Home Office"},
        "instrument": "legislation",
        "legal_vehicle": "Offensive Weapons Bill",
        "target_on": "2019-12-31",
        "is_overdue": True,
        "stage": "enacted",
        "stage_since": "2019-05-16",
        "verdict": "in_the_works",
        "confidence": "amber_green",
        "version": staged.acid.version,
        "events_url": "http://testserver/api/v1/measures/acid/events/",
        "legislation_url": "http://testserver/api/v1/measures/acid/legislation/",
        "created_at": acid["created_at"],
        "updated_at": acid["updated_at"],
    }
    review = response.json()["results"][2]
    assert review["lead_organisation"] is None
    assert (review["stage"], review["verdict"], review["confidence"]) == ("completed", None, None)


def test_retrieve_has_the_same_shape_and_an_etag(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    listed = anonymous.get(URL).json()["results"][0]
    response = anonymous.get(f"{URL}acid/")
    assert response.status_code == 200
    assert response.json() == listed
    assert response["ETag"].startswith(f'"v{staged.acid.version}-')


def test_retrieve_unknown_measure_is_404_problem(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    problem = assert_problem(anonymous.get(f"{URL}no-such-measure/"), 404)
    assert problem["instance"] == f"{URL}no-such-measure/"


# Filters ---------------------------------------------------------------------------------


def test_filter_by_strategy(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"strategy": "svs"})) == ["acid", "knives", "youth-fund"]
    assert slugs(anonymous.get(URL, {"strategy": "other"})) == ["review"]
    assert slugs(anonymous.get(URL, {"strategy": "none-such"})) == []


def test_filter_by_several_stages(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"stage": "enacted"})) == ["acid"]
    assert slugs(anonymous.get(URL, {"stage": ["in_force", "announced"]})) == [
        "knives",
        "youth-fund",
    ]
    assert_validation_problem(anonymous.get(URL, {"stage": "passed"}), parameter="stage")


def test_filter_by_verdict_and_confidence(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"verdict": "kept"})) == ["knives"]
    assert slugs(anonymous.get(URL, {"verdict": ["kept", "in_the_works"]})) == ["acid", "knives"]
    assert slugs(anonymous.get(URL, {"confidence": "red"})) == ["youth-fund"]
    assert_validation_problem(anonymous.get(URL, {"verdict": "green"}), parameter="verdict")
    assert_validation_problem(anonymous.get(URL, {"confidence": "kept"}), parameter="confidence")


def test_filter_by_category_ignores_case(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"category": "early intervention and PREVENTION"})) == [
        "youth-fund"
    ]


def test_filter_by_instrument(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"instrument": ["funding", "operational"]})) == [
        "review",
        "youth-fund",
    ]
    assert_validation_problem(anonymous.get(URL, {"instrument": "wish"}), parameter="instrument")


def test_filter_by_lead_organisation(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"lead_organisation": "hm-treasury"})) == ["youth-fund"]


def test_filter_by_target_dates(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"target_after": "2020-03-31"})) == ["review", "youth-fund"]
    assert slugs(anonymous.get(URL, {"target_before": "2020-03-31"})) == ["acid", "youth-fund"]
    assert slugs(
        anonymous.get(URL, {"target_after": "2020-01-01", "target_before": "2020-12-31"})
    ) == ["youth-fund"]
    assert_validation_problem(
        anonymous.get(URL, {"target_after": "31/03/2020"}), parameter="target_after"
    )


def test_filter_overdue(anonymous: APIClient, staged: StagedMeasures) -> None:
    # Past the target and not finished: acid (enacted) and the youth fund (announced).
    # The review is completed; the knives measure has no target date.
    assert slugs(anonymous.get(URL, {"overdue": "true"})) == ["acid", "youth-fund"]
    assert slugs(anonymous.get(URL, {"overdue": "false"})) == ["knives", "review"]
    assert_validation_problem(anonymous.get(URL, {"overdue": "perhaps"}), parameter="overdue")


def test_filter_updated_since(anonymous: APIClient, staged: StagedMeasures) -> None:
    cut = database_now()
    Measure.objects.filter(pk=staged.youth.pk).update(updated_at=timezone.now())
    assert slugs(anonymous.get(URL, {"updated_since": cut.isoformat()})) == ["youth-fund"]
    assert len(slugs(anonymous.get(URL, {"updated_since": "2000-01-01T00:00:00Z"}))) == 4
    assert_validation_problem(
        anonymous.get(URL, {"updated_since": "last week"}), parameter="updated_since"
    )


def test_full_text_search(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"q": "corrosive"})) == ["acid"]
    # Stemmed: "possess" finds "possessing"; the legal vehicle is searched too.
    assert slugs(anonymous.get(URL, {"q": "possess"})) == ["acid"]
    assert slugs(anonymous.get(URL, {"q": '"offensive weapons"'})) == ["acid", "knives"]
    assert slugs(anonymous.get(URL, {"q": "offensive -acid"})) == ["knives"]
    assert slugs(anonymous.get(URL, {"q": "review OR youth"})) == ["review", "youth-fund"]
    assert slugs(anonymous.get(URL, {"q": "zebra"})) == []


def test_search_combines_with_other_filters(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"q": "offensive", "stage": "in_force"})) == ["knives"]


def test_ordering(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"ordering": "-slug"})) == [
        "youth-fund",
        "review",
        "knives",
        "acid",
    ]
    assert slugs(anonymous.get(URL, {"ordering": "title"}))[0] == "knives"  # "Ban the sale..."
    assert slugs(anonymous.get(URL, {"ordering": "created_at"})) == [
        "acid",
        "knives",
        "youth-fund",
        "review",
    ]
    Measure.objects.filter(pk=staged.knives.pk).update(updated_at=timezone.now())
    assert slugs(anonymous.get(URL, {"ordering": "-updated_at"}))[0] == "knives"
    assert_validation_problem(anonymous.get(URL, {"ordering": "stage"}), parameter="ordering")


def test_unknown_filter_is_refused_by_name(anonymous: APIClient, staged: StagedMeasures) -> None:
    problem = assert_validation_problem(
        anonymous.get(URL, {"stages": "enacted"}), parameter="stages"
    )
    assert problem["type"].endswith("/unknown-parameter/")


def test_list_filters_are_not_accepted_on_a_single_measure(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    assert_validation_problem(anonymous.get(f"{URL}acid/", {"stage": "enacted"}), parameter="stage")


# Time travel -----------------------------------------------------------------------------


def test_as_of_gives_each_measure_its_status_on_that_date(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    response = anonymous.get(URL, {"as_of": "2019-05-10"})
    rows = {row["slug"]: row for row in response.json()["results"]}
    assert (rows["acid"]["stage"], rows["acid"]["stage_since"]) == ("legislating", "2018-06-20")
    assert (rows["acid"]["verdict"], rows["acid"]["confidence"]) == ("in_the_works", "amber_green")
    assert rows["knives"]["stage"] == "legislating"
    assert rows["knives"]["verdict"] is None
    assert rows["youth-fund"]["confidence"] is None
    # Not yet past its target date of 2019-12-31 on that day.
    assert rows["acid"]["is_overdue"] is False


def test_a_single_measure_as_of_a_date_and_its_revalidation(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    then = anonymous.get(f"{URL}acid/", {"as_of": "2019-05-10"})
    now = anonymous.get(f"{URL}acid/")
    body = then.json()
    assert (body["stage"], body["stage_since"]) == ("legislating", "2018-06-20")
    assert (body["verdict"], body["confidence"]) == ("in_the_works", "amber_green")
    # Each date has its own validator, and each revalidates to 304 with it.
    assert then["ETag"] != now["ETag"]
    revalidated = anonymous.get(
        f"{URL}acid/", {"as_of": "2019-05-10"}, headers={"If-None-Match": then["ETag"]}
    )
    assert revalidated.status_code == 304
    assert revalidated["ETag"] == then["ETag"]
    assert anonymous.get(f"{URL}acid/", headers={"If-None-Match": then["ETag"]}).status_code == 200


def test_as_of_before_anything_happened(anonymous: APIClient, staged: StagedMeasures) -> None:
    rows = anonymous.get(URL, {"as_of": "2017-01-01"}).json()["results"]
    assert {(row["stage"], row["stage_since"], row["verdict"]) for row in rows} == {
        (None, None, None)
    }


def test_stage_filter_uses_the_stage_on_the_as_of_date(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    # Today acid is enacted and knives in force; on 2019-05-10 both were legislating.
    assert slugs(anonymous.get(URL, {"as_of": "2019-05-10", "stage": "legislating"})) == [
        "acid",
        "knives",
    ]
    assert slugs(anonymous.get(URL, {"as_of": "2019-05-10", "stage": "enacted"})) == []
    assert slugs(anonymous.get(URL, {"as_of": "2019-06-01", "stage": "enacted"})) == [
        "acid",
        "knives",
    ]
    assert slugs(anonymous.get(URL, {"as_of": "2019-06-01", "verdict": "kept"})) == []
    assert slugs(anonymous.get(URL, {"as_of": "2020-02-01", "confidence": "red"})) == ["youth-fund"]


def test_overdue_filter_uses_the_as_of_date(anonymous: APIClient, staged: StagedMeasures) -> None:
    assert slugs(anonymous.get(URL, {"as_of": "2019-06-01", "overdue": "true"})) == []
    assert slugs(anonymous.get(URL, {"as_of": "2020-06-01", "overdue": "true"})) == [
        "acid",
        "youth-fund",
    ]


def test_known_at_recalls_what_the_tracker_said_before_a_correction(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    known_at = staged.before_correction.isoformat()
    response = anonymous.get(f"{URL}acid/", {"as_of": "2019-05-10", "known_at": known_at})
    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["stage_since"]) == ("enacted", "2019-05-06")
    # Without known_at the correction applies: on 10 May the Bill was still legislating.
    assert anonymous.get(f"{URL}acid/", {"as_of": "2019-05-10"}).json()["stage"] == "legislating"
    # The knives measure had no event yet at that instant.
    listed = anonymous.get(URL, {"known_at": known_at, "stage": "enacted"})
    assert slugs(listed) == ["acid"]
    assert listed.json()["results"][0]["stage_since"] == "2019-05-06"


def test_known_at_before_any_event_shows_no_status(
    anonymous: APIClient, staged: StagedMeasures
) -> None:
    rows = anonymous.get(URL, {"known_at": "2000-01-01T00:00:00Z"}).json()["results"]
    assert [row["stage"] for row in rows] == [None] * 4


def test_known_at_accepts_a_date(anonymous: APIClient, staged: StagedMeasures) -> None:
    response = anonymous.get(f"{URL}acid/", {"known_at": "2000-01-01"})
    assert response.status_code == 200
    assert response.json()["stage"] is None


def test_time_travel_changes_the_etag(anonymous: APIClient, staged: StagedMeasures) -> None:
    today = anonymous.get(f"{URL}acid/")["ETag"]
    then = anonymous.get(f"{URL}acid/", {"as_of": "2019-05-10"})["ETag"]
    assert today != then


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("as_of", "2019-13-45"),
        ("as_of", "yesterday"),
        ("as_of", "2019-02-29"),
        ("known_at", "yesterday"),
        ("known_at", "2019-05-10T25:00:00Z"),
    ],
)
@pytest.mark.parametrize("path", ["", "acid/"])
def test_malformed_time_travel_is_a_parameter_error(
    anonymous: APIClient, staged: StagedMeasures, path: str, name: str, value: str
) -> None:
    assert_validation_problem(anonymous.get(f"{URL}{path}", {name: value}), parameter=name)


# Writes ----------------------------------------------------------------------------------


def test_create_a_measure(editor: APIClient, staged: StagedMeasures) -> None:
    response = editor.post(
        URL,
        {
            "slug": "county-lines",
            "strategy": "svs",
            "title": "Tackle county lines",
            "summary": "A national co-ordination centre.",
            "category": "Tackling county lines and misuse of drugs",
            "lead_organisation": "home-office",
            "instrument": "operational",
            "target_on": "2019-04-01",
        },
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert response["Location"] == "http://testserver/api/v1/measures/county-lines/"
    assert response["ETag"] == editor.get(response["Location"])["ETag"]
    assert data["strategy"] == {"slug": "svs", "title": staged.svs.title}
    assert (data["stage"], data["verdict"], data["confidence"], data["version"]) == (
        None,
        None,
        None,
        1,
    )
    assert data["is_overdue"] is True


def test_server_owned_fields_are_not_taken_from_a_create(
    editor: APIClient, staged: StagedMeasures
) -> None:
    response = editor.post(
        URL,
        {
            "slug": "county-lines",
            "strategy": "svs",
            "title": "Tackle county lines",
            "instrument": "operational",
            "id": 1,
            "version": 42,
            "stage": "completed",
            "stage_since": "2019-01-01",
            "verdict": "kept",
            "confidence": "green",
            "created_at": "2001-01-01T00:00:00Z",
            "updated_at": "2001-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 201, response.json()
    stored = Measure.objects.get(slug="county-lines")
    assert (stored.stage, stored.stage_since, stored.verdict, stored.confidence) == (
        None,
        None,
        None,
        None,
    )
    assert stored.version == 1
    assert stored.created_at.year > 2001
    assert stored.pk != 1 or Measure.objects.count() == 1


def test_create_with_an_existing_slug_is_refused(editor: APIClient, staged: StagedMeasures) -> None:
    response = editor.post(
        URL, {"slug": "acid", "strategy": "svs", "title": "Again", "instrument": "guidance"}
    )
    assert_validation_problem(response, pointer="#/slug")


def test_create_needs_a_known_strategy_and_instrument(
    editor: APIClient, staged: StagedMeasures
) -> None:
    response = editor.post(
        URL, {"slug": "new", "strategy": "nope", "title": "X", "instrument": "magic"}
    )
    problem = assert_validation_problem(response, pointer="#/strategy")
    assert "#/instrument" in [e["pointer"] for e in problem["errors"]]
    assert not Measure.objects.filter(slug="new").exists()


def test_patch_with_the_current_etag_updates_and_bumps_the_version(
    editor: APIClient, staged: StagedMeasures
) -> None:
    etag = editor.get(f"{URL}acid/")["ETag"]
    response = editor.patch(
        f"{URL}acid/", {"legal_vehicle": "Offensive Weapons Act 2019"}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["legal_vehicle"] == "Offensive Weapons Act 2019"
    assert response.json()["version"] == staged.acid.version + 1
    assert response["ETag"] != etag
    assert response["ETag"] == editor.get(f"{URL}acid/")["ETag"]


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(
    editor: APIClient, staged: StagedMeasures, record: Record
) -> None:
    stale = editor.get(f"{URL}acid/")["ETag"]
    record(staged.acid, "in_force", datetime.date(2022, 4, 6))
    response = editor.patch(f"{URL}acid/", {"title": "Changed"}, headers={"If-Match": stale})
    problem = assert_problem(response, 412)
    assert problem["type"].endswith("/stale-version/")
    assert Measure.objects.get(slug="acid").title == staged.acid.title


def test_put_with_a_stale_etag_is_412_and_changes_nothing(
    editor: APIClient, staged: StagedMeasures
) -> None:
    stale = editor.get(f"{URL}youth-fund/")["ETag"]
    assert editor.patch(f"{URL}youth-fund/", {"summary": "First edit."}).status_code == 200
    response = editor.put(
        f"{URL}youth-fund/",
        {
            "slug": "youth-fund",
            "strategy": "svs",
            "title": "Second edit",
            "instrument": "funding",
        },
        headers={"If-Match": stale},
    )
    assert_problem(response, 412)
    assert Measure.objects.get(slug="youth-fund").title == "Early Intervention Youth Fund"


def test_put_replaces_the_descriptive_fields(editor: APIClient, staged: StagedMeasures) -> None:
    response = editor.put(
        f"{URL}youth-fund/",
        {
            "slug": "youth-fund",
            "strategy": "svs",
            "title": "Early Intervention Youth Fund (£22m)",
            "summary": "",
            "instrument": "funding",
            "lead_organisation": None,
            "target_on": None,
        },
        headers={"If-Match": editor.get(f"{URL}youth-fund/")["ETag"]},
    )
    assert response.status_code == 200, response.json()
    stored = Measure.objects.get(slug="youth-fund")
    assert (stored.title, stored.lead_organisation, stored.target_on, stored.summary) == (
        "Early Intervention Youth Fund (£22m)",
        None,
        None,
        "",
    )
    assert stored.stage == "announced"


def test_server_owned_fields_are_not_taken_from_a_patch(
    editor: APIClient, staged: StagedMeasures
) -> None:
    response = editor.patch(
        f"{URL}youth-fund/",
        {
            "stage": "completed",
            "stage_since": "2019-01-01",
            "verdict": "kept",
            "confidence": "green",
            "version": 99,
            "id": 1,
            "created_at": "2001-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 200, response.json()
    stored = Measure.objects.get(slug="youth-fund")
    assert (stored.stage, stored.verdict, stored.confidence, stored.version) == (
        "announced",
        None,
        "red",
        staged.youth.version,
    )
    assert stored.pk == staged.youth.pk
    assert stored.created_at.year > 2001


def test_slug_cannot_be_changed(editor: APIClient, staged: StagedMeasures) -> None:
    assert_validation_problem(editor.patch(f"{URL}acid/", {"slug": "acid-2"}), pointer="#/slug")


def test_moving_a_measure_to_another_strategy(editor: APIClient, staged: StagedMeasures) -> None:
    response = editor.patch(f"{URL}youth-fund/", {"strategy": "other"})
    assert response.status_code == 200, response.json()
    assert Measure.objects.get(slug="youth-fund").strategy == staged.other


def test_a_measure_with_funding_cannot_move_to_another_strategy(
    editor: APIClient, staged: StagedMeasures
) -> None:
    """Its funding lines belong to its strategy: moving it alone would split them."""
    FundingLineFactory.create(strategy=staged.svs, measure=staged.youth)
    response = editor.patch(f"{URL}youth-fund/", {"strategy": "other"})
    assert_validation_problem(response, pointer="#/strategy")
    assert Measure.objects.get(slug="youth-fund").strategy == staged.svs
