"""Real headless Chromium for the browser tests (marked slow), and where their screenshots
go: always to artifacts/screenshots/ (not committed); with SCREENSHOTS_TO_DOCS=1, those
meant for the documentation to docs/screenshots/ as well. They show the day they were
taken, so the committed ones change only when asked for (``make screenshots``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACT_SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
DOCS_SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
            "(make test does this when it can) or set CHROMIUM_PATH."
        )
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are ordinary blocking calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def screenshot(page: Page, name: str, *, for_docs: bool = False, full_page: bool = False) -> Path:
    """Photograph ``page`` as ``name``.png; see the module's docstring for where."""
    ARTIFACT_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACT_SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if for_docs and os.environ.get("SCREENSHOTS_TO_DOCS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path
