"""The strategy summary and the change feed are read through prepared statements, one per
shape of request (``config/api/prepared.py``), as the measure list and detail are
(``tests/api/test_prepared_reads.py``). Whether a shape is new, already prepared, or cannot
be prepared at all, the answer is the one the ORM gives for the request: the same status,
bytes and ``ETag``, for every strategy, date and place of the summary, and for every page of
the feed, from an instant or a cursor, in pages of any size, before and after new writes."""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle

from config.api.prepared import Aggregation, PreparedReads, Statement
from measures import feed, reports
from measures.models import ANYWHERE, FundingLine, Measure, Place, StatusEvent
from measures.seeding import load_seeds
from measures.serializers import ChangeFeedPageSerializer
from measures.views import REPORT_READS
from strategy.models import Strategy
from tests.api.conftest import API, ClientFor, assert_problem, assert_validation_problem
from tests.factories import FundingLineFactory, MeasureFactory, StrategyFactory
from tests.support import Record, recorder, shared_rows

ALL_READS = (reports.SUMMARY_READS, REPORT_READS, feed.FEED_READS)

Answer = tuple[int, bytes, str | None]


def clear() -> None:
    for reads in ALL_READS:
        reads.clear()


@contextlib.contextmanager
def unprepared(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside the block nothing is prepared: every read is built by the ORM."""
    with monkeypatch.context() as patch:
        patch.setattr(PreparedReads, "prepare", lambda self, *args, **kwargs: None)
        yield


@pytest.fixture(autouse=True)
def _unthrottled(monkeypatch: pytest.MonkeyPatch) -> None:
    """A walk of the feed in pages of one is more requests than a minute's allowance."""
    for scope in ("anon", "user"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, None)


REQUEST_ID = re.compile(rb'"request_id":"[^"]*"')


def answer(client: APIClient, url: str) -> Answer:
    """The status, body and ``ETag`` of a GET of ``url``; a problem's request id (and so its
    tag) differs from one request to the next, and is left out."""
    response = client.get(url)
    if REQUEST_ID.search(response.content):
        return response.status_code, REQUEST_ID.sub(b'"request_id":""', response.content), None
    return response.status_code, response.content, response.get("ETag")


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[Statement]:
    """Every statement run, in order."""
    statements: list[Statement] = []
    rows = Statement.rows

    def spy(self: Statement, values: Any) -> list[dict[str, Any]]:
        statements.append(self)
        return rows(self, values)

    monkeypatch.setattr(Statement, "rows", spy)
    return statements


def kept(*reads: PreparedReads) -> list[Statement | None]:
    return [statement for each in reads for statement in each._statements.values()]


def prepared_on_the_connection() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return {row[0] for row in cursor.fetchall()}


def as_prepared(sql: str) -> str:
    """``sql`` as psycopg prepares it: its ``%s`` numbered ``$1``, ``$2``..."""
    numbers = iter(range(1, 100_000))
    return re.sub("%s", lambda _: f"${next(numbers)}", sql).replace("%%", "%")


# The summary -------------------------------------------------------------------------------

SUMMARY_QUERIES = [
    "",
    "?as_of=2018-04-08",
    "?as_of=2018-04-09",
    "?as_of=2018-12-31",
    "?as_of=2019-06-30",
    "?as_of=2021-02-01",
    "?as_of=2022-04-06",
    "?as_of=2030-01-01",
    "?extent=scotland",
    "?extent=england",
    "?extent=scotland&as_of=2021-02-01",
    "?extent=england&as_of=2019-06-30",
    "?area=Metropolitan%20police%20district",
    "?area=METROPOLITAN%20Police%20District%20&as_of=2019-06-30",
    "?area=Nowhere%20in%20particular",
    "?area=50%25_off%5C&extent=wales",
    "?extent=england&area=Metropolitan%20police%20district&as_of=2022-04-06",
]

SUMMARY_ERRORS = [
    "?as_of=2019-13-45",
    "?as_of=",
    "?as_of=20190630",
    "?extent=atlantis",
    "?area=",
    "?area=" + "x" * 201,
    "?from=2019-01-01",
]


@pytest.fixture(scope="class")
def seeds_for_the_class(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The seed data and two more strategies, one with measures, events and money and one
    with nothing, for the summary's tests; rolled back after them (``shared_rows``), so that
    nothing is left uncommitted when the feed's tests commit theirs."""
    with shared_rows(django_db_blocker):
        load_seeds()
        record = recorder()
        other = StrategyFactory.create(slug="another-strategy")
        for target_on in (datetime.date(2019, 1, 1), datetime.date(2035, 1, 1), None):
            measure = MeasureFactory.create(strategy=other, target_on=target_on)
            record(measure, "announced", datetime.date(2018, 4, 9))
            record(measure, "legislating", datetime.date(2021, 1, 1), extent=["scotland"])
        envelope = FundingLineFactory.create(strategy=other, amount=Decimal("1000000"))
        FundingLineFactory.create(
            strategy=other, parent=envelope, amount=Decimal("250000"), phase="allocated"
        )
        StrategyFactory.create(slug="empty-strategy")
        yield


@pytest.fixture
def seeded(seeds_for_the_class: None, db: None) -> None:
    pass


def summary_urls(queries: list[str] = SUMMARY_QUERIES) -> list[str]:
    slugs = list(Strategy.objects.order_by("slug").values_list("slug", flat=True))
    assert slugs
    return [f"{API}/strategies/{slug}/summary/{query}" for slug in slugs for query in queries]


class TestSummary:
    def test_summaries_are_the_orms_whether_prepared_new_or_known(
        self, seeded: None, monkeypatch: pytest.MonkeyPatch, ran: list[Statement]
    ) -> None:
        client = APIClient()
        urls = summary_urls()
        clear()
        new = [answer(client, url) for url in urls]
        known = [answer(client, url) for url in urls]
        assert len(ran) == 3 * 2 * len(urls)  # the strategy, the counts, the funding lines
        with unprepared(monkeypatch):
            built = [answer(client, url) for url in urls]
        assert len(ran) == 3 * 2 * len(urls)
        assert new == known == built
        assert {status for status, _, _ in new} == {200}
        assert len({body for _, body, _ in new}) > len(urls) // 2  # the answers do differ
        assert all(etag for _, _, etag in new)
        statements = kept(reports.SUMMARY_READS, REPORT_READS)
        assert statements
        assert all(isinstance(statement, Statement) for statement in statements)

    def test_every_strategy_and_date_shares_a_shape(
        self, seeded: None, ran: list[Statement]
    ) -> None:
        """The strategy and a date are values of a statement: for every strategy, one finds
        the strategy, one reads its funding lines, one counts today and one counts on any
        date."""
        client = APIClient()
        clear()
        urls = summary_urls(["", "?as_of=2019-06-30", "?as_of=2021-02-01", "?as_of=2030-01-01"])
        for url in urls:
            assert client.get(url).status_code == 200
        assert len(kept(REPORT_READS)) == 1
        assert len(kept(reports.SUMMARY_READS)) == 3
        assert {statement.sql for statement in ran} == {
            statement.sql for statement in kept(REPORT_READS, reports.SUMMARY_READS) if statement
        }

    def test_a_known_summary_is_three_prepared_statements(self, seeded: None) -> None:
        client = APIClient()
        url = summary_urls(["?as_of=2019-06-30"])[0]
        clear()
        for _ in range(3):
            client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) == 3
        on_the_connection = prepared_on_the_connection()
        for statement in kept(REPORT_READS, reports.SUMMARY_READS):
            assert statement is not None
            assert statement.on_server
            assert as_prepared(statement.sql) in on_the_connection

    @pytest.mark.parametrize(
        ("as_of", "place"),
        [
            (None, ANYWHERE),
            (datetime.date(2019, 6, 30), ANYWHERE),
            (None, Place(extent="scotland")),
            (
                datetime.date(2021, 2, 1),
                Place(extent="england", area="Metropolitan police district"),
            ),
        ],
    )
    def test_the_counts_are_the_orms_own_aggregate(
        self, seeded: None, as_of: datetime.date | None, place: Place
    ) -> None:
        """The statement of the counts is the SQL ``aggregate()`` sends (shown with its values
        written in), and gives the same counts."""
        build = reports._status_counts(place)
        strategy = Strategy.objects.order_by("slug").first()
        assert strategy is not None
        values: dict[str, Any] = {"strategy": strategy.pk}
        if as_of is not None:
            values["as_of"] = as_of
        aggregation = build(values)
        assert isinstance(aggregation, Aggregation)
        with CaptureQueriesContext(connection) as by_the_orm:
            plain = aggregation.run()
        statement = PreparedReads().prepare("counts", build, values)
        assert statement is not None
        with CaptureQueriesContext(connection) as by_the_statement:
            assert statement.rows(values) == [plain]
        assert [q["sql"] for q in by_the_statement] == [q["sql"] for q in by_the_orm]
        assert plain["measure_count"] > 0

    def test_today_is_part_of_the_summarys_shape(
        self, seeded: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A statement of today's counts is not used on another day: the day decides the status
        (the cache expires, scheduled events take effect) and what is overdue."""
        client = APIClient()
        strategy = Strategy.objects.order_by("slug").first()
        MeasureFactory.create(strategy=strategy, target_on=datetime.date(2035, 1, 1))
        urls = summary_urls(["", "?extent=england", "?as_of=2019-06-30"])
        clear()
        today = [answer(client, url) for url in urls]
        monkeypatch.setattr(
            timezone, "localdate", lambda *args, **kwargs: datetime.date(2041, 1, 1)
        )
        later = [answer(client, url) for url in urls]
        with unprepared(monkeypatch):
            built_later = [answer(client, url) for url in urls]
        assert later == built_later
        assert later[0] != today[0]  # targets have passed since: more measures are overdue
        assert later[-1] == today[-1]  # a date asked for is the same on any day

    def test_summary_errors_are_the_same_on_a_known_shape(self, seeded: None) -> None:
        client = APIClient()
        url = summary_urls([""])[0]
        clear()
        for _ in range(2):
            for query in SUMMARY_QUERIES[:3]:
                assert client.get(url + query).status_code == 200
            for query in SUMMARY_ERRORS:
                assert_validation_problem(client.get(url + query))
            for query in ("", "?as_of=2019-06-30", "?as_of=2019-13-45", "?extent=atlantis"):
                # The strategy is looked up first: an unknown one is 404, whatever else is asked.
                problem = assert_problem(
                    client.get(f"{API}/strategies/none-such/summary/{query}"), 404
                )
                assert problem["detail"] == "No Strategy matches the given query."

    def test_a_summary_counts_new_rows_from_the_same_statements(
        self, seeded: None, monkeypatch: pytest.MonkeyPatch, record: Record
    ) -> None:
        client = APIClient()
        strategy = Strategy.objects.order_by("slug").first()
        assert strategy is not None
        url = f"{API}/strategies/{strategy.slug}/summary/"
        clear()
        before = client.get(url).json()
        measure = MeasureFactory.create(strategy=strategy, target_on=datetime.date(2019, 1, 1))
        record(measure, "announced", datetime.date(2018, 4, 9))
        FundingLineFactory.create(strategy=strategy, amount=Decimal("123.45"), currency="EUR")
        after = answer(client, url)
        with unprepared(monkeypatch):
            assert answer(client, url) == after
        data = json.loads(after[1])
        assert data["measure_count"] == before["measure_count"] + 1
        assert data["overdue_count"] == before["overdue_count"] + 1
        assert data["by_stage"]["announced"] == before["by_stage"]["announced"] + 1
        assert "EUR" in {row["currency"] for row in data["funding"]["by_phase"]}
        assert not any(statement is None for statement in kept(reports.SUMMARY_READS))


# The change feed ---------------------------------------------------------------------------

CHANGES = f"{API}/changes/"
PAGE_SIZES = [1, 2, 3, 7, 50, None, 500]
REAL_HORIZON = feed.horizon


def wait_for_the_feed() -> int:
    """The horizon, once every row written so far is below it (other test runs on the
    server may hold it back for a moment, see tests/api/test_changes.py)."""
    written = max(
        model.objects.order_by("-change_xid").values_list("change_xid", flat=True).first() or 0
        for model in (Measure, StatusEvent, FundingLine)
    )
    deadline = time.monotonic() + 60
    while (done_below := REAL_HORIZON()) <= written:
        assert time.monotonic() < deadline, "the feed never caught up"
        time.sleep(0.1)
    return done_below


@pytest.fixture
def hold_the_horizon(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Holds the horizon at a real one with every row written so far below it: the last
    page's cursor holds it, and other transactions on the server would move it between
    two walks of the feed."""

    def hold() -> int:
        done_below = wait_for_the_feed()
        monkeypatch.setattr(feed, "horizon", lambda: done_below)
        return done_below

    return hold


@pytest.fixture
def committed_seeds(transactional_db: None, hold_the_horizon: Any) -> int:
    """The seed data, committed (the feed only shows finished transactions); the number of
    rows the feed holds."""
    load_seeds()
    hold_the_horizon()
    return Measure.objects.count() + StatusEvent.objects.count() + FundingLine.objects.count()


def feed_url(params: dict[str, Any]) -> str:
    given = {name: value for name, value in params.items() if value is not None}
    return f"{CHANGES}?{urlencode(given)}" if given else CHANGES


def next_cursor(body: bytes) -> str:
    cursor: str = json.loads(body)["next_cursor"]
    return cursor


# Pages of one change are walked this far, not to the end (a request a row).
ONE_BY_ONE_PAGES = 60


def most_pages(params: dict[str, Any]) -> int | None:
    return ONE_BY_ONE_PAGES if params.get("page_size") == 1 else None


def walk(client: APIClient, params: dict[str, Any], *, most: int | None = None) -> list[Answer]:
    """Every page from ``params``, following ``next_cursor`` while more changes wait (or
    the first ``most``)."""
    answers = [answer(client, feed_url(params))]
    while answers[-1][0] == 200 and json.loads(answers[-1][1])["has_more"]:
        if most is not None and len(answers) == most:
            break
        params = {**params, "since": None, "cursor": next_cursor(answers[-1][1])}
        answers.append(answer(client, feed_url(params)))
        assert len(answers) <= 1000
    return answers


def items(answers: list[Answer]) -> list[tuple[str, Any]]:
    """The (kind, slug or id) of every item of the pages, in order."""
    found = []
    for _, body, _ in answers:
        for item in json.loads(body)["items"]:
            kind = item["kind"]
            found.append((kind, item[kind]["slug"] if kind == "measure" else item[kind]["id"]))
    return found


def starts() -> list[dict[str, Any]]:
    """Where walks start: the beginning, instants before, among and after the rows, with
    pages of every size. Small pages (a request for every row or few) only from the
    beginning and, but for pages of one, from among the rows: from before the rows they
    would walk the beginning's pages again."""
    recorded = sorted(StatusEvent.objects.values_list("recorded_at", flat=True))
    middle = recorded[len(recorded) // 2].astimezone(datetime.UTC).isoformat()
    among = middle.replace("+00:00", "Z")
    instants = [None, "2018-01-01", among, "2100-01-01T00:00:00Z"]

    def walked(since: str | None, size: int | None) -> bool:
        if size is None or size >= 7 or since is None:
            return True
        return since == among and size != 1

    return [
        {"since": since, "page_size": size}
        for since in instants
        for size in PAGE_SIZES
        if walked(since, size)
    ]


def test_feed_pages_are_the_orms_whether_prepared_new_or_known(
    committed_seeds: int, monkeypatch: pytest.MonkeyPatch, ran: list[Statement]
) -> None:
    client = APIClient()
    walks = starts()
    clear()
    new = [walk(client, params, most=most_pages(params)) for params in walks]
    # Walks resumed from the cursors of another page size.
    # Pages of two from the start.
    cursors = [next_cursor(body) for _, body, _ in new[PAGE_SIZES.index(2)]]
    resumed = [{"cursor": cursor, "page_size": size} for cursor in cursors[::15] for size in (3, 7)]
    new += [walk(client, params) for params in resumed]
    walks += resumed
    runs = len(ran)
    known = [walk(client, params, most=most_pages(params)) for params in walks]
    assert len(ran) > runs  # known shapes ran their statements
    with unprepared(monkeypatch):
        built = [walk(client, params, most=most_pages(params)) for params in walks]
    assert new == known == built
    assert all(status == 200 for pages in new for status, _, _ in pages)
    everything = items(new[PAGE_SIZES.index(None)])
    assert len(everything) == committed_seeds
    assert {kind for kind, _ in everything} == {"measure", "status_event", "funding_line"}
    for size, pages in zip(PAGE_SIZES, new, strict=False):  # every page size from the start
        if size != 1:
            assert items(pages) == everything
    one_by_one = new[PAGE_SIZES.index(1)]  # one change a page
    assert len(one_by_one) == ONE_BY_ONE_PAGES < committed_seeds
    assert items(one_by_one) == everything[:ONE_BY_ONE_PAGES]
    after_2100 = walks.index({"since": "2100-01-01T00:00:00Z", "page_size": None})
    assert items(new[after_2100]) == []
    # Every shape was prepared: the positions, compiled once (a UNION, bound on the
    # client), and the measures, bound on the server.
    statements = kept(feed.FEED_READS)
    assert statements
    assert all(isinstance(statement, Statement) for statement in statements)
    assert {statement.on_server for statement in statements if statement} == {True, False}


def test_feed_pages_are_what_the_serializer_writes_of_the_instances(
    committed_seeds: int,
) -> None:
    """A page's measures are rows, written as ``MeasureSerializer`` writes the instances:
    the page is, byte for byte, ``ChangeFeedPageSerializer`` of the page with every
    measure loaded as an instance, as the feed loaded it before."""
    client = APIClient()
    for size in (3, 100, 500):
        params: dict[str, Any] = {"page_size": size}
        for _ in range(100):
            response = client.get(feed_url(params))
            page = feed.read(since=None, cursor=_cursor(params), limit=size)
            ids = [item["measure"]["id"] for item in page["items"] if item["measure"]]
            instances = feed.KINDS[0].queryset().in_bulk(ids)
            for item in page["items"]:
                if item["measure"] is not None:
                    item["measure"] = instances[item["measure"]["id"]]
            request = Request(APIRequestFactory().get(feed_url(params)))
            context = {"request": request, "format": None, "view": None}
            written = ChangeFeedPageSerializer(page, context=context).data
            assert response.content == JSONRenderer().render(written)
            if not page["has_more"]:
                break
            params = {"page_size": size, "cursor": page["next_cursor"]}


def _cursor(params: dict[str, Any]) -> feed.Cursor | None:
    return feed.Cursor.decode(params["cursor"]) if "cursor" in params else None


def test_feed_resumes_after_new_writes_the_same_way(
    committed_seeds: int,
    hold_the_horizon: Any,
    monkeypatch: pytest.MonkeyPatch,
    record: Record,
) -> None:
    client = APIClient()
    clear()
    ends: list[str] = []
    for size in (1, 4, None):
        pages = walk(client, {"page_size": size})
        ends.append(next_cursor(pages[-1][1]))
    measure = Measure.objects.order_by("slug").first()
    assert measure is not None
    event = record(measure, "broken", timezone.localdate(), axis="verdict")
    line = FundingLine.objects.order_by("id").first()
    assert line is not None
    FundingLine.objects.filter(pk=line.pk).update(notes="checked again")
    added = MeasureFactory.create(strategy=measure.strategy)
    hold_the_horizon()
    resumed = [{"cursor": end, "page_size": size} for end in ends for size in (1, 2, None)]
    known = [walk(client, params) for params in resumed]
    clear()
    new = [walk(client, params) for params in resumed]
    with unprepared(monkeypatch):
        built = [walk(client, params) for params in resumed]
    assert new == known == built
    for pages in known:
        assert set(items(pages)) == {
            ("measure", measure.slug),
            ("status_event", event.pk),
            ("funding_line", line.pk),
            ("measure", added.slug),
        }
    shown = [
        item["measure"]
        for _, body, _ in known[0]
        for item in json.loads(body)["items"]
        if item["kind"] == "measure" and item["measure"]["slug"] == measure.slug
    ]
    assert shown[0]["verdict"] == "broken"


def test_today_is_part_of_the_feeds_shape(
    committed_seeds: int, hold_the_horizon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A measure's status and whether it is overdue are today's: a page prepared today is
    not answered on another day with today's statement."""
    client = APIClient()
    MeasureFactory.create(
        strategy=Strategy.objects.order_by("slug").first(), target_on=datetime.date(2035, 1, 1)
    )
    hold_the_horizon()
    clear()
    today = walk(client, {"page_size": 50})
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: datetime.date(2041, 1, 1))
    later = walk(client, {"page_size": 50})
    with unprepared(monkeypatch):
        built_later = walk(client, {"page_size": 50})
    assert later == built_later
    assert later != today


def test_a_client_with_a_token_reads_the_same_pages(
    committed_seeds: int, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client with a token is served through the whole middleware chain, whose audit
    context puts a statement of its own before any statement that does not begin with
    SELECT (the positions' UNION, then bound on the client): the pages are the anonymous
    client's, prepared or not."""
    signed = client_for()
    anonymous = APIClient()
    walks = [{"page_size": size} for size in (3, None)]
    urls = summary_urls(["", "?as_of=2019-06-30&extent=england"])
    clear()
    first = [walk(signed, params) for params in walks], [answer(signed, url) for url in urls]
    again = [walk(signed, params) for params in walks], [answer(signed, url) for url in urls]
    public = [walk(anonymous, params) for params in walks], [answer(anonymous, url) for url in urls]
    with unprepared(monkeypatch):
        built = [walk(signed, params) for params in walks], [answer(signed, url) for url in urls]
    assert first == again == public == built
    assert len(items(first[0][0])) == committed_seeds


def encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Each with its status and, for a page, how many items it holds (None: not checked; ALL:
# the whole feed, up to a page of 500).
ALL = -1
FEED_ODDITIES: list[tuple[dict[str, str], int, int | None]] = [
    ({"page_size": "0"}, 400, None),
    ({"page_size": "abc"}, 400, None),
    ({"page_size": "-1"}, 400, None),
    ({"page_size": "9" * 5000}, 200, ALL),
    ({"page_size": str(10**9)}, 200, ALL),
    ({"cursor": "not a cursor"}, 400, None),
    ({"cursor": "A" * 101}, 400, None),
    ({"cursor": encode("1.2")}, 404, None),
    ({"cursor": encode("1.10.0")}, 404, None),
    ({"cursor": encode(f"{2**64}.0.0")}, 404, None),
    ({"since": "yesterday"}, 400, None),
    ({"since": "2100-01-01"}, 200, 0),
    ({"since": "0000-01-01T00:00:00Z", "page_size": "500"}, 200, ALL),
    ({"since": "9999-12-31T23:59:60Z"}, 200, 0),
    ({"after": "x"}, 400, None),
    # The end of the range: nothing comes after a transaction beyond a bigint.
    ({"cursor": encode(f"{2**63}.9.{2**62}")}, 200, 0),
    ({"cursor": encode(f"{2**63}.1.5")}, 200, 0),
    ({"cursor": encode(f"{2**63}.0.{2**62}"), "page_size": "3"}, 200, 0),
    ({"cursor": encode(f"{2**63 - 1}.2.{2**62}")}, 200, 0),
    ({"cursor": encode("0.0.0"), "page_size": "5"}, 200, 5),
    ({"cursor": encode("0.9.0"), "page_size": "5"}, 200, 5),
]


def test_feed_errors_and_bounds_are_the_same_on_a_known_shape(
    committed_seeds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = APIClient()
    urls = [feed_url(params) for params, _, _ in FEED_ODDITIES]
    clear()
    new = [answer(client, url) for url in urls]
    known = [answer(client, url) for url in urls]
    with unprepared(monkeypatch):
        built = [answer(client, url) for url in urls]
    assert new == known == built
    assert [status for status, _, _ in new] == [status for _, status, _ in FEED_ODDITIES]
    for (_, _, count), (_, body, _) in zip(FEED_ODDITIES, new, strict=True):
        if count is not None:
            expected = min(committed_seeds, 500) if count == ALL else count
            assert len(json.loads(body)["items"]) == expected


def test_the_horizon_is_the_snapshots(transactional_db: None) -> None:
    """Read through a prepared statement, the horizon is the current snapshot's xmin."""
    first = REAL_HORIZON()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        (between,) = cursor.fetchone()
    assert first <= between <= REAL_HORIZON()
