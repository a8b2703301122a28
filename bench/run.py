"""The benchmark of issue 6 in one command (see bench/README.md):

    python -m bench.run --quick    # 10,000 measures, a few seconds per endpoint (make bench)
    python -m bench.run --full     # 1,000,000 measures / ~5,300,000 events (make bench-full)

1. starts a dedicated PostgreSQL (``.data/bench-<size>/``, never the development database)
   or uses ``--database-url``, migrates it, and generates the dataset if it does not hold
   it yet (``bench/generate.py``; ``--generate`` forces a new one);
2. serves the product (``config.settings``), the Django floor (``bench.settings``, the plain
   ``.values()`` + ``JsonResponse`` views of ``bench/floor.py``) and the bare floor
   (``bench/bare.py``: WSGI and psycopg, no Django) under gunicorn with the production
   configuration (``config/gunicorn.py``: 2 sync workers, DEBUG off, plain HTTP,
   throttling off, worker recycling off), each on its own port;
3. drives load from a second process on 127.0.0.1 (``bench/load.py``), product and floors in
   turn, over several rounds, and prints for each endpoint: requests/s, p50 and p99
   latency, the product/floor throughput ratios, SQL queries per request (counted in
   process with ``CaptureQueriesContext``, and by the bare floor itself) and the peak RSS
   of the gunicorn workers;
4. then the CSV export (rows/s, worker memory), the admin's spreadsheet import (rows/s of
   measures, status events and funding lines, ``bench/import_rate.py``), and the memory
   of one worker over many requests.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.legislation import IN_FORCE_DAYS, NATIONS, linked_measures

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MODES: dict[str, dict[str, Any]] = {
    "quick": {
        "measures": 10_000,
        "rounds": 3,
        "seconds": 2.0,
        "memory_requests": 5_000,
        "memory_warmup": 1_000,
        "import_rows": 10_000,
        "restore_measures": 10_000,
        "csv_downloads": 3,
    },
    "full": {
        "measures": 1_000_000,
        "rounds": 5,
        "seconds": 5.0,
        "memory_requests": 100_000,
        "memory_warmup": 10_000,
        "import_rows": 10_000,
        "restore_measures": 100_000,
        "csv_downloads": 3,
    },
}
CSV_ROWS = 100_000
AS_OF = "2021-06-30"
SEARCH_WORDS = ["knife", "youth", "gang", "exploitation", "county lines"]
# The bench cluster is tuned like a small production server, not like the throw-away
# development one (more shared buffers; checkpoints spaced out for the bulk load).
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}


def code_version() -> str:
    """The commit, and whether the working tree differs from it (others may be editing).
    A copy of the tree made to run a long benchmark names its origin in ``SNAPSHOT``."""
    snapshot = BASE_DIR / "SNAPSHOT"
    if snapshot.exists():
        return snapshot.read_text().strip().replace("\n", " ")
    try:  # two git calls with the same options
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}{' + uncommitted changes' if dirty else ''}"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The database ---------------------------------------------------------------------------


def size_label(measures: int) -> str:
    if measures >= 1_000_000 and measures % 1_000_000 == 0:
        return f"{measures // 1_000_000}m"
    if measures >= 1000 and measures % 1000 == 0:
        return f"{measures // 1000}k"
    return str(measures)


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    """The URL of the benchmark's database, started (and tuned) for the run if it is the
    project-local cluster of this size."""
    if args.database_url:
        yield args.database_url
        return
    from config import localdb

    pgdata = (BASE_DIR / ".data").resolve() / f"bench-{size_label(args.measures)}"
    url, started = localdb.start(pgdata)
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            current = {
                name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in SERVER_SETTINGS
            }
            stale = {
                name: value for name, value in SERVER_SETTINGS.items() if current[name] != value
            }
            for name, value in stale.items():
                connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        if stale:
            say(f"tuning {pgdata}: {', '.join(f'{k}={v}' for k, v in stale.items())}")
            localdb.stop(pgdata)
            url, _ = localdb.start(pgdata)
            started = True
        say(f"database: {pgdata}")
        yield url
    finally:
        if started and not args.keep_db:
            localdb.stop(pgdata)


def django_environment(url: str, settings_module: str) -> dict[str, str]:
    """Production settings over plain HTTP, throttling off (an empty rate disables it)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GUNICORN_", "API_THROTTLE_"))
    }
    environment.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE=settings_module,
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="0",
        DJANGO_STATIC_MANIFEST="0",
        API_THROTTLE_ANON="",
        API_THROTTLE_USER="",
        PYTHONPATH=str(BASE_DIR),
    )
    environment.pop("REDIS_URL", None)
    environment.pop("DATABASE_REPLICA_URLS", None)
    return environment


SECRET_KEY = secrets.token_urlsafe(50)


