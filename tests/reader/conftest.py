from __future__ import annotations

import pytest

from measures.seeding import load_seeds


@pytest.fixture
def seeded(seeds_for_the_module: None, db: None) -> None:
    """The seed data, loaded once for the module; each test's writes are rolled back."""


@pytest.fixture
def committed_seeds(transactional_db: None) -> None:
    """The seed data, committed, for a live server in another thread to read."""
    load_seeds()
