"""The researcher's spreadsheet import, timed through the admin as a researcher uses it:

    python -m bench.import_rate --rows 10000
    python -m bench.import_rate --rows 10000 --database-url postgres://postgres@127.0.0.1:5432/

1. creates a scratch database (``importbench_<pid>``) on the server of ``--database-url``
   (or of ``DATABASE_URL``), migrates it, and adds what the rows name: strategies,
   organisations, sources, and a researcher (the ``researchers`` role);
2. writes three CSV files of ``--rows`` rows each: measures, status events (four per
   measure, on the measures just imported, with a quoted citation each) and funding lines;
3. for each file, signed in as the researcher with Django's test client (the whole admin
   stack: middleware, the audit context, the views, the templates), uploads it to the
   admin's import page (the preview: every row checked, nothing kept), then confirms it
   (the import: every row written in one transaction), and counts the SQL statements of
   each step with an execute wrapper;
4. prints rows/s and SQL statements per row of the preview and of the import (and apart
   the webhook outbox's look-ups of subscriptions, one per change it is told of, with the
   time they take), with the machine's load and the time of a fixed loop of Python before
   and after (the cores may be shared: read the figures by it), checks that every row was
   written with its audit history row in the researcher's context, and drops the scratch
   database.

An admin without an import of a kind (the events import before it existed) is reported as
such and skipped."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

STRATEGIES = 10
ORGANISATIONS = 20
SOURCES = 50
EVENTS_PER_MEASURE = 4
# Per measure: its stage moves and ratings in date order, each allowed by the lifecycle.
EVENT_PLAN = (
    ("stage", "announced", "2019-01-10", "day", "", ""),
    ("stage", "in_development", "2019-06-30", "month", "", ""),
    ("verdict", "in_the_works", "2019-07-02", "day", "", ""),
    ("stage", "implementing", "2020-02-01", "day", "england, wales", ""),
)
INSTRUMENTS = ("legislation", "guidance", "funding", "operational")
PHASES = ("announced", "allocated", "committed", "disbursed", "spent")


@dataclass
class Step:
    kind: str
    step: str
    rows: int
    seconds: float
    statements: int
    outbox: int
    outbox_seconds: float

    def line(self) -> str:
        return (
            f"{self.kind:<14} {self.step:<8} {self.rows:>7,} rows  {self.seconds:>7.2f} s  "
            f"{self.rows / self.seconds:>8,.0f} rows/s  {self.statements:>7,} statements  "
            f"{self.statements / self.rows:>6.2f} per row  (outbox look-ups: "
            f"{self.outbox:,} statements, {self.outbox_seconds:.2f} s)"
        )


# The webhook outbox's look-up of the subscriptions to a change (webhooks/outbox.py).
OUTBOX_LOOKUP = 'FROM "webhooks_webhook"'


class StatementCounter:
    """A database execute wrapper that counts every statement (savepoints included), and
    apart the webhook outbox's look-ups of subscriptions with the time they take."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = self.outbox = 0
        self.outbox_seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        if OUTBOX_LOOKUP not in sql:
            return execute(sql, params, many, context)
        self.outbox += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.outbox_seconds += time.perf_counter() - started

    def step(self, kind: str, step: str, rows: int, seconds: float) -> Step:
        taken = Step(kind, step, rows, seconds, self.count, self.outbox, self.outbox_seconds)
        self.reset()
        return taken


