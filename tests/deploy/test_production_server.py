"""The production server as deployed: gunicorn with ``config/gunicorn.py`` and production
settings (DEBUG off, HTTPS on behind a proxy, hashed static files), started as a separate
process on a free loopback port against the test database."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import MeasureFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)
BOOT_SECONDS = 90
HTTPS = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def url_of_the_test_database() -> str:
    """The URL of the database this test runs on, for the server process."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{quote(db['NAME'], safe='')}"


def production_environment(**overrides: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        # The test run's own defaults (plain HTTP, unhashed static files) must not leak in.
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CACHE_", "LOG_"))
    }
    environment.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_HTTPS="1",
        DJANGO_BEHIND_PROXY="1",
        DJANGO_STATIC_MANIFEST="1",
        LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    environment.update(overrides)
    return environment


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Static files collected as the image build does, into a scratch folder."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=production_environment(
            DJANGO_STATIC_ROOT=str(root), DATABASE_URL="postgres://collectstatic/unused"
        ),
        check=True,
        timeout=300,
    )
    return root


@dataclass
class Server:
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[http.client.HTTPResponse, bytes]:
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            client.request(method, path, headers={"Host": "127.0.0.1", **(headers or {})})
            response = client.getresponse()
            body = response.read()
            if response.status >= 500:
                # Shown with the failure: the server's own account of the error.
                print(f"{method} {path} -> {response.status}; server log:\n{self.log_tail()}")
            return response, body
        finally:
            client.close()

    def log_tail(self) -> str:
        return self.log.read_text()[-6000:]

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line the server wrote; each must be one JSON object."""
        lines = [line for line in self.log.read_text().splitlines() if line.strip()]
        return [json.loads(line) for line in lines]

    def wait_for_log(self, predicate: Any) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while True:
            found = [line for line in self.log_lines() if predicate(line)]
            if found or time.monotonic() > deadline:
                assert found, self.log.read_text()[-4000:]
                return found[0]
            time.sleep(0.1)


def start_gunicorn(static_root: Path, log: Path) -> Server:
    """gunicorn on a free port, once it says it listens there. A port found free can be
    taken by another process (another test worker's server) before gunicorn binds it: then
    gunicorn gives up, and it is started again on another port."""
    for _ in range(3):
        port = free_port()
        environment = production_environment(
            DATABASE_URL=url_of_the_test_database(),
            DJANGO_STATIC_ROOT=str(static_root),
            HOST="127.0.0.1",
            PORT=str(port),
            WEB_CONCURRENCY="2",
        )
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py", "config.wsgi"],
                cwd=BASE_DIR,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        server = Server(port, log, process)
        listening = f"Listening at: http://127.0.0.1:{port} ({process.pid})"
        deadline = time.monotonic() + BOOT_SECONDS
        while process.poll() is None and listening not in log.read_text():
            assert time.monotonic() < deadline, f"not listening:\n{log.read_text()[-4000:]}"
            time.sleep(0.1)
        if process.poll() is None:
            return server
        assert "Connection in use" in log.read_text(), (
            f"gunicorn exited:\n{log.read_text()[-4000:]}"
        )
    pytest.fail(f"no free port for gunicorn in three tries:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running_server(static_root: Path, log: Path) -> Iterator[Server]:
    server = start_gunicorn(static_root, log)
    try:
        deadline = time.monotonic() + BOOT_SECONDS
        while True:
            assert server.process.poll() is None, f"gunicorn exited:\n{log.read_text()[-4000:]}"
            try:
                response, _ = server.request("GET", "/healthz")
                if response.status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no answer:\n{log.read_text()[-4000:]}"
            time.sleep(0.25)
        yield server
    finally:
        # Stopped before the test database is dropped, which its connections would block.
        stop(server.process)


@pytest.fixture(scope="module")
def server(
    django_db_setup: None, static_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server for the module, on the test database (set up before it starts)."""
    with running_server(static_root, tmp_path_factory.mktemp("server") / "server.log") as up:
        yield up


def test_probes_answer(server: Server) -> None:
    response, body = server.request("GET", "/healthz")
    assert response.status == 200
    assert json.loads(body) == {"status": "ok"}

    response, body = server.request("GET", "/readyz")
    assert response.status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok", "pending_migrations": 0}


def test_probes_answer_a_load_balancer_that_uses_the_ip_address(server: Server) -> None:
    # Plain HTTP and a Host header that is not in DJANGO_ALLOWED_HOSTS, as a probe sends.
    response, _ = server.request("GET", "/readyz", {"Host": "10.1.2.3:8000"})
    assert response.status == 200
    response, _ = server.request("GET", "/api/v1/measures/", {"Host": "10.1.2.3:8000", **HTTPS})
    assert response.status == 400


def test_serves_committed_data(server: Server) -> None:
    measure = MeasureFactory.create()
    response, body = server.request("GET", f"/api/v1/measures/{measure.slug}/", HTTPS)
    assert response.status == 200, body
    assert json.loads(body)["title"] == measure.title


def test_every_log_line_is_json_and_the_access_line_has_the_request_id(
    server: Server,
) -> None:
    sent = f"deploy-test-{uuid.uuid4()}"
    response, _ = server.request("GET", "/api/v1/strategies/", {"X-Request-ID": sent, **HTTPS})
    assert response.status == 200
    assert response.headers["X-Request-ID"] == sent

    line = server.wait_for_log(lambda line: line.get("request_id") == sent)
    assert line["logger"] == "gunicorn.access"
    assert line["path"] == "/api/v1/strategies/"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert {"time", "level", "message", "duration_ms", "pid"} <= line.keys()
    # Every line, the server's start-up lines included, parsed as JSON in log_lines().
    assert any(line["logger"] == "gunicorn.error" for line in server.log_lines())


def test_lines_logged_by_the_app_during_a_request_carry_its_id(server: Server) -> None:
    sent = f"deploy-test-{uuid.uuid4()}"
    response, _ = server.request("GET", "/no-such-page", {"X-Request-ID": sent, **HTTPS})
    assert response.status == 404
    line = server.wait_for_log(
        lambda line: line.get("request_id") == sent and line["logger"] == "django.request"
    )
    assert line["level"] == "WARNING"
    assert "/no-such-page" in line["message"]
    assert line["status_code"] == 404


@pytest.mark.parametrize("offered", ["", "has spaces", "x" * 200, 'quote"d'])
def test_an_unusable_request_id_is_replaced(server: Server, offered: str) -> None:
    response, _ = server.request("GET", "/api/v1/", {"X-Request-ID": offered, **HTTPS})
    returned = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", returned)
    server.wait_for_log(lambda line: line.get("request_id") == returned)


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/"])
def test_security_headers(server: Server, path: str) -> None:
    response, _ = server.request("GET", path, HTTPS)
    assert response.status == 200
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_plain_http_is_redirected_to_https(server: Server) -> None:
    response, _ = server.request("GET", "/admin/login/")
    assert response.status == 301
    assert response.headers["Location"] == "https://127.0.0.1/admin/login/"


def test_static_files_are_served_hashed_and_cached_for_long(server: Server) -> None:
    _, page = server.request("GET", "/api/docs/", HTTPS)
    found = re.search(rb'src="(/static/[^"]+\.[0-9a-f]{12}\.js)"', page)
    assert found, page[:2000]
    response, body = server.request("GET", found.group(1).decode(), HTTPS)
    assert response.status == 200
    assert len(body) > 1000
    assert "immutable" in response.headers["Cache-Control"]


def test_stops_gracefully_on_sigterm(static_root: Path, tmp_path: Path) -> None:
    with running_server(static_root, tmp_path / "server.log") as own:
        own.process.send_signal(signal.SIGTERM)
        assert own.process.wait(timeout=60) == 0
        own.wait_for_log(lambda line: line["message"].startswith("Shutting down"))
