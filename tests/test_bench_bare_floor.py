"""The benchmark's bare floor (``bench/bare.py``), a WSGI application with no Django, answers
the reads the benchmark makes with the same bytes as the product: the same status, body,
``Content-Type`` and ``ETag``. The floor runs in process on its own psycopg connection, so
the rows it reads are committed (a transactional test)."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg.conninfo import make_conninfo
from rest_framework.test import APIClient

from bench import bare
from bench.bare import BareApplication, ask
from config.api.pagination import MAX_PAGE_SIZE, TrackerCursorPagination
from measures import search
from measures.choices import FINISHED_STAGES, Confidence, FundingPhase, Stage, Verdict
from measures.models import FundingLine, Measure, StatusEvent
from measures.services import status_event_retract
from strategy.models import Strategy
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
    UserFactory,
)
from tests.support import Record

# The floor reads through a connection of its own: the rows must be committed.
committed = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(__file__).resolve().parent.parent
MEASURES = "/api/v1/measures/"
CHANGES = "/api/v1/changes/"
# More measures than a page, so that the list has a next page.
FILLER = 55


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    etag: str | None
    body: bytes


@dataclass(frozen=True)
class Tracker:
    """The rows the reads are about."""

    strategy: Strategy
    other_strategy: Strategy
    acid: Measure


@pytest.fixture
def bare_app() -> Iterator[BareApplication]:
    """The bare floor on the test database, through a connection of its own."""
    settings = connection.settings_dict
    conninfo = make_conninfo(
        dbname=settings["NAME"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
    )
    application = BareApplication(conninfo)
    yield application
    application.close()


@pytest.fixture
def tracker(record: Record) -> Tracker:
    """Two strategies; measures with stage, verdict and confidence events, a correction, a
    retraction, a measure led by nobody, one whose cached status has expired, text that JSON
    must escape; funding lines drawn from an envelope and attached to a measure."""
    home_office = OrganisationFactory.create(slug="home-office", name="Home Office")
    police = OrganisationFactory.create(slug="police", name="Police forces")
    strategy = StrategyFactory.create(slug="svs", title="Serious Violence Strategy")
    other = StrategyFactory.create(slug="drugs", title="Drugs “Strategy”")
    researcher = UserFactory.create(username="researcher")
    acid = MeasureFactory.create(
        slug="acid",
        strategy=strategy,
        title="Ban the sale of corrosive substances to under-18s",
        summary="Acid attacks \u2028 a line separator, “quotes” and £.",
        lead_organisation=home_office,
        target_on=datetime.date(2019, 12, 31),
        legal_vehicle="Offensive Weapons Act 2019",
    )
    # An instant in British Summer Time, which the JSON writes with its offset.
    Measure.objects.filter(pk=acid.pk).update(
        created_at=datetime.datetime(2019, 7, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)
    )
    knives = MeasureFactory.create(
        slug="knives",
        strategy=strategy,
        title="Knife crime prevention orders",
        summary="Orders for young people carrying knives.",
        lead_organisation=None,
        target_on=datetime.date(2030, 1, 1),
    )
    gangs = MeasureFactory.create(
        slug="gangs",
        strategy=other,
        title="County lines programme",
        summary="Tackle gang exploitation of youth along county lines.",
        lead_organisation=police,
        target_on=datetime.date(2020, 3, 31),
    )
    record(acid, "announced", datetime.date(2018, 4, 9), recorded_by=researcher)
    wrong = record(acid, "legislating", datetime.date(2018, 6, 20))
    record(acid, "legislating", datetime.date(2018, 6, 21), supersedes=wrong)
    record(acid, "in_the_works", datetime.date(2018, 7, 1), axis="verdict")
    record(acid, "amber", datetime.date(2018, 7, 2), axis="confidence")
    record(knives, "announced", datetime.date(2018, 4, 9), extent=["england", "wales"])
    record(knives, "implementing", datetime.date(2021, 5, 1))
    mistaken = record(knives, "kept", datetime.date(2021, 6, 1), axis="verdict")
    status_event_retract(event=mistaken, rationale="Another measure's verdict.")
    record(gangs, "announced", datetime.date(2019, 1, 10))
    record(gangs, "implementing", datetime.date(2020, 1, 10))
    record(gangs, "completed", datetime.date(2021, 1, 10))
    # A cache that no longer holds: the status is read from the history.
    Measure.objects.filter(pk=gangs.pk).update(
        stage="stalled", status_valid_until=timezone.localdate()
    )
    for number in range(FILLER):
        MeasureFactory.create(
            slug=f"filler-{number:02}",
            strategy=strategy,
            title=f"Youth outreach project {number}",
            lead_organisation=police if number % 3 else None,
        )
    source = SourceFactory.create()
    envelope = FundingLineFactory.create(
        strategy=strategy,
        amount=Decimal("10000000.00"),
        announced_on=datetime.date(2018, 4, 9),
        source=source,
        funder=home_office,
    )
    FundingLineFactory.create(
        strategy=strategy,
        measure=acid,
        parent=envelope,
        amount=Decimal("2500000.50"),
        phase=FundingPhase.ANNOUNCED,
        announced_on=datetime.date(2019, 2, 1),
        recipient=police,
        is_ceiling=True,
        source=source,
    )
    FundingLineFactory.create(
        strategy=strategy,
        measure=knives,
        amount=Decimal("750000.00"),
        phase=FundingPhase.SPENT,
        period_start=datetime.date(2020, 4, 1),
        period_end=datetime.date(2021, 3, 31),
        source=source,
    )
    return Tracker(strategy, other, acid)


def product(path: str, headers: dict[str, str] | None = None) -> Answer:
    response: Any = APIClient().get(path, headers=headers or {})
    return Answer(
        response.status_code, response.get("Content-Type"), response.get("ETag"), response.content
    )


def bare_answer(
    application: BareApplication, path: str, headers: dict[str, str] | None = None
) -> Answer:
    """The floor's answer at the host Django's test client names (``testserver``)."""
    status, found, body = ask(application, path, {"Host": "testserver", **(headers or {})})
    return Answer(status, found.get("Content-Type"), found.get("ETag"), body)


def same(application: BareApplication, path: str, headers: dict[str, str] | None = None) -> Answer:
    """Asserts that the floor answers ``path`` as the product does; returns the answer."""
    expected = product(path, headers)
    assert expected.status in (200, 304), expected
    assert bare_answer(application, path, headers) == expected
    return expected


def relative(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def test_the_rules_the_floor_repeats_are_the_products() -> None:
    """The floor must not share the product's code, so it repeats its settings, status
    values and search rules: these are the product's."""
    assert bare.TIME_ZONE.key == settings.TIME_ZONE
    assert TrackerCursorPagination.page_size == bare.PAGE_SIZE
    assert bare.MAX_PAGE_SIZE == MAX_PAGE_SIZE
    assert tuple(Stage.values) == bare.STAGES
    assert tuple(Verdict.values) == bare.VERDICTS
    assert tuple(Confidence.values) == bare.CONFIDENCES
    assert set(bare.FINISHED_STAGES) == set(FINISHED_STAGES)
    assert tuple(FundingPhase.values) == bare.FUNDING_PHASES
    assert bare.IRREGULAR_PLURALS == search.IRREGULAR_PLURALS
    assert (bare.TOKEN.pattern, bare.WORD.pattern) == (search.TOKEN.pattern, search.WORD.pattern)
    assert (
        bare.SEARCH_MAX_LENGTH,
        bare.TYPO_MIN_LENGTH,
        bare.TYPO_MAX_LENGTH,
        bare.TYPO_KEPT_START,
        float(bare.TITLE_LIKENESS_WEIGHT),
    ) == (
        search.MAX_LENGTH,
        search.TYPO_MIN_LENGTH,
        search.TYPO_MAX_LENGTH,
        search.TYPO_KEPT_START,
        search.TITLE_LIKENESS_WEIGHT,
    )


