"""Where a read's time goes: each kind of request served many times in process through the
product's WSGI application (every middleware, DRF, the ORM, PostgreSQL, the renderer), with
a sampler reading the main thread's stack every half millisecond. Each sample counts for
the innermost frame of the stack that belongs to one of the parts below (a ``copy.copy``
called by the ORM counts as the ORM), so the parts add up to the whole.

    DATABASE_URL=postgres://... python -m bench.profile                  # every read
    python -m bench.profile --only detail,list --requests 3000

The database must hold generated data (``python -m bench.generate --measures 10000``). The
settings are production's (``DEBUG`` off, JSON logs) with throttling off, as the benchmark
serves them; gunicorn's own work (parsing HTTP, the access log) is not included. Wall time
per request is measured first without the sampler.
"""

from __future__ import annotations

import argparse
import base64
import collections
import io
import json
import os
import re
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

# The parts, as (name, path fragments of their modules); the first part whose fragment a
# frame's file name holds is the frame's part.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PostgreSQL: sending, waiting, reading (psycopg)", ("/psycopg/", "/psycopg_binary/")),
    ("prepared reads (config/api/prepared.py)", ("/config/api/prepared.py",)),
    ("ORM: compiling SQL", ("/django/db/models/sql/compiler.py",)),
    ("ORM: building querysets", ("/django/db/models/", "/django/contrib/postgres/")),
    ("database connection (checks, cursors)", ("/django/db/",)),
    (
        "JSON rendering",
        (
            "/rest_framework/renderers.py",
            "/rest_framework/utils/encoders.py",
            "/config/api/browsable.py",
        ),
    ),
    ("representation (rows to dicts)", ("/measures/representation.py",)),
    ("pagination", ("/config/api/pagination.py", "/rest_framework/pagination.py")),
    (
        "filters and parameters",
        ("/django_filters/", "/config/api/filters.py", "/measures/filters.py", "/django/forms/"),
    ),
    ("view code (measures/views.py, config/api/)", ("/measures/", "/config/api/")),
    ("DRF: request, negotiation, auth, throttles", ("/rest_framework/",)),
    (
        "middleware",
        (
            "/django/middleware/",
            "/config/middleware.py",
            "/django/contrib/",
            "/pghistory/",
            "/axes/",
            "/whitenoise/",
        ),
    ),
    ("URL routing", ("/django/urls/",)),
    ("logging", ("/logging/", "/config/logging.py")),
    (
        "Django request and response",
        ("/django/core/", "/django/http/", "/django/utils/", "/django/dispatch/"),
    ),
)
OTHER = "everything else"
# Frames that count for their caller: the standard library (its logging aside) and Django's
# utilities, which every part uses.
TRANSPARENT = re.compile(
    rf"^(?:{re.escape(sysconfig.get_paths()['stdlib'])}/(?!logging/)|<frozen |.*/django/utils/"
    r"|.*/django/dispatch/|.*/asgiref/)"
)
INTERVAL = 0.0005


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per read")
    parser.add_argument("--only", default="", help="comma-separated reads (default: all)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def environ(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    target, _, query = path.partition("?")
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": target,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def serve(application: Callable[..., Any], path: str, headers: dict[str, str]) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(line: str, response_headers: list[Any], exc_info: Any = None) -> None:
        status.append(line)

    chunks = application(environ(path, headers), start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return status[0], body


def etag(application: Callable[..., Any], path: str) -> str:
    tags: list[str] = []

    def start_response(line: str, response_headers: list[Any], exc_info: Any = None) -> None:
        tags.extend(value for name, value in response_headers if name == "ETag")

    b"".join(application(environ(path), start_response))
    return tags[0]


def reads() -> dict[str, tuple[list[str], dict[str, str], str]]:
    """Each read: the paths it cycles through, its headers, the status it must answer."""
    from measures.models import Measure
    from strategy.models import Strategy

    slugs = list(Measure.objects.order_by("slug").values_list("slug", flat=True)[:200:10])
    strategy = Strategy.objects.order_by("slug").values_list("slug", flat=True).first()
    deep = Measure.objects.order_by("slug").values_list("slug", flat=True)[
        Measure.objects.count() // 2
    ]
    cursor = (
        base64.urlsafe_b64encode(json.dumps([False, [deep]], separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    return {
        "list": (["/api/v1/measures/"], {}, "200"),
        "deep": ([f"/api/v1/measures/?cursor={cursor}"], {}, "200"),
        "filtered": ([f"/api/v1/measures/?stage=enacted&strategy={strategy}"], {}, "200"),
        "q": (["/api/v1/measures/?q=knife"], {}, "200"),
        "as_of": (["/api/v1/measures/?as_of=2021-06-30"], {}, "200"),
        "detail": ([f"/api/v1/measures/{slug}/" for slug in slugs], {}, "200"),
        "304": ([f"/api/v1/measures/{slugs[0]}/"], {"If-None-Match": "?"}, "304"),
        "summary": ([f"/api/v1/strategies/{strategy}/summary/"], {}, "200"),
        "changes": (["/api/v1/changes/?since=2024-01-01T00:00:00Z"], {}, "200"),
    }


class Sampler:
    """Reads one thread's stack every ``INTERVAL`` seconds and counts samples per part."""

    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id
        self.counts: collections.Counter[str] = collections.Counter()
        self.running = False
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def part_of(self, frame: Any) -> str:
        while frame is not None:
            filename = frame.f_code.co_filename
            if TRANSPARENT.match(filename):
                # A helper (the standard library, django.utils) counts for its caller.
                frame = frame.f_back
                continue
            for name, fragments in PARTS:
                if any(fragment in filename for fragment in fragments):
                    return name
            frame = frame.f_back
        return OTHER

    def sample(self) -> None:
        while self.running:
            frame = sys._current_frames().get(self.thread_id)
            if frame is not None and "bench/profile.py" not in frame.f_code.co_filename:
                self.counts[self.part_of(frame)] += 1
            time.sleep(INTERVAL)

    def __enter__(self) -> Sampler:
        self.running = True
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()


def run(
    name: str,
    application: Callable[..., Any],
    paths: list[str],
    headers: dict[str, str],
    status: str,
    requests: int,
) -> dict[str, Any]:
    def many(count: int) -> None:
        for index in range(count):
            got, _ = serve(application, paths[index % len(paths)], headers)
            if not got.startswith(status):
                raise SystemExit(f"{name}: {paths[index % len(paths)]} answered {got}")

    many(min(200, requests))  # warm: caches, prepared statements
    started = time.perf_counter()
    many(requests)
    wall = (time.perf_counter() - started) / requests * 1e6
    sys.setswitchinterval(INTERVAL / 5)
    with Sampler(threading.get_ident()) as sampler:
        many(requests)
    sys.setswitchinterval(0.005)
    total = sum(sampler.counts.values()) or 1
    print(f"\n{name}: {wall:,.0f} µs per request ({paths[0]}), {total:,} samples")
    parts = {}
    for part in [*(name for name, _ in PARTS), OTHER]:
        share = sampler.counts[part] / total
        parts[part] = share
        if share >= 0.005:
            print(f"  {part:<50} {share:6.1%}  {share * wall:7,.0f} µs")
    return {"wall_us": wall, "shares": parts}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_HTTPS", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "profile-" + "x" * 50)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
    os.environ["API_THROTTLE_ANON"] = ""
    os.environ["API_THROTTLE_USER"] = ""
    from config.wsgi import application

    chosen: Iterable[str] = [name for name in args.only.split(",") if name] or list(reads())
    table = reads()
    results = {}
    for name in chosen:
        paths, headers, status = table[name]
        if status == "304":
            headers = {"If-None-Match": etag(application, paths[0])}
        results[name] = run(name, application, paths, headers, status, args.requests)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as output:
            json.dump(results, output, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
