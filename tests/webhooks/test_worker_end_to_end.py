"""Webhook deliveries end to end, in real processes: a throw-away PostgreSQL, the API under
gunicorn, the worker (``manage.py run_worker``) and a receiver on the loopback.

The test proves that a status event recorded through the API reaches a subscriber once,
signed by the Standard Webhooks scheme (checked with its reference library), with the event
as the API shows it; that a failing receiver gets the same message (same ``webhook-id``)
again until it answers 2xx, and the delivery log says so; and that a PostgreSQL restart
neither stops the worker nor loses a delivery, whether it is new or a retry that fell due
while the database was down."""

from __future__ import annotations

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
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from config import localdb

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
KIND = "status_event.recorded"

# Rows the API needs: a researcher with a token, and a measure and a source to cite.
SETUP = """
import json
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from measures.services import measure_create
from strategy.services import organisation_create, source_create, strategy_create

call_command("setup_roles", verbosity=0)
user = User.objects.create_user("webhook-e2e")
user.groups.add(Group.objects.get(name="researchers"))
owner = organisation_create(
    fields={"slug": "home-office", "name": "Home Office", "kind": "department"}
)
strategy = strategy_create(
    fields={
        "slug": "e2e-strategy",
        "title": "End-to-end Strategy",
        "owner": owner,
        "published_on": "2018-04-09",
        "summary": "A plan.",
    }
)
source = source_create(
    fields={
        "url": "https://www.gov.uk/government/news/e2e",
        "title": "End-to-end source",
        "publisher": "Home Office",
        "kind": "government",
        "published_on": "2018-04-09",
    }
)
measure = measure_create(
    fields={
        "slug": "e2e-measure",
        "strategy": strategy,
        "title": "End-to-end measure",
        "summary": "What was promised.",
        "category": "Law enforcement and criminal justice",
        "lead_organisation": owner,
        "instrument": "legislation",
    }
)
print(json.dumps({"token": Token.objects.create(user=user).key, "source": source.pk}))
"""
MEASURE = "e2e-measure"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    finished = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, f"manage.py {args[0]}: {finished.stdout}{finished.stderr}"
    return finished.stdout


