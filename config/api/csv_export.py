"""CSV, the API's second representation of every list: every matching row, no pages,
streamed as the database cursor is read."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import psycopg
import psycopg.sql
from django.conf import settings
from django.db import connections, models
from django.db.models import Case, F, Func, TextField, Value, When
from django.db.models.functions import Concat
from django.http import StreamingHttpResponse
from rest_framework import renderers, serializers


class CSVRenderer(renderers.BaseRenderer):
    """``text/csv`` for list endpoints (``Accept: text/csv`` or ``?format=csv``). Views stream
    the rows themselves (see ``TrackerViewSet.csv_export``); this class lets content negotiation and the
    OpenAPI document know the representation exists."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        rows = data.get("results", data) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            rows = [rows]
        buffer = io.StringIO()
        flat = [flatten(row) for row in rows if isinstance(row, Mapping)]
        if flat:
            writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
            writer.writeheader()
            writer.writerows(flat)
        return buffer.getvalue().encode()


def csv_columns(serializer: serializers.BaseSerializer, prefix: str = "") -> list[str]:
    """The CSV header of ``serializer``'s rows: its readable fields, a nested object's
    fields as ``outer.inner`` (the names ``flatten`` gives)."""
    columns: list[str] = []
    for name, field in serializer.fields.items():  # type: ignore[attr-defined]
        if field.write_only:
            continue
        if isinstance(field, serializers.Serializer):
            columns.extend(csv_columns(field, f"{prefix}{name}."))
        else:
            columns.append(f"{prefix}{name}")
    return columns


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"strategy": {"slug": "x"}}`` becomes ``{"strategy.slug": "x"}``."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, default=str)
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = "" if value is None else value
    return flat


# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV
# Injection"): every CSV and spreadsheet the tracker writes prefixes such a cell with an
# apostrophe, which spreadsheets read as "this is text".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` as a cell no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralised_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(value) for value in row]


_NO_ROW = object()


CSV_CHUNK_BYTES = 64 * 1024


def stream_csv(
    header: list[str], rows: Iterable[Iterable[Any]], filename: str
) -> StreamingHttpResponse:
    """A CSV body written as the database cursor is read: constant memory. Rows go out in
    chunks of about 64 KB, not one line at a time, so the server makes a few hundred writes
    for 100,000 rows instead of 100,000.

    The first row is read before the response starts, so that a query the database refuses
    (a value it cannot search for, an outage) is answered with a problem document instead
    of a download cut short after its status line was sent."""
    remaining = iter(rows)
    first = next(remaining, _NO_ROW)

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        if first is not _NO_ROW:
            writer.writerow(neutralised_row(first))  # type: ignore[arg-type]
            for batch in itertools.batched(remaining, 500):
                writer.writerows(map(neutralised_row, batch))
                if buffer.tell() >= CSV_CHUNK_BYTES:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def stream_copy_csv(
    queryset: models.QuerySet[Any], columns: list[tuple[str, Any]], filename: str
) -> StreamingHttpResponse:
    """Every row of ``queryset`` as CSV written by PostgreSQL itself (``COPY ... TO STDOUT``)
    and passed on as it arrives: constant memory, and no Python work per row or value.

    ``columns`` pairs each CSV header with an expression giving the column's text (or a
    number). The query starts before the response does, so that a refusal or an outage is
    answered with a problem document rather than a download cut short."""
    names = [f"csv_{index}" for index in range(len(columns))]
    rows = queryset.annotate(
        **{name: expression for name, (_, expression) in zip(names, columns, strict=True)}
    ).values_list(*names)
    compiler = rows.query.get_compiler(using=rows.db)
    sql, params = compiler.as_sql()
    selected = [alias for _, _, alias in compiler.select]
    if selected != names:  # pragma: no cover - Django selects annotations in order
        raise RuntimeError(f"unexpected CSV column order: {selected}")
    connection = connections[rows.db]
    connection.ensure_connection()
    raw = connection.connection
    # COPY takes no parameters: bind them on this side, with psycopg's own quoting.
    bound = psycopg.ClientCursor(raw).mogrify(sql, params)
    statement = psycopg.sql.SQL("COPY ({rows}) TO STDOUT WITH (FORMAT csv)").format(
        rows=psycopg.sql.SQL(bound)  # bound above by psycopg, not text from the request
    )
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([title for title, _ in columns])

    def chunks() -> Iterator[bytes]:
        yield header.getvalue().encode()
        if connection.queries_logged:
            # Django's query log (and the tests that count queries) see the COPY too.
            connection.queries_log.append({"sql": statement.as_string(raw), "time": "0.000"})
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            buffer = bytearray()
            for data in copy:
                buffer += data
                if len(buffer) >= CSV_CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            yield bytes(buffer)

    body = chunks()
    first = [next(body), next(body)]  # the header, then the query's first chunk
    response = StreamingHttpResponse(
        itertools.chain(first, body), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def sql_text(column: str, field: serializers.Field) -> Any:
    """``column`` as text exactly as ``field`` writes it in JSON, for a CSV that PostgreSQL
    writes itself (``stream_copy_csv``): dates as ``YYYY-MM-DD``, instants as DRF writes
    them (ISO 8601 in ``TIME_ZONE``, ``Z`` for UTC, microseconds only when there are some),
    booleans as ``true``/``false``; anything else as stored."""
    if isinstance(field, serializers.DateTimeField):
        return Func(
            F(column),
            template=INSTANT_AS_JSON,
            zone="'" + settings.TIME_ZONE.replace("'", "''") + "'",
            output_field=TextField(),
        )
    if isinstance(field, serializers.DateField):
        return Func(F(column), Value("YYYY-MM-DD"), function="to_char", output_field=TextField())
    if isinstance(field, serializers.BooleanField):
        return Case(When(**{column: True}, then=Value("true")), default=Value("false"))
    if isinstance(field, serializers.CharField):
        # As ``neutralise`` does, in SQL. (A choice's values are the server's own.)
        return Case(
            When(
                **{f"{column}__regex": "^[" + "".join(FORMULA_STARTS).replace("-", "") + "-]"},
                then=Concat(Value("'"), F(column), output_field=TextField()),
            ),
            default=F(column),
            output_field=TextField(),
        )
    return F(column)


# ``%(expressions)s`` is a column (no parameters) and ``%(zone)s`` the quoted TIME_ZONE.
_LOCAL = "(%(expressions)s AT TIME ZONE %(zone)s)"
_UTC = "(%(expressions)s AT TIME ZONE 'UTC')"
INSTANT_AS_JSON = (
    f"(to_char({_LOCAL}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN to_char(%(expressions)s, 'US') = '000000' THEN ''"
    " ELSE to_char(%(expressions)s, '.US') END"
    f" || CASE WHEN {_LOCAL} = {_UTC} THEN 'Z'"
    f" WHEN {_LOCAL} > {_UTC} THEN '+' || to_char({_LOCAL} - {_UTC}, 'HH24:MI')"
    f" ELSE '-' || to_char({_UTC} - {_LOCAL}, 'HH24:MI') END)"
)