def python_speed() -> float:
    """Seconds this machine takes now for a fixed loop of Python (10 million additions), to
    read the figures by: the cores are shared, their speed varies with the load."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.perf_counter() - started


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def server_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@contextmanager
def scratch_database(base_url: str, keep: bool) -> Iterator[str]:
    """A new empty database on the server of ``base_url``, dropped afterwards."""
    import psycopg

    name = f"importbench_{os.getpid()}"
    admin_url = server_url(base_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    say(f"scratch database {name}")
    try:
        yield server_url(base_url, name)
    finally:
        if keep:
            say(f"kept {name}")
        else:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            say(f"dropped {name}")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # As production serves: DEBUG off (no query log kept in memory), plain HTTP here.
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["DJANGO_HTTPS"] = "0"
    os.environ["DJANGO_STATIC_MANIFEST"] = "0"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ["DATABASE_STATEMENT_TIMEOUT_MS"] = "600000"
    import django

    django.setup()


def prepare() -> Any:
    """Migrate, add the strategies, organisations and sources the files name, and a
    researcher; return the researcher."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from strategy.models import Organisation, Source, Strategy
    from strategy.services import organisation_create, source_create, strategy_create

    say("migrating")
    call_command("migrate", verbosity=0)
    call_command("setup_roles", verbosity=0)
    for number in range(ORGANISATIONS):
        organisation_create(
            fields={
                "slug": f"bench-org-{number}",
                "name": f"Organisation {number}",
                "kind": "department",
            }
        )
    home_office = Organisation.objects.get(slug="bench-org-0")
    for number in range(SOURCES):
        source_create(
            fields={
                "url": f"https://example.org/bench/source-{number}",
                "title": f"Source {number}",
                "publisher": "Home Office",
                "kind": "government",
            }
        )
    for number in range(STRATEGIES):
        strategy_create(
            fields={
                "slug": f"bench-strategy-{number}",
                "title": f"Strategy {number}",
                "owner": home_office,
                "published_on": "2018-04-09",
                "source": Source.objects.order_by("id").first(),
            }
        )
    assert Strategy.objects.count() == STRATEGIES
    researcher = get_user_model().objects.create_user("bench-researcher", is_staff=True)
    researcher.groups.add(Group.objects.get(name="researchers"))
    return researcher


