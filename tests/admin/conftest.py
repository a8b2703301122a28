from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command

from measures.seeding import load_seeds
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"


@pytest.fixture
def roles(db: None) -> None:
    call_command("setup_roles", verbosity=0)


def member(role: str, username: str) -> Any:
    user = UserFactory.create(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def researcher(roles: None) -> Any:
    return member("researchers", "rita")


@pytest.fixture
def reviewer(roles: None) -> Any:
    return member("reviewers", "victor")


@pytest.fixture
def seeded(db: None) -> None:
    load_seeds()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
