"""Prepared reads: the hottest reads of the API compiled to SQL once per shape, not once per
request.

Building a queryset and compiling it cost a measure's detail about 9 ms of its 16 (the
status annotations are four correlated subqueries; ``docs/performance.md`` has the
profile), and PostgreSQL spent another millisecond planning it, for SQL that differs from
one request to the next only in a slug or a cursor's position. A ``PreparedReads`` keeps,
for each *shape* of request (everything that decides the SQL: the query string but the
cursor, today's date, ...), the SQL the ORM compiled for it with the varying values
(*slots*) standing as parameters. A request of a known shape runs that SQL with its own
values, as a prepared statement of the connection (PostgreSQL plans it once); a request of
a new shape is built by the ORM as before, compiled once with stand-in values in the slots,
and run the same way.

Nothing is written twice: the SQL is the ORM's own, for the same queryset, so a rule
(``with_current_status``, a filter, the search) stays in one place; a shape's key must
name everything the queryset is built from other than the slots, which the caller states.
Every request, first or not, runs through the compiled statement, so there is one path.
``tests/api/test_prepared_reads.py`` holds the answers equal to a fresh ORM's.

Rows come back as ``.values()`` would give them (the compiler's converters applied).
Statements go through Django's cursor wrapper (errors become Django's, ``CaptureQueries
Context`` counts them, the database router chooses the database); they are prepared on
the connection when ``DATABASE_PREPARED_STATEMENTS`` allows (``config/settings.py``).
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Model, QuerySet

# Shapes kept per process. A shape is a few kilobytes of SQL; a client walking pages or
# reading measures reuses one shape, so only unusual filter combinations come and go.
MAX_SHAPES = 512

_EPOCH = datetime.datetime(1901, 1, 1, tzinfo=datetime.UTC)


def stand_in(value: Any, index: int) -> Any:
    """A value of ``value``'s type that no request sends, to find a slot among the compiled
    parameters. Only the types a slot may hold: text, whole numbers, floats, instants, days."""
    if isinstance(value, bool) or value is None:
        raise TypeError("a slot cannot hold a boolean or null: make it part of the shape")
    if isinstance(value, str):
        return f"\ufdd0prepared-read-slot-{index}\ufdd0"
    if isinstance(value, int):
        return 2**62 + index
    if isinstance(value, float):
        return -1.0e-300 * (index + 1)
    if isinstance(value, datetime.datetime):
        return _EPOCH + datetime.timedelta(microseconds=index + 1)
    if isinstance(value, datetime.date):
        return datetime.date(1901, 1, 1) + datetime.timedelta(days=index + 1)
    raise TypeError(f"a slot cannot hold a {type(value).__name__}")


class LoggedCursor(CursorDebugWrapper):
    """Where queries are logged (``DEBUG``, ``CaptureQueriesContext``), a prepared read is
    logged as Django logs its own, with its values written into the SQL (not ``$1``)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


def execute(alias: str, sql: str, params: Sequence[Any]) -> list[Any]:
    """The rows of ``sql``, run as a prepared statement of the connection from its second
    run (when ``DATABASE_PREPARED_STATEMENTS`` allows), through a cursor binding its
    parameters on the server, wrapped as Django wraps its own (errors become Django's,
    ``CaptureQueriesContext`` counts it)."""
    connection = connections[alias]
    connection.ensure_connection()
    raw: Any = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
    cursor = (
        LoggedCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    )
    with cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


class NotPreparableError(Exception):
    """The queryset does not carry each slot as one plain parameter (a value inlined in the
    SQL text, or transformed on its way in): it is run as the ORM builds it."""


@dataclass(frozen=True)
class Statement:
    """A shape's SQL, its parameters with the slots' positions, and how to read its rows."""

    model: type[Model]
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]
    names: tuple[str, ...]
    compiler: Any
    converters: Any
    extra: Any

    @classmethod
    def compile(
        cls, queryset: QuerySet[Any], stand_ins: Mapping[str, Any], extra: Any
    ) -> Statement:
        compiler = queryset.query.get_compiler(queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            # Nothing can match (a search of no words): the ORM answers without a query.
            raise NotPreparableError("matches nothing") from None
        slots = tuple(
            (index, name)
            for index, param in enumerate(params)
            for name, value in stand_ins.items()
            if type(param) is type(value) and param == value
        )
        found = {name for _, name in slots}
        inlined = any(isinstance(value, str) and value in sql for value in stand_ins.values())
        if found != set(stand_ins) or inlined:
            raise NotPreparableError(f"slots {sorted(set(stand_ins) - found)} are not parameters")
        query = queryset.query
        # As ``ValuesIterable`` names the columns.
        names = (
            tuple(query.selected)
            if query.selected
            else (
                *query.extra_select,
                *query.values_select,
                *query.annotation_select,
            )
        )
        columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
        if len(names) != len(columns):
            raise NotPreparableError("not a .values() queryset")
        return cls(
            model=queryset.model,
            sql=sql,
            params=tuple(params),
            slots=slots,
            names=names,
            compiler=compiler,
            converters=compiler.get_converters(columns),
            extra=extra,
        )

    def rows(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        params = list(self.params)
        for index, name in self.slots:
            params[index] = values[name]
        fetched = execute(router.db_for_read(self.model), self.sql, params)
        if self.converters:
            fetched = list(self.compiler.apply_converters(fetched, self.converters))
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in fetched]


class PreparedReads:
    """The statements of one kind of read, by shape (least recently used dropped first)."""

    def __init__(self, max_shapes: int = MAX_SHAPES) -> None:
        self.max_shapes = max_shapes
        self._statements: OrderedDict[Hashable, Statement | None] = OrderedDict()
        self._memos: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def prepare(
        self,
        shape: Hashable,
        build: Callable[[Mapping[str, Any]], QuerySet[Any]],
        values: Mapping[str, Any],
        extra: Any = None,
    ) -> Statement | None:
        """The statement of ``shape``, compiled from ``build(stand-ins)`` when new; None when
        the queryset cannot be prepared (the caller runs ``build(values)`` itself, and the
        shape is not tried again)."""
        with self._lock:
            if shape in self._statements:
                self._statements.move_to_end(shape)
                return self._statements[shape]
        statement: Statement | None
        try:
            stand_ins = {
                name: stand_in(value, index) for index, (name, value) in enumerate(values.items())
            }
            statement = Statement.compile(build(stand_ins), stand_ins, extra)
        except (NotPreparableError, TypeError):
            statement = None
        with self._lock:
            self._statements[shape] = statement
            while len(self._statements) > self.max_shapes:
                self._statements.popitem(last=False)
        return statement

    def remembered(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """What ``compute()`` gave for ``key`` (a shape's ordering, say), kept like a
        statement."""
        with self._lock:
            if key in self._memos:
                self._memos.move_to_end(key)
                return self._memos[key]
        value = compute()
        with self._lock:
            self._memos[key] = value
            while len(self._memos) > self.max_shapes:
                self._memos.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._memos.clear()
        with self._lock:
            self._statements.clear()
