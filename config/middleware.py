"""Middleware for running behind a load balancer: request ids, probes that answer whatever
the Host header, and keeping a request's reads on the primary database when they must be."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from whitenoise.middleware import WhiteNoiseMiddleware

from config import health, routers
from config.api.problems import method_not_allowed
from config.logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# Ids that proxies and tracing systems send (UUIDs, hex trace ids, ``Root=1-…;Parent=…``),
# and nothing that could forge a log line or a header: no spaces, quotes or control bytes.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:;=+/-]{0,127}")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Take the client's ``X-Request-ID`` if it is a sane token, or make one; make it the
    request id of every log line written while the request is served; send it back."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        # Not reset on the way out: Django logs an error response ("Not Found: …") after
        # the middleware has returned. The request_finished signal clears it.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def forget_request_id(**kwargs: object) -> None:
    request_id_var.set(None)


request_finished.connect(forget_request_id, dispatch_uid="config.middleware.forget_request_id")


class ProbeMiddleware:
    """Answer ``/healthz`` and ``/readyz`` before host validation and HTTPS redirects, so a
    load balancer or orchestrator can probe an app server by its IP address over plain HTTP."""

    probes = {"/healthz": health.healthz, "/readyz": health.readyz}

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = self.probes.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)


class VaryOnCookieMiddleware:
    """Say that every answer varies with the ``Cookie`` header: who is signed in (the
    session cookie) may change it, so a shared cache must not give one visitor's answer to
    another. Django adds it when a request reads its session; this adds it where nothing
    did (a page not found, a redirect), so that an answer's headers do not depend on which
    middleware happened to read the session (``config/handlers.py``)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        return response


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, whose refusal of a method other than GET or HEAD on a static file is a
    problem document like every other error (it answers an empty 405 with no type)."""

    @staticmethod
    def serve(static_file: Any, request: HttpRequest) -> HttpResponse:
        response = WhiteNoiseMiddleware.serve(static_file, request)
        if response.status_code == 405:
            return method_not_allowed(request, response["Allow"])
        return response


class PrimaryDatabaseMiddleware:
    """Scope the database router's read-your-writes rule to one request.

    A write request (POST, PUT, PATCH, DELETE) reads from the primary throughout: it checks
    versions and permissions against what it is about to change. So does a request from a
    signed-in browser (the admin), whose user expects to see what they saved a moment ago.
    Any other request starts on the replicas and moves to the primary at its first write."""

    safe_methods = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        primary = (
            request.method not in self.safe_methods
            or settings.SESSION_COOKIE_NAME in request.COOKIES
        )
        with routers.request_scope(primary=primary):
            return self.get_response(request)
