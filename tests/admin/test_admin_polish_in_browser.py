"""The admin at 1366x900 in real headless Chromium against a live server: the lists fit
their box without a horizontal scroll bar, the timeline's labels do not overlap, the
export page's "Select all" works under the Content Security Policy, the import preview
shows every row and the date format expected, and axe-core finds nothing critical.
Screenshots of the measures list, a measure's timeline and the import preview: see
tests/browser.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Page, expect

from measures.models import Measure
from tests.admin.conftest import browser_signed_in
from tests.browser import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LISTS = [
    "/admin/measures/measure/",
    "/admin/measures/statusevent/",
    "/admin/measures/fundingline/",
    "/admin/strategy/source/",
    "/admin/strategy/organisation/",
]
# A measure whose stage changed several times, some of them days apart.
TIMELINE_MEASURE = "corrosive-substance-stop-and-search"
BAD_DATE_CSV = (
    "slug,strategy,title,summary,category,lead_organisation,instrument,legal_vehicle,target_on\n"
    "polish-one,{strategy},A good measure,,Prevention,,funding,,\n"
    "polish-two,{strategy},A measure with a bad date,,Prevention,,guidance,,31/03/2020\n"
    "polish-three,{strategy},Another good one,,Prevention,,guidance,,2020-03-31\n"
)


def overflow(page: Page) -> dict[str, int]:
    """The results table's full width against the width of the box it scrolls in."""
    sizes: dict[str, int] = page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            return {table: table.scrollWidth, box: table.parentElement.clientWidth};
        }"""
    )
    return sizes


def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    violations: list[dict[str, Any]] = Axe().run(page).response["violations"]
    return violations


def test_admin_fits_1366_and_works_under_the_csp(
    browser: Browser,
    live_server: Any,
    seeded: None,
    researcher: Any,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    page = browser_signed_in(browser, live_server.url, "rita", width=1366, height=900)
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    serious: dict[str, set[str]] = {}

    def check_accessibility(where: str) -> None:
        violations = accessibility_violations(page)
        critical = [v["id"] for v in violations if v["impact"] == "critical"]
        assert not critical, f"{where}: {critical}"
        for violation in violations:
            if violation["impact"] == "serious":
                targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
                serious.setdefault(violation["id"], set()).add(f"{where}: {targets}")

    # Every list fits its box: nothing hidden behind a horizontal scroll bar.
    for url in LISTS:
        page.goto(url)
        expect(page.locator("#site-name")).to_have_text("Policy Measure Tracker")
        sizes = overflow(page)
        assert sizes["table"] <= sizes["box"], f"{url}: {sizes}"
    page.goto("/admin/measures/measure/")
    expect(page.locator("#result_list td.field-overdue").first).to_be_in_viewport()
    screenshot(page, "admin-measures-list", for_docs=True, full_page=True)
    check_accessibility("measures list")

    # The timeline spans its box, with a year axis and labels that do not overlap.
    measure = Measure.objects.get(slug=TIMELINE_MEASURE)
    page.goto(f"/admin/measures/measure/{measure.pk}/change/")
    timeline = page.locator("svg.stage-timeline")
    expect(timeline).to_contain_text("2019")
    box = page.locator(".stage-picture").bounding_box()
    drawn = timeline.bounding_box()
    assert box is not None
    assert drawn is not None
    assert drawn["width"] >= box["width"] - 2
    labels = [
        text.bounding_box()
        for text in timeline.locator("text").all()
        if "·" in (text.text_content() or "")
    ]
    assert len(labels) == measure.events.filter(axis="stage", superseded_by__isnull=True).count()
    for index, a in enumerate(labels):
        for b in labels[index + 1 :]:
            assert a is not None
            assert b is not None
            apart = (
                a["x"] + a["width"] <= b["x"]
                or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"]
            )
            assert apart, (a, b)
    page.locator("#timeline").scroll_into_view_if_needed()
    screenshot(page, "admin-measure-timeline", for_docs=True, full_page=True)
    check_accessibility("measure change form")

    # "Select all" on the export page clears and ticks every field.
    page.goto("/admin/measures/measure/export/")
    fields = page.locator('.selectable-field-export-row input[type="checkbox"]')
    assert fields.count() > 2
    page.click("#select-all-toggle")
    expect(
        page.locator('.selectable-field-export-row input[type="checkbox"]:checked')
    ).to_have_count(0)
    page.click("#select-all-toggle")
    expect(
        page.locator('.selectable-field-export-row input[type="checkbox"]:checked')
    ).to_have_count(fields.count())

    # The import preview of a file with one bad date shows every row and the format expected.
    page.goto("/admin/measures/measure/import/")
    upload = tmp_path / "measures.csv"
    upload.write_text(BAD_DATE_CSV.format(strategy=measure.strategy.slug))
    page.set_input_files("#id_import_file", upload)
    page.select_option("#id_format", label="csv")
    page.click("input[type=submit]")
    preview = page.locator("table.import-preview-all tbody tr")
    expect(preview).to_have_count(3)
    expect(preview.nth(1)).to_contain_text("write dates as YYYY-MM-DD")
    expect(preview.nth(0)).to_contain_text("A good measure")
    expect(preview.nth(2)).to_contain_text("Another good one")
    screenshot(page, "admin-import-preview", for_docs=True, full_page=True)

    assert not blocked, blocked
    # What axe-core calls serious in the stock admin, for the record (not a failure).
    print("serious accessibility findings:", {k: sorted(v) for k, v in serious.items()})
    page.close()
