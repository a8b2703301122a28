"""The release step, run by ``scripts/entrypoint.sh`` before the app starts: wait for the
database, apply the migrations, purge expired idempotency records, and with
``SEED_DATA=1`` load the seed data.

It holds a PostgreSQL advisory lock throughout, so that several app containers starting
at once release one after another instead of racing on the same migrations. Progress is
logged through Django's logging, as JSON lines like the app's own.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from io import StringIO
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402 - after the path and settings module are set

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

# Any fixed number names the lock; this one spells "tracker" on a phone keypad.
RELEASE_LOCK = 8_722_537

log = logging.getLogger("tracker.release")


def wait_for_database(seconds: int) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    deadline = time.monotonic() + seconds
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as error:
            if time.monotonic() > deadline:
                raise
            log.warning("Waiting for the database: %s", str(error).strip().splitlines()[0])
            time.sleep(2)


def main() -> int:
    wait_for_database(int(os.environ.get("DATABASE_WAIT_SECONDS", "60")))
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [RELEASE_LOCK])
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        output = StringIO()
        call_command("migrate", interactive=False, verbosity=1, stdout=output)
        log.info(
            "Applied %d migrations",
            len(pending),
            extra={"migrations": [f"{m.app_label}.{m.name}" for m, _ in pending]},
        )
        output = StringIO()
        call_command("purge_idempotency_keys", stdout=output)
        log.info(output.getvalue().strip())
        if os.environ.get("SEED_DATA") == "1":
            output = StringIO()
            call_command("seed", stdout=output)
            report = "; ".join(output.getvalue().strip().splitlines())
            log.info(report if report.startswith("Seed data") else f"Seed data: {report}")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RELEASE_LOCK])
    return 0


if __name__ == "__main__":
    sys.exit(main())
