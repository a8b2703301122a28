"""PostgreSQL restarted under load (scripts/db_restart_under_load.py, in a short run): only
503 problem+json while it is down, service back within 5 s without restarting the app,
and every acknowledged write present exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "db_restart_under_load.py"


@pytest.mark.slow
def test_database_restart_under_load_loses_nothing() -> None:
    finished = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(SCRIPT),
            "--seconds",
            "12",
            "--writers",
            "3",
            "--readers",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert figures["pass"] is True
    assert figures["requests_during_outage"] > 0
    assert set(figures["outage_statuses"]) <= {"503", "None"}
    assert figures["5xx_other_than_503"] == 0
    assert figures["first_success_after_restart_s"] <= 5
    assert figures["acknowledged_writes"] > 0
    assert figures["lost_writes"] == 0
    assert figures["duplicated_writes"] == 0