def migrate(url: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=django_environment(url, "config.settings"),
        check=True,
    )


def measure_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM measures_measure").fetchone()
    return int(row[0]) if row else 0


# The servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the fields follow it.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def memory_kb(pid: int) -> dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values


class Server:
    """One gunicorn with the production configuration, its output in ``.data/bench/``."""

    def __init__(
        self,
        name: str,
        settings_module: str,
        url: str,
        workers: int,
        application: str = "config.wsgi",
    ) -> None:
        self.name = name
        self.application = application
        self.port = free_port()
        self.environment = django_environment(url, settings_module)
        self.environment.update(
            HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY=str(workers),
            # Recycling workers every ~1,000 requests (the production default) would
            # restart them during the measurement and hide any memory growth.
            GUNICORN_MAX_REQUESTS="0",
            GUNICORN_LOG_LEVEL="warning",
        )
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        log_dir = BASE_DIR / ".data" / "bench"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = (log_dir / f"{self.name}.log").open("wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--config", "config/gunicorn.py", self.application],
            cwd=BASE_DIR,
            env=self.environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited; see {self.log.name}")
            if len(self.worker_pids()) == self.workers and self.ready():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} server did not start; see {self.log.name}")

    def ready(self) -> bool:
        try:
            status, _, _ = fetch(self.port, "/healthz")
        except OSError:
            return False
        return status == 200

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def fetch(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# Load -----------------------------------------------------------------------------------

Request = tuple[str, dict[str, str]]


@dataclass
class Totals:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    peak_rss_kb: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, result: dict[str, Any], peak_rss_kb: int) -> None:
        self.requests += result["requests"]
        self.errors += result["errors"]
        self.seconds += result["seconds"]
        self.latencies.extend(result["latencies_ms"])
        self.peak_rss_kb = max(self.peak_rss_kb, peak_rss_kb)
        for status, count in result["statuses"].items():
            self.statuses[status] = self.statuses.get(status, 0) + count

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "requests_per_second": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
            "statuses": self.statuses,
        }


