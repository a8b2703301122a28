"""The site's pages read a strategy's or a measure's record in a number of queries that does
not grow with its measures, events or funding lines."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from measures.models import Measure
from strategy.models import Strategy
from tests.factories import FundingLineFactory, MeasureFactory, StrategyFactory
from tests.support import Record

pytestmark = pytest.mark.django_db

DAYS = (datetime.date(2018, 4, 9), datetime.date(2019, 5, 16))


def add_measures(strategy: Strategy, record: Record, count: int) -> Measure:
    measure = None
    for _ in range(count):
        measure = MeasureFactory.create(strategy=strategy)
        record(measure, "announced", DAYS[0])
        record(measure, "legislating", DAYS[1])
        record(measure, "kept", DAYS[1], axis="verdict")
        FundingLineFactory.create(strategy=strategy, measure=measure, announced_on=DAYS[0])
    assert measure is not None
    return measure


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("as_of", ["", "?as_of=2019-01-01"])
def test_the_pages_make_as_many_queries_for_many_measures_as_for_one(
    client: Client, record: Record, as_of: str
) -> None:
    strategy = StrategyFactory.create(slug="svs")
    measure = add_measures(strategy, record, 1)
    urls = [
        f"/{as_of}",
        f"/strategies/svs/{as_of}",
        f"/measures/{measure.slug}/{as_of}",
        f"/strategies/svs/changes/?from=2018-01-01&to=2020-01-01&all=1{as_of.replace('?', '&')}",
        f"/search/?q=measure{as_of.replace('?', '&')}",
        "/strategies/svs/feed.atom",
        f"/measures/{measure.slug}/feed.atom",
    ]
    few = {url: queries(client, url) for url in urls}
    add_measures(strategy, record, 6)
    many = {url: queries(client, url) for url in urls}
    assert many == few
