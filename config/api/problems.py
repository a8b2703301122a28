"""Every error the service returns is an RFC 9457 problem details document
(``application/problem+json``): from DRF views, from Django itself (404, 400, 403, 500),
and for a database that cannot be reached (503 with ``Retry-After``)."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, Concatenate

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from config.api.renderers import JSONRenderer
from config.logging import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
DATABASE_RETRY_AFTER_SECONDS = 5

# The documented problem types. ``type`` in a problem is the URL of its entry here.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "validation-error": (
        "Your request is not valid.",
        "One or more fields or parameters are invalid; `errors` lists each with a JSON "
        "pointer (`pointer`) into the body or the name of the query parameter (`parameter`).",
    ),
    "unknown-parameter": (
        "Unknown query parameter.",
        "The request names a query parameter that this operation does not accept. Unknown "
        "filters are refused rather than ignored, so a typo cannot return unfiltered data.",
    ),
    "stale-version": (
        "The resource has changed since you read it.",
        "The `If-Match` header does not match the current `ETag`: someone else changed the "
        "resource. Fetch it again, re-apply your change and retry.",
    ),
    "idempotency-key-reused": (
        "This Idempotency-Key was used for a different request.",
        "An `Idempotency-Key` identifies one request. Retry with the same body, or use a "
        "new key for a new request.",
    ),
    "conflict": (
        "The change conflicts with what is stored.",
        "Another row depends on the one you are changing, or another request stored the same "
        "thing first. Nothing was changed. Fetch the resources again and retry.",
    ),
    "database-unavailable": (
        "The database is unavailable.",
        "The service cannot reach its database right now. Nothing was changed. Retry after "
        "the number of seconds in `Retry-After`.",
    ),
    "request-too-large": (
        "The request body is too large.",
        "Send a smaller body; the limit is stated in `detail`.",
    ),
}


def problem_type(slug: str) -> str:
    return reverse("problem-type", kwargs={"slug": slug})


def problem(
    status_code: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A problem details document. Without a ``slug`` the type is ``about:blank`` and the
    title is the HTTP status phrase, as RFC 9457 recommends."""
    document: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title or (PROBLEM_TYPES[slug][0] if slug else HTTPStatus(status_code).phrase),
        "status": status_code,
        "detail": detail,
    }
    if instance:
        document["instance"] = instance
    request_id = request_id_var.get()
    if request_id:
        # Quoted in a bug report, it finds the request's log lines.
        document["request_id"] = request_id
    document.update(extra)
    return document


