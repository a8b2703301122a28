"""Reproducible bulk data for the benchmark, loaded with PostgreSQL ``COPY``.

    python -m bench.generate --measures 10000            # into DATABASE_URL (or the local server)
    python -m bench.generate --measures 1000000 --reset  # empty the tracker tables first

N measures spread over N/1,000 strategies, with organisations, sources, about five status
events per measure (valid stage sequences under ``ALLOWED_STAGE_MOVES``, each with a
citation), a few corrections (``supersedes``) and funding lines (a strategy envelope plus
lines on one measure in five, half of them drawn from the envelope).

The same seed gives the same rows: every date is drawn before a fixed horizon
(``HORIZON``, or yesterday if that is earlier), so the data does not depend on the day it
is generated. The cached status of each measure (stage, stage_since, verdict, confidence,
version, updated_at) is computed here from the events it is written with, exactly as
``measures.services.status_event_record`` would have left it, and ``--verify`` (the
default) checks it against the events in SQL afterwards.

Speed: rows are written as COPY text in chunks of measures. During the load the session
runs with ``session_replication_role = replica``, which skips every trigger (the audit
history triggers, the ``change_xid`` stamps, the append-only guard) and the foreign-key
checks; ``change_xid`` is written in the data instead (the loading transaction's id, as
the trigger would have stamped it), and the verification pass checks every foreign key
and the composite ones in SQL. The setting is local to the transaction, so nothing has to
be switched back on and a crash leaves no trigger disabled. Without the privilege to set
it, the loader falls back to ``ALTER TABLE ... DISABLE TRIGGER USER`` (undone before the
transaction ends) with the foreign keys checked by PostgreSQL. ``--triggers`` keeps every
trigger on (audit history rows are written too; several times slower). Generated rows
have no audit history rows otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

# The values the generated rows take are the product's own.
from measures.choices import (
    ALLOWED_STAGE_MOVES,
    Confidence,
    FundingNovelty,
    FundingPhase,
    Instrument,
    Stage,
    Verdict,
    stage_move_allowed,
)
from strategy.choices import OrganisationKind, SourceKind

# Every generated date is on or before this day (or yesterday, if that is earlier).
HORIZON = datetime.date(2026, 6, 30)
FIRST_PUBLISHED = datetime.date(2008, 1, 1)
DAY = 86_400

TABLES = {
    "organisation": "strategy_organisation",
    "source": "strategy_source",
    "strategy": "strategy_strategy",
    "measure": "measures_measure",
    "event": "measures_statusevent",
    "citation": "measures_eventcitation",
    "funding": "measures_fundingline",
}
COLUMNS = {
    "organisation": "id, slug, name, kind, url, created_at, updated_at",
    "source": (
        "id, url, title, publisher, kind, published_on, archived_url, external_id, note, "
        "created_at, updated_at"
    ),
    "strategy": (
        "id, slug, title, owner_id, published_on, summary, url, source_id, source_quote, "
        "created_at, updated_at"
    ),
    "measure": (
        "id, slug, strategy_id, title, summary, category, lead_organisation_id, instrument, "
        "legal_vehicle, target_on, stage, stage_since, verdict, confidence, version, "
        "created_at, updated_at, change_xid"
    ),
    "event": (
        "id, measure_id, axis, value, effective_on, recorded_at, rationale, supersedes_id, "
        "change_xid"
    ),
    "citation": "id, event_id, source_id, quote, locator",
    "funding": (
        "id, strategy_id, measure_id, parent_id, title, amount, currency, phase, period_start, "
        "period_end, period_label, funder_id, recipient_id, novelty, source_id, quote, locator, "
        "notes, created_at, updated_at, change_xid"
    ),
}
# Tables emptied by --reset: the tracker's data and its audit history.
RESET_TABLES = [
    "measures_eventcitation",
    "measures_eventcitationhistory",
    "measures_fundingline",
    "measures_fundinglinehistory",
    "measures_statusevent",
    "measures_statuseventhistory",
    "measures_measure",
    "measures_measurehistory",
    "strategy_strategy",
    "strategy_strategyhistory",
    "strategy_source",
    "strategy_sourcehistory",
    "strategy_organisation",
    "strategy_organisationhistory",
]

# Words of titles and summaries (lower case letters only: they also make slugs). A word of
# this list is in about one title in fifty.
_VOCABULARY_TEXT = """
acid action advice alcohol anti antisocial area attack awareness ban behaviour bill
blade board borough campaign capacity carrying case cash centre charge child children
city collection commissioner community conduct consultation control corrosive council
county court crime criminal custody dangerous data delivery detection disorder diversion
domestic drug duty early education enforcement engagement evidence exclusion exploitation
family firearm force forensic fund funding gang guidance harm health home hospital hotspot
identify impact intelligence intervention investigation justice knife knuckle law lines
local london management market mentoring misuse model national neighbourhood network
news offence offender offensive online order outreach park partnership patrol people
pilot plan police policing possession power prevention prison prosecution protection
public reduction referral reform register rehabilitation report research response review
risk road safeguarding safety school search sentencing serious service social standard
statutory stop strategy street support surge taskforce team testing trading training
transport treatment unit urban victim violence violent weapon welfare youth zombie
"""
VOCABULARY = _VOCABULARY_TEXT.split()
WORDS = len(VOCABULARY)
CATEGORIES = [
    "Tackling county lines and drug misuse",
    "Early intervention and prevention",
    "Supporting communities and partnerships",
    "Law enforcement and criminal justice",
    "Knife crime and offensive weapons",
    "Victims and witnesses",
    "Prisons and probation",
    "Online harms",
    "Youth services",
    "Data and evidence",
]
RATIONALES = [
    "as announced in the department's press release",
    "confirmed by the minister in a written statement",
    "the bill completed its passage through Parliament",
    "the commencement regulations were made",
    "the consultation closed and a response was published",
    "the programme published its first annual report",
    "funding was confirmed in the spending review",
    "the guidance was laid before Parliament",
    "progress stalled after a change of government",
    "the evaluation found the pilot met its objectives",
]
QUOTES = [
    "We will legislate to make it an offence to possess a corrosive substance in a public place.",
    "The provisions come into force on the day after this Order is made.",
    "The fund will support early intervention projects in local communities.",
    "Work on this commitment is continuing and will report next year.",
    "The government has decided not to proceed with this proposal at this time.",
    "Royal Assent was signified on the date shown.",
]
INSTRUMENTS = sorted(Instrument.values)
ORGANISATION_KINDS = sorted(OrganisationKind.values)
SOURCE_KINDS = sorted(SourceKind.values)
VERDICTS = sorted(Verdict.values)
FIRST_VERDICTS = ["in_the_works", "not_yet_rated"]
CONFIDENCES = sorted(Confidence.values)
PHASES = sorted(FundingPhase.values)
NOVELTIES = sorted(FundingNovelty.values)
FINAL = {Stage.WITHDRAWN.value, Stage.SUPERSEDED.value}
# Sorted, so that the walk does not depend on the hash seed of the process.
MOVES: dict[str | None, list[str]] = {
    (None if key is None else key.value): sorted(value.value for value in moves)
    for key, moves in ALLOWED_STAGE_MOVES.items()
}
# The same moves without the final stages, preferred while a measure is still alive.
LIVE_MOVES = {key: [v for v in moves if v not in FINAL] for key, moves in MOVES.items()}


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


class Progress:
    """A progress bar on standard error: redrawn in place on a terminal, one line per tenth
    otherwise (so that a log file stays readable)."""

    def __init__(self, total: int, label: str, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self.last_drawn = 0.0
        self.last_tenth = -1
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        tenth = done * 10 // self.total
        if self.tty and (now - self.last_drawn > 0.2 or done >= self.total):
            self.last_drawn = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()
        elif not self.tty and tenth != self.last_tenth:
            self.last_tenth = tenth
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float) -> str:
        fraction = min(self.done / self.total, 1.0)
        elapsed = now - self.started
        eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
        bar = "#" * int(fraction * 30)
        return (
            f"{self.label} [{bar:<30}] {fraction:6.1%} {self.done:,}/{self.total:,} "
            f"{elapsed:6.1f} s elapsed, ~{eta:5.0f} s left"
        )

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Counts:
    organisations: int = 0
    sources: int = 0
    strategies: int = 0
    measures: int = 0
    events: int = 0
    corrections: int = 0
    citations: int = 0
    funding_lines: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        per_measure = self.events / self.measures if self.measures else 0.0
        return (
            f"{self.measures:,} measures, {self.events:,} status events "
            f"({per_measure:.2f} per measure, {self.corrections:,} corrections), "
            f"{self.citations:,} citations, {self.funding_lines:,} funding lines, "
            f"{self.strategies:,} strategies, {self.organisations:,} organisations, "
            f"{self.sources:,} sources"
        )


HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]


class Clock:
    """Instants as whole seconds since day 0 of the proleptic Gregorian calendar (so that
    ``t // DAY`` is a ``date.toordinal()``), written as PostgreSQL text."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}

    def day(self, ordinal: int) -> str:
        text = self.days.get(ordinal)
        if text is None:
            text = self.days[ordinal] = datetime.date.fromordinal(ordinal).isoformat()
        return text

    def instant(self, t: int) -> str:
        return f"{self.day(t // DAY)} {HMS[t % DAY]}+00"


class Generator:
    """Makes the rows. ``start`` holds the first free id of each table, so data can be
    added to a database that already holds some (slugs carry the id, so they stay unique).

    Written for speed (a million measures): random numbers come from ``random()`` scaled
    by hand, which is several times cheaper than ``choice`` and ``randint``."""

    def __init__(
        self, *, measures: int, seed: int, start: dict[str, int], xid: int, now: datetime.datetime
    ) -> None:
        self.rng = random.Random(seed)
        self.random = self.rng.random
        self.n_measures = measures
        self.n_strategies = max(1, measures // 1000)
        self.n_organisations = max(20, measures // 5000)
        self.n_sources = max(50, measures // 100)
        self.start = dict(start)
        self.xid = xid
        self.clock = Clock()
        today = now.astimezone(datetime.UTC).date()
        self.last_day = min(HORIZON, today - datetime.timedelta(days=1)).toordinal()
        self.first_day = FIRST_PUBLISHED.toordinal()
        # Nothing is recorded later than the end of the last day (nor in the future).
        unix_epoch = datetime.date(1970, 1, 1).toordinal() * DAY
        self.last_instant = min((self.last_day + 1) * DAY, int(now.timestamp()) + unix_epoch)
        self.strategies: list[tuple[int, int, int, int]] = []  # id, published, owner, envelope
        self.organisation_ids: list[int] = []
        self.source_ids: list[int] = []
        self.next_id = dict(start)
        self.counts = Counts()

    def take(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def between(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included."""
        return low + int(self.random() * (high - low + 1))

    def pick(self, items: list[Any] | tuple[Any, ...]) -> Any:
        return items[int(self.random() * len(items))]

    def words(self, low: int, high: int) -> list[str]:
        r = self.random
        count = low + int(r() * (high - low + 1))
        return [VOCABULARY[int(r() * WORDS)] for _ in range(count)]

    # Frame: organisations, sources, strategies with their funding envelopes -------------

    def frame(self) -> dict[str, list[str]]:
        clock, pick, between = self.clock, self.pick, self.between
        created = clock.instant(self.first_day * DAY)
        rows: dict[str, list[str]] = {"organisation": [], "source": [], "strategy": []}
        rows["funding"] = []
        for _ in range(self.n_organisations):
            oid = self.take("organisation")
            name_words = self.words(2, 3)
            kind = pick(ORGANISATION_KINDS)
            slug = f"{'-'.join(name_words)}-{base36(oid)}"
            name = " ".join(w.capitalize() for w in name_words) + f" Office {oid}"
            rows["organisation"].append(
                f"{oid}\t{slug}\t{name}\t{kind}\thttps://example.org/{slug}\t{created}\t{created}\n"
            )
            self.organisation_ids.append(oid)
        for _ in range(self.n_sources):
            sid = self.take("source")
            published = between(self.first_day, self.last_day)
            title = " ".join(self.words(3, 7)).capitalize()
            kind = pick(SOURCE_KINDS)
            rows["source"].append(
                f"{sid}\thttps://example.org/sources/{sid}\t{title}\tBench Publisher\t{kind}\t"
                f"{clock.day(published)}\t\t\t\t{created}\t{created}\n"
            )
            self.source_ids.append(sid)
        for _ in range(self.n_strategies):
            sid = self.take("strategy")
            published = between(self.first_day, self.last_day - 365)
            owner = pick(self.organisation_ids)
            title_words = self.words(2, 4)
            slug = f"{'-'.join(title_words)}-strategy-{base36(sid)}"
            title = " ".join(title_words).capitalize() + " Strategy"
            summary = " ".join(self.words(12, 24)).capitalize() + "."
            stamp = clock.instant(published * DAY + 9 * 3600)
            rows["strategy"].append(
                f"{sid}\t{slug}\t{title}\t{owner}\t{clock.day(published)}\t{summary}\t"
                f"https://example.org/{slug}\t{pick(self.source_ids)}\t"
                f"Published on the day shown.\t{stamp}\t{stamp}\n"
            )
            envelope = self.take("funding")
            amount = between(5, 200) * 1_000_000
            rows["funding"].append(
                f"{envelope}\t{sid}\t\\N\t\\N\t{title} envelope\t{amount}.00\tGBP\tannounced\t"
                f"\\N\t\\N\t\t{owner}\t\\N\tadditional\t{pick(self.source_ids)}\t"
                f"backed with funding\t\t\t{stamp}\t{stamp}\t{self.xid}\n"
            )
            self.strategies.append((sid, published, owner, envelope))
        self.counts.organisations += self.n_organisations
        self.counts.sources += self.n_sources
        self.counts.strategies += self.n_strategies
        self.counts.funding_lines += self.n_strategies
        return rows

    # Measures with their events, citations and funding lines -----------------------------

    def dates(self, low: int, high: int, count: int) -> list[int]:
        """Up to ``count`` distinct days from ``low`` to ``high``, in order."""
        if count <= 0 or high < low:
            return []
        return sorted({self.between(low, high) for _ in range(count)})

    def recorded(self, effective: int) -> int:
        """When an event that took effect on ``effective`` was recorded: up to two months
        later, never after the last instant."""
        t = effective * DAY + self.between(6 * 3600, 60 * DAY)
        if t >= self.last_instant:
            t = self.between(
                max(effective * DAY, self.last_instant - 6 * 3600), self.last_instant - 1
            )
        return t

    def measures(self, count: int) -> dict[str, list[str]]:
        r, pick, between = self.random, self.pick, self.between
        day_text, instant = self.clock.day, self.clock.instant
        xid, last_day = self.xid, self.last_day
        sources, organisations = self.source_ids, self.organisation_ids
        n_sources, n_organisations = len(sources), len(organisations)
        out_measures: list[str] = []
        out_events: list[str] = []
        out_citations: list[str] = []
        out_funding: list[str] = []
        counts = self.counts
        null = "\\N"
        for _ in range(count):
            mid = self.take("measure")
            strategy_id, published, owner, envelope = pick(self.strategies)
            words = self.words(4, 8)
            slug = f"{words[0]}-{words[1]}-{base36(mid)}"
            title = " ".join(words).capitalize()
            summary = " ".join(self.words(10, 20)).capitalize() + "."
            category = pick(CATEGORIES)
            lead = organisations[int(r() * n_organisations)] if r() < 0.9 else None
            instrument = pick(INSTRUMENTS)
            vehicle = (
                f"{words[2].capitalize()} and {words[3].capitalize()} Bill"
                if instrument == "legislation"
                else ""
            )
            target = published + between(180, 2500) if r() < 0.7 else None
            created = published * DAY + between(3600, 30 * DAY)

            # Events: [axis, value, effective, recorded, corrected event or None]
            events: list[list[Any]] = []
            stage: str | None = None
            day = published + between(0, 20)
            planned = between(1, 6)
            for step in range(planned):
                if day > last_day:
                    break
                if stage is None:
                    value = "announced" if r() < 0.9 else pick(LIVE_MOVES[None])
                else:
                    live = LIVE_MOVES[stage]
                    ending = step == planned - 1 and r() < 0.15
                    choices = MOVES[stage] if ending or not live else live
                    if not choices:
                        break
                    value = pick(choices)
                events.append(["stage", value, day, self.recorded(day), None])
                stage = value
                if stage in FINAL:
                    break
                day += between(10, 365)
            for number, effective in enumerate(self.dates(published + 30, last_day, between(0, 2))):
                value = pick(FIRST_VERDICTS) if number == 0 else pick(VERDICTS)
                events.append(["verdict", value, effective, self.recorded(effective), None])
            for effective in self.dates(published + 30, last_day, between(0, 2)):
                events.append(
                    ["confidence", pick(CONFIDENCES), effective, self.recorded(effective), None]
                )
            if r() < 0.03:
                self.correct(events, published)
                counts.corrections += 1

            # Ids follow the order of recording, as they would have been given.
            events.sort(key=lambda event: event[3])
            first_event = self.next_id["event"]
            self.next_id["event"] += len(events)
            position = {id(event): first_event + n for n, event in enumerate(events)}
            corrected = {position[id(e[4])] for e in events if e[4] is not None}
            latest: dict[str, tuple[int, int, int, str]] = {}
            for n, (axis, value, effective, recorded, replaces) in enumerate(events):
                eid = first_event + n
                supersedes = null if replaces is None else position[id(replaces)]
                out_events.append(
                    f"{eid}\t{mid}\t{axis}\t{value}\t{day_text(effective)}\t"
                    f"{instant(recorded)}\t{axis.capitalize()} became {value}: "
                    f"{pick(RATIONALES)}\t{supersedes}\t{xid}\n"
                )
                for _ in range(2 if r() < 0.1 else 1):
                    cid = self.take("citation")
                    source = sources[int(r() * n_sources)]
                    if r() < 0.5:
                        out_citations.append(f"{cid}\t{eid}\t{source}\t{pick(QUOTES)}\t\n")
                    else:
                        out_citations.append(f"{cid}\t{eid}\t{source}\t\tpara. {between(1, 99)}\n")
                    counts.citations += 1
                if eid not in corrected:
                    key = (effective, recorded, eid, value)
                    if axis not in latest or key > latest[axis]:
                        latest[axis] = key
            counts.events += len(events)
            stage_now = latest.get("stage")
            verdict_now = latest.get("verdict")
            confidence_now = latest.get("confidence")
            updated = max([created, *(event[3] for event in events)])
            out_measures.append(
                f"{mid}\t{slug}\t{strategy_id}\t{title}\t{summary}\t{category}\t"
                f"{null if lead is None else lead}\t{instrument}\t{vehicle}\t"
                f"{day_text(target) if target else null}\t"
                f"{stage_now[3] if stage_now else null}\t"
                f"{day_text(stage_now[0]) if stage_now else null}\t"
                f"{verdict_now[3] if verdict_now else null}\t"
                f"{confidence_now[3] if confidence_now else null}\t"
                f"{1 + len(events)}\t{instant(created)}\t{instant(updated)}\t{xid}\n"
            )

            if r() < 0.2:
                fid = self.take("funding")
                year = datetime.date.fromordinal(min(published + 200, last_day)).year
                parent = envelope if r() < 0.5 else null
                recipient = organisations[int(r() * n_organisations)] if r() < 0.7 else null
                stamp = instant(created + DAY)
                out_funding.append(
                    f"{fid}\t{strategy_id}\t{mid}\t{parent}\t{title[:250]}\t"
                    f"{between(10, 5000) * 1000}.00\tGBP\t{pick(PHASES)}\t{year}-04-01\t"
                    f"{year + 1}-03-31\t{year}-{(year + 1) % 100:02d}\t{owner}\t"
                    f"{recipient}\t{pick(NOVELTIES)}\t{sources[int(r() * n_sources)]}\t"
                    f"\tpara. {between(1, 99)}\t\t{stamp}\t{stamp}\t{xid}\n"
                )
                counts.funding_lines += 1
        counts.measures += count
        return {
            "measure": out_measures,
            "event": out_events,
            "citation": out_citations,
            "funding": out_funding,
        }

    def correct(self, events: list[list[Any]], published: int) -> None:
        """Add a correction: a verdict recorded wrongly, or the date of the latest stage
        event (moved earlier, still after the stage before it, so the sequence stays valid)."""
        verdicts = [e for e in events if e[0] == "verdict"]
        stages = [e for e in events if e[0] == "stage"]
        if verdicts and (self.random() < 0.5 or not stages):
            wrong = verdicts[-1]
            value = self.pick([v for v in VERDICTS if v != wrong[1]])
            effective = wrong[2]
        elif stages:
            wrong = stages[-1]
            value = wrong[1]
            earliest = stages[-2][2] + 1 if len(stages) > 1 else published
            effective = max(earliest, wrong[2] - self.between(1, 30))
            effective = min(effective, wrong[2])
        else:
            return
        recorded = min(wrong[3] + self.between(3600, 30 * DAY), self.last_instant - 1)
        recorded = max(recorded, wrong[3] + 1)
        events.append([wrong[0], value, effective, recorded, wrong])


# Loading --------------------------------------------------------------------------------


def _copy(cursor: psycopg.Cursor[Any], kind: str, rows: list[str]) -> None:
    if not rows:
        return
    with cursor.copy(f"COPY {TABLES[kind]} ({COLUMNS[kind]}) FROM STDIN") as copy:
        for start in range(0, len(rows), 20_000):
            copy.write("".join(rows[start : start + 20_000]))


def _first_free_ids(cursor: psycopg.Cursor[Any]) -> dict[str, int]:
    start = {}
    for kind, table in TABLES.items():
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
        row = cursor.fetchone()
        start[kind] = int(row[0]) if row else 1
    return start


@contextlib.contextmanager
def _quiet_load(cursor: psycopg.Cursor[Any], keep_triggers: bool) -> Iterator[str]:
    """Skip triggers and foreign-key checks for the current transaction if allowed."""
    if keep_triggers:
        yield "triggers on"
        return
    cursor.execute("SAVEPOINT bench_replica_role")
    try:
        cursor.execute("SET LOCAL session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        cursor.execute("ROLLBACK TO SAVEPOINT bench_replica_role")
        tables = list(TABLES.values())
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield "user triggers disabled"
        finally:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return
    cursor.execute("RELEASE SAVEPOINT bench_replica_role")
    try:
        yield "session_replication_role = replica"
    finally:
        cursor.execute("SET LOCAL session_replication_role = origin")


BIG_TABLES = ["measures_measure", "measures_statusevent", "measures_eventcitation"]
SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""


@contextlib.contextmanager
def _indexes_deferred(cursor: psycopg.Cursor[Any], seconds: dict[str, float]) -> Iterator[None]:
    """Drop the indexes that back no constraint, and build them again afterwards from their
    own definitions: one sort per index is much cheaper than millions of inserts into it
    (the full-text GIN index most of all). Inside the transaction, so a failure restores them."""
    cursor.execute(SECONDARY_INDEXES, (BIG_TABLES,))
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    started = time.monotonic()
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        cursor.execute(definition)
    seconds["build indexes"] = time.monotonic() - started


def reset(connection: psycopg.Connection[Any]) -> None:
    """Empty the tracker's tables and their audit history."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(RESET_TABLES)} RESTART IDENTITY CASCADE")


def generate(
    connection: psycopg.Connection[Any],
    *,
    measures: int,
    seed: int = 2018,
    chunk: int = 5000,
    keep_triggers: bool = False,
    defer_indexes: bool = True,
    progress: bool = True,
    now: datetime.datetime | None = None,
) -> Counts:
    """Write the rows inside the connection's current transaction (the caller commits).
    The sequences are moved past the new ids.

    A thread makes the rows of the next chunk while this one is copied, so the Python
    work overlaps PostgreSQL's; the rows are the same as without it (one random stream,
    consumed in order by that one thread)."""
    started = time.monotonic()
    seconds: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        row = cursor.fetchone()
        xid = int(row[0]) if row else 0
        generator = Generator(
            measures=measures,
            seed=seed,
            start=_first_free_ids(cursor),
            xid=xid,
            now=now or datetime.datetime.now(datetime.UTC),
        )
        deferred = _indexes_deferred(cursor, seconds) if defer_indexes else contextlib.nullcontext()
        with _quiet_load(cursor, keep_triggers) as mode, deferred:
            frame = generator.frame()
            for kind in ("organisation", "source", "strategy", "funding"):
                _copy(cursor, kind, frame[kind])
            chunks: queue.Queue[dict[str, list[str]] | BaseException | None] = queue.Queue(2)

            def produce() -> None:
                try:
                    for first in range(0, measures, chunk):
                        chunks.put(generator.measures(min(chunk, measures - first)))
                    chunks.put(None)
                except BaseException as error:  # handed to the loading thread
                    chunks.put(error)

            producer = threading.Thread(target=produce, name="bench-generate", daemon=True)
            producer.start()
            bar = Progress(measures, "measures") if progress else None
            done = 0
            while (rows := chunks.get()) is not None:
                if isinstance(rows, BaseException):
                    raise rows
                for kind in ("measure", "event", "citation", "funding"):
                    _copy(cursor, kind, rows[kind])
                done += len(rows["measure"])
                if bar:
                    bar.update(done)
            producer.join()
            if bar:
                bar.close()
            seconds["copy"] = time.monotonic() - started
        for table in TABLES.values():
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    counts = generator.counts
    counts.seconds.update(seconds)
    counts.seconds["load"] = time.monotonic() - started
    if progress:
        timings = ", ".join(f"{label} {value:.1f} s" for label, value in counts.seconds.items())
        print(f"loaded with {mode}: {timings}", file=sys.stderr)
    return counts


# Verification ---------------------------------------------------------------------------

CACHE_MISMATCHES = """
WITH live AS (
    SELECT DISTINCT ON (e.measure_id, e.axis) e.measure_id, e.axis, e.value, e.effective_on
    FROM measures_statusevent e
    WHERE e.effective_on <= %(today)s
      AND NOT EXISTS (SELECT 1 FROM measures_statusevent c WHERE c.supersedes_id = e.id)
    ORDER BY e.measure_id, e.axis, e.effective_on DESC, e.recorded_at DESC, e.id DESC
), counted AS (
    SELECT measure_id, count(*) AS n, max(recorded_at) AS last_recorded
    FROM measures_statusevent GROUP BY measure_id
)
SELECT count(*) FROM measures_measure m
LEFT JOIN live s ON s.measure_id = m.id AND s.axis = 'stage'
LEFT JOIN live v ON v.measure_id = m.id AND v.axis = 'verdict'
LEFT JOIN live c ON c.measure_id = m.id AND c.axis = 'confidence'
LEFT JOIN counted n ON n.measure_id = m.id
WHERE m.id >= %(first)s AND (
    m.stage IS DISTINCT FROM s.value OR m.stage_since IS DISTINCT FROM s.effective_on
    OR m.verdict IS DISTINCT FROM v.value OR m.confidence IS DISTINCT FROM c.value
    OR m.version <> 1 + coalesce(n.n, 0)
    OR m.updated_at < coalesce(n.last_recorded, m.created_at))
"""
# Each query counts rows that break a rule the skipped constraints would have enforced.
INTEGRITY = {
    "measure without its strategy": """SELECT count(*) FROM measures_measure m
        LEFT JOIN strategy_strategy s ON s.id = m.strategy_id WHERE s.id IS NULL""",
    "measure with an unknown lead organisation": """SELECT count(*) FROM measures_measure m
        LEFT JOIN strategy_organisation o ON o.id = m.lead_organisation_id
        WHERE m.lead_organisation_id IS NOT NULL AND o.id IS NULL""",
    "event without its measure": """SELECT count(*) FROM measures_statusevent e
        LEFT JOIN measures_measure m ON m.id = e.measure_id WHERE m.id IS NULL""",
    "correction of another measure or axis": """SELECT count(*) FROM measures_statusevent e
        LEFT JOIN measures_statusevent o ON o.id = e.supersedes_id AND o.measure_id = e.measure_id
            AND o.axis = e.axis
        WHERE e.supersedes_id IS NOT NULL AND o.id IS NULL""",
    "event corrected twice": """SELECT count(*) FROM (SELECT supersedes_id FROM
        measures_statusevent WHERE supersedes_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) t""",
    "event without a citation": """SELECT count(*) FROM measures_statusevent e
        WHERE NOT EXISTS (SELECT 1 FROM measures_eventcitation c WHERE c.event_id = e.id)""",
    "citation without its event or source": """SELECT count(*) FROM measures_eventcitation c
        LEFT JOIN measures_statusevent e ON e.id = c.event_id
        LEFT JOIN strategy_source s ON s.id = c.source_id WHERE e.id IS NULL OR s.id IS NULL""",
    "funding line outside its measure's strategy": """SELECT count(*) FROM measures_fundingline f
        LEFT JOIN measures_measure m ON m.id = f.measure_id AND m.strategy_id = f.strategy_id
        WHERE f.measure_id IS NOT NULL AND m.id IS NULL""",
    "funding line outside its envelope's strategy": """SELECT count(*) FROM measures_fundingline f
        LEFT JOIN measures_fundingline p ON p.id = f.parent_id AND p.strategy_id = f.strategy_id
        WHERE f.parent_id IS NOT NULL AND p.id IS NULL""",
    "row without change_xid": """SELECT (SELECT count(*) FROM measures_measure WHERE change_xid IS NULL)
        + (SELECT count(*) FROM measures_statusevent WHERE change_xid IS NULL)
        + (SELECT count(*) FROM measures_fundingline WHERE change_xid IS NULL)""",
}


def check_stage_sequences(cursor: psycopg.Cursor[Any], sample: int, seed: int) -> int:
    """Replay the stage history of ``sample`` measures under the service's rule (current
    events in effect order, each move in ALLOWED_STAGE_MOVES); return the number refused."""
    cursor.execute("SELECT min(id), max(id) FROM measures_measure")
    row = cursor.fetchone()
    if not row or row[0] is None:
        return 0
    rng = random.Random(seed)
    ids = [rng.randint(row[0], row[1]) for _ in range(sample)]
    cursor.execute(
        """SELECT e.measure_id, e.value FROM measures_statusevent e
        WHERE e.measure_id = ANY(%s) AND e.axis = 'stage'
          AND NOT EXISTS (SELECT 1 FROM measures_statusevent c WHERE c.supersedes_id = e.id)
        ORDER BY e.measure_id, e.effective_on, e.recorded_at, e.id""",
        (ids,),
    )
    previous: dict[int, str | None] = {}
    refused: set[int] = set()
    for measure_id, value in cursor.fetchall():
        if not stage_move_allowed(previous.get(measure_id), value):
            refused.add(measure_id)
        previous[measure_id] = value
    return len(refused)


def verify(
    connection: psycopg.Connection[Any], *, first_measure: int = 1, sample: int = 2000
) -> list[str]:
    """Problems found in the data (an empty list if none)."""
    problems = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(
            CACHE_MISMATCHES,
            {"today": datetime.date.today().isoformat(), "first": first_measure},
        )
        row = cursor.fetchone()
        if row and row[0]:
            problems.append(f"{row[0]} measures whose cached status differs from their events")
        for name, sql in INTEGRITY.items():
            cursor.execute(sql)
            row = cursor.fetchone()
            if row and row[0]:
                problems.append(f"{row[0]} rows: {name}")
        refused = check_stage_sequences(cursor, sample, seed=1)
        if refused:
            problems.append(f"{refused} measures with a stage move outside ALLOWED_STAGE_MOVES")
    return problems


def database_url(given: str | None = None) -> str:
    url = given or os.environ.get("DATABASE_URL")
    if url:
        return url
    from config.localdb import running_url

    url = running_url()
    if not url:
        raise SystemExit("Set DATABASE_URL or start the local server (make db).")
    return url


def timed(label: str, seconds: dict[str, float], action: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = action()
    seconds[label] = time.monotonic() - started
    print(f"{label}: {seconds[label]:.1f} s", file=sys.stderr)
    return result


def run(
    url: str,
    *,
    measures: int,
    seed: int = 2018,
    do_reset: bool = False,
    check: bool = True,
    keep_triggers: bool = False,
    chunk: int = 5000,
) -> Counts:
    """Generate into the database at ``url`` in one transaction, then VACUUM ANALYZE."""
    total_started = time.monotonic()
    seconds: dict[str, float] = {}
    with psycopg.connect(url) as connection:
        if do_reset:
            timed("reset", seconds, lambda: reset(connection))
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM measures_measure")
            row = cursor.fetchone()
            first_measure = int(row[0]) if row else 1
        counts = generate(
            connection, measures=measures, seed=seed, chunk=chunk, keep_triggers=keep_triggers
        )
        seconds.update(counts.seconds)
        timed("commit", seconds, connection.commit)
        if check:
            problems = timed(
                "verify", seconds, lambda: verify(connection, first_measure=first_measure)
            )
            connection.commit()
            if problems:
                raise SystemExit("The generated data is not valid:\n  " + "\n  ".join(problems))
    with psycopg.connect(url, autocommit=True) as connection:
        tables = ", ".join(TABLES.values())
        timed("vacuum analyze", seconds, lambda: connection.execute(f"VACUUM (ANALYZE) {tables}"))
    seconds["total"] = time.monotonic() - total_started
    counts.seconds = seconds
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--measures", type=int, default=10_000, help="default 10,000")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--reset", action="store_true", help="empty the tracker tables first")
    parser.add_argument("--no-verify", action="store_true", help="skip the checks after loading")
    parser.add_argument("--triggers", action="store_true", help="keep every trigger on (slow)")
    parser.add_argument("--chunk", type=int, default=5000, help="measures per COPY round")
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the local server")
    args = parser.parse_args(argv)
    counts = run(
        database_url(args.database_url),
        measures=args.measures,
        seed=args.seed,
        do_reset=args.reset,
        check=not args.no_verify,
        keep_triggers=args.triggers,
        chunk=args.chunk,
    )
    print(counts.summary())
    print("time: " + ", ".join(f"{label} {value:.1f} s" for label, value in counts.seconds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
