"""The WSGI handler: Django's, with a shorter middleware chain for anonymous reads of the API.

Most requests the API serves are reads by clients that send neither a cookie nor a token.
For them several of the project's middleware have nothing to do, though each still costs a
call on the way in and out: CSRF (a safe method, a view exempt from it), messages (an API
answer shows none), the audit context (a read writes nothing to attribute), idempotency
(POST only), the sign-in lockout (the admin's sign-in only), static files and the probes
(other paths). Together they were a tenth of a measure's detail served in process
(``docs/performance.md``).

A *public read* (``is_public_read``) therefore runs through ``PUBLIC_READ_MIDDLEWARE``:
``settings.MIDDLEWARE`` less those, in the same order. What gives every answer its headers
stays: the request id, the primary/replica scope, the security headers, the session and
authentication middleware with ``Vary: Cookie`` (a shared cache must not give a signed-in
browser the anonymous answer), ``CommonMiddleware``, conditional GET, ``X-Frame-Options``
and the content security policy. Throttling and problem documents are DRF's, inside the view, and do not
depend on the chain. Every other request runs through the whole of ``settings.MIDDLEWARE``.
``tests/api/test_public_reads.py`` holds the two chains' answers to the same request
equal, headers and bytes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.test.utils import override_settings
from rest_framework.settings import api_settings

# Middleware that does nothing for a public read (see above).
NOT_FOR_PUBLIC_READS = frozenset(
    {
        "config.middleware.ProbeMiddleware",
        "config.middleware.StaticFilesMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "pghistory.middleware.HistoryMiddleware",
        "config.api.idempotency.IdempotencyMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)

API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD"})
DATA_FORMATS = frozenset({"json", "csv"})


def public_read_middleware() -> list[str]:
    """``settings.MIDDLEWARE`` for a public read: the same, in the same order, less the
    middleware that has nothing to do for one."""
    return [path for path in settings.MIDDLEWARE if path not in NOT_FOR_PUBLIC_READS]


def is_public_read(request: HttpRequest) -> bool:
    """A GET or HEAD of the API with no cookie and no credentials, for JSON or CSV: not from
    a client that asks for HTML, by its ``Accept`` header or ``?format=``. The browsable page
    is for a browser, which may sign in from it, and it hands out a CSRF token."""
    meta = request.META
    return (
        request.method in SAFE_METHODS
        and request.path_info.startswith(API_PREFIX)
        and not meta.get("HTTP_COOKIE")
        and not meta.get("HTTP_AUTHORIZATION")
        and "html" not in meta.get("HTTP_ACCEPT", "")
        and request.GET.get(api_settings.URL_FORMAT_OVERRIDE or "format", "json") in DATA_FORMATS
    )


class PublicReadChain(BaseHandler):
    """Django's request handling with ``public_read_middleware()`` as its middleware."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds a chain from ``settings.MIDDLEWARE`` only; the list is given to it
        # for that one call, at start-up.
        with override_settings(MIDDLEWARE=public_read_middleware()):
            super().load_middleware(is_async)


class TrackerWSGIHandler(WSGIHandler):
    """Django's WSGI handler, serving a public read through ``PublicReadChain``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.public_reads = PublicReadChain()
        self.public_reads.load_middleware()

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        if is_public_read(request):
            return self.public_reads.get_response(request)
        return super().get_response(request)
