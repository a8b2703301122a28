from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

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


def browser_signed_in(
    browser: Browser, base_url: str, username: str, *, width: int = 1400, height: int = 1000
) -> Page:
    """A new page of a browser window ``width`` by ``height``, signed in to the admin."""
    page = browser.new_page(viewport={"width": width, "height": height}, base_url=base_url)
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)
    return page