def test_the_bare_floor_imports_no_django() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bench.bare; print(sorted(m for m in sys.modules if m == 'django' "
            "or m.startswith(('django.', 'rest_framework'))))",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "[]"


@committed
def test_the_lists_are_the_products_bytes(bare_app: BareApplication, tracker: Tracker) -> None:
    first = json.loads(same(bare_app, MEASURES).body)
    assert first["next"] is not None
    second = json.loads(same(bare_app, relative(first["next"])).body)
    assert second["previous"] is not None
    same(bare_app, relative(second["previous"]))
    for query in (
        {"stage": "legislating", "strategy": tracker.strategy.slug},
        {"stage": "completed", "strategy": tracker.other_strategy.slug},
        {"as_of": "2021-06-30"},
        {"as_of": "2018-05-01", "stage": "announced"},
    ):
        same(bare_app, f"{MEASURES}?{urlencode(query)}")
    found = 0
    for q in (
        "knife",
        "youth",
        "gang",
        "exploitation",
        "county lines",
        "knives",
        "corrosve",
        "kni",
        '"county lines"',
        "knife OR gang",
        "youth -outreach",
        "the",
    ):
        found += len(
            json.loads(same(bare_app, f"{MEASURES}?{urlencode({'q': q})}").body)["results"]
        )
    assert found > FILLER


@committed
def test_the_detail_and_its_304_are_the_products(
    bare_app: BareApplication, tracker: Tracker
) -> None:
    for slug in ("acid", "knives", "gangs", "filler-01"):
        detail = same(bare_app, f"{MEASURES}{slug}/")
        assert detail.etag is not None
        assert detail.etag.startswith('"v')
        not_modified = same(bare_app, f"{MEASURES}{slug}/", {"If-None-Match": detail.etag})
        assert not_modified.status == 304
        assert not_modified.etag == detail.etag
        assert same(bare_app, f"{MEASURES}{slug}/", {"If-None-Match": '"v0-stale"'}).status == 200
    assert bare_answer(bare_app, f"{MEASURES}no-such-measure/").status == 404


@committed
def test_the_strategy_summary_is_the_products(bare_app: BareApplication, tracker: Tracker) -> None:
    for slug in (tracker.strategy.slug, tracker.other_strategy.slug):
        same(bare_app, f"/api/v1/strategies/{slug}/summary/")
        same(bare_app, f"/api/v1/strategies/{slug}/summary/?as_of=2020-06-30")
    summary = json.loads(
        same(bare_app, f"/api/v1/strategies/{tracker.strategy.slug}/summary/").body
    )
    assert summary["measure_count"] == 2 + FILLER
    assert summary["funding"]["by_phase"]
    assert bare_answer(bare_app, "/api/v1/strategies/no-such-strategy/summary/").status == 404


def feed_page(application: BareApplication, path: str) -> dict[str, Any]:
    """Asserts that the floor answers a page of the feed as the product does. The last
    page's cursor holds the horizon (the oldest transaction still running), which other
    test runs on the server move: the floor's answer is the product's just before or just
    after it."""
    for _ in range(5):
        before = product(path)
        found = bare_answer(application, path)
        if found in (before, product(path)):
            assert found.status == 200
            page: dict[str, Any] = json.loads(found.body)
            return page
    pytest.fail(f"{path}: the floor answered {found} where the product answered {before}")


def wait_for_the_feed(count: int) -> None:
    """Until the feed shows ``count`` changes (other transactions on the server may hold
    the horizon back for a moment, see tests/api/test_changes.py)."""
    deadline = time.monotonic() + 60
    while len(json.loads(product(f"{CHANGES}?page_size=500").body)["items"]) < count:
        assert time.monotonic() < deadline, "the feed did not show the changes"
        time.sleep(0.2)


@committed
def test_the_change_feed_is_the_products(bare_app: BareApplication, tracker: Tracker) -> None:
    """Every page of the feed, followed by its cursor, and the pages from two instants."""
    wait_for_the_feed(
        Measure.objects.count() + StatusEvent.objects.count() + FundingLine.objects.count()
    )
    kinds: set[str] = set()
    path = f"{CHANGES}?page_size=7"
    for _ in range(100):
        page = feed_page(bare_app, path)
        kinds.update(item["kind"] for item in page["items"])
        if not page["has_more"]:
            break
        path = f"{CHANGES}?" + urlencode({"cursor": page["next_cursor"], "page_size": 7})
    assert kinds == {"measure", "status_event", "funding_line"}
    since = (tracker.acid.created_at - datetime.timedelta(seconds=1)).isoformat()
    assert feed_page(bare_app, f"{CHANGES}?" + urlencode({"since": since}))["items"]
    feed_page(bare_app, f"{CHANGES}?" + urlencode({"since": "2018-01-01"}))
