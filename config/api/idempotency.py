"""Safe retries of POST requests with an ``Idempotency-Key`` header.

The first request with a key runs inside a transaction that also stores its response; a
retry with the same key and the same request gets that response again (with
``Idempotent-Replayed: true``) and writes nothing; the same key with a different request is
refused with 422. Two identical requests racing each other are serialised by the unique
index: the second waits for the first to commit, then replays it. Only successful (2xx)
responses are kept: after a refusal or a failure the client may fix the request and retry
with the same key. Keys are scoped to the credentials of the request."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from config.api.models import IdempotencyRecord
from config.api.problems import (
    DATABASE_RETRY_AFTER_SECONDS,
    problem_response,
    request_too_large,
)

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


class _RollBackButRespondError(Exception):
    """Roll the transaction back (and with it the record) but still send this response."""

    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response


def _scope(request: HttpRequest) -> str:
    credentials = request.headers.get("Authorization") or request.COOKIES.get("sessionid", "")
    return hashlib.sha256(credentials.encode()).hexdigest()


def _fingerprint(request: HttpRequest, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.path.encode(), request.META.get("QUERY_STRING", "").encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not KEY_PATTERN.match(key):
            return problem_response(
                400, f"{HEADER} must be 1 to 255 printable ASCII characters.", request
            )
        try:
            body = request.body
        except RequestDataTooBig:
            return request_too_large(request)
        try:
            return self._once(request, key, _fingerprint(request, body))
        except DatabaseError:
            response = problem_response(
                503,
                f"The database is unavailable; nothing was changed. Retry with the same {HEADER}.",
                request,
                slug="database-unavailable",
            )
            response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
            return response

    def _once(self, request: HttpRequest, key: str, fingerprint: str) -> HttpResponseBase:
        scope = _scope(request)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # A plain INSERT that says whether it inserted: the ORM's
                    # ignore_conflicts does not.
                    cursor.execute(
                        f"INSERT INTO {IdempotencyRecord._meta.db_table} "  # noqa: S608
                        "(scope, key, fingerprint, headers, body, created_at) "
                        "VALUES (%s, %s, %s, '{}', '', now()) "
                        "ON CONFLICT (scope, key) DO NOTHING RETURNING id",
                        [scope, key, fingerprint],
                    )
                    inserted = cursor.fetchone()
                if inserted is None:
                    earlier = IdempotencyRecord.objects.get(scope=scope, key=key)
                    if earlier.fingerprint != fingerprint:
                        raise _RollBackButRespondError(
                            problem_response(
                                422,
                                f"This {HEADER} was already used for a different request. "
                                "Use a new key for a new request.",
                                request,
                                slug="idempotency-key-reused",
                            )
                        )
                    return self._replay(earlier)
                response = self.get_response(request)
                if not 200 <= response.status_code < 300 or not isinstance(response, HttpResponse):
                    raise _RollBackButRespondError(response)
                IdempotencyRecord.objects.filter(pk=inserted[0]).update(
                    status_code=response.status_code,
                    headers={name: response[name] for name in REPLAYED_HEADERS if name in response},
                    body=response.content,
                )
                return response
        except _RollBackButRespondError as discarded:
            return discarded.response

    @staticmethod
    def _replay(record: IdempotencyRecord) -> HttpResponse:
        response = HttpResponse(bytes(record.body), status=record.status_code)
        for name, value in record.headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response
