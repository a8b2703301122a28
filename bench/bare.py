"""The bare floor: what the benchmark's reads cost with no framework at all. A WSGI
application with no Django in it (nothing it imports imports Django): the product's SQL
written out and run through psycopg 3 on one connection per worker process (opened at the
first request, autocommit, statements prepared by psycopg after a few runs), and the
product's JSON built from the rows by hand, the same bytes as the product's answer.

It answers the reads the benchmark makes, at the product's paths:

- ``/api/v1/measures/`` with ``cursor`` (either direction), ``stage`` (repeatable),
  ``strategy``, ``q`` (the search's web-search syntax, its stems, irregular plurals, prefix
  and typos, as ``measures/search.py`` writes the SQL) and ``as_of``;
- ``/api/v1/measures/<slug>/`` with its ``ETag``, and 304 to an ``If-None-Match`` that
  holds it (the tag computed as ``measures.representation.measure_etag`` computes it);
- ``/api/v1/strategies/<slug>/summary/`` (and ``as_of``);
- ``/api/v1/changes/`` with ``since``, ``cursor`` and ``page_size``;
- ``/healthz`` for the benchmark's start-up probe.

The lists, the summary and the feed carry the ``ETag`` the product's conditional-GET
middleware gives them (the MD5 of the body) and answer 304 to it. Nothing else of the
product is here: no middleware, no authentication, no throttling, no validation (an unknown
parameter is ignored, a malformed one is a bare 400, an unknown slug a bare 404), no
``extent``/``area``/``known_at``, and only GET (and HEAD).

The statements are the product's (``CaptureQueriesContext`` shows them): the same tables,
joins, conditions, orderings and limits, the status read as the same correlated subqueries
(behind the same ``CASE`` on ``status_valid_until`` for today's status), the search's
condition and rank as ``measures/search.py`` builds them. They select only the columns the
answer shows: where the product loads whole rows (the change feed's status events and
funding lines, as model instances) the floor reads the columns it needs. Values are bound
as parameters; the search runs unprepared, so that PostgreSQL plans it with the text known
and folds its constant parts (the words it ignores) as it does for the product.

The product's constants are repeated on purpose (the floor must not share the product's
code): the time zone, page sizes, the status values and the search's rules.
``tests/test_bench_bare_floor.py`` holds the answers byte for byte equal to the product's.
The one piece of the product it imports is the money rule (``measures/money.py``, plain
Python with no Django): the summary's totals are arithmetic over the funding lines, not a
cost of the framework, and a second copy of the rule would be one more thing to keep
equal."""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib import parse
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import DictRow, dict_row

from measures import money

# The product's settings and rules, repeated (see the module's docstring).
TIME_ZONE = ZoneInfo("Europe/London")
MEASURES_PATH = "/api/v1/measures/"
FUNDING_LINES_PATH = "/api/v1/funding-lines/"
PAGE_SIZE = 50
FEED_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
STAGES = (
    "announced",
    "in_development",
    "consultation",
    "legislating",
    "enacted",
    "in_force",
    "implementing",
    "completed",
    "stalled",
    "suspended",
    "withdrawn",
    "superseded",
)
VERDICTS = (
    "not_yet_rated",
    "in_the_works",
    "stalled",
    "kept",
    "partially_kept",
    "broken",
    "unratable",
)
CONFIDENCES = ("green", "amber_green", "amber", "amber_red", "red", "not_yet_rated", "unratable")
FINISHED_STAGES = ("completed", "withdrawn", "superseded")
FUNDING_PHASES = ("announced", "allocated", "committed", "disbursed", "spent")
CENT = Decimal("0.01")

Row = DictRow
Headers = list[tuple[str, str]]


class UnreadableParameterError(ValueError):
    """A parameter the floor cannot read: a bare 400."""


# Formats, as DRF writes them ----------------------------------------------------------


def local_today() -> datetime.date:
    return datetime.datetime.now(TIME_ZONE).date()


