"""What several test packages share that is not a fixture. Fixtures live in the conftest
files."""

from __future__ import annotations

import datetime
import functools
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import connection

OPENAPI_YAML = Path(settings.BASE_DIR) / "openapi.yaml"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The committed OpenAPI document, parsed once per test process. It is shared: read it,
    and give a copy to anything that may change it."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI_YAML.read_text())
    return document


def database_now() -> datetime.datetime:
    """The database clock now: ``recorded_at`` comes from it, so instants compared with
    ``known_at`` must too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (instant,) = cursor.fetchone()
    return instant
