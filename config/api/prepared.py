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
``tests/api/test_prepared_reads.py`` and ``tests/api/test_prepared_reports.py`` hold the
answers equal to a fresh ORM's.

An aggregate (``queryset.aggregate(...)``) is kept the same way, as an ``Aggregation``: the
query Django builds for it is compiled, with the slots, and its one row comes back as
``aggregate()`` would give it.

A slot may hold a whole number the backend tags with its column's type (psycopg's ``Int8``
for a ``bigint``): each value is given the same tag. Django writes a comparison with a
number beyond the column's range as "nothing" or "everything" rather than as a parameter,
so such a value must be part of the shape, not a slot.

Rows come back as ``.values()`` would give them (the compiler's converters applied).
Statements go through Django's cursor wrapper (errors become Django's, ``CaptureQueries
Context`` counts them, the database router chooses the database); they are prepared on
the connection when ``DATABASE_PREPARED_STATEMENTS`` allows (``config/settings.py``). A
statement that does not begin with SELECT (a UNION of parenthesised parts) is bound on the
client instead, as the ORM binds it (``Statement.on_server``).
"""

from __future__ import annotations

import dataclasses
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
from django.db.models import Expression, IntegerField, Model, QuerySet

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


def execute(alias: str, sql: str, params: Sequence[Any], *, on_server: bool = True) -> list[Any]:
    """The rows of ``sql``, run as a prepared statement of the connection from its second
    run (when ``DATABASE_PREPARED_STATEMENTS`` allows), through a cursor binding its
    parameters on the server, wrapped as Django wraps its own (errors become Django's,
    ``CaptureQueriesContext`` counts it). With ``on_server`` false, through Django's own
    cursor, which binds them on the client as it does for the ORM's queries."""
    connection = connections[alias]
    if not on_server:
        with connection.cursor() as plain:
            plain.execute(sql, params)
            return list(plain.fetchall())
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
class Aggregation:
    """``queryset.aggregate(**aggregates)`` as a read that can be prepared: its statement is
    the query Django builds for that call."""

    queryset: QuerySet[Any]
    aggregates: Mapping[str, Any]

    def run(self) -> dict[str, Any]:
        """The aggregate as the ORM computes it, without a statement."""
        return self.queryset.aggregate(**self.aggregates)


# The name the hand-over takes among an aggregation's aggregates.
HANDOVER = "prepared_read_handover"


class _HandedOverError(Exception):
    def __init__(self, compiler: Any) -> None:
        super().__init__("the aggregate query is compiled, not run")
        self.compiler = compiler


class _HandOver(Expression):
    """An aggregate that stops the compilation of the query it is part of, before anything
    is sent to the database, and hands over the compiler: so the query ``aggregate()``
    builds (an outer query over the queryset as a subquery, where one is needed) is
    Django's own, and is compiled here without being run."""

    contains_aggregate = True
    # As an aggregate of zero rows: whether an empty queryset elides the query stays the
    # real aggregates' choice.
    empty_result_set_value = None

    def __init__(self) -> None:
        super().__init__(output_field=IntegerField())

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        raise _HandedOverError(compiler)


def aggregate_compiler(aggregation: Aggregation) -> Any:
    """The compiler of the query ``aggregation.run()`` sends, not run."""
    try:
        aggregation.queryset.aggregate(**aggregation.aggregates, **{HANDOVER: _HandOver()})
    except _HandedOverError as handed:
        query, elide_empty = handed.compiler.query, handed.compiler.elide_empty
    else:
        # Django answered without compiling the aggregates (nothing can match).
        raise NotPreparableError("the aggregate is answered without SQL")
    query.annotations.pop(HANDOVER)
    query.set_annotation_mask([name for name in query.annotation_select if name != HANDOVER])
    return query.get_compiler(aggregation.queryset.db, elide_empty=elide_empty)


