"""What several test packages share that is not a fixture. Fixtures live in the conftest
files."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

OPENAPI_YAML = Path(settings.BASE_DIR) / "openapi.yaml"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The committed OpenAPI document, parsed once per test process. It is shared: read it,
    and give a copy to anything that may change it."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI_YAML.read_text())
    return document
