"""Anonymous reads of the API run through a shorter middleware chain (``config/handlers.py``).
Whatever the read, its answer is the one the whole of ``settings.MIDDLEWARE`` gives: the same
status, the same headers (``Vary: Cookie``, the security headers, the request id, the ETag)
and the same bytes. Any other request runs through the whole chain."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import RequestFactory

from config.handlers import (
    NOT_FOR_PUBLIC_READS,
    TrackerWSGIHandler,
    is_public_read,
    public_read_middleware,
)
from config.wsgi import application
from measures.models import Measure

pytestmark = pytest.mark.django_db

Answer = tuple[str, list[tuple[str, str]], bytes]


@pytest.fixture
def seeded(seeds_for_the_module: None, db: None) -> Iterator[None]:
    """The seed data, and requests served in the test's transaction: Django's request
    signals would otherwise close the connection after each response, as they do for a
    real server."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call(
    app: Callable[..., Any], path: str, method: str = "GET", script_name: str = "", **headers: str
) -> Answer:
    """``app`` called as a WSGI server calls it, with a fixed request id so that two answers
    can be compared whole."""
    location = urlsplit(path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": location.path,
        "QUERY_STRING": location.query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_X_REQUEST_ID": "public-read-test",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    started: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        started.extend([status, response_headers])

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        chunks.close()
    return started[0], sorted(started[1]), body


def reads() -> list[tuple[str, dict[str, str]]]:
    """Reads of every kind the API answers: pages, details, reports, the change feed, CSV,
    revalidations, HEAD, and the 4xx answers of bad input."""
    measure = Measure.objects.order_by("slug").first()
    assert measure is not None
    detail = f"/api/v1/measures/{measure.slug}/"
    tag = dict(call(application, detail)[1])["ETag"]
    return [
        ("/api/v1/", {}),
        ("/api/v1/measures/", {}),
        ("/api/v1/measures/?page_size=3&ordering=-updated_at", {}),
        ("/api/v1/measures/?q=knife&as_of=2021-06-30", {}),
        ("/api/v1/measures/?format=csv", {}),
        ("/api/v1/measures/?format=json", {"ACCEPT": "text/html"}),
        ("/api/v1/measures/?format=csv&as_of=2020-01-01", {"ACCEPT": "text/csv"}),
        (detail, {}),
        (detail, {"ACCEPT": "application/json"}),
        (detail, {"IF_NONE_MATCH": tag}),
        (detail, {"IF_NONE_MATCH": '"stale"'}),
        (f"{detail}events/", {}),
        (f"{detail}legislation/", {}),
        ("/api/v1/strategies/", {}),
        ("/api/v1/strategies/serious-violence-strategy-2018/summary/", {}),
        ("/api/v1/strategies/serious-violence-strategy-2018/summary/?extent=scotland", {}),
        ("/api/v1/changes/?since=2018-01-01&page_size=5", {}),
        ("/api/v1/funding-lines/", {}),
        ("/api/v1/bills/", {}),
        ("/api/v1/schema/", {}),
        # Refused: 400, 404, 406, and a path without its slash.
        ("/api/v1/measures/?as_of=yesterday", {}),
        ("/api/v1/measures/?stage=nowhere", {}),
        ("/api/v1/measures/no-such-measure/", {}),
        ("/api/v1/changes/?cursor=%%%", {}),
        ("/api/v1/measures/", {"ACCEPT": "application/xml"}),
        ("/api/v1/measures", {}),
        ("/api/v1/webhooks/", {}),
    ]


def test_every_public_read_is_answered_as_the_whole_chain_answers_it(seeded: None) -> None:
    whole = WSGIHandler()  # Django's handler with every middleware of the settings
    checked = 0
    for path, headers in reads():
        for method in ("GET", "HEAD"):
            public = call(application, path, method, **headers)
            expected = call(whole, path, method, **headers)
            assert public == expected, (method, path, set(public[1]) ^ set(expected[1]))
            checked += 1
    assert checked == 54


def test_a_public_read_keeps_the_headers_every_answer_carries(seeded: None) -> None:
    status, headers, _ = call(application, "/api/v1/measures/")
    named = dict(headers)
    assert status == "200 OK"
    assert named["X-Request-ID"] == "public-read-test"
    assert named["Vary"] == "Accept, Cookie"
    assert named["X-Frame-Options"] == "DENY"
    assert named["X-Content-Type-Options"] == "nosniff"
    assert named["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in named["Content-Security-Policy"]


def test_public_reads_are_served_by_the_shorter_chain(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(application, TrackerWSGIHandler)
    served: list[str] = []
    shorter = application.public_reads.get_response

    def spy(request: Any) -> Any:
        served.append(request.path)
        return shorter(request)

    monkeypatch.setattr(application.public_reads, "get_response", spy)
    call(application, "/api/v1/measures/")
    call(application, "/api/v1/measures/", CONTENT_TYPE="application/json")
    call(application, "/api/v1/measures/", COOKIE="sessionid=x")
    call(application, "/api/v1/measures/", AUTHORIZATION="Token abc")
    call(application, "/api/v1/measures/", ACCEPT="text/html")
    call(application, "/api/v1/measures/", "POST")
    call(application, "/healthz")
    assert served == ["/api/v1/measures/", "/api/v1/measures/"]


def test_the_shorter_chain_is_the_settings_chain_less_what_a_read_does_not_need() -> None:
    chain = public_read_middleware()
    assert chain == [path for path in settings.MIDDLEWARE if path not in NOT_FOR_PUBLIC_READS]
    # Every middleware left out is one the settings name: a rename cannot slip through.
    assert set(settings.MIDDLEWARE) >= NOT_FOR_PUBLIC_READS
    for kept in (
        "config.middleware.RequestIdMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "config.middleware.VaryOnCookieMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.middleware.http.ConditionalGetMiddleware",
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
    ):
        assert kept in chain


@pytest.mark.parametrize(
    ("method", "path", "headers", "public"),
    [
        ("GET", "/api/v1/measures/", {}, True),
        ("HEAD", "/api/v1/measures/x/", {"HTTP_ACCEPT": "application/json"}, True),
        ("GET", "/api/v1/measures/", {"HTTP_ACCEPT": "*/*"}, True),
        ("OPTIONS", "/api/v1/measures/", {}, False),
        ("POST", "/api/v1/measures/", {}, False),
        ("GET", "/api/v1/measures/", {"HTTP_COOKIE": "sessionid=abc"}, False),
        ("GET", "/api/v1/measures/", {"HTTP_AUTHORIZATION": "Token abc"}, False),
        ("GET", "/api/v1/measures/", {"HTTP_ACCEPT": "text/html,*/*;q=0.8"}, False),
        ("GET", "/api/v1/measures/?format=api", {}, False),
        ("GET", "/api/v1/measures/?format=csv", {}, True),
        ("GET", "/api/v1/measures/?format=json", {}, True),
        ("GET", "/admin/", {}, False),
        ("GET", "/measures/", {}, False),
        ("GET", "/static/site.css", {}, False),
    ],
)
def test_what_counts_as_a_public_read(
    method: str, path: str, headers: dict[str, str], public: bool
) -> None:
    request = RequestFactory().generic(method, path)
    request.META.update(headers)
    assert is_public_read(request) is public


def test_links_carry_each_requests_script_prefix(seeded: None) -> None:
    """Served under a prefix (a proxy's ``SCRIPT_NAME``), a page's links carry it, and the
    next request without one gets links without it: what the representation keeps between
    requests (the list's path) is kept for each prefix."""
    _, _, under = call(application, "/api/v1/measures/?page_size=1", script_name="/tracker")
    _, _, plain = call(application, "/api/v1/measures/?page_size=1")
    (first,) = json.loads(under)["results"]
    assert first["url"] == f"http://testserver/tracker/api/v1/measures/{first['slug']}/"
    assert first["events_url"] == f"{first['url']}events/"
    assert json.loads(under)["next"].startswith("http://testserver/tracker/api/v1/measures/?")
    assert json.loads(plain)["results"][0]["url"] == (
        f"http://testserver/api/v1/measures/{first['slug']}/"
    )
