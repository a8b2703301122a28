"""Run the task queue's worker: webhook deliveries and any other task.

The database backend's worker (django-tasks-db) runs the tasks; this command runs it in
rounds that drain the queue, and around them:

- every minute, sweeps the outbox for deliveries whose task was lost (``outbox.sweep``);
- when PostgreSQL goes away (a restart, a failover), logs it, waits and tries again with
  growing pauses, instead of exiting: queued work waits in the database and is done late,
  not lost;
- on SIGTERM or SIGINT, finishes the task in hand and exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connections
from django_tasks_db.management.commands.db_worker import Worker

from webhooks import outbox

logger = logging.getLogger("webhooks.worker")

SWEEP_EVERY_SECONDS = 60.0


class _RoundsFilter(logging.Filter):
    """Drops the backend worker's lines about starting and ending a round: run in rounds,
    it would log two every half second."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Starting worker", "No more tasks to run"))


MAX_PAUSE_SECONDS = 10.0


class Command(BaseCommand):
    help = "Run the background worker (webhook deliveries); stops on Ctrl-C or SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="Seconds between looks at an empty queue (default 0.5).",
        )
        parser.add_argument(
            "--queue-name", default="default", help="Queues to take tasks from, comma-separated."
        )

    def handle(self, *args: Any, interval: float, queue_name: str, **options: Any) -> None:
        self.running = True
        self.worker: Worker | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.stop)
        logging.getLogger("django_tasks_db").addFilter(_RoundsFilter())
        worker_id = f"{socket.gethostname()}-{os.getpid()}"[:64]
        logger.info("Worker %s started on queues %s", worker_id, queue_name)
        last_sweep = 0.0
        pause = 0.5
        while self.running:
            try:
                close_old_connections()
                if time.monotonic() - last_sweep >= SWEEP_EVERY_SECONDS:
                    if swept := outbox.sweep():
                        logger.warning("Queued %d overdue webhook deliveries again", swept)
                    last_sweep = time.monotonic()
                self.worker = Worker(
                    queue_names=queue_name.split(","),
                    interval=0,
                    batch=True,
                    backend_name="default",
                    startup_delay=False,
                    max_tasks=None,
                    worker_id=worker_id,
                    excluded_queue_names=[],
                )
                self.worker.run()  # until the queue is empty
                pause = 0.5
            except DatabaseError as error:
                logger.warning(
                    "Database unavailable (%s); trying again in %.1f s",
                    str(error).strip().splitlines()[0] if str(error).strip() else error,
                    pause,
                )
                for connection in connections.all():
                    connection.close_if_unusable_or_obsolete()
                    if connection.errors_occurred or connection.needs_rollback:
                        connection.close()
                self.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE_SECONDS)
                continue
            self.sleep(interval)
        logger.info("Worker %s stopped", worker_id)

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.running and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))

    def stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info("Received %s: finishing the task in hand", signal.strsignal(signum))
        self.running = False
        if self.worker is not None:
            self.worker.running = False
