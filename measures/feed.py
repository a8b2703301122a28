"""The change feed: measure edits, status events and funding lines in the order their
transactions wrote them.

Each row carries the id of the transaction that last wrote it (``change_xid``, stamped by
a trigger). A reader is only shown rows of transactions older than the oldest transaction
still running (the snapshot's ``xmin``): such transactions have all finished, so no row can
later appear before a position already handed out. Resuming after the last position seen
therefore never misses a row committed late by a slow transaction, and never repeats one.
A row written again moves to its new transaction's place and is delivered again, as it is
then."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, IntegerField, Model, Q, QuerySet, Value
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan

from measures.models import FundingLine, Measure, StatusEvent

LAST_ID = 2**62
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


def horizon() -> int:
    """Every transaction with a smaller id has finished."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        (xmin,) = cursor.fetchone()
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


def read(*, since: datetime.datetime | None, cursor: Cursor | None, limit: int) -> dict[str, Any]:
    """One page of changes after ``cursor`` (or, on a first call, recorded after ``since``)."""
    done_below = horizon()
    # The page's positions first, in one statement from the three tables alone: each
    # part reads its first rows off the (change_xid, id) index. Only the rows of the page
    # are then loaded whole, with what they show.
    parts = []
    for kind in KINDS:
        positions = kind.model._default_manager.filter(change_xid__lt=done_below)
        if cursor is not None:
            positions = positions.filter(_after(kind, cursor))
        elif since is not None:
            positions = positions.filter(**{f"{kind.stamp}__gt": since})
        parts.append(
            positions.annotate(rank=Value(kind.rank, output_field=IntegerField()))
            .order_by("change_xid", "pk")
            .values_list("change_xid", "rank", "pk")[: limit + 1]
        )
    first, *others = parts
    ordered = first.union(*others, all=True).order_by("change_xid", "rank", "id")
    positions_found = [Cursor(xid, rank, pk) for xid, rank, pk in ordered[: limit + 1]]
    has_more = len(positions_found) > limit
    wanted = positions_found[:limit]
    loaded = {
        kind.rank: kind.queryset().in_bulk([p.id for p in wanted if p.rank == kind.rank])
        for kind in KINDS
        if any(p.rank == kind.rank for p in wanted)
    }
    page: list[tuple[Cursor, str, Model]] = [
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
    items = [
        {
            "kind": name,
            "changed_at": getattr(row, next(k.stamp for k in KINDS if k.name == name)),
            "measure": row if name == "measure" else None,
            "status_event": row if name == "status_event" else None,
            "funding_line": row if name == "funding_line" else None,
        }
        for _, name, row in page
    ]
    return {"items": items, "next_cursor": position.encode(), "has_more": has_more}
