"""Structured logs: one JSON object per line, each carrying the id of the request it was
logged in, so that a log store can gather every line of one request across app servers.

``LOG_FORMAT=json`` (the default outside DEBUG) selects :class:`JsonFormatter`;
``LOG_FORMAT=text`` a one-line human format with the same request id. Gunicorn's own
lines, its access log included, go through :class:`GunicornLogger` in the same format.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import os
from typing import Any

from gunicorn import glogging

# The id of the request being served, set by ``config.middleware.RequestIdMiddleware``.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}
# Extras that are objects, not data: Django's request logger passes the request itself.
_SKIPPED_EXTRAS = frozenset({"request", "server_time"})


class RequestIdFilter(logging.Filter):
    """Give every record a ``request_id`` attribute (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``request_id``, ``exception`` if any, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        if request_id in (None, "-"):
            request_id = request_id_var.get()
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id,
            "pid": record.process,
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and name not in _SKIPPED_EXTRAS:
                entry.setdefault(name, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that is not JSON data is logged as its text, never lost.
        return json.dumps(entry, default=str, ensure_ascii=False)


def log_format() -> str:
    """The configured format: ``json`` or ``text``."""
    value = os.environ.get("LOG_FORMAT", "").strip().lower()
    if value in {"json", "text"}:
        return value
    debug = os.environ.get("DJANGO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    return "text" if debug else "json"


def formatter() -> logging.Formatter:
    return JsonFormatter() if log_format() == "json" else logging.Formatter(TEXT_FORMAT)


def django_logging(*, level: str) -> dict[str, Any]:
    """The ``LOGGING`` setting: everything to standard error through one handler."""
    handler_format = log_format()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.logging.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "config.logging.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": handler_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's defaults give these loggers handlers of their own; route them through
        # the root handler instead so that every line has the same shape.
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("django", "django.server")
        },
    }


class GunicornLogger(glogging.Logger):
    """Gunicorn's logger in the configured format, with an access log of one structured
    line per request that carries the request id the app answered with."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter())
                handler.addFilter(RequestIdFilter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        headers = {str(name).lower(): value for name, value in resp.headers}
        status = resp.status
        status_code = int(str(status).split(None, 1)[0]) if status else None
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        fields = {
            "request_id": headers.get("x-request-id"),
            "method": method,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "status": status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "protocol": environ.get("SERVER_PROTOCOL"),
        }
        try:
            self.access_log.info("%s %s %s", method, path, status_code, extra=fields)
        except Exception:
            self.exception("Could not write the access log line")