def start_postgres(pgdata: Path) -> str:
    """``localdb.start(pgdata)`` in a process of its own, so that the embedded server's
    exit handlers do not run (and log) in the test process; returns the server's URL."""
    started = subprocess.run(  # noqa: S603
        [PYTHON, "-m", "config.localdb", "start"],
        cwd=BASE_DIR,
        env={**os.environ, "LOCALDB_PGDATA": str(pgdata)},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return started.stdout.strip().splitlines()[-1]


def wait_until[T](check: Callable[[], T | None], timeout: float, what: str) -> T:
    """The first true value ``check`` gives within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Not within {timeout:g} s: {what}")
        time.sleep(0.05)


@dataclass(frozen=True)
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event_id(self) -> int:
        return int(json.loads(self.body)["data"]["resource"]["id"])


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps every request with its arrival time and
    answers 500 to the next ``failures`` requests, 200 to the others."""

    failures: int = 0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    status = 500 if receiver.failures > 0 else 200
                    receiver.failures = max(receiver.failures - 1, 0)
                    receiver.requests.append(
                        Received(
                            time.monotonic(),
                            {name.lower(): value for name, value in self.headers.items()},
                            body,
                            status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tracker"

    def fail_next(self, count: int) -> None:
        with self.lock:
            self.failures = count

    def for_event(self, event_id: int) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.event_id == event_id]

    def at_least(self, event_id: int, count: int) -> list[Received] | None:
        """The requests delivering ``event_id`` once there are ``count`` of them."""
        found = self.for_event(event_id)
        return found if len(found) >= count else None

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Api:
    """The API under gunicorn, as the researcher with the token calls it."""

    def __init__(self, base: str, token: str, source: int) -> None:
        self.client = httpx.Client(
            base_url=base, timeout=10, headers={"Authorization": f"Token {token}"}
        )
        self.source = source
        self.confidence = iter(["green", "amber", "red", "amber_red", "amber_green", "green"])

    def record_event(self, *, retry_for: float = 0.0) -> dict[str, Any]:
        """Record a confidence rating of the measure; retried with the same
        Idempotency-Key while the server answers 503 or not at all, for ``retry_for`` s."""
        body = {
            "axis": "confidence",
            "value": next(self.confidence),
            "effective_on": "2019-05-16",
            "rationale": "Rated at the quarterly review.",
            "citations": [{"source": self.source, "quote": "Rated", "locator": "p. 3"}],
        }
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        deadline = time.monotonic() + retry_for
        while True:
            try:
                response = self.client.post(
                    f"/api/v1/measures/{MEASURE}/events/", json=body, headers=headers
                )
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            else:
                if response.status_code != 503 or time.monotonic() > deadline:
                    assert response.status_code == 201, response.text
                    created: dict[str, Any] = response.json()
                    return created
            time.sleep(0.2)

    def deliveries(self, webhook_id: int) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries/")
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def delivery(self, webhook_id: int, message_id: str) -> dict[str, Any] | None:
        for delivery in self.deliveries(webhook_id):
            if delivery["webhook_id"] == message_id:
                return delivery
        return None


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_ready(base: str) -> None:
    def ready() -> bool | None:
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200 or None
        except httpx.TransportError:
            return None

    wait_until(ready, 30, "gunicorn answers /readyz")


@pytest.mark.slow
def test_worker_delivers_signed_retries_failures_and_survives_a_database_restart() -> None:
    """One delivery per change, signed and as the API shows the event; a failed attempt
    is repeated under the same ``webhook-id`` until it succeeds, as the delivery log shows;
    after a PostgreSQL restart the same worker process delivers new changes and the retries
    that fell due while the database was down."""
    data_dir = Path(tempfile.mkdtemp(prefix="webhooks-e2e-", dir=BASE_DIR / ".data"))
    pgdata = data_dir / "postgres"
    worker_log_path = data_dir / "worker.log"
    gunicorn_log_path = data_dir / "gunicorn.log"
    gunicorn: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    receiver = Receiver()
    api: Api | None = None
    try:
        url = start_postgres(pgdata)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SECRET_KEY": "webhooks-e2e-" + uuid.uuid4().hex,
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "DJANGO_STATIC_MANIFEST": "0",
            "API_THROTTLE_ANON": "",
            "API_THROTTLE_USER": "",
            "WEBHOOK_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
            "WEBHOOK_RETRY_BASE_SECONDS": "1",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "PUBLIC_BASE_URL": base,
            "LOG_FORMAT": "text",
            "PYTHONUNBUFFERED": "1",
        }
        manage(env, "migrate", "--noinput")
        rows = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])

        with gunicorn_log_path.open("wb") as log:
            gunicorn = subprocess.Popen(  # noqa: S603
                [
                    PYTHON,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
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
        with worker_log_path.open("wb") as log:
            worker = subprocess.Popen(  # noqa: S603
                [PYTHON, "manage.py", "run_worker"],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_ready(base)
        api = Api(base, rows["token"], rows["source"])

        created = api.client.post(
            "/api/v1/webhooks/",
            json={
                "target_url": receiver.url,
                "kinds": [KIND],
                "description": "end-to-end receiver",
            },
        )
        assert created.status_code == 201, created.text
        webhook_id = created.json()["id"]
        secret = created.json()["secret"]

        # One change, one signed delivery of the event as the API shows it.
        event = api.record_event()
        first = wait_until(lambda: receiver.at_least(event["id"], 1), 10, "the first delivery")[0]
        time.sleep(2.5)
        assert len(receiver.for_event(event["id"])) == 1
        assert receiver.count() == 1
        payload = Webhook(secret).verify(first.body, first.headers)
        assert first.message_id.startswith("msg_")
        assert payload["type"] == KIND
        assert payload["data"]["kind"] == KIND
        assert payload["data"]["measure"] == MEASURE
        shown = api.client.get(f"/api/v1/measures/{MEASURE}/events/{event['id']}/")
        assert shown.status_code == 200
        assert payload["data"]["resource"] == shown.json()
        assert payload["data"]["resource"]["value"] == event["value"]
        assert payload["data"]["links"]["resource"] == str(shown.url)

        # Two failures, then success: three attempts of the same message.
        receiver.fail_next(2)
        event = api.record_event()
        attempts = wait_until(
            lambda: receiver.at_least(event["id"], 3),
            20,
            "three attempts of the second delivery",
        )
        assert [request.answered for request in attempts] == [500, 500, 200]
        assert len({request.message_id for request in attempts}) == 1
        for request in attempts:
            assert Webhook(secret).verify(request.body, request.headers)["type"] == KIND
        assert attempts[0].body == attempts[2].body
        # Retries wait about 1 s and then 3 s (±20%), as WEBHOOK_RETRY_BASE_SECONDS=1 says.
        assert 0.7 <= attempts[1].at - attempts[0].at <= 3.0
        assert 2.3 <= attempts[2].at - attempts[1].at <= 6.0
        logged = wait_until(
            lambda: (
                delivery
                if (delivery := api.delivery(webhook_id, attempts[0].message_id))
                and delivery["status"] == "succeeded"
                else None
            ),
            5,
            "the delivery log shows the second delivery succeeded",
        )
        assert logged["attempts"] == 3
        assert [row["response_status"] for row in logged["attempt_log"]] == [500, 500, 200]
        assert [row["number"] for row in logged["attempt_log"]] == [1, 2, 3]
        assert logged["next_attempt_at"] is None

        # PostgreSQL restarted: the worker keeps running and delivers the next change.
        localdb.stop(pgdata)
        time.sleep(3)
        start_postgres(pgdata)
        assert worker.poll() is None, "the worker exited when PostgreSQL went away"
        event = api.record_event(retry_for=15)
        wait_until(lambda: receiver.at_least(event["id"], 1), 10, "delivery after restart")
        assert worker.poll() is None
        assert "Database unavailable" in worker_log_path.read_text(errors="replace")

        # A retry that falls due while PostgreSQL is down is made once it is back.
        receiver.fail_next(2)
        event = api.record_event()
        failed = wait_until(
            lambda: receiver.at_least(event["id"], 2),
            10,
            "two failed attempts",
        )
        message_id = failed[0].message_id
        # The third attempt is due about 3 s after the second: stop PostgreSQL as soon as
        # the second is recorded, so that it falls due while the database is down.
        wait_until(
            lambda: (
                True
                if (delivery := api.delivery(webhook_id, message_id)) and delivery["attempts"] == 2
                else None
            ),
            5,
            "the second failed attempt is recorded",
        )
        localdb.stop(pgdata)
        down_at = time.monotonic()
        assert len(receiver.for_event(event["id"])) == 2, "the retry came before the outage"
        time.sleep(3)
        start_postgres(pgdata)
        back_at = time.monotonic()
        assert worker.poll() is None, "the worker exited when PostgreSQL went away"
        third = wait_until(
            lambda: receiver.at_least(event["id"], 3),
            15,
            "the retry after the restart",
        )[2]
        assert third.at >= back_at > down_at
        assert third.message_id == message_id
        assert third.answered == 200
        assert Webhook(secret).verify(third.body, third.headers)["type"] == KIND
        logged = wait_until(
            lambda: (
                delivery
                if (delivery := api.delivery(webhook_id, message_id))
                and delivery["status"] == "succeeded"
                else None
            ),
            10,
            "the delivery log shows the retried delivery succeeded",
        )
        assert [row["response_status"] for row in logged["attempt_log"]] == [500, 500, 200]
        time.sleep(1)
        assert len(receiver.for_event(event["id"])) == 3
        assert worker.poll() is None
    except BaseException:
        for name, path in (("worker", worker_log_path), ("gunicorn", gunicorn_log_path)):
            if path.exists():
                print(f"----- {name} log -----\n{path.read_text(errors='replace')[-20_000:]}")
        raise
    finally:
        if api is not None:
            api.client.close()
        stop_process(worker)
        stop_process(gunicorn)
        receiver.close()
        localdb.stop(pgdata)
        shutil.rmtree(data_dir, ignore_errors=True)
