"""Every list answers in a fixed number of SQL queries, however many rows it holds: the
counts are pinned with a few rows and with many (30 measures, each with events, several
citations, a correction and a funding line)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from legislation.models import Act, Bill, BillStage, Commencement, Provision
from legislation.services import commencement_set_provisions, measure_set_provisions, record_create
from measures.services import CitationInput
from tests.api.conftest import API
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
)
from tests.support import Record, recorder, shared_rows


def populate(count: int, record: Record) -> None:
    strategy = StrategyFactory.create(slug="svs")
    shared = SourceFactory.create()
    bill = record_create(
        Bill,
        fields={
            "slug": "owb",
            "title": "Offensive Weapons Bill",
            "session": "2017-19",
            "url": "https://bills.example/owb",
        },
    )
    for day, stage in (
        (datetime.date(2018, 6, 20), "first_reading"),
        (datetime.date(2018, 6, 27), "second_reading"),
    ):
        record_create(
            BillStage,
            fields={
                "bill": bill,
                "house": "commons",
                "stage": stage,
                "on": day,
                "source": SourceFactory.create(),
                "quote": "read",
            },
        )
    act = record_create(
        Act,
        fields={
            "slug": "owa",
            "title": "Offensive Weapons Act 2019",
            "citation": "2019 c. 17",
            "uri": "http://www.legislation.gov.uk/id/ukpga/2019/17",
            "bill": bill,
        },
    )
    for n in range(count):
        lead = OrganisationFactory.create()
        measure = MeasureFactory.create(slug=f"m-{n:02}", strategy=strategy, lead_organisation=lead)
        citations = [
            CitationInput(source=SourceFactory.create(), quote="quoted"),
            CitationInput(source=shared, locator="p. 2"),
        ]
        record(measure, "announced", datetime.date(2018, 4, 9), citations=citations)
        wrong = record(measure, "legislating", datetime.date(2018, 6, 2), citations=citations)
        record(measure, "legislating", datetime.date(2018, 6, 20), supersedes=wrong)
        record(measure, "in_the_works", datetime.date(2018, 6, 20), axis="verdict")
        FundingLineFactory.create(
            strategy=strategy,
            measure=measure,
            source=shared,
            funder=lead,
            recipient=OrganisationFactory.create(),
        )
        provision = record_create(
            Provision,
            fields={
                "slug": f"owa-s-{n}",
                "act": act,
                "reference": f"s. {n}",
                "title": "A section",
                "extent": ["england", "wales"],
            },
        )
        measure_set_provisions(measure, [provision])
        commencement = record_create(
            Commencement,
            fields={
                "slug": f"si-{n}",
                "act": act,
                "instrument": f"SI 2022/{n}",
                "instrument_title": "Commencement Regulations",
                "in_force_on": datetime.date(2022, 4, 6),
                "extent": ["england", "wales"],
                "source": SourceFactory.create(),
                "quote": "come into force",
            },
        )
        commencement_set_provisions(commencement, [provision])
        StrategyFactory.create(owner=lead)


# One query for the page. The events list first looks up the measure, then reads the page
# and prefetches the citations (with their sources) and the corrections. The summary
# reads the strategy, counts in one aggregate and reads the funding lines once (the money
# rule runs over them in Python); the diff reads the measures with
# both dates' status, then the events between them with citations and corrections.
LISTS = [
    (f"{API}/organisations/", 1),
    (f"{API}/strategies/", 1),
    (f"{API}/sources/", 1),
    (f"{API}/measures/", 1),
    (f"{API}/measures/?as_of=2018-12-31", 1),
    (f"{API}/measures/?known_at=2030-01-01T00:00:00Z&stage=legislating&q=promised", 1),
    (f"{API}/measures/?ordering=-updated_at&overdue=false", 1),
    (f"{API}/measures/m-00/events/", 4),
    (f"{API}/funding-lines/", 1),
    (f"{API}/bills/", 2),
    (f"{API}/provisions/", 2),
    (f"{API}/commencements/", 2),
    (f"{API}/measures/m-00/legislation/", 5),
    (f"{API}/strategies/svs/summary/", 3),
    (f"{API}/strategies/svs/summary/?as_of=2018-12-31", 3),
    (f"{API}/strategies/svs/diff/?from=2018-01-01&to=2019-01-01", 5),
    (f"{API}/measures/?format=csv", 1),
    (f"{API}/measures/?format=csv&as_of=2018-12-31", 1),
    (f"{API}/organisations/?format=csv", 1),
    (f"{API}/strategies/?format=csv", 1),
    (f"{API}/sources/?format=csv", 1),
    (f"{API}/funding-lines/?format=csv", 1),
    (f"{API}/measures/m-00/events/?format=csv", 4),
]


@pytest.fixture(scope="class", params=[3, 30])
def populated(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[int]:
    """``populate`` once for a class of tests that only read, with 3 or with 30 measures."""
    rows: int = request.param
    with shared_rows(django_db_blocker):
        populate(rows, recorder())
        yield rows


@pytest.mark.django_db
class TestReads:
    @pytest.mark.parametrize(("url", "queries"), LISTS)
    def test_list_query_count_does_not_grow_with_rows(
        self,
        anonymous: APIClient,
        django_assert_num_queries: DjangoAssertNumQueries,
        populated: int,
        url: str,
        queries: int,
    ) -> None:
        with django_assert_num_queries(queries):
            response = anonymous.get(url)
            # A CSV body is read from the database as it is written out.
            content = (
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
                if response.streaming
                else response.content
            )
        assert response.status_code == 200
        assert len(content) > 200  # rows were really read and written out

    def test_the_second_page_costs_what_the_first_does(
        self,
        anonymous: APIClient,
        django_assert_num_queries: DjangoAssertNumQueries,
        populated: int,
    ) -> None:
        first = anonymous.get(f"{API}/measures/", {"page_size": "2", "ordering": "title"}).json()
        with django_assert_num_queries(1):
            second = anonymous.get(first["next"])
        assert len(second.json()["results"]) == min(2, populated - 2)

    @pytest.mark.parametrize("populated", [3], indirect=True)
    def test_a_measure_read_is_one_query(
        self,
        anonymous: APIClient,
        django_assert_num_queries: DjangoAssertNumQueries,
        populated: int,
    ) -> None:
        with django_assert_num_queries(1):
            anonymous.get(f"{API}/measures/m-00/", {"as_of": "2018-12-31"})
        etag = anonymous.get(f"{API}/measures/m-00/")["ETag"]
        # The ETag is known before serializing: a 304 costs the one query that finds the row.
        with django_assert_num_queries(1):
            assert (
                anonymous.get(f"{API}/measures/m-00/", headers={"If-None-Match": etag}).status_code
                == 304
            )
        with CaptureQueriesContext(connection) as captured:
            anonymous.get(f"{API}/measures/m-00/events/")
        assert len(captured.captured_queries) == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rows", [3, 30])
def test_change_feed_query_count_does_not_grow_with_rows(
    anonymous: APIClient,
    record: Record,
    django_assert_num_queries: DjangoAssertNumQueries,
    rows: int,
) -> None:
    populate(rows, record)
    # Per measure: the measure itself (once, where it was last written), four events and
    # a funding line. The feed only shows finished transactions: wait until it has them.
    expected = rows * 6
    deadline = time.monotonic() + 60
    while len(anonymous.get(f"{API}/changes/", {"page_size": 500}).json()["items"]) < expected:
        assert time.monotonic() < deadline, "the feed never caught up"
        time.sleep(0.2)
    # The horizon, the page's positions (one statement over the three tables), then the
    # page's rows of each kind; events add their citations (with their sources) and their
    # corrections.
    with django_assert_num_queries(7):
        response = anonymous.get(f"{API}/changes/", {"page_size": 500})
    assert len(response.json()["items"]) == expected