def _slot_of(param: Any, by_value: Mapping[tuple[type, Any], str]) -> tuple[str, Any] | None:
    """The slot whose stand-in ``param`` is, with the type to give the slot's values: None
    where the value goes in as it is, or the type a backend tagged a whole number with
    (psycopg's ``Int8`` for a ``bigint`` column, say), a plain parameter all the same."""
    try:
        name = by_value.get((type(param), param))
    except TypeError:  # unhashable: a list, which no slot holds
        return None
    if name is not None:
        return name, None
    if isinstance(param, int) and not isinstance(param, bool) and type(param) is not int:
        name = by_value.get((int, int(param)))
        if name is not None:
            return name, type(param)
    return None


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
    # Per slot, the type its values are given in (``_slot_of``), or None.
    slot_types: tuple[Any, ...] = ()
    # Whether it is bound on the server and prepared (``execute``). Django's execute
    # wrappers may put a statement of their own before one that does not begin with SELECT
    # (pghistory's history context does, before a UNION of parenthesised parts), and a
    # prepared statement holds one: such a statement is bound on the client, as the ORM
    # binds it. It is still built and compiled once.
    on_server: bool = True

    @classmethod
    def compile(
        cls,
        queryset: QuerySet[Any] | Aggregation,
        stand_ins: Mapping[str, Any],
        extra: Any,
    ) -> Statement:
        """The statement of a ``.values()`` queryset, or of an ``Aggregation``."""
        if isinstance(queryset, Aggregation):
            compiler = aggregate_compiler(queryset)
            model = queryset.queryset.model
        else:
            compiler = queryset.query.get_compiler(queryset.db)
            model = queryset.model
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            # Nothing can match (a search of no words): the ORM answers without a query.
            raise NotPreparableError("matches nothing") from None
        by_value = {(type(value), value): name for name, value in stand_ins.items()}
        found_slots = [
            (index, slot)
            for index, param in enumerate(params)
            if (slot := _slot_of(param, by_value)) is not None
        ]
        slots = tuple((index, name) for index, (name, _) in found_slots)
        found = {name for _, name in slots}
        inlined = any(isinstance(value, str) and value in sql for value in stand_ins.values())
        if found != set(stand_ins) or inlined:
            raise NotPreparableError(f"slots {sorted(set(stand_ins) - found)} are not parameters")
        query = compiler.query
        if isinstance(queryset, Aggregation):
            # As ``Query.get_aggregation`` names and converts the aggregates.
            names = tuple(query.annotation_select)
            columns = list(query.annotation_select.values())
        else:
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
            model=model,
            sql=sql,
            params=tuple(params),
            slots=slots,
            names=names,
            compiler=compiler,
            converters=compiler.get_converters(columns),
            extra=extra,
            slot_types=tuple(kind for _, (_, kind) in found_slots),
            on_server=sql.startswith("SELECT "),
        )

    def rows(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        params = list(self.params)
        kinds = self.slot_types or (None,) * len(self.slots)
        for (index, name), kind in zip(self.slots, kinds, strict=True):
            params[index] = values[name] if kind is None else kind(values[name])
        fetched = execute(
            router.db_for_read(self.model), self.sql, params, on_server=self.on_server
        )
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
        build: Callable[[Mapping[str, Any]], QuerySet[Any] | Aggregation],
        values: Mapping[str, Any],
        extra: Any = None,
        *,
        plan_each_time: bool = False,
    ) -> Statement | None:
        """The statement of ``shape``, compiled from ``build(stand-ins)`` when new; None when
        the queryset cannot be prepared (the caller runs ``build(values)`` itself, and the
        shape is not tried again).

        ``plan_each_time``: the best plan depends on values that a prepared statement holds
        as parameters, the same for every request of the shape (a search's words, whose
        rarity decides between the text index and a walk in order). After five runs
        PostgreSQL may settle on a generic plan, which cannot see them: at 1,000,000
        measures a search then took twice as long. Such a statement is bound on the client,
        as the ORM's own queries are, so that each request is planned with its values; it
        is still built and compiled once."""
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
            if plan_each_time:
                statement = dataclasses.replace(statement, on_server=False)
        except (NotPreparableError, TypeError):
            statement = None
        with self._lock:
            self._statements[shape] = statement
            while len(self._statements) > self.max_shapes:
                self._statements.popitem(last=False)
        return statement

    def rows(
        self,
        shape: Hashable,
        build: Callable[[Mapping[str, Any]], QuerySet[Any] | Aggregation],
        values: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        """The rows of ``build(values)`` (a ``.values()`` queryset, or an ``Aggregation``
        and its one row), through the statement of ``shape``, or from the ORM where the
        shape cannot be prepared."""
        statement = self.prepare(shape, build, values)
        if statement is not None:
            return statement.rows(values)
        built = build(values)
        return [built.run()] if isinstance(built, Aggregation) else list(built)

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
