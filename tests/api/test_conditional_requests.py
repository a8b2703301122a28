"""Conditional requests: ``ETag`` on every read, ``If-None-Match`` answered with 304, and
``If-Match`` on writes refused with 412 once the resource has changed."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.models import FundingLine, Measure, StatusEvent
from strategy.models import Organisation, Source, Strategy
from tests.api.conftest import API, assert_problem
from tests.factories import (
    MeasureFactory,
)
from tests.support import OneOfEachKind

pytestmark = pytest.mark.django_db


DETAILS: list[tuple[str, Callable[[OneOfEachKind], str]]] = [
    ("organisation", lambda o: f"{API}/organisations/home-office/"),
    ("strategy", lambda o: f"{API}/strategies/svs/"),
    ("source", lambda o: f"{API}/sources/{o.source.pk}/"),
    ("measure", lambda o: f"{API}/measures/acid/"),
    ("event", lambda o: f"{API}/measures/acid/events/{o.event.pk}/"),
    ("funding line", lambda o: f"{API}/funding-lines/{o.line.pk}/"),
]
LISTS: list[tuple[str, Callable[[OneOfEachKind], str]]] = [
    ("organisations", lambda o: f"{API}/organisations/"),
    ("strategies", lambda o: f"{API}/strategies/"),
    ("sources", lambda o: f"{API}/sources/"),
    ("measures", lambda o: f"{API}/measures/?as_of=2019-01-01"),
    ("events", lambda o: f"{API}/measures/acid/events/"),
    ("funding lines", lambda o: f"{API}/funding-lines/"),
    ("summary", lambda o: f"{API}/strategies/svs/summary/"),
    ("diff", lambda o: f"{API}/strategies/svs/diff/?from=2018-01-01&to=2019-01-01"),
]


@pytest.mark.parametrize(("name", "path"), DETAILS + LISTS, ids=[n for n, _ in DETAILS + LISTS])
def test_if_none_match_with_the_current_etag_is_304(
    anonymous: APIClient,
    one_of_each: OneOfEachKind,
    name: str,
    path: Callable[[OneOfEachKind], str],
) -> None:
    url = path(one_of_each)
    first = anonymous.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"')
    again = anonymous.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert anonymous.get(url, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert anonymous.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize(
    ("name", "path", "change"),
    [
        (
            "organisation",
            lambda o: f"{API}/organisations/home-office/",
            lambda o: Organisation.objects.filter(pk=o.organisation.pk).update(name="Renamed"),
        ),
        (
            "strategy, when a measure is added",
            lambda o: f"{API}/strategies/svs/",
            lambda o: MeasureFactory.create(strategy=o.strategy),
        ),
        (
            "measure, when an event is recorded",
            lambda o: f"{API}/measures/acid/",
            None,
        ),
        (
            "measure, when its strategy is renamed",
            lambda o: f"{API}/measures/acid/",
            lambda o: o.strategy.save(),
        ),
        (
            "measure, when its lead organisation is renamed",
            lambda o: f"{API}/measures/acid/",
            lambda o: o.organisation.save(),
        ),
        (
            "measure list",
            lambda o: f"{API}/measures/",
            lambda o: MeasureFactory.create(),
        ),
        (
            "funding line list",
            lambda o: f"{API}/funding-lines/",
            lambda o: FundingLine.objects.filter(pk=o.line.pk).update(notes="checked"),
        ),
    ],
)
def test_a_change_gives_a_new_etag(
    anonymous: APIClient,
    one_of_each: OneOfEachKind,
    record: Callable[..., StatusEvent],
    name: str,
    path: Callable[[OneOfEachKind], str],
    change: Callable[[OneOfEachKind], Any] | None,
) -> None:
    url = path(one_of_each)
    etag = anonymous.get(url)["ETag"]
    if change is None:
        record(one_of_each.measure, "legislating", datetime.date(2018, 6, 20))
    else:
        change(one_of_each)
    response = anonymous.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag


@dataclass(frozen=True)
class Edit:
    name: str
    path: Callable[[OneOfEachKind], str]
    body: dict[str, Any]
    read: Callable[[OneOfEachKind], Any]


EDITS = [
    Edit(
        "organisation",
        lambda o: f"{API}/organisations/home-office/",
        {"name": "Edited"},
        lambda o: Organisation.objects.get(pk=o.organisation.pk).name,
    ),
    Edit(
        "strategy",
        lambda o: f"{API}/strategies/svs/",
        {"title": "Edited"},
        lambda o: Strategy.objects.get(pk=o.strategy.pk).title,
    ),
    Edit(
        "source",
        lambda o: f"{API}/sources/{o.source.pk}/",
        {"title": "Edited"},
        lambda o: Source.objects.get(pk=o.source.pk).title,
    ),
    Edit(
        "measure",
        lambda o: f"{API}/measures/acid/",
        {"title": "Edited"},
        lambda o: Measure.objects.get(pk=o.measure.pk).title,
    ),
    Edit(
        "funding line",
        lambda o: f"{API}/funding-lines/{o.line.pk}/",
        {"title": "Edited"},
        lambda o: FundingLine.objects.get(pk=o.line.pk).title,
    ),
]


@pytest.mark.parametrize("edit", EDITS, ids=[e.name for e in EDITS])
def test_if_match_guards_every_edit(
    editor: APIClient, one_of_each: OneOfEachKind, edit: Edit
) -> None:
    url = edit.path(one_of_each)
    etag = editor.get(url)["ETag"]
    response = editor.patch(url, edit.body, headers={"If-Match": etag})
    assert response.status_code == 200, response.json()
    assert edit.read(one_of_each) == "Edited"
    assert response["ETag"] == editor.get(url)["ETag"]

    # The ETag read before the edit is stale now: a second writer holding it is refused.
    stale = editor.patch(url, {"title": "Lost", "name": "Lost"}, headers={"If-Match": etag})
    problem = assert_problem(stale, 412)
    assert problem["type"] == "/api/problems/stale-version/"
    assert edit.read(one_of_each) == "Edited"
    assert_problem(editor.put(url, {"title": "Lost"}, headers={"If-Match": etag}), 412)
    assert_problem(editor.patch(url, edit.body, headers={"If-Match": f"W/{etag}"}), 412)
    assert edit.read(one_of_each) == "Edited"

    # Any current tag in a list, or "*", lets the write through.
    current = editor.get(url)["ETag"]
    response = editor.patch(url, edit.body, headers={"If-Match": f'"old", {current}'})
    assert response.status_code == 200
    assert editor.patch(url, edit.body, headers={"If-Match": "*"}).status_code == 200


def test_a_measure_etag_goes_stale_when_an_event_is_recorded(
    editor: APIClient, one_of_each: OneOfEachKind, record: Callable[..., StatusEvent]
) -> None:
    etag = editor.get(f"{API}/measures/acid/")["ETag"]
    record(one_of_each.measure, "legislating", datetime.date(2018, 6, 20))
    assert_problem(
        editor.patch(f"{API}/measures/acid/", {"title": "Lost"}, headers={"If-Match": etag}), 412
    )
    assert Measure.objects.get(pk=one_of_each.measure.pk).title != "Lost"


def test_the_etag_of_a_create_is_the_etag_of_a_read(
    editor: APIClient, one_of_each: OneOfEachKind
) -> None:
    response = editor.post(
        f"{API}/funding-lines/",
        {
            "strategy": "svs",
            "title": "New",
            "amount": "1.00",
            "phase": "spent",
            "source": one_of_each.source.pk,
            "quote": "q",
        },
    )
    assert response.status_code == 201
    read = editor.get(response["Location"])
    assert read["ETag"] == response["ETag"]
    assert (
        editor.get(response["Location"], headers={"If-None-Match": response["ETag"]}).status_code
        == 304
    )