def validation_detail(
    error: DjangoValidationError, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A model's or a service's ``ValidationError`` as DRF's error detail. A key written as
    a dotted path (``citations.0.quote``: services name the fields of a nested object so)
    becomes nested, and ``names`` renames a model field to the name the client used."""
    detail: dict[str, Any] = {}
    for key, messages in as_serializer_error(error).items():
        first, *rest = str(key).split(".")
        parts = [(names or {}).get(first, first), *rest]
        target = detail
        for part in parts[:-1]:
            inner = target.setdefault(part, {})
            if not isinstance(inner, dict):  # messages about the whole, and about a part
                inner = target[part] = {"non_field_errors": inner}
            target = inner
        target.setdefault(parts[-1], [])
        if isinstance(target[parts[-1]], dict):
            target[parts[-1]].setdefault("non_field_errors", []).extend(messages)
        else:
            target[parts[-1]].extend(messages)
    return detail


def _pointer_errors(detail: Any, pointer: str = "#") -> list[dict[str, str]]:
    """Flatten DRF's nested error structure into ``{"pointer", "detail"}`` entries."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                errors.extend(_pointer_errors(value, pointer))
            else:
                errors.extend(_pointer_errors(value, f"{pointer}/{key}"))
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [{"pointer": pointer, "detail": str(item)} for item in detail]
        errors = []
        for index, item in enumerate(detail):
            errors.extend(_pointer_errors(item, f"{pointer}/{index}"))
        return errors
    return [{"pointer": pointer, "detail": str(detail)}]


class ProblemJSONRenderer(JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE
    format = "problem+json"


class QueryParameterError(exceptions.ValidationError):
    """Invalid query parameters: reported with ``parameter`` instead of a body pointer."""

    def __init__(self, errors: dict[str, list[str]], *, unknown: bool = False) -> None:
        super().__init__(errors)
        self.parameter_errors = errors
        self.unknown = unknown


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since you read it."
    default_code = "precondition_failed"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; nothing was changed. Please retry shortly."
    default_code = "database_unavailable"
    wait = DATABASE_RETRY_AFTER_SECONDS


# PostgreSQL's "deadlock detected" and "could not serialize access": two requests raced for
# the same rows. Nothing is wrong with the database, and a retry usually succeeds.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def is_write_conflict(error: BaseException) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in CONFLICT_SQLSTATES


def _database_unavailable(error: BaseException) -> bool:
    return (
        isinstance(error, OperationalError | InterfaceError)
        and not isinstance(error, DataError)
        and not is_write_conflict(error)
    )


def api_exception_handler(
    exc: Exception, context: dict[str, Any]
) -> Response | HttpResponse | None:
    """DRF's exception handler, answering with problem details."""
    request = context.get("request")
    instance = request.path if request is not None else None
    headers: dict[str, str] = {}

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig) and request is not None:
        return request_too_large(request)
    elif isinstance(exc, DataError):
        # PostgreSQL refused a value the validators let through (e.g. a NUL byte in a
        # lookup): the request was bad, nothing was written.
        set_rollback()
        body = problem(
            400, "A value in the request cannot be stored or searched for.", instance=instance
        )
        return Response(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
    elif isinstance(exc, IntegrityError) or is_write_conflict(exc):
        # A database constraint caught what validation could not see in time (a concurrent
        # write, a dependent row), or two requests still raced for the same rows after the
        # write was retried: the request conflicts with the stored state.
        set_rollback()
        logger.info("integrity conflict: %s", exc)
        body = problem(
            409,
            "The change conflicts with data stored by another request or that depends on it.",
            slug="conflict",
            instance=instance,
        )
        return Response(body, status=409, content_type=PROBLEM_CONTENT_TYPE)
    elif _database_unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        exc = ServiceUnavailable()

    if not isinstance(exc, exceptions.APIException):
        return None

    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]

    if isinstance(exc, QueryParameterError):
        slug = "unknown-parameter" if exc.unknown else "validation-error"
        errors = [
            {"parameter": name, "detail": str(message)}
            for name, messages in exc.parameter_errors.items()
            for message in messages
        ]
        body = problem(
            400,
            "; ".join(f"{e['parameter']}: {e['detail']}" for e in errors),
            slug=slug,
            instance=instance,
            errors=errors,
        )
    elif isinstance(exc, exceptions.ValidationError):
        errors = _pointer_errors(exc.detail)
        body = problem(
            exc.status_code,
            "; ".join(
                f"{e['pointer'].removeprefix('#/') or 'request'}: {e['detail']}" for e in errors
            ),
            slug="validation-error",
            instance=instance,
            errors=errors,
        )
    else:
        problem_slug = {
            status.HTTP_412_PRECONDITION_FAILED: "stale-version",
            status.HTTP_503_SERVICE_UNAVAILABLE: "database-unavailable",
        }.get(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = problem(exc.status_code, str(detail), slug=problem_slug, instance=instance)
    set_rollback()
    return Response(
        body, status=exc.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


def problem_response(
    status_code: int, detail: str, request: HttpRequest, **kwargs: Any
) -> HttpResponse:
    return JsonResponse(
        problem(status_code, detail, instance=request.path, **kwargs),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def request_too_large(request: HttpRequest | Any) -> HttpResponse:
    """413, for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, wherever it is noticed: by
    Django, by the JSON parser, or by the idempotency middleware, which reads the body first."""
    return problem_response(
        413,
        "The request body is larger than this service accepts.",
        request,
        slug="request-too-large",
    )


# Django's own error views (``handler404`` and friends in config/urls.py).


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request)
    detail = "The request could not be understood."
    if isinstance(exception, SuspiciousOperation):
        detail = "The request was refused as unsafe (for example, an unexpected Host header)."
    return problem_response(400, detail, request)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(403, "You do not have permission to do this.", request)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(404, f"Nothing is published at {request.path}.", request)


def server_error(request: HttpRequest) -> HttpResponse:
    error = sys.exc_info()[1]
    if error is not None and _database_unavailable(error):
        response = problem_response(
            503, ServiceUnavailable.default_detail, request, slug="database-unavailable"
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return problem_response(500, "Something went wrong on our side; it has been logged.", request)


def method_not_allowed(request: HttpRequest, allowed: str = "GET, HEAD") -> HttpResponse:
    response = problem_response(
        405, f"{request.method[:20] if request.method else ''} is not allowed here.", request
    )
    response["Allow"] = allowed
    return response


def read_only[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """A view that only reads: any other method gets a 405 problem document with ``Allow``
    (Django's ``require_safe`` answers an empty HTML page), and a write is never asked for
    a CSRF token first, since there is nothing to protect."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(request)
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A request refused for a missing or wrong CSRF token: the admin's HTML page there,
    a problem document everywhere else."""
    if request.path.startswith("/admin/"):
        return django_csrf_failure(request, reason)
    return problem_response(403, "The request was refused: it lacks a valid CSRF token.", request)


@read_only
def describe_problem_type(request: HttpRequest, slug: str) -> HttpResponse:
    """The documentation a problem's ``type`` URL points at."""
    if slug not in PROBLEM_TYPES:
        return not_found(request)
    title, description = PROBLEM_TYPES[slug]
    return JsonResponse({"type": request.path, "title": title, "description": description})


__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "DatabaseError",
    "PreconditionFailed",
    "QueryParameterError",
    "ServiceUnavailable",
    "api_exception_handler",
    "problem",
]
