from __future__ import annotations

import pytest

from measures.seeding import load_seeds


@pytest.fixture
def seeded(db: None) -> None:
    load_seeds()
