"""A reader's walk through the public site in real headless Chromium against a live server:
home, a strategy, a measure, the same measure on a past date, its feed, and a search. At
375 px and 1366 px wide no page scrolls sideways, axe-core finds no serious or critical
accessibility violation, and the browser reports no breach of the Content Security Policy.
Screenshots: tests/browser.py."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Page, expect

from tests.browser import screenshot

WIDTHS = (375, 1366)
STRATEGY_TITLE = "Serious Violence Strategy"
MEASURE_TITLE = "Offence of possessing a corrosive substance in a public place"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def open_page(browser: Browser, base_url: str, width: int, breaches: list[str]) -> Page:
    page = browser.new_page(
        viewport={"width": width, "height": 900}, base_url=base_url, locale="en-GB"
    )
    page.on(
        "console",
        lambda message: (
            breaches.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page


def check(page: Page, name: str, width: int) -> None:
    """The page fits the window, passes axe-core's serious and critical rules, and is
    photographed."""
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{name} scrolls sideways at {width} px"
    results = Axe().run(page)
    serious = [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not serious, results.generate_report()
    screenshot(page, f"site-{name}-{width}", for_docs=True)


def test_a_reader_walks_from_home_to_a_measure_in_the_past_and_searches(
    browser: Browser, live_server: Any, committed_seeds: None
) -> None:
    """The same walk in a phone's width and a laptop's."""
    for width in WIDTHS:
        walk(browser, live_server.url, width)


def walk(browser: Browser, base_url: str, width: int) -> None:
    breaches: list[str] = []
    page = open_page(browser, base_url, width, breaches)

    page.goto("/")
    expect(page.locator("h1")).to_contain_text("from announcement to delivery")
    check(page, "home", width)

    page.get_by_role("link", name=STRATEGY_TITLE).first.click()
    expect(page.locator("h1")).to_have_text(STRATEGY_TITLE)
    expect(page.locator("svg.timeline-chart")).to_be_visible()
    check(page, "strategy", width)
    page.locator("figure.timeline").scroll_into_view_if_needed()
    screenshot(page, f"site-strategy-timeline-{width}", for_docs=True)

    page.get_by_role("link", name=MEASURE_TITLE).first.click()
    expect(page.locator("h1")).to_have_text(MEASURE_TITLE)
    expect(page.locator("#events")).to_be_visible()
    check(page, "measure", width)
    page.locator("#events").scroll_into_view_if_needed()
    screenshot(page, f"site-measure-evidence-{width}", for_docs=True)

    page.fill("#as-of", "2019-06-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".time-travel")).to_contain_text("1 June 2019")
    expect(page.locator(".status")).to_contain_text("Enacted (Royal Assent)")
    check(page, "measure-as-of", width)

    feed = page.locator('link[rel="alternate"][type="application/atom+xml"]').get_attribute("href")
    assert feed is not None
    answer = page.request.get(feed)
    assert answer.ok
    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert "<feed" in answer.text()

    page.get_by_role("link", name="Search", exact=True).click()
    page.fill("#q", "knife")
    page.locator("form.search button").click()
    expect(page.locator("h2").first).to_contain_text("found")
    expect(page.locator(".results li").first).to_be_visible()
    check(page, "search", width)

    page.goto("/strategies/serious-violence-strategy-2018/changes/?from=2018-04-09&to=2019-04-09")
    expect(page.locator("h1")).to_contain_text("What changed")
    check(page, "changes", width)

    assert not breaches, breaches
    page.close()
