from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from measures.seeding import load_seeds
from tests.support import shared_rows


@pytest.fixture(scope="module")
def seeds_for_the_module(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with shared_rows(django_db_blocker):
        load_seeds()
        yield


@pytest.fixture
def seeded(seeds_for_the_module: None, db: None) -> None:
    """The seed data, loaded once for the module; each test's writes are rolled back."""


@pytest.fixture
def committed_seeds(transactional_db: None) -> None:
    """The seed data, committed, for a live server in another thread to read."""
    load_seeds()
