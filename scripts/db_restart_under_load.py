"""Restart PostgreSQL under load and check that nothing is lost.

Starts a throw-away PostgreSQL (the embedded server, in its own data folder), migrates and
seeds it, serves the app under gunicorn on 127.0.0.1, drives a bounded write and read load,
restarts PostgreSQL in the middle, and reports:

- what the clients got while the database was down (only 503 problem+json is acceptable);
- how long after PostgreSQL was back the first request succeeded, without restarting the app;
- whether every write acknowledged with 2xx is in the database afterwards, exactly once.

Writers send each new measure with an Idempotency-Key and retry on 503 or a dropped
connection with the same key, as a careful client would.

    python scripts/db_restart_under_load.py [--seconds 20] [--writers 4] [--readers 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from config import localdb  # noqa: E402

PYTHON = sys.executable


@dataclass
class Outcome:
    sent_at: float
    status: int | None  # None: no HTTP answer (connection refused or reset)
    content_type: str = ""
    kind: str = ""
    answered_at: float = field(default_factory=time.monotonic)


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # slugs answered 2xx
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def writer(base: str, token: str, strategy: str, run: Run, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            slug = f"load-{uuid.uuid4().hex[:12]}"
            body = {
                "slug": slug,
                "strategy": strategy,
                "title": f"Load {slug}",
                "instrument": "funding",
            }
            headers = {"Authorization": f"Token {token}", "Idempotency-Key": slug}
            # Retry the same request until it is acknowledged or the run ends.
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    response = client.post("/api/v1/measures/", json=body, headers=headers)
                except httpx.TransportError:
                    run.note(Outcome(sent, None, kind="write"))
                    time.sleep(0.2)
                    continue
                run.note(
                    Outcome(
                        sent,
                        response.status_code,
                        response.headers.get("content-type", ""),
                        "write",
                    )
                )
                if 200 <= response.status_code < 300:
                    with run.lock:
                        run.acknowledged.append(slug)
                    break
                if response.status_code != 503:
                    break  # a refusal is final; the run reports it
                time.sleep(0.2)


# Like the writer: send, note the outcome (or the transport error), go on.
def reader(base: str, run: Run, stop: threading.Event) -> None:
    paths = ["/api/v1/measures/?page_size=20", "/api/v1/strategies/", "/readyz"]
    with httpx.Client(base_url=base, timeout=10) as client:
        n = 0
        while not stop.is_set():
            sent = time.monotonic()
            path = paths[n % len(paths)]
            n += 1
            try:
                response = client.get(path)
            except httpx.TransportError:
                run.note(Outcome(sent, None, kind="read"))
                time.sleep(0.05)
                continue
            run.note(
                Outcome(
                    sent, response.status_code, response.headers.get("content-type", ""), "read"
                )
            )
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="length of the load (default 20)"
    )
    parser.add_argument(
        "--down", type=float, default=3.0, help="seconds PostgreSQL stays down (default 3)"
    )
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--json", action="store_true", help="also print the figures as one JSON line"
    )
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="restart-", dir=BASE_DIR / ".data"))
    pgdata = data_dir / "postgres"
    gunicorn: subprocess.Popen[bytes] | None = None
    try:
        url, _ = localdb.start(pgdata)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SECRET_KEY": "restart-test-" + uuid.uuid4().hex,
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "DJANGO_STATIC_MANIFEST": "0",
            "API_THROTTLE_ANON": "",
            "API_THROTTLE_USER": "",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "LOG_FORMAT": "json",
        }
        manage(env, "migrate", "--noinput")
        manage(env, "seed")
        token = (
            manage(
                env,
                "shell",
                "-c",
                "from django.contrib.auth.models import User, Permission; "
                "from rest_framework.authtoken.models import Token; "
                "u = User.objects.create_user('loadwriter'); "
                "u.user_permissions.add(Permission.objects.get(codename='add_measure')); "
                "print(Token.objects.create(user=u).key)",
            )
            .strip()
            .splitlines()[-1]
        )
        log = (data_dir / "gunicorn.log").open("wb")
        gunicorn = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not become ready")

        run, stop = Run(), threading.Event()
        threads = [
            threading.Thread(
                target=writer, args=(base, token, "serious-violence-strategy-2018", run, stop)
            )
            for _ in range(args.writers)
        ] + [threading.Thread(target=reader, args=(base, run, stop)) for _ in range(args.readers)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(max(args.seconds / 2 - args.down / 2, 1))
        localdb.stop(pgdata)
        down_at = time.monotonic()  # PostgreSQL has shut down
        time.sleep(args.down)
        up_at = time.monotonic()  # starting it again
        localdb.start(pgdata)
        back_at = time.monotonic()  # accepting connections
        time.sleep(max(started + args.seconds - time.monotonic(), 1))
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

        slugs = json.loads(
            manage(
                env,
                "shell",
                "-c",
                "import json; from measures.models import Measure; "
                "print(json.dumps(list(Measure.objects.filter(slug__startswith='load-').values_list('slug', flat=True))))",
            )
            .strip()
            .splitlines()[-1]
        )
        stored = Counter(slugs)
        # Sent and answered while PostgreSQL was down: nothing but 503 problem+json will do.
        outage = [o for o in run.outcomes if o.sent_at >= down_at and o.answered_at < up_at]
        bad_outage = [
            o
            for o in outage
            if o.status is not None and not (o.status == 503 and "problem+json" in o.content_type)
        ]
        server_errors = [
            o for o in run.outcomes if o.status is not None and o.status >= 500 and o.status != 503
        ]
        after = sorted(
            o.answered_at
            for o in run.outcomes
            if o.sent_at >= back_at and o.status is not None and 200 <= o.status < 300
        )
        first_success = after[0] - back_at if after else None
        lost = [slug for slug in run.acknowledged if stored[slug] == 0]
        duplicated = [slug for slug, count in stored.items() if count > 1]
        figures = {
            "requests": len(run.outcomes),
            "acknowledged_writes": len(run.acknowledged),
            "outage_seconds": round(back_at - down_at, 2),
            "requests_during_outage": len(outage),
            "outage_statuses": dict(Counter(str(o.status) for o in outage)),
            "non_503_answers_during_outage": len(bad_outage),
            "5xx_other_than_503": len(server_errors),
            "first_success_after_restart_s": round(first_success, 2)
            if first_success is not None
            else None,
            "lost_writes": len(lost),
            "duplicated_writes": len(duplicated),
            "statuses": dict(Counter(str(o.status) for o in run.outcomes)),
        }
        ok = (
            not bad_outage
            and not server_errors
            and not lost
            and not duplicated
            and first_success is not None
            and first_success <= 5
            and len(run.acknowledged) > 0
        )
        print("Database restart under load")
        for name, value in figures.items():
            print(f"  {name:32} {value}")
        print(f"  {'result':32} {'PASS' if ok else 'FAIL'}")
        if args.json:
            print(json.dumps({**figures, "pass": ok}))
        return 0 if ok else 1
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        localdb.stop(pgdata)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
