"""The change feed: measure edits, status events and funding lines in the order their
transactions wrote them.

Each row carries the id of the transaction that last wrote it (``change_xid``, stamped by
a trigger). A reader is only shown rows of transactions older than the oldest transaction
still running (the snapshot's ``xmin``): such transactions have all finished, so no row can
later appear before a position already handed out. Resuming after the last position seen
therefore never misses a row committed late by a slow transaction, and never repeats one.
A row written again moves to its new transaction's place and is delivered again, as it is
then.

The horizon, the page's positions and its measures are prepared reads
(``config/api/prepared.py``): built by the ORM once per shape of page, run with the
horizon, the cursor or instant, and the ids of each request."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import F, IntegerField, Model, Q, QuerySet, Value
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.utils import timezone

from config.api import prepared
from config.api.prepared import PreparedReads
from measures.models import FundingLine, Measure, StatusEvent
from measures.representation import row_columns

LAST_ID = 2**62
# Beyond this a cursor's transaction is no bigint: Django writes a comparison with it as
# "nothing" or "everything" rather than as a parameter, so it cannot be a slot.
BIGINT_END = 2**63
# A cursor is URL-safe base64 of "xid.rank.id": well under this.
MAX_CURSOR_LENGTH = 100


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the feed: (transaction, kind, row id)."""

    xid: int
    rank: int
    id: int

    def encode(self) -> str:
        raw = f"{self.xid}.{self.rank}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        if len(text) > MAX_CURSOR_LENGTH:
            raise ValueError("cursor too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            xid, rank, row = (int(part) for part in raw.split("."))
        except (ValueError, UnicodeDecodeError, TypeError) as error:
            raise ValueError("malformed cursor") from error
        if min(xid, rank, row) < 0 or rank > 9 or row > LAST_ID or xid > 2**63:
            raise ValueError("cursor out of range")
        return cls(xid, rank, row)


@dataclass(frozen=True)
class Kind:
    name: str
    rank: int
    stamp: str
    model: type[Model]

    def queryset(self) -> QuerySet[Any]:
        """The rows of this kind with what the feed shows them with: a measure with its
        status today (the cache, or the history where a scheduled event has expired it)."""
        rows = self.model._default_manager.for_api()  # type: ignore[attr-defined]
        return rows.with_current_status() if self.model is Measure else rows


KINDS = (
    Kind("measure", 0, "updated_at", Measure),
    Kind("status_event", 1, "recorded_at", StatusEvent),
    Kind("funding_line", 2, "updated_at", FundingLine),
)


# The feed's statements, by shape.
FEED_READS = PreparedReads()

HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def horizon() -> int:
    """Every transaction with a smaller id has finished."""
    ((xmin,),) = prepared.execute(DEFAULT_DB_ALIAS, HORIZON, ())
    return int(xmin)


def _after(kind: Kind, cursor: Cursor) -> Q | TupleGreaterThan:
    """Rows of ``kind`` after ``cursor``: on the cursor's own kind, a row comparison
    ``(change_xid, id) > (x, y)``, which PostgreSQL reads as a range of the (change_xid, id)
    index, so a page deep in the feed costs what the first one does."""
    if kind.rank < cursor.rank:
        return Q(change_xid__gt=cursor.xid)
    if kind.rank > cursor.rank:
        return Q(change_xid__gte=cursor.xid)
    return TupleGreaterThan(Tuple(F("change_xid"), F("id")), (cursor.xid, cursor.id))


def _positions(
    cursor: Cursor | None, since: bool, limit: int
) -> Callable[[Mapping[str, Any]], QuerySet[Any]]:
    """How ``read`` finds a page's positions, ``build`` for a prepared read: the rows of
    transactions below ``slots["below"]``, after the cursor (its rank, and its transaction
    and id as ``slots["xid"]`` and ``slots["id"]``) or, with ``since``, recorded after
    ``slots["since"]``; ``limit`` of them and one more."""

    def build(slots: Mapping[str, Any]) -> QuerySet[Any]:
        # In one statement from the three tables alone: each part reads its first rows off
        # the (change_xid, id) index.
        parts = []
        for kind in KINDS:
            positions = kind.model._default_manager.filter(change_xid__lt=slots["below"])
            if cursor is not None:
                at = Cursor(slots.get("xid", cursor.xid), cursor.rank, slots["id"])
                positions = positions.filter(_after(kind, at))
            elif since:
                positions = positions.filter(**{f"{kind.stamp}__gt": slots["since"]})
            parts.append(
                positions.annotate(rank=Value(kind.rank, output_field=IntegerField()))
                .order_by("change_xid", "pk")
                .values("change_xid", "rank", "pk")[: limit + 1]
            )
        first, *others = parts
        ordered = first.union(*others, all=True).order_by("change_xid", "rank", "id")
        return ordered[: limit + 1]

    return build


def _measures(count: int) -> Callable[[Mapping[str, Any]], QuerySet[Any]]:
    """The measures ``slots["id0"]`` to ``slots["id<count - 1>"]`` as the feed shows them
    (``Kind.queryset``), as the rows ``MeasureRepresentation`` builds a measure from:
    ``build`` for a prepared read."""

    def build(slots: Mapping[str, Any]) -> QuerySet[Any]:
        ids = [slots[f"id{index}"] for index in range(count)]
        columns = row_columns(time_travel=True)
        return KINDS[0].queryset().filter(pk__in=ids).order_by().values(*columns)

    return build


def _load_measures(ids: list[int]) -> dict[int, dict[str, Any]]:
    """The measures ``ids`` as rows (``_measures``), by id. The ids are given in a number of
    slots that is a power of two (the last one repeated), so that a few shapes serve every
    page."""
    count = 1 << (len(ids) - 1).bit_length()
    padded = [*ids, *[ids[-1]] * (count - len(ids))]
    values = {f"id{index}": pk for index, pk in enumerate(padded)}
    # Today decides the status (``with_current_status``).
    shape = ("measures", timezone.localdate(), count)
    return {row["id"]: row for row in FEED_READS.rows(shape, _measures(count), values)}


def read(*, since: datetime.datetime | None, cursor: Cursor | None, limit: int) -> dict[str, Any]:
    """One page of changes after ``cursor`` (or, on a first call, recorded after ``since``).
    A measure is given as the row ``MeasureRepresentation`` builds it from (``_measures``),
    a status event or a funding line as its instance (``Kind.queryset``)."""
    done_below = horizon()
    # The page's positions first; only the rows of the page are then loaded whole, with
    # what they show.
    values: dict[str, Any] = {"below": done_below}
    if cursor is not None:
        values["id"] = cursor.id
        if cursor.xid < BIGINT_END:
            values["xid"] = cursor.xid
    elif since is not None:
        values["since"] = since
    shape = (
        "positions",
        limit,
        cursor is not None and (cursor.rank, cursor.xid < BIGINT_END),
        since is not None,
    )
    rows = FEED_READS.rows(shape, _positions(cursor, since is not None, limit), values)
    positions_found = [Cursor(row["change_xid"], row["rank"], row["pk"]) for row in rows]
    has_more = len(positions_found) > limit
    wanted = positions_found[:limit]
    loaded: dict[int, dict[int, Any]] = {}
    for kind in KINDS:
        ids = [p.id for p in wanted if p.rank == kind.rank]
        if ids:
            loaded[kind.rank] = (
                _load_measures(ids) if kind.model is Measure else kind.queryset().in_bulk(ids)
            )
    page: list[tuple[Cursor, str, Any]] = [
        (position, KINDS[position.rank].name, loaded[position.rank][position.id])
        for position in wanted
    ]
    if has_more:
        position = page[-1][0]
    else:
        # Everything written by finished transactions has been handed out.
        position = max([Cursor(done_below - 1, 9, LAST_ID), *(item[0] for item in page[-1:])])
        if cursor is not None:
            position = max(position, cursor)
    stamps = {kind.name: kind.stamp for kind in KINDS}
    items = [
        {
            "kind": name,
            "changed_at": row[stamps[name]] if name == "measure" else getattr(row, stamps[name]),
            "measure": row if name == "measure" else None,
            "status_event": row if name == "status_event" else None,
            "funding_line": row if name == "funding_line" else None,
        }
        for _, name, row in page
    ]
    return {"items": items, "next_cursor": position.encode(), "has_more": has_more}
