"""Gunicorn settings for production: ``gunicorn --config config/gunicorn.py config.wsgi``.

Every value comes from the environment (documented in ``.env.example``)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# All interfaces by default: in a container the port is published by the runtime.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"  # noqa: S104

# Sync workers: each serves one request at a time with one persistent database connection.
# WEB_CONCURRENCY is the usual name for the number of processes (Heroku, Render, Dokku).
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 1)

# A request that takes longer than this is killed; a slow database query is cut off first
# by the statement timeout (DATABASE_STATEMENT_TIMEOUT_MS, 30 s by default).
timeout = _int("GUNICORN_TIMEOUT", 40)
# On SIGTERM (a deploy, a scale-in), requests in flight get this long to finish; the
# container's stop grace period must be longer.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Longer than a load balancer's own idle timeout is wasted; shorter makes it reconnect.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle each worker after about this many requests, so that a slow memory leak cannot
# grow without bound; the jitter keeps the workers from restarting all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)

# Logs to standard output/error, as JSON lines (LOG_FORMAT), access log included.
logger_class = "config.logging.GunicornLogger"
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The heartbeat file lives in memory, not on a possibly slow or read-only disk.
if Path("/dev/shm").is_dir():  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# No control socket unless asked for: it would be a file in $HOME, which a read-only
# container lacks and which two servers on one machine would fight over.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# FORWARDED_ALLOW_IPS (read by gunicorn itself) lists the proxies whose X-Forwarded-Proto
# is believed; Django's own rule for the same header is DJANGO_BEHIND_PROXY.
