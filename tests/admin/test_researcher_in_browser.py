"""A researcher's job, done in real headless Chromium against the real admin through a live
server: record a stage change with its evidence, see it on the timeline, correct it, and
check what the public API says now and what it said before the correction. A reviewer can
look but not save. Screenshots go to artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from measures.models import Measure, StatusEvent
from tests.admin.conftest import PASSWORD
from tests.browser import screenshot
from tests.support import database_now

MEASURE = "young-peoples-advocates"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def sign_in(browser: Browser, base_url: str, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, base_url=base_url)
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)
    return page


def choose_source(page: Page, field: str, text: str) -> None:
    """Pick a source in the admin's autocomplete (select2) widget by typing part of it."""
    page.click(f".field-{field} .select2-selection")
    page.fill(".select2-search__field", text)
    page.locator(".select2-results__option", has_text=text).first.click()


def test_researcher_records_corrects_and_retracts(
    browser: Browser,
    live_server: Any,
    seeded: None,
    researcher: Any,
    reviewer: Any,
    artifacts: Path,
) -> None:
    measure = Measure.objects.get(slug=MEASURE)
    assert measure.stage == "announced"
    seeded_events = measure.events.count()
    page = sign_in(browser, live_server.url, "rita")

    # Find the measure from the changelist, as a researcher would.
    page.goto("/admin/measures/measure/")
    page.fill("#searchbar", "advocates")
    page.press("#searchbar", "Enter")
    page.click("text=young people's advocates")
    expect(page.locator("#timeline")).to_contain_text("Announced")
    # The cached stage is shown but cannot be edited.
    assert page.locator("input[name=stage], select[name=stage]").count() == 0

    # Record a stage change with its evidence.
    page.click("a.record-event")
    page.select_option("#id_change", "stage:in_development")
    page.fill("#id_effective_on", "2019-03-01")
    page.fill("#id_rationale", "Funding for advocates in more areas was being worked out.")
    choose_source(page, "source", "Amber Rudd unveils")
    page.fill("#id_quote", "hot spot policing and a better use of data")
    page.click("input[name=_record]")
    expect(page.locator(".messagelist")).to_contain_text("Event recorded: Stage → In development")
    recorded = page.locator("tr.event", has_text="In development")
    expect(recorded).to_have_count(1)
    expect(recorded).to_contain_text("hot spot policing and a better use of data")
    screenshot(page, "measure-after-recording", full_page=True)

    before_correction = database_now()

    # It was a consultation, not development work: correct it.
    recorded.locator("a.correct-event").click()
    expect(page.locator("#id_supersedes")).to_have_value(
        str(StatusEvent.objects.get(measure=measure, value="in_development").pk)
    )
    page.select_option("#id_change", "stage:consultation")
    page.fill("#id_rationale", "It was a consultation on the advocates' funding, not development.")
    choose_source(page, "source", "Amber Rudd unveils")
    page.fill("#id_locator", "paragraph on stop and search")
    page.click("input[name=_record]")
    expect(page.locator(".messagelist")).to_contain_text("Correction recorded")
    expect(page.locator("tr.event.superseded", has_text="In development")).to_have_count(1)
    expect(page.locator("tr.event:not(.superseded)", has_text="Consultation")).to_contain_text(
        "corrects #"
    )
    screenshot(page, "measure-timeline", full_page=True)

    # The public API shows the corrected stage, and the stage as known before the correction.
    api = f"{live_server.url}/api/v1/measures/{MEASURE}/"
    now = httpx.get(api).json()
    assert (now["stage"], now["stage_since"]) == ("consultation", "2019-03-01")
    then = httpx.get(api, params={"known_at": before_correction.isoformat()}).json()
    assert then["stage"] == "in_development"

    # A rating recorded against the wrong measure is retracted: it stays in the history,
    # marked, and no longer counts.
    confidence_before = now["confidence"]
    page.click("a.record-event")
    page.select_option("#id_change", "confidence:red")
    page.fill("#id_effective_on", "2020-01-31")
    page.fill("#id_rationale", "Delivery looked unlikely.")
    choose_source(page, "source", "Amber Rudd unveils")
    page.fill("#id_locator", "closing paragraph")
    page.click("input[name=_record]")
    expect(page.locator(".messagelist")).to_contain_text("Event recorded: Confidence → Red")
    mistaken = page.locator("tr.event", has_text="Delivery looked unlikely.")
    assert httpx.get(api).json()["confidence"] == "red"
    mistaken.locator("a.retract-event").click()
    expect(page.locator("h1")).to_contain_text("Retract an event of")
    page.fill("#id_rationale", "That rating was for another measure.")
    page.click("input[name=_retract]")
    expect(page.locator(".messagelist")).to_contain_text("no longer counts")
    expect(mistaken).to_contain_text("retracted by #")
    expect(page.locator("tr.event.retraction")).to_contain_text("retracts #")
    assert page.locator("tr.event.retraction a.retract-event").count() == 0
    assert httpx.get(api).json()["confidence"] == confidence_before
    screenshot(page, "measure-after-retraction", full_page=True)

    # A measure carried by law shows the chain, down to a pilot's area; one with money shows
    # its trail, a restated figure marked as the same money.
    orders = Measure.objects.get(slug="knife-crime-prevention-orders")
    page.goto(f"/admin/measures/measure/{orders.pk}/change/")
    chain = page.locator("#legal-chain")
    expect(chain).to_contain_text("Offensive Weapons Act 2019")
    expect(chain).to_contain_text("Royal Assent")
    expect(chain).to_contain_text("Metropolitan police district only")
    expect(page.locator("#timeline")).to_contain_text("Metropolitan police district (England)")
    screenshot(page, "measure-legal-chain", full_page=True)
    fund = Measure.objects.get(slug="youth-endowment-fund")
    page.goto(f"/admin/measures/measure/{fund.pk}/change/")
    expect(page.locator("#money-trail")).to_contain_text("realises")
    expect(page.locator("#money-trail")).to_contain_text("Committed")

    # The strategy page shows its money per phase as a chart.
    page.goto(f"/admin/strategy/strategy/{measure.strategy_id}/change/")
    expect(page.locator("svg.money-chart")).to_be_visible()
    expect(page.locator("svg.money-chart")).to_contain_text("Announced")
    screenshot(page, "strategy-money", full_page=True)
    page.close()

    # A reviewer can read the measure but not save it, nor record an event.
    page = sign_in(browser, live_server.url, "victor")
    page.goto(f"/admin/measures/measure/{measure.pk}/change/")
    expect(page.locator("#timeline")).to_contain_text("Consultation")
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("a.record-event").count() == 0
    response = page.goto(f"/admin/measures/measure/{measure.pk}/record-event/")
    assert response is not None
    assert response.status == 403
    page.close()

    measure.refresh_from_db()
    assert measure.stage == "consultation"
    # The mistake and its correction, the wrong rating and its retraction.
    assert measure.events.count() == seeded_events + 4