def instant(value: datetime.datetime) -> str:
    """A DateTimeField: in the product's time zone, ``Z`` for UTC."""
    text = value.astimezone(TIME_ZONE).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def money_text(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def render(data: Any) -> bytes:
    """As DRF's JSONRenderer: compact, UTF-8, U+2028 and U+2029 escaped."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def quoted_md5(text: bytes) -> str:
    return f'"{hashlib.md5(text, usedforsecurity=False).hexdigest()}"'


ETAG = re.compile(r'\A((?:W/)?"[^"]*")\Z')


def parse_etags(header: str) -> list[str]:
    """The tags of an ``If-None-Match`` header, as Django reads them."""
    if header.strip() == "*":
        return ["*"]
    matches = (ETAG.match(tag.strip()) for tag in header.split(","))
    return [match[1] for match in matches if match]


# A request ----------------------------------------------------------------------------


class Call:
    """What a view needs of the WSGI environ: the query, the headers, the URLs."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        raw_path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/")
        # WSGI hands the path over as Latin-1 text of its bytes.
        self.path = raw_path.encode("latin-1").decode("utf-8", "replace")
        self.query_string = environ.get("QUERY_STRING", "")
        self.query = parse.parse_qs(self.query_string, keep_blank_values=True)
        scheme = environ.get("wsgi.url_scheme", "http")
        self.host = environ.get("HTTP_HOST") or self.server_host(scheme)
        self.origin = f"{scheme}://{self.host}"

    def server_host(self, scheme: str) -> str:
        name, port = self.environ.get("SERVER_NAME", ""), str(self.environ.get("SERVER_PORT", ""))
        return name if port == ("443" if scheme == "https" else "80") else f"{name}:{port}"

    def get(self, name: str) -> str | None:
        """The last value given for ``name`` (as Django's ``QueryDict`` reads it)."""
        values = self.query.get(name)
        return values[-1] if values else None

    def get_list(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def header(self, name: str) -> str:
        return str(self.environ.get("HTTP_" + name.upper().replace("-", "_"), ""))

    def full_url(self) -> str:
        """``build_absolute_uri()``: the URL as asked, its query included."""
        path = parse.quote(self.path, safe="/:@&+$,-_.!~*'()")
        return f"{self.origin}{path}" + (f"?{self.query_string}" if self.query_string else "")


def date_parameter(call: Call, name: str) -> datetime.date | None:
    raw = call.get(name)
    if raw is None:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise UnreadableParameterError(name) from None


def page_size_parameter(call: Call, default: int) -> int:
    raw = call.get("page_size")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not raw.lstrip("0"):
        raise UnreadableParameterError("page_size")
    return min(int(raw), MAX_PAGE_SIZE)


def with_query_param(url: str, name: str, value: str) -> str:
    """DRF's ``replace_query_param``: the query re-encoded in sorted order."""
    scheme, netloc, path, query, fragment = parse.urlsplit(url)
    params = parse.parse_qs(query, keep_blank_values=True)
    params[name] = [value]
    query = parse.urlencode(sorted(params.items()), doseq=True)
    return parse.urlunsplit((scheme, netloc, path, query, fragment))


def unpadded_base64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def from_unpadded_base64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise UnreadableParameterError("cursor") from None


# A measure's status, as the product's SQL reads it -------------------------------------

# (name in the answer, axis, column of the event)
STATUS_PARTS = (
    ("stage", "stage", "value"),
    ("stage_since", "stage", "effective_on"),
    ("verdict", "verdict", "value"),
    ("confidence", "confidence", "value"),
)


def latest_event(axis: str, column: str) -> str:
    """The value on ``%(on)s`` of the measure ``m``'s axis: the latest event in effect that
    stands (not corrected or retracted, not a retraction)."""
    return (
        f"(SELECT u0.{column} FROM measures_statusevent u0 "
        "LEFT OUTER JOIN measures_statusevent u2 ON u0.id = u2.supersedes_id "
        f"WHERE u0.axis = '{axis}' AND u0.measure_id = m.id AND u0.effective_on <= %(on)s "
        "AND (u0.ends_on IS NULL OR u0.ends_on >= %(on)s) AND NOT u0.is_retraction "
        "AND u2.id IS NULL "
        "ORDER BY u0.effective_on DESC, u0.recorded_at DESC, u0.id DESC LIMIT 1)"
    )


def status_sql(name: str, *, today: bool) -> str:
    """The status ``name`` on ``%(on)s``: today's from the cached column while it holds
    (``with_current_status``), a past date's from the history (``with_history``)."""
    _, axis, column = next(part for part in STATUS_PARTS if part[0] == name)
    history = latest_event(axis, column)
    if today:
        return f"CASE WHEN m.status_valid_until <= %(on)s THEN {history} ELSE m.{name} END"
    return history


def status_columns(*, today: bool) -> str:
    return ", ".join(f"{status_sql(name, today=today)} AS {name}_then" for name, *_ in STATUS_PARTS)


MEASURE_COLUMNS = (
    "m.id, m.slug, s.slug AS strategy_slug, s.title AS strategy_title, m.title, m.summary, "
    "m.category, o.slug AS lead_slug, o.name AS lead_name, m.instrument, m.legal_vehicle, "
    "m.target_on, m.version, m.created_at, m.updated_at"
)
MEASURE_TABLES = (
    "measures_measure m JOIN strategy_strategy s ON m.strategy_id = s.id "
    "LEFT OUTER JOIN strategy_organisation o ON m.lead_organisation_id = o.id"
)


def is_overdue(target_on: datetime.date | None, stage: str | None, on: datetime.date) -> bool:
    return target_on is not None and target_on < on and stage not in FINISHED_STAGES


def measure_json(row: Row, measures_url: str, on: datetime.date) -> dict[str, Any]:
    url = f"{measures_url}{row['slug']}/"
    stage = row["stage_then"]
    lead = row["lead_slug"]
    return {
        "url": url,
        "slug": row["slug"],
        "strategy": {"slug": row["strategy_slug"], "title": row["strategy_title"]},
        "title": row["title"],
        "summary": row["summary"],
        "category": row["category"],
        "lead_organisation": {"slug": lead, "name": row["lead_name"]} if lead else None,
        "instrument": row["instrument"],
        "legal_vehicle": row["legal_vehicle"],
        "target_on": day(row["target_on"]),
        "is_overdue": is_overdue(row["target_on"], stage, on),
        "stage": stage,
        "stage_since": day(row["stage_since_then"]),
        "verdict": row["verdict_then"],
        "confidence": row["confidence_then"],
        "version": row["version"],
        "events_url": f"{url}events/",
        "legislation_url": f"{url}legislation/",
        "created_at": instant(row["created_at"]),
        "updated_at": instant(row["updated_at"]),
    }


# The search (measures/search.py, written out) ------------------------------------------

SEARCH_MAX_LENGTH = 200
TYPO_MIN_LENGTH = 4
TYPO_MAX_LENGTH = 30
TYPO_KEPT_START = 3
TITLE_LIKENESS_WEIGHT = "0.1"
WORD = re.compile(r"[^\W_]+")
TOKEN = re.compile(r'(?P<minus>-*)"(?P<quoted>[^"]*)"?|(?P<bare>[^\s"]+)')
IRREGULAR_PLURALS = (
    ("f", "ves"),
    ("knife", "knives"),
    ("life", "lives"),
    ("wife", "wives"),
    ("is", "es"),
    ("man", "men"),
    ("child", "children"),
    ("person", "people"),
    ("foot", "feet"),
    ("tooth", "teeth"),
    ("mouse", "mice"),
    ("criterion", "criteria"),
    ("phenomenon", "phenomena"),
)
# The searched columns as one text, spelt as the trigram index's expression is.
SEARCH_TEXT = (
    "(COALESCE(m.title, '') || COALESCE((COALESCE(' ', '') || COALESCE((COALESCE(m.summary, '') "
    "|| COALESCE((COALESCE(' ', '') || COALESCE((COALESCE(m.legal_vehicle, '') || "
    "COALESCE((COALESCE(' ', '') || COALESCE(m.category, '')), '')), '')), '')), '')), ''))"
)


@dataclass(frozen=True)
class SearchTerm:
    """A word (``phrase`` false) or a phrase; ``prefix``: the word being typed."""

    text: str
    phrase: bool = False
    excluded: bool = False
    prefix: bool = False


def parse_search(text: str) -> list[list[SearchTerm]]:
    """Groups of terms, every group to match, a group matching when one of its terms does."""
    groups: list[list[SearchTerm]] = []
    joining = False
    last: SearchTerm | None = None
    for token in TOKEN.finditer(text[:SEARCH_MAX_LENGTH].replace("\x00", " ")):
        quoted, bare = token["quoted"], token["bare"]
        last = None
        if bare is not None and bare.lower() == "or":
            joining = bool(groups)
            continue
        if quoted is not None:
            excluded, written = bool(token["minus"]), quoted
        else:
            excluded, written = bare.startswith("-"), bare.lstrip("-")
        words = WORD.findall(written)
        if not words:
            continue
        if quoted is None and len(words) == 1:
            term = SearchTerm(words[0].lower(), excluded=excluded)
        else:
            term = SearchTerm(written, phrase=True, excluded=excluded)
        if joining:
            groups[-1].append(term)
        else:
            groups.append([term])
        joining = False
        last = term
    if last is not None and not last.excluded and not last.phrase:
        groups[-1][-1] = SearchTerm(last.text, prefix=True)
    return groups


def other_forms(word: str) -> list[str]:
    forms = []
    for singular, plural in IRREGULAR_PLURALS:
        if word.endswith(plural):
            forms.append(word.removesuffix(plural) + singular)
        elif word.endswith(singular):
            forms.append(word.removesuffix(singular) + plural)
    return [form for form in forms if form and form != word]


def swapped_letters(word: str) -> list[str]:
    swaps = (
        word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        for i in range(len(word) - 1)
        if word[i] != word[i + 1]
    )
    return list(dict.fromkeys(swap for swap in swaps if swap != word))


def tsquery_text(words: Iterable[str], prefix: str | None = None) -> str:
    operands = []
    for word in words:
        if not WORD.fullmatch(word):
            raise UnreadableParameterError("q")
        operands.append(f"'{word}':*" if word == prefix else f"'{word}'")
    return " | ".join(operands)


class SearchSQL:
    """The search's condition and rank for ``text``, with their parameters."""

    def __init__(self, text: str) -> None:
        self.params: dict[str, Any] = {}
        self.groups = parse_search(text)
        terms = [self.term(term) for group in self.groups for term in group]
        self.empty = not terms
        grouped = iter(terms)
        conditions = []
        for group in self.groups:
            parts = [next(grouped) for _ in group]
            matched = " OR ".join(f"(NOT ({ignored}) AND {found})" for found, ignored, _ in parts)
            all_ignored = " AND ".join(ignored for _, ignored, _ in parts)
            conditions.append(f"({matched} OR ({all_ignored}))")
        every_ignored = " AND ".join(ignored for _, ignored, _ in terms)
        self.condition = " AND ".join([*conditions, f"NOT ({every_ignored})"])
        scored = [scored for _, _, scored in terms if scored is not None]
        words = [t.text for group in self.groups for t in group if not t.phrase and not t.excluded]
        score = "0.0"
        if scored:
            combined = functools.reduce(lambda left, right: f"({left} || {right})", scored)
            score = f"ts_rank(m.search_vector, {combined})"
        if words:
            likeness = f"WORD_SIMILARITY({self.param(' '.join(words))}, m.title)"
            score = f"({score} + ({likeness} * {TITLE_LIKENESS_WEIGHT}))"
        self.rank = f"({score})::double precision"

    def param(self, value: str) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def term(self, term: SearchTerm) -> tuple[str, str, str | None]:
        """The term's condition, the condition that PostgreSQL ignores all of its words,
        and the query that scores it (none for an excluded term)."""
        if term.phrase:
            phrase = f"phraseto_tsquery('english'::regconfig, {self.param(term.text)})"
            found = f"m.search_vector @@ ({phrase})"
            ignored = f"numnode({phrase}) = 0"
            if term.excluded:
                return f"NOT ({found})", ignored, None
            return found, ignored, phrase
        plain = f"plainto_tsquery('english'::regconfig, {self.param(term.text)})"
        ignored = f"numnode({plain}) = 0"
        if term.excluded:
            return f"NOT (m.search_vector @@ ({plain}))", ignored, None
        word = term.text
        forms = [word, *other_forms(word)]
        scored = (
            f"to_tsquery('english'::regconfig, "
            f"{self.param(tsquery_text(forms, word if term.prefix else None))})"
        )
        found = f"m.search_vector @@ ({scored})"
        if word.isalpha() and TYPO_MIN_LENGTH <= len(word) <= TYPO_MAX_LENGTH:
            found = f"({found} OR {self.typo(word, forms)})"
        return found, ignored, scored

    def typo(self, word: str, forms: list[str]) -> str:
        swaps = [
            form
            for swap in swapped_letters(word)
            for form in (swap, *other_forms(swap))
            if form not in forms
        ]
        start = word[:TYPO_KEPT_START]
        begins = f"to_tsquery('simple'::regconfig, {self.param(tsquery_text([start], start))})"
        # %% is a literal % (pg_trgm's word-similarity operator %>) beside the placeholders.
        like = f"(m.search_vector @@ ({begins}) AND {SEARCH_TEXT} %%> {self.param(word)})"
        if not swaps:
            return like
        swapped = tsquery_text(dict.fromkeys(swaps))
        return (
            f"m.search_vector @@ (to_tsquery('english'::regconfig, {self.param(swapped)})) "
            f"OR {like}"
        )


# The views -----------------------------------------------------------------------------

Answer = tuple[str, Headers, bytes]


def json_answer(data: Any, call: Call, *, etag: str | None = None) -> Answer:
    """200 with the JSON of ``data`` and its tag (the body's MD5 unless given), or 304 when
    ``If-None-Match`` holds the tag, compared as the conditional-GET middleware does (``*``
    or weakly)."""
    body = render(data)
    etag = etag or quoted_md5(body)
    tags = parse_etags(call.header("If-None-Match"))
    if tags and (tags == ["*"] or etag.strip("W/") in (tag.strip("W/") for tag in tags)):
        return not_modified(etag)
    return "200 OK", [("Content-Type", "application/json"), ("ETag", etag)], body


def not_modified(etag: str) -> Answer:
    return "304 Not Modified", [("ETag", etag)], b""


def problem(status: str, detail: str) -> Answer:
    return status, [("Content-Type", "application/json")], render({"detail": detail})


class Views:
    """The reads, on one connection."""

    def __init__(self, connection: psycopg.Connection[DictRow]) -> None:
        self.db = connection
        self.statements = 0

    def rows(self, sql: str, params: Any = None, *, prepare: bool | None = None) -> list[Row]:
        self.statements += 1
        return self.db.execute(sql, params, prepare=prepare).fetchall()

    def row(self, sql: str, params: Any = None) -> Row | None:
        self.statements += 1
        return self.db.execute(sql, params).fetchone()

    # Measures --------------------------------------------------------------------------

    def measure_list(self, call: Call) -> Answer:
        as_of = date_parameter(call, "as_of")
        on = as_of or local_today()
        today = as_of is None
        params: dict[str, Any] = {"on": on}
        conditions = []
        columns = f"{MEASURE_COLUMNS}, {status_columns(today=today)}"
        if strategy := call.get("strategy"):
            conditions.append("s.slug = %(strategy)s")
            params["strategy"] = strategy
        if stages := [stage for stage in call.get_list("stage") if stage]:
            conditions.append(f"{status_sql('stage', today=today)} = ANY(%(stages)s)")
            params["stages"] = stages
        search = None
        if q := call.get("q"):
            search = SearchSQL(q)
            if search.empty:
                return json_answer({"next": None, "previous": None, "results": []}, call)
            conditions.append(f"({search.condition})")
            params.update(search.params)
            columns += f", {search.rank} AS rank"
        going_back = False
        position = None
        if cursor := call.get("cursor"):
            try:
                going_back, (position,) = json.loads(from_unpadded_base64(cursor))
            except (ValueError, TypeError):
                raise UnreadableParameterError("cursor") from None
            conditions.append("m.slug < %(position)s" if going_back else "m.slug > %(position)s")
            params["position"] = position
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = (
            f"SELECT {columns} FROM {MEASURE_TABLES}{where} "
            f"ORDER BY m.slug {'DESC' if going_back else 'ASC'} LIMIT {PAGE_SIZE + 1}"
        )
        # The search is planned with its text known (see the module's docstring).
        rows = self.rows(sql, params, prepare=False if search else None)
        page = rows[:PAGE_SIZE]
        beyond = len(rows) > PAGE_SIZE
        if going_back:
            page.reverse()
            has_next, has_previous = True, beyond
        else:
            has_next, has_previous = beyond, position is not None
        measures_url = f"{call.origin}{MEASURES_PATH}"
        base_url = call.full_url()
        body = {
            "next": list_link(base_url, page[-1]["slug"], False) if has_next and page else None,
            "previous": list_link(base_url, page[0]["slug"], True)
            if has_previous and page
            else None,
            "results": [measure_json(row, measures_url, on) for row in page],
        }
        return json_answer(body, call)

    ETAG_SQL = (
        "SELECT m.version, s.updated_at AS strategy_updated_at, "
        "o.updated_at AS lead_updated_at FROM measures_measure m "
        "JOIN strategy_strategy s ON s.id = m.strategy_id "
        "LEFT JOIN strategy_organisation o ON o.id = m.lead_organisation_id WHERE m.slug = %s"
    )

    def measure_detail(self, call: Call, slug: str) -> Answer:
        on = local_today()
        tags = parse_etags(call.header("If-None-Match"))
        if tags:
            current = self.row(self.ETAG_SQL, (slug,))
            if current is not None and (etag := measure_etag(call, current, on)) in tags:
                return not_modified(etag)
        sql = (
            f"SELECT {MEASURE_COLUMNS}, {status_columns(today=True)}, "
            "s.updated_at AS strategy_updated_at, o.updated_at AS lead_updated_at "
            f"FROM {MEASURE_TABLES} WHERE m.slug = %(slug)s LIMIT 1"
        )
        row = self.row(sql, {"on": on, "slug": slug})
        if row is None:
            return problem("404 Not Found", "Not found.")
        measures_url = f"{call.origin}{MEASURES_PATH}"
        data = measure_json(row, measures_url, on)
        return json_answer(data, call, etag=measure_etag(call, row, on))

    # The strategy summary --------------------------------------------------------------

    def strategy_summary(self, call: Call, slug: str) -> Answer:
        as_of = date_parameter(call, "as_of")
        strategy = self.row(
            "SELECT id, slug, title FROM strategy_strategy WHERE slug = %s LIMIT 21", (slug,)
        )
        if strategy is None:
            return problem("404 Not Found", "Not found.")
        today = as_of is None
        stage = status_sql("stage", today=today)
        finished = ", ".join(f"'{value}'" for value in FINISHED_STAGES)
        # As the product counts: over a subquery computing each measure's status once.
        aggregates = [
            "COUNT(id) AS measure_count",
            "COUNT(id) FILTER (WHERE is_overdue) AS overdue_count",
        ]
        statuses = [
            "CASE WHEN (m.target_on < %(on)s AND "
            f"({stage} IS NULL OR NOT ({stage} IN ({finished})))) THEN true ELSE false END "
            "AS is_overdue",
        ]
        groups: tuple[tuple[str, str, tuple[str, ...]], ...] = (
            ("by_stage", "stage", STAGES),
            ("by_verdict", "verdict", VERDICTS),
            ("by_confidence", "confidence", CONFIDENCES),
        )
        for group, name, values in groups:
            column = f"{name}_then"
            statuses.append(f"{status_sql(name, today=today)} AS {column}")
            aggregates += [
                f"COUNT(id) FILTER (WHERE {column} = '{value}') AS {group}__{value}"
                for value in values
            ]
            aggregates.append(f"COUNT(id) FILTER (WHERE {column} IS NULL) AS {group}__none")
        counts = self.row(
            f"SELECT {', '.join(aggregates)} FROM (SELECT DISTINCT m.id, {', '.join(statuses)} "
            "FROM measures_measure m WHERE m.strategy_id = %(strategy)s) subquery",
            {"on": as_of or local_today(), "strategy": strategy["id"]},
        )
        assert counts is not None  # an aggregate always answers one row
        lines = [
            money.Line(
                id=line["id"],
                amount=line["amount"],
                currency=line["currency"],
                phase=line["phase"],
                parent_id=line["parent_id"],
                realises_id=line["realises_id"],
                announced_on=line["announced_on"],
                has_measure=line["measure_id"] is not None,
                is_ceiling=line["is_ceiling"],
            )
            for line in self.rows(
                "SELECT id, amount, currency, phase, parent_id, realises_id, announced_on, "
                "measure_id, is_ceiling FROM measures_fundingline WHERE strategy_id = %s "
                "ORDER BY strategy_id ASC, period_start ASC, id ASC",
                (strategy["id"],),
            )
        ]
        funding: dict[str, Any] = {
            group: [
                {
                    "currency": totals.currency,
                    "phase": totals.phase,
                    "total": money_text(totals.total),
                    "line_count": totals.line_count,
                    "ceiling_total": money_text(totals.ceiling_total),
                }
                for totals in rows
            ]
            for group, rows in money.summary_groups(lines, FUNDING_PHASES, as_of).items()
        }
        funding["undated_line_count"] = sum(1 for line in lines if line.announced_on is None)
        data: dict[str, Any] = {
            "strategy": {"slug": strategy["slug"], "title": strategy["title"]},
            "as_of": day(as_of),
            "extent": None,
            "area": None,
            "measure_count": counts["measure_count"],
            "overdue_count": counts["overdue_count"],
        }
        for group, _, values in groups:
            data[group] = {value: counts[f"{group}__{value}"] for value in (*values, "none")}
        data["funding"] = funding
        return json_answer(data, call)

    # The change feed -------------------------------------------------------------------

    def change_feed(self, call: Call) -> Answer:
        since = instant_parameter(call.get("since"))
        cursor = None
        if (text := call.get("cursor")) is not None:
            cursor = FeedCursor.decode(text)
        limit = page_size_parameter(call, FEED_PAGE_SIZE)
        horizon_row = self.row("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS x")
        assert horizon_row is not None
        done_below = int(horizon_row["x"])
        params: dict[str, Any] = {"horizon": done_below}
        parts = []
        for kind in FEED_KINDS:
            condition = "change_xid < %(horizon)s"
            if cursor is not None:
                if kind.rank < cursor.rank:
                    condition += " AND change_xid > %(xid)s"
                elif kind.rank > cursor.rank:
                    condition += " AND change_xid >= %(xid)s"
                else:
                    condition += " AND (change_xid, id) > (%(xid)s, %(id)s)"
                params.update(xid=cursor.xid, id=cursor.id)
            elif since is not None:
                condition += f" AND {kind.stamp} > %(since)s"
                params["since"] = since
            parts.append(
                f"(SELECT change_xid, {kind.rank} AS rank, id FROM {kind.table} "
                f"WHERE {condition} ORDER BY 1 ASC, 3 ASC LIMIT {limit + 1})"
            )
        found = [
            FeedCursor(row["change_xid"], row["rank"], row["id"])
            for row in self.rows(
                " UNION ALL ".join(parts) + f" ORDER BY 1 ASC, 2 ASC, 3 ASC LIMIT {limit + 1}",
                params,
            )
        ]
        has_more = len(found) > limit
        wanted = found[:limit]
        loaded: dict[int, dict[int, dict[str, Any]]] = {}
        for kind in FEED_KINDS:
            ids = [position.id for position in wanted if position.rank == kind.rank]
            if ids:
                loaded[kind.rank] = kind.load(self, call, ids)
        if has_more:
            position = wanted[-1]
        else:
            position = max([FeedCursor(done_below - 1, 9, LAST_ID), *wanted[-1:]])
            if cursor is not None:
                position = max(position, cursor)
        items = []
        for at in wanted:
            kind = FEED_KINDS[at.rank]
            shown = loaded[at.rank][at.id]
            item = {"kind": kind.name, "changed_at": shown["changed_at"]}
            item.update(
                {other.name: shown["json"] if other is kind else None for other in FEED_KINDS}
            )
            items.append(item)
        return json_answer(
            {"items": items, "next_cursor": position.encode(), "has_more": has_more}, call
        )

    def feed_measures(self, call: Call, ids: list[int]) -> dict[int, dict[str, Any]]:
        on = local_today()
        measures_url = f"{call.origin}{MEASURES_PATH}"
        rows = self.rows(
            f"SELECT {MEASURE_COLUMNS}, {status_columns(today=True)} FROM {MEASURE_TABLES} "
            "WHERE m.id = ANY(%(ids)s) ORDER BY m.strategy_id ASC, m.title ASC",
            {"on": on, "ids": ids},
        )
        return {
            row["id"]: {
                "changed_at": instant(row["updated_at"]),
                "json": measure_json(row, measures_url, on),
            }
            for row in rows
        }

    def feed_events(self, call: Call, ids: list[int]) -> dict[int, dict[str, Any]]:
        events = self.rows(
            "SELECT e.id, m.slug AS measure, e.axis, e.value, e.effective_on, "
            "e.effective_on_precision, e.extent, e.area, e.ends_on, e.recorded_at, "
            "u.username AS recorded_by, e.rationale, e.supersedes_id, e.is_retraction "
            "FROM measures_statusevent e JOIN measures_measure m ON e.measure_id = m.id "
            "LEFT OUTER JOIN auth_user u ON e.recorded_by_id = u.id WHERE e.id = ANY(%s) "
            "ORDER BY e.effective_on DESC, e.recorded_at DESC, e.id DESC",
            (ids,),
        )
        citations: dict[int, list[dict[str, Any]]] = {event_id: [] for event_id in ids}
        for citation in self.rows(
            "SELECT c.event_id, src.id, src.title, src.publisher, src.url, c.quote, c.locator "
            "FROM measures_eventcitation c JOIN strategy_source src ON c.source_id = src.id "
            "WHERE c.event_id = ANY(%s) ORDER BY c.id ASC",
            (ids,),
        ):
            citations[citation["event_id"]].append(
                {
                    "source": {
                        "id": citation["id"],
                        "title": citation["title"],
                        "publisher": citation["publisher"],
                        "link": citation["url"],
                    },
                    "quote": citation["quote"],
                    "locator": citation["locator"],
                }
            )
        corrected_by: dict[int, int] = {}
        for correction in self.rows(
            "SELECT id, supersedes_id FROM measures_statusevent WHERE supersedes_id = ANY(%s) "
            "ORDER BY effective_on DESC, recorded_at DESC, id DESC",
            (ids,),
        ):
            corrected_by.setdefault(correction["supersedes_id"], correction["id"])
        return {
            event["id"]: {
                "changed_at": instant(event["recorded_at"]),
                "json": {
                    "id": event["id"],
                    "measure": event["measure"],
                    "axis": event["axis"],
                    "value": event["value"],
                    "effective_on": day(event["effective_on"]),
                    "effective_on_precision": event["effective_on_precision"],
                    "extent": list(event["extent"]),
                    "area": event["area"],
                    "ends_on": day(event["ends_on"]),
                    "recorded_at": instant(event["recorded_at"]),
                    "recorded_by": event["recorded_by"],
                    "rationale": event["rationale"],
                    "supersedes": event["supersedes_id"],
                    "superseded_by": corrected_by.get(event["id"]),
                    "is_retraction": event["is_retraction"],
                    "citations": citations[event["id"]],
                },
            }
            for event in events
        }

    def feed_funding_lines(self, call: Call, ids: list[int]) -> dict[int, dict[str, Any]]:
        rows = self.rows(
            "SELECT f.id, s.slug AS strategy, fm.slug AS measure, f.parent_id, f.title, "
            "f.amount, f.currency, f.phase, f.period_start, f.period_end, f.period_label, "
            "funder.slug AS funder, recipient.slug AS recipient, f.announced_on, "
            "f.announced_on_precision, f.realises_id, f.is_ceiling, f.novelty, f.source_id, "
            "f.quote, f.locator, f.notes, f.created_at, f.updated_at "
            "FROM measures_fundingline f JOIN strategy_strategy s ON f.strategy_id = s.id "
            "LEFT OUTER JOIN measures_measure fm ON f.measure_id = fm.id "
            "LEFT OUTER JOIN strategy_organisation funder ON f.funder_id = funder.id "
            "LEFT OUTER JOIN strategy_organisation recipient ON f.recipient_id = recipient.id "
            "WHERE f.id = ANY(%s) ORDER BY f.strategy_id ASC, f.period_start ASC, f.id ASC",
            (ids,),
        )
        return {
            row["id"]: {
                "changed_at": instant(row["updated_at"]),
                "json": {
                    "url": f"{call.origin}{FUNDING_LINES_PATH}{row['id']}/",
                    "id": row["id"],
                    "strategy": row["strategy"],
                    "measure": row["measure"],
                    "parent": row["parent_id"],
                    "title": row["title"],
                    "amount": money_text(row["amount"]),
                    "currency": row["currency"],
                    "phase": row["phase"],
                    "period_start": day(row["period_start"]),
                    "period_end": day(row["period_end"]),
                    "period_label": row["period_label"],
                    "funder": row["funder"],
                    "recipient": row["recipient"],
                    "announced_on": day(row["announced_on"]),
                    "announced_on_precision": row["announced_on_precision"],
                    "realises": row["realises_id"],
                    "is_ceiling": row["is_ceiling"],
                    "novelty": row["novelty"],
                    "source": row["source_id"],
                    "quote": row["quote"],
                    "locator": row["locator"],
                    "notes": row["notes"],
                    "created_at": instant(row["created_at"]),
                    "updated_at": instant(row["updated_at"]),
                },
            }
            for row in rows
        }


def list_link(base_url: str, slug: str, reverse: bool) -> str:
    """A page link with the cursor the product writes: ``[reverse, [slug]]`` as JSON in
    unpadded URL-safe base64."""
    text = json.dumps([reverse, [slug]], ensure_ascii=False, separators=(",", ":"))
    return with_query_param(base_url, "cursor", unpadded_base64(text.encode()))


def measure_etag(call: Call, row: Row, on: datetime.date) -> str:
    """``measure_etag`` of a read for today, anywhere, at this host."""
    lead_updated = row["lead_updated_at"]
    parts = [
        row["strategy_updated_at"].isoformat(),
        lead_updated.isoformat() if lead_updated else "",
        on.isoformat(),
        "",  # as_of
        "",  # known_at
        "",  # extent
        "",  # area
        call.host,
    ]
    digest = hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()[:12]
    return f'"v{row["version"]}-{digest}"'


def instant_parameter(raw: str | None) -> datetime.datetime | None:
    """RFC 3339, or a date for its first instant in UTC."""
    if raw is None:
        return None
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            return datetime.datetime.combine(
                datetime.date.fromisoformat(raw), datetime.time.min, tzinfo=datetime.UTC
            )
        value = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise UnreadableParameterError("since") from None
    if value.tzinfo is None:
        raise UnreadableParameterError("since")
    return value.astimezone(datetime.UTC)


LAST_ID = 2**62


@dataclass(frozen=True, order=True)
class FeedCursor:
    """A position in the feed: (transaction, kind, row id), as ``measures.feed.Cursor``."""

    xid: int
    rank: int
    id: int

    def encode(self) -> str:
        return unpadded_base64(f"{self.xid}.{self.rank}.{self.id}".encode())

    @classmethod
    def decode(cls, text: str) -> FeedCursor:
        try:
            xid, rank, row = (int(part) for part in from_unpadded_base64(text).decode().split("."))
        except (ValueError, UnicodeDecodeError):
            raise UnreadableParameterError("cursor") from None
        if min(xid, rank, row) < 0 or rank > 9 or row > LAST_ID or xid > 2**63:
            raise UnreadableParameterError("cursor")
        return cls(xid, rank, row)


@dataclass(frozen=True)
class FeedKind:
    name: str
    rank: int
    table: str
    stamp: str
    load: Callable[[Views, Call, list[int]], dict[int, dict[str, Any]]]


FEED_KINDS = (
    FeedKind("measure", 0, "measures_measure", "updated_at", Views.feed_measures),
    FeedKind("status_event", 1, "measures_statusevent", "recorded_at", Views.feed_events),
    FeedKind("funding_line", 2, "measures_fundingline", "updated_at", Views.feed_funding_lines),
)


# The WSGI application ------------------------------------------------------------------

MEASURE_PATH = re.compile(r"/api/v1/measures/(?P<slug>[-a-zA-Z0-9_]+)/")
SUMMARY_PATH = re.compile(r"/api/v1/strategies/(?P<slug>[-a-zA-Z0-9_]+)/summary/")


class BareApplication:
    """The WSGI callable. Its connection is opened at the first request of each process
    (gunicorn imports the application in each worker, after the fork), from ``conninfo``
    or else ``DATABASE_URL``."""

    def __init__(self, conninfo: str | None = None) -> None:
        self.conninfo = conninfo
        self.connection: psycopg.Connection[DictRow] | None = None
        # SQL statements of the last request (the benchmark's query count).
        self.statements = 0

    def connect(self) -> psycopg.Connection[DictRow]:
        if self.connection is None or self.connection.closed or self.connection.broken:
            connection = psycopg.connect(
                self.conninfo or os.environ["DATABASE_URL"], autocommit=True, row_factory=dict_row
            )
            # As Django sets it: instants come back in UTC (the ETag digests their text).
            connection.execute("SET TIME ZONE 'UTC'")
            # As the product's settings set it (config/settings.py).
            connection.execute("SET jit = off")
            self.connection = connection
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        status, headers, body = self.answer(environ)
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def answer(self, environ: dict[str, Any]) -> Answer:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return problem("405 Method Not Allowed", "Only GET.")
        call = Call(environ)
        if call.path == "/healthz":
            return "200 OK", [("Content-Type", "application/json")], b'{"status":"ok"}'
        views = None
        try:
            views = Views(self.connect())
            return self.route(views, call)
        except UnreadableParameterError as error:
            return problem("400 Bad Request", f"Cannot read {error}.")
        except psycopg.OperationalError:
            self.close()
            return problem("503 Service Unavailable", "The database did not answer.")
        finally:
            self.statements = views.statements if views is not None else 0

    @staticmethod
    def route(views: Views, call: Call) -> Answer:
        if call.path == MEASURES_PATH:
            return views.measure_list(call)
        if match := MEASURE_PATH.fullmatch(call.path):
            return views.measure_detail(call, match["slug"])
        if match := SUMMARY_PATH.fullmatch(call.path):
            return views.strategy_summary(call, match["slug"])
        if call.path == "/api/v1/changes/":
            return views.change_feed(call)
        return problem("404 Not Found", "Not found.")


def ask(
    application: BareApplication, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Call ``application`` in process with a GET of ``path`` (``headers`` may hold the
    Host): status, headers and body."""
    location = parse.urlsplit(path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": location.path,
        "QUERY_STRING": location.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        started.update(status=int(status.split()[0]), headers=dict(response_headers))

    body = b"".join(application(environ, start_response))
    return started["status"], started["headers"], body


application = BareApplication()
