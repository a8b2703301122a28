"""Probes for load balancers and orchestrators: ``/healthz`` says the process answers,
``/readyz`` that it can serve (the database answers and every migration is applied)."""

from __future__ import annotations

from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from config.api.problems import DATABASE_RETRY_AFTER_SECONDS, problem_response, read_only


@never_cache
@read_only
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@read_only
def readyz(request: HttpRequest) -> HttpResponse:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return _unavailable(request, "The database cannot be reached.", database="unreachable")
    if pending:
        return _unavailable(
            request,
            f"{len(pending)} database migration(s) are not applied yet.",
            database="ok",
            pending_migrations=len(pending),
        )
    return JsonResponse({"status": "ok", "database": "ok", "pending_migrations": 0})


def _unavailable(request: HttpRequest, detail: str, **extra: object) -> HttpResponse:
    response = problem_response(503, detail, request, **extra)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