def as_csv(header: list[str], lines: Iterator[list[str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return text.getvalue().encode()


def measures_file(rows: int) -> bytes:
    from measures.services import MEASURE_WRITABLE_FIELDS

    def lines() -> Iterator[list[str]]:
        for number in range(rows):
            yield [
                f"bench-measure-{number:06d}",
                f"bench-strategy-{number % STRATEGIES}",
                f"Imported measure number {number} on knife crime",
                "A measure imported by the benchmark to time the researcher's import.",
                "Knife crime and offensive weapons",
                f"bench-org-{number % ORGANISATIONS}",
                INSTRUMENTS[number % len(INSTRUMENTS)],
                "Offensive Weapons Bill" if number % 4 == 0 else "",
                "2027-03-31" if number % 3 else "",
            ]

    return as_csv(list(MEASURE_WRITABLE_FIELDS), lines())


EVENT_COLUMNS = [
    "measure",
    "axis",
    "value",
    "effective_on",
    "effective_on_precision",
    "extent",
    "area",
    "ends_on",
    "rationale",
    "source",
    "quote",
    "locator",
]


def events_file(rows: int) -> bytes:
    def lines() -> Iterator[list[str]]:
        for number in range(rows):
            measure, step = divmod(number, EVENTS_PER_MEASURE)
            axis, value, day, precision, extent, area = EVENT_PLAN[step]
            yield [
                f"bench-measure-{measure:06d}",
                axis,
                value,
                day,
                precision,
                extent,
                area,
                "",
                f"Recorded by the benchmark: {value}.",
                f"https://example.org/bench/source-{number % SOURCES}",
                f"The passage that says {value}.",
                "",
            ]

    return as_csv(EVENT_COLUMNS, lines())


def funding_file(rows: int) -> bytes:
    from measures.services import FUNDING_LINE_WRITABLE_FIELDS

    header = ["id", *FUNDING_LINE_WRITABLE_FIELDS]

    def lines() -> Iterator[list[str]]:
        for number in range(rows):
            values = {
                "strategy": f"bench-strategy-{number % STRATEGIES}",
                "measure": f"bench-measure-{number:06d}",
                "title": f"Funding line {number}",
                "amount": f"{(number % 97 + 1) * 10_000}.00",
                "currency": "GBP",
                "phase": PHASES[number % len(PHASES)],
                "announced_on": "2019-03-31" if number % 2 else "2019-03-15",
                "announced_on_precision": "month" if number % 2 else "day",
                "is_ceiling": "1" if number % 7 == 0 else "0",
                "novelty": "unknown",
                "source": f"https://example.org/bench/source-{number % SOURCES}",
                "quote": f"£{number % 97 + 1}0,000 for the measure",
            }
            yield ["", *(values.get(name, "") for name in FUNDING_LINE_WRITABLE_FIELDS)]

    return as_csv(header, lines())


CONFIRM_FIELDS = ("import_file_name", "original_file_name", "format", "resource")


def confirm_data(page: str) -> dict[str, str]:
    """The hidden fields of the preview's confirm form."""
    data = {}
    for name in CONFIRM_FIELDS:
        found = re.search(rf'name="{name}" value="([^"]*)"', page) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', page
        )
        if found is None:
            raise RuntimeError(f"the preview has no {name}: it refused the file")
        data[name] = found.group(1)
    return data


def run_import(client: Any, kind: str, model: str, body: bytes, rows: int) -> list[Step]:
    from django.db import connection
    from django.urls import NoReverseMatch, reverse

    try:
        preview_url = reverse(f"admin:measures_{model}_import")
        confirm_url = reverse(f"admin:measures_{model}_process_import")
    except NoReverseMatch:
        say(f"{kind}: the admin has no import of them; skipped")
        return []
    upload = io.BytesIO(body)
    upload.name = f"{kind}.csv"
    counter = StatementCounter()
    say(f"{kind}: preview of {rows:,} rows")
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        preview = client.post(preview_url, {"import_file": upload, "format": "0", "resource": "0"})
        page = preview.content.decode()
        seconds = time.perf_counter() - started
    if preview.status_code != 200:
        raise RuntimeError(f"{kind}: the preview answered {preview.status_code}")
    steps = [counter.step(kind, "preview", rows, seconds)]
    say(f"{kind}: import")
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        confirmed = client.post(confirm_url, confirm_data(page))
        seconds = time.perf_counter() - started
    if confirmed.status_code != 302:
        raise RuntimeError(f"{kind}: the import answered {confirmed.status_code}")
    steps.append(counter.step(kind, "import", rows, seconds))
    return steps


def check_written(rows: int, imported: set[str]) -> list[str]:
    """That every row is stored, with its audit history row naming the researcher."""
    from measures.models import EventCitation, FundingLine, Measure, StatusEvent

    problems = []
    expected: list[tuple[str, Any, int]] = [("measures", Measure, rows)]
    if "events" in imported:
        expected += [("events", StatusEvent, rows), ("citations", EventCitation, rows)]
    if "funding lines" in imported:
        expected.append(("funding lines", FundingLine, rows))
    for label, model, count in expected:
        stored = model.objects.count()
        # Each row's insert, by the trigger, in the context of the researcher's request.
        history = model.history.rel.related_model
        audited = history.objects.filter(
            pgh_label="insert", pgh_context__metadata__user__isnull=False
        ).count()
        if stored != count or audited != count:
            problems.append(f"{label}: {stored:,} stored, {audited:,} audited, {count:,} expected")
    if "events" in imported:
        measures = rows // EVENTS_PER_MEASURE
        last = EVENT_PLAN[-1]
        # Raised by the import: by one (one change a measure), or by one an event in commits
        # that recorded a file's events in turns.
        moved = Measure.objects.filter(stage=last[1], version__gt=1).count()
        if moved != measures:
            problems.append(f"cached status: {moved:,} of {measures:,} measures as expected")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows per file (default 10000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL: the scratch database is made on its server",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.rows % EVENTS_PER_MEASURE:
        parser.error(f"--rows must be a multiple of {EVENTS_PER_MEASURE}")

    with scratch_database(args.database_url, args.keep_db) as url:
        setup_django(url)
        from django.test import Client

        researcher = prepare()
        client = Client(SERVER_NAME="localhost")
        client.force_login(researcher)
        files = [
            ("measures", "measure", measures_file(args.rows)),
            ("events", "statusevent", events_file(args.rows)),
            ("funding lines", "fundingline", funding_file(args.rows)),
        ]
        steps: list[Step] = []
        speed_before = python_speed()
        for kind, model, body in files:
            steps += run_import(client, kind, model, body, args.rows)
        speed_after = python_speed()
        problems = check_written(args.rows, {step.kind for step in steps})
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"Admin import through the test client, {args.rows:,} rows per file:")
        print(
            f"(machine: {os.cpu_count()} cores, load average {load}; a loop of 10 million "
            f"Python additions took {speed_before:.2f} s before and {speed_after:.2f} s after)"
        )
        for step in steps:
            print(step.line())
        for problem in problems:
            print(f"PROBLEM: {problem}")
        if args.json:
            machine = (
                f"{os.cpu_count()} cores, load average {load}, 10 million Python additions in "
                f"{speed_before:.2f} s"
            )
            figures = {
                "rows": args.rows,
                "machine": machine,
                "lines": [step.line() for step in steps],
                "steps": [
                    {**dataclasses.asdict(step), "rows_per_second": step.rows / step.seconds}
                    for step in steps
                ],
                "problems": problems,
            }
            Path(args.json).write_text(json.dumps(figures, indent=2))
        if problems:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