def drive(
    server: Server,
    requests: list[Request],
    *,
    concurrency: int,
    seconds: float | None = None,
    total: int | None = None,
    expect: str = "200",
) -> tuple[dict[str, Any], int]:
    """Run ``bench.load`` in its own process against ``server``; sample the workers' RSS
    meanwhile. Returns the load result and the highest RSS seen (kB)."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        requests_file = Path(folder) / "requests.json"
        requests_file.write_text(json.dumps(requests))
        output_file = Path(folder) / "result.json"
        command = [
            PYTHON,
            "-m",
            "bench.load",
            "--port",
            str(server.port),
            "--requests-file",
            str(requests_file),
            "--concurrency",
            str(concurrency),
            "--expect",
            expect,
        ]
        command += ["--seconds", str(seconds)] if seconds is not None else []
        command += ["--requests", str(total)] if total is not None else []
        pids = server.worker_pids()
        peak = 0
        with output_file.open("wb") as output:
            process = subprocess.Popen(command, cwd=BASE_DIR, stdout=output)
            while process.poll() is None:
                peak = max([peak, *(memory_kb(pid).get("VmRSS", 0) for pid in pids)])
                time.sleep(0.1)
        if process.returncode != 0:
            raise RuntimeError(f"the load generator failed ({process.returncode})")
        return json.loads(output_file.read_text()), peak


@dataclass
class Endpoint:
    name: str
    product: list[Request]
    floor: list[Request] | None = None
    expect: str = "200"
    # In-process query count: the first request, with these headers computed in process.
    conditional: bool = False
    note: str = ""
    # The bare floor's requests (bench/bare.py): the product's own paths.
    bare: list[Request] | None = None


def floor_path(path: str) -> str:
    return path.replace("/api/v1/measures/", "/floor/measures/", 1)


def floor_of(requests: list[Request]) -> list[Request]:
    return [(floor_path(path), {}) for path, _ in requests]


def plain(paths: list[str]) -> list[Request]:
    return [(path, {}) for path in paths]


def encode_cursor(position: str) -> str:
    """The cursor the API writes for the page after the measure ``position`` (by slug)."""
    from config.api.pagination import KeysetCursor, encode_position

    return encode_position(KeysetCursor((position,), reverse=False))


def endpoints(product_port: int, bare_port: int) -> list[Endpoint]:
    """The requests of each endpoint, chosen from the data (deterministically)."""
    from django.db import connection

    rng = random.Random(6)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(id), max(id) FROM measures_measure")
        count, low, high = cursor.fetchone()
        ids = [rng.randint(low, high) for _ in range(400)]
        cursor.execute("SELECT slug FROM measures_measure WHERE id = ANY(%s) ORDER BY id", [ids])
        slugs = [row[0] for row in cursor.fetchall()][:200]
        # Deep pages: cursors at 50% to 95% of the table, in slug order.
        deep = []
        for fraction in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
            cursor.execute(
                "SELECT slug FROM measures_measure ORDER BY slug OFFSET %s LIMIT 1",
                [int(count * fraction)],
            )
            deep.append(cursor.fetchone()[0])
        cursor.execute(
            """SELECT s.slug, (SELECT m.stage FROM measures_measure m WHERE m.strategy_id = s.id
                   AND m.stage IS NOT NULL GROUP BY m.stage ORDER BY count(*) DESC, m.stage LIMIT 1)
               FROM strategy_strategy s
               WHERE EXISTS (SELECT 1 FROM measures_measure m WHERE m.strategy_id = s.id)
               ORDER BY s.id LIMIT 10"""
        )
        filtered = cursor.fetchall()
        cursor.execute("SELECT max(updated_at) FROM measures_measure")
        latest = cursor.fetchone()[0]
    strategies = [slug for slug, _ in filtered]
    since = (latest - datetime.timedelta(days=2)).isoformat()
    # A position in the middle of the change feed, as a syncing client would hold.
    _, _, body = fetch(product_port, "/api/v1/changes/?" + urlencode({"since": since}))
    feed_cursor = json.loads(body)["next_cursor"]
    # Each server's own tags: a measure's ETag digests the Host, which names the port.
    etags = []
    for slug in slugs[:50]:
        path = f"/api/v1/measures/{slug}/"
        _, headers, _ = fetch(product_port, path)
        _, bare_headers, _ = fetch(bare_port, path)
        etags.append((path, headers.get("ETag", ""), bare_headers.get("ETag", "")))
    details = plain([f"/api/v1/measures/{slug}/" for slug in slugs])
    chains = linked_measures(50)
    first_page = plain(["/api/v1/measures/"])
    deep_pages = plain([f"/api/v1/measures/?cursor={encode_cursor(slug)}" for slug in deep])
    stage_and_strategy = plain(
        [
            "/api/v1/measures/?" + urlencode({"stage": stage, "strategy": strategy})
            for strategy, stage in filtered
        ]
    )
    searches = plain(["/api/v1/measures/?" + urlencode({"q": word}) for word in SEARCH_WORDS])
    time_travel = plain([f"/api/v1/measures/?as_of={AS_OF}"])
    summaries = plain([f"/api/v1/strategies/{slug}/summary/" for slug in strategies])
    feed_since = plain(["/api/v1/changes/?" + urlencode({"since": since})])
    feed_from_cursor = plain([f"/api/v1/changes/?cursor={feed_cursor}"])
    return [
        Endpoint("list, first page", first_page, floor_of(first_page), bare=first_page),
        Endpoint("list, deep page (cursor)", deep_pages, floor_of(deep_pages), bare=deep_pages),
        Endpoint("detail", details, floor_of(details), bare=details),
        Endpoint(
            "list, stage + strategy",
            stage_and_strategy,
            floor_of(stage_and_strategy),
            bare=stage_and_strategy,
        ),
        Endpoint("list, search q=", searches, floor_of(searches), bare=searches),
        Endpoint(f"list, as_of={AS_OF}", time_travel, floor_of(time_travel), bare=time_travel),
        Endpoint(
            "detail, If-None-Match (304)",
            [(path, {"If-None-Match": etag}) for path, etag, _ in etags],
            plain([floor_path(path) for path, _, _ in etags]),
            expect="304",
            conditional=True,
            note="floor: the full 200 response; bare: its own 304",
            bare=[(path, {"If-None-Match": etag}) for path, _, etag in etags],
        ),
        Endpoint("strategy summary", summaries, bare=summaries),
        Endpoint("change feed, since", feed_since, bare=feed_since),
        Endpoint("change feed, cursor", feed_from_cursor, bare=feed_from_cursor),
        # Where and when: the measures and the summary answered for one nation.
        Endpoint(
            f"list, extent=scotland + as_of={AS_OF}",
            plain(["/api/v1/measures/?" + urlencode({"extent": "scotland", "as_of": AS_OF})]),
        ),
        Endpoint(
            "strategy summary, extent=scotland",
            plain(
                [
                    f"/api/v1/strategies/{slug}/summary/?" + urlencode({"extent": "scotland"})
                    for slug in strategies
                ]
            ),
        ),
        # The law's path (bench/legislation.py writes its rows).
        Endpoint("bills, first page", plain(["/api/v1/bills/"])),
        Endpoint("provisions, first page", plain(["/api/v1/provisions/"])),
        Endpoint(
            "provisions, extent=",
            plain(["/api/v1/provisions/?" + urlencode({"extent": nation}) for nation in NATIONS]),
        ),
        Endpoint("commencements, first page", plain(["/api/v1/commencements/"])),
        Endpoint(
            "commencements, in_force_on=",
            plain(
                [
                    "/api/v1/commencements/?" + urlencode({"in_force_on": day})
                    for day in IN_FORCE_DAYS
                ]
            ),
        ),
        Endpoint(
            "measure legislation chain",
            plain([f"/api/v1/measures/{slug}/legislation/" for slug in chains]),
        ),
    ]


# In-process checks ----------------------------------------------------------------------


def client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1")


def queries_per_request(path: str, headers: dict[str, str], *, conditional: bool = False) -> int:
    """SQL statements of one request, after one unmeasured request (warm caches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    http = client()
    response = http.get(path)
    drain(response)
    if conditional:
        headers = {"If-None-Match": response.headers.get("ETag", "")}
    with CaptureQueriesContext(connection) as captured:
        drain(http.get(path, headers=headers))
    return len(captured)


def drain(response: Any) -> None:
    """Read a streaming response to its end and close it. One left half-read holds a
    server-side cursor whose clean-up, run later by the garbage collector in the middle
    of another query, waits forever for the connection's lock."""
    if response.streaming:
        for _ in response.streaming_content:
            pass
    response.close()


def same_json(product_path: str, floor_path_: str) -> str | None:
    """None if product and floor answer the same JSON (links compared by path), else why not."""
    http = client()
    product = http.get(product_path)
    floor = http.get(floor_path_)
    if product.status_code != 200 or floor.status_code != 200:
        return f"status {product.status_code} vs {floor.status_code}"
    normalised = json.loads(floor.content.decode().replace("/floor/measures/", "/api/v1/measures/"))
    expected = product.json()
    if normalised == expected:
        return None
    if isinstance(expected, dict) and isinstance(normalised, dict):
        for key in expected:
            if expected[key] != normalised.get(key):
                return f"first difference at {key!r}"
        return f"keys {sorted(expected)} vs {sorted(normalised)}"
    return "different JSON"


# The Host both servers are asked with when their bytes are compared: the links and a
# measure's ETag name it.
SAME_HOST = {"Host": "127.0.0.1"}


def answer_difference(
    expected: tuple[int, dict[str, str], bytes], found: tuple[int, dict[str, str], bytes]
) -> str | None:
    """None if the two answers have the same status, Content-Type, ETag and body bytes,
    else the first difference."""
    (status, headers, body), (found_status, found_headers, found_body) = expected, found
    if status != found_status:
        return f"status {status} vs {found_status}"
    for name in ("content-type", "etag"):
        ours = {key.lower(): value for key, value in headers.items()}.get(name)
        theirs = {key.lower(): value for key, value in found_headers.items()}.get(name)
        if ours != theirs:
            return f"{name} {ours!r} vs {theirs!r}"
    if body != found_body:
        at = next(
            (i for i, (a, b) in enumerate(zip(body, found_body, strict=False)) if a != b),
            min(len(body), len(found_body)),
        )
        return (
            f"first difference at byte {at}: {body[max(0, at - 40) : at + 40]!r} vs "
            f"{found_body[max(0, at - 40) : at + 40]!r}"
        )
    return None


def bare_difference(product: Server, bare: Server, endpoint: Endpoint) -> str | None:
    """None if the bare floor answers every request of ``endpoint`` with the product's bytes
    (status, Content-Type, ETag, body), both asked with the same Host; else the first
    difference. A conditional request carries the product's tag for that Host."""
    for path, _ in endpoint.product:
        headers = dict(SAME_HOST)
        if endpoint.conditional:
            _, first, _ = fetch(product.port, path, SAME_HOST)
            headers["If-None-Match"] = first.get("ETag", "")
        why = answer_difference(fetch(product.port, path, headers), fetch(bare.port, path, headers))
        if why is not None:
            return f"{path}: {why}"
    return None


def bare_statements(url: str, path: str, *, conditional: bool) -> int:
    """SQL statements of one request of the bare floor, run in process (after one unmeasured
    request, as ``queries_per_request``)."""
    from bench.bare import BareApplication, ask

    application = BareApplication(url)
    try:
        _, headers, _ = ask(application, path, SAME_HOST)
        extra = {"If-None-Match": headers.get("ETag", "")} if conditional else {}
        ask(application, path, {**SAME_HOST, **extra})
        return application.statements
    finally:
        application.close()


# Sections -------------------------------------------------------------------------------


def load_endpoints(
    product: Server,
    floor: Server,
    bare: Server,
    chosen: list[Endpoint],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    rows = []
    for endpoint in chosen:
        say(f"load: {endpoint.name}")
        targets: list[tuple[str, Server, list[Request], str]] = [
            ("product", product, endpoint.product, endpoint.expect)
        ]
        if endpoint.floor is not None:
            targets.append(("floor", floor, endpoint.floor, "200"))
        bare_differs = None
        if endpoint.bare is not None:
            # Checked before it is measured: a floor that answers something else is no floor.
            bare_differs = bare_difference(product, bare, endpoint)
            if bare_differs is None:
                say("  bare JSON identical to the product's")
                targets.append(("bare", bare, endpoint.bare, endpoint.expect))
            else:
                say(f"  bare JSON DIFFERS from the product's: {bare_differs}")
        totals = {name: Totals() for name, *_ in targets}
        for _name, server, requests, expect in targets:  # warm-up, not counted
            drive(server, requests, concurrency=args.concurrency, total=20, expect=expect)
        for round_number in range(args.rounds):
            # The order rotates every round, so that drift in the machine's load hits each
            # target in each position alike.
            turn = round_number % len(targets)
            order = targets[turn:] + targets[:turn]
            for name, server, requests, expect in order:
                result, peak = drive(
                    server,
                    requests,
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                    expect=expect,
                )
                totals[name].add(result, peak)
        path, headers = endpoint.product[0]
        row: dict[str, Any] = {
            "endpoint": endpoint.name,
            "note": endpoint.note,
            "product": totals["product"].summary(),
            "product_queries": queries_per_request(path, headers, conditional=endpoint.conditional),
        }
        if endpoint.floor is not None:
            row["floor"] = totals["floor"].summary()
            row["floor_queries"] = queries_per_request(*endpoint.floor[0])
            floor_rate = totals["floor"].rate
            row["ratio"] = round(totals["product"].rate / floor_rate, 2) if floor_rate else None
            if not endpoint.conditional:
                row["same_json"] = same_json(path, endpoint.floor[0][0])
        if endpoint.bare is not None:
            row["bare_same_bytes"] = bare_differs
        if "bare" in totals:
            row["bare"] = totals["bare"].summary()
            row["bare_queries"] = bare_statements(
                bare.environment["DATABASE_URL"], path, conditional=endpoint.conditional
            )
            bare_rate = totals["bare"].rate
            row["bare_ratio"] = round(totals["product"].rate / bare_rate, 2) if bare_rate else None
        rows.append(row)
    return rows


def csv_export(product: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Download the CSV of (up to) 100,000 measures, one request at a time."""
    from django.db import connection

    say("csv export")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT updated_at FROM measures_measure ORDER BY updated_at DESC OFFSET %s LIMIT 1",
            [CSV_ROWS],
        )
        row = cursor.fetchone()
    query = {"format": "csv"}
    if row:
        query["updated_since"] = row[0].isoformat()
    path = "/api/v1/measures/?" + urlencode(query)
    pids = product.worker_pids()
    before = max(memory_kb(pid).get("VmRSS", 0) for pid in pids)
    downloads = []
    peak = before
    for _ in range(args.csv_downloads):
        connection_ = http.client.HTTPConnection("127.0.0.1", product.port, timeout=600)
        started = time.perf_counter()
        connection_.request("GET", path)
        response = connection_.getresponse()
        lines = size = 0
        while chunk := response.read(1 << 16):
            lines += chunk.count(b"\n")
            size += len(chunk)
            peak = max([peak, *(memory_kb(pid).get("VmRSS", 0) for pid in pids)])
        elapsed = time.perf_counter() - started
        connection_.close()
        if response.status != 200:
            raise RuntimeError(f"CSV export answered {response.status}")
        downloads.append({"rows": lines - 1, "seconds": elapsed, "bytes": size})
    rows = downloads[-1]["rows"]
    best = min(download["seconds"] for download in downloads)
    return {
        "path": path,
        "rows": rows,
        "downloads": downloads,
        "rows_per_second": round(rows / best),
        "median_rows_per_second": round(rows / statistics.median(d["seconds"] for d in downloads)),
        "megabytes": round(downloads[-1]["bytes"] / 1e6, 1),
        "rss_before_mb": round(before / 1024, 1),
        "rss_peak_mb": round(peak / 1024, 1),
        "queries": queries_per_request(path, {}),
    }


def bulk_import(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """A researcher's spreadsheet import through the admin (``bench/import_rate.py``, in a
    process of its own on a scratch database of the bench server): a file of
    ``--import-rows`` measures, one of as many status events, one of as many funding
    lines, each previewed and then confirmed."""
    say(f"bulk import: {args.import_rows:,} rows per file through the admin")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "import.json"
        subprocess.run(
            [
                PYTHON,
                "-m",
                "bench.import_rate",
                "--rows",
                str(args.import_rows),
                "--database-url",
                url,
                "--json",
                str(out),
            ],
            check=True,
            cwd=BASE_DIR,
            stdout=sys.stderr,
        )
        return dict(json.loads(out.read_text()))


def with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def bulk_restore(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """A whole deployment moved: ``export_data`` of ``--restore-measures`` generated measures
    with their events, citations and funding, then ``import_data`` of that file into a new,
    migrated, empty database, timed as a command (Python start-up and reading the JSON
    included). Two scratch databases on the bench server, dropped afterwards."""
    import psycopg

    from bench import generate

    names = ("bench_restore_source", "bench_restore_target")
    urls = [with_database(url, name) for name in names]
    with psycopg.connect(url, autocommit=True) as admin:
        for name in names:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
    try:
        for scratch in urls:
            migrate(scratch)
        say(f"bulk restore: generating {args.restore_measures:,} measures to export")
        generate.run(urls[0], measures=args.restore_measures, seed=args.seed, do_reset=True)
        dump = BASE_DIR / ".data" / "bench" / f"restore-{size_label(args.restore_measures)}.json"
        dump.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run(
            [PYTHON, "manage.py", "export_data", "--indent", "0", "--output", str(dump)],
            cwd=BASE_DIR,
            env=django_environment(urls[0], "config.settings"),
            check=True,
        )
        export_seconds = time.perf_counter() - started
        megabytes = dump.stat().st_size / 1e6
        say(f"bulk restore: importing {megabytes:,.0f} MB")
        started = time.perf_counter()
        subprocess.run(
            [PYTHON, "manage.py", "import_data", str(dump)],
            cwd=BASE_DIR,
            env=django_environment(urls[1], "config.settings"),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        import_seconds = time.perf_counter() - started
        with psycopg.connect(urls[1]) as target:
            counts = {
                table: int(target.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
                for table in (
                    "measures_measure",
                    "measures_statusevent",
                    "measures_eventcitation",
                    "measures_fundingline",
                )
            }
        dump.unlink()
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            for name in names:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    rows = sum(counts.values())
    return {
        "measures": counts["measures_measure"],
        "events": counts["measures_statusevent"],
        "citations": counts["measures_eventcitation"],
        "funding_lines": counts["measures_fundingline"],
        "megabytes": round(megabytes, 1),
        "export_seconds": round(export_seconds, 1),
        "import_seconds": round(import_seconds, 1),
        "rows_per_second": round(rows / import_seconds),
        "path": "manage.py export_data, then manage.py import_data into an empty database",
    }


# The hot reads of dashboards and generated clients: what a worker serves all day.
MEMORY_MIX = (
    "list, first page",
    "list, deep page (cursor)",
    "detail",
    "list, stage + strategy",
    f"list, as_of={AS_OF}",
    "detail, If-None-Match (304)",
)


def memory_run(url: str, chosen: list[Endpoint], args: argparse.Namespace) -> dict[str, Any]:
    """Many requests of the hot reads against one worker. The worker first serves
    ``--memory-warmup`` requests (its caches fill: prepared statements, compiled
    queries, the allocator's pools), then ``--memory-requests`` more in ten parts, its RSS
    read after each: growth that goes on part after part is a leak, growth that stops is
    warming up."""
    say(
        f"memory: {args.memory_warmup:,} warm-up requests, then "
        f"{args.memory_requests:,} against one worker"
    )
    mix: list[Request] = []
    for endpoint in chosen:
        if endpoint.name in MEMORY_MIX:
            mix.extend(endpoint.product[:10])
    parts = 10
    statuses: dict[str, int] = {}
    requests = errors = 0
    seconds = 0.0
    peak = 0
    with Server("memory", "config.settings", url, workers=1) as server:
        drive(server, mix, concurrency=2, total=500, expect="200,304")
        (pid,) = server.worker_pids()
        after_500 = memory_kb(pid)["VmRSS"]
        drive(server, mix, concurrency=2, total=args.memory_warmup, expect="200,304")
        start = memory_kb(pid)["VmRSS"]
        series = [start]
        for _ in range(parts):
            result, part_peak = drive(
                server, mix, concurrency=2, total=args.memory_requests // parts, expect="200,304"
            )
            series.append(memory_kb(pid)["VmRSS"])
            peak = max(peak, part_peak)
            requests += result["requests"]
            errors += result["errors"]
            seconds += result["seconds"]
            for status, count in result["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
    end = series[-1]
    middle = series[parts // 2]
    return {
        "requests": requests,
        "warmup_requests": 500 + args.memory_warmup,
        "errors": errors,
        "statuses": statuses,
        "seconds": round(seconds, 1),
        "rss_after_500_mb": round(after_500 / 1024, 1),
        "rss_start_mb": round(start / 1024, 1),
        "rss_end_mb": round(end / 1024, 1),
        "rss_peak_mb": round(max(peak, end) / 1024, 1),
        "rss_series_mb": [round(value / 1024, 1) for value in series],
        "growth_percent": round((end - start) / start * 100, 1),
        "growth_second_half_percent": round((end - middle) / middle * 100, 1),
        "growth_from_500_percent": round((end - after_500) / after_500 * 100, 1),
        "urls": len(mix),
    }


# Report ---------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    lines = []
    header = results["header"]
    lines.append(header)
    lines.append("")
    width = max([30, *(len(row["endpoint"]) + 1 for row in results["endpoints"])])
    columns = (
        f"{'endpoint':<{width}}| {'product req/s':>13} {'p50 ms':>7} {'p99 ms':>7} "
        f"| {'floor req/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
        f"| {'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'p/floor':>7} {'p/bare':>6} "
        f"| {'queries p/f/b':>13} | {'peak RSS MB p/f/b':>17}"
    )
    lines.append(columns)
    lines.append("-" * len(columns))

    def measured(summary: dict[str, Any] | None, width: int) -> str:
        if not summary:
            return f"{'-':>{width}} {'-':>7} {'-':>7}"
        return (
            f"{summary['requests_per_second']:>{width}.1f} {summary['p50_ms']:>7.1f} "
            f"{summary['p99_ms']:>7.1f}"
        )

    def ratio(value: float | None, width: int) -> str:
        return f"{value:>{width}.2f}" if value is not None else f"{'-':>{width}}"

    for row in results["endpoints"]:
        product, floor, bare = row["product"], row.get("floor"), row.get("bare")
        queries = "/".join(
            str(row.get(key, "-")) for key in ("product_queries", "floor_queries", "bare_queries")
        )
        rss = "/".join(
            f"{target['peak_rss_mb']:.0f}" if target else "-" for target in (product, floor, bare)
        )
        lines.append(
            f"{row['endpoint']:<{width}}| {measured(product, 13)} | {measured(floor, 11)} "
            f"| {measured(bare, 10)} | {ratio(row.get('ratio'), 7)} "
            f"{ratio(row.get('bare_ratio'), 6)} | {queries:>13} | {rss:>17}"
        )
    lines.append("")
    notes = [f"{row['endpoint']}: {row['note']}" for row in results["endpoints"] if row["note"]]
    errors = [
        f"{row['endpoint']} ({target}): {row[target]['errors']} unexpected answers "
        f"{row[target]['statuses']}"
        for row in results["endpoints"]
        for target in ("product", "floor", "bare")
        if target in row and row[target]["errors"]
    ]
    different = [
        f"{row['endpoint']}: {row['same_json']}"
        for row in results["endpoints"]
        if row.get("same_json")
    ]
    bare_different = [
        f"{row['endpoint']}: {row['bare_same_bytes']}"
        for row in results["endpoints"]
        if row.get("bare_same_bytes")
    ]
    lines.extend(notes)
    lines.append(
        "floor JSON identical to the product's: "
        + (
            "yes, on every endpoint with a floor"
            if not different
            else "NO: " + "; ".join(different)
        )
    )
    if any("bare_same_bytes" in row for row in results["endpoints"]):
        lines.append(
            "bare JSON identical to the product's (status, Content-Type, ETag and body bytes, "
            "every request): "
            + (
                "yes, on every endpoint with a bare floor"
                if not bare_different
                else "NO (not measured): " + "; ".join(bare_different)
            )
        )
    if errors:
        lines.append("ERRORS: " + "; ".join(errors))
    if csv := results.get("csv"):
        lines.append(
            f"CSV export: {csv['rows']:,} rows ({csv['megabytes']} MB) in "
            f"{min(d['seconds'] for d in csv['downloads']):.2f} s best of "
            f"{len(csv['downloads'])}: {csv['rows_per_second']:,} rows/s "
            f"(median {csv['median_rows_per_second']:,}); worker RSS {csv['rss_before_mb']} MB "
            f"before, peak {csv['rss_peak_mb']} MB; {csv['queries']} queries"
        )
    if imported := results.get("import"):
        lines.append(
            f"Admin import, {imported['rows']:,} rows per file (preview, then confirm; "
            f"{imported['machine']}):"
        )
        lines.extend(f"  {step}" for step in imported["lines"])
    if restored := results.get("restore"):
        lines.append(
            f"Bulk restore: {restored['measures']:,} measures with {restored['events']:,} "
            f"events, {restored['citations']:,} citations and {restored['funding_lines']:,} "
            f"funding lines ({restored['megabytes']:,} MB of JSON) loaded in "
            f"{restored['import_seconds']} s = "
            f"{restored['rows_per_second']:,} rows/s via {restored['path']} (export "
            f"{restored['export_seconds']} s)"
        )
    if memory := results.get("memory"):
        lines.append(
            f"Memory: {memory['requests']:,} requests against 1 worker after "
            f"{memory['warmup_requests']:,} warm-up requests ({memory['errors']} errors "
            f"{memory['statuses'] if memory['errors'] else ''}, "
            f"{memory['seconds']} s): RSS {memory['rss_start_mb']} MB after warm-up, "
            f"{memory['rss_end_mb']} MB at the end ({memory['growth_percent']:+.1f}%; "
            f"{memory['growth_second_half_percent']:+.1f}% over the second half; "
            f"{memory['growth_from_500_percent']:+.1f}% from {memory['rss_after_500_mb']} MB "
            f"after the first 500), peak {memory['rss_peak_mb']} MB; RSS after each tenth: "
            + ", ".join(f"{value:g}" for value in memory["rss_series_mb"][1:])
        )
    if generated := results.get("generation"):
        lines.append(f"Data generation: {generated}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick")
    mode.add_argument("--full", action="store_const", dest="mode", const="full")
    parser.add_argument("--measures", type=int, help="dataset size (default by mode)")
    parser.add_argument("--rounds", type=int, help="rounds of the product and the floors")
    parser.add_argument("--seconds", type=float, help="seconds per target per round")
    parser.add_argument("--concurrency", type=int, default=4, help="connections (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--memory-requests", type=int)
    parser.add_argument(
        "--memory-warmup", type=int, help="requests before the memory run's first reading"
    )
    parser.add_argument("--import-rows", type=int, help="rows per file of the admin import")
    parser.add_argument("--csv-downloads", type=int)
    parser.add_argument(
        "--restore-measures", type=int, help="measures exported and imported by the restore"
    )
    parser.add_argument("--generate", action="store_true", help="generate the data again")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument(
        "--only", help="comma-separated words: run the endpoints whose name has one"
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip: load,csv,import,restore,memory",
    )
    parser.add_argument("--database-url", help="use this database instead of .data/bench-<size>")
    parser.add_argument("--keep-db", action="store_true", help="leave the bench server running")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.mode = args.mode or "quick"
    for name, value in MODES[args.mode].items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    skip = {word.strip() for word in args.skip.split(",") if word.strip()}

    results: dict[str, Any] = {"mode": args.mode, "started": datetime.datetime.now().isoformat()}
    out = args.json or BASE_DIR / ".data" / "bench" / f"results-{args.mode}.json"
    from bench import generate

    with database(args) as url:
        migrate(url)
        if args.generate or measure_count(url) != args.measures:
            say(f"generating {args.measures:,} measures")
            counts = generate.run(url, measures=args.measures, seed=args.seed, do_reset=True)
            results["generation"] = f"{counts.summary()}; " + ", ".join(
                f"{label} {value:.1f} s" for label, value in counts.seconds.items()
            )
        os.environ.update(django_environment(url, "bench.settings"))
        import django

        django.setup()
        from django.db import connection

        from bench import legislation

        law, written = legislation.ensure(args.seed)
        if written:
            say(f"wrote the law's path: {law.summary()}")
            results["legislation_generation"] = law.summary()
        results["legislation"] = law.summary()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM measures_measure), "
                "(SELECT count(*) FROM measures_statusevent)"
            )
            n_measures, n_events = cursor.fetchone()
        results["header"] = (
            f"Policy Measure Tracker benchmark ({args.mode}): {n_measures:,} measures, "
            f"{n_events:,} status events; {law.summary()}; gunicorn sync workers: {args.workers} per server; "
            f"load: {args.concurrency} connections from another process, {args.rounds} rounds x "
            f"{args.seconds:g} s per target, product, Django floor and bare floor in rotating "
            "order; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
            f"code {code_version()}; {datetime.date.today().isoformat()}"
        )
        with (
            Server("product", "config.settings", url, args.workers) as product,
            Server("floor", "bench.settings", url, args.workers) as floor,
            Server(
                "bare", "config.settings", url, args.workers, application="bench.bare:application"
            ) as bare,
        ):
            chosen = endpoints(product.port, bare.port)
            if args.only:
                words = [word.strip() for word in args.only.split(",")]
                chosen = [e for e in chosen if any(word in e.name for word in words)]
            results["endpoints"] = []
            if "load" not in skip:
                results["endpoints"] = load_endpoints(product, floor, bare, chosen, args)
                # The table so far, in case a later section fails or is interrupted.
                say(report(results))
                save(results, out)
            if "csv" not in skip:
                results["csv"] = csv_export(product, args)
                save(results, out)
        if "import" not in skip:
            results["import"] = bulk_import(url, args)
            save(results, out)
        if "restore" not in skip:
            results["restore"] = bulk_restore(url, args)
            save(results, out)
        if "memory" not in skip:
            results["memory"] = memory_run(url, chosen, args)
            save(results, out)
        connection.close()
    print(report(results))
    say(f"results written to {out}")
    return 0


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
