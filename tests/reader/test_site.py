"""The public site on the seeded record: each page answers with what a reader came for, as
the record stands today or stood on a date, in HTML that keeps the site's promises (no
script, no inline style, nothing from another host, small pages, the CSP header)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.utils.html import escape

from measures.choices import Stage
from measures.models import Measure
from measures.services import status_event_retract

pytestmark = pytest.mark.django_db

STRATEGY = "serious-violence-strategy-2018"
MEASURE = "corrosive-substance-possession-offence"
IN_FORCE_QUOTE = "The following provisions of the Act come into force on 6th April 2022"
BILL_QUOTE = "The Offensive Weapons Bill 2017-19 was introduced on 20 June 2018."
BILL_RATIONALE = (
    "The Offensive Weapons Bill (Bill 232, 2017-19) was introduced in the House of Commons"
)
IN_FORCE_RATIONALE = "reg. 2(b) brought s.6 into force on 6 April 2022"
ATOM = "{http://www.w3.org/2005/Atom}"

PAGES = [
    "/",
    f"/strategies/{STRATEGY}/",
    f"/strategies/{STRATEGY}/?as_of=2019-06-01",
    f"/measures/{MEASURE}/",
    f"/measures/{MEASURE}/?as_of=2019-06-01",
    f"/strategies/{STRATEGY}/changes/",
    f"/strategies/{STRATEGY}/changes/?from=2018-04-09&to=2019-04-09",
    # Every measure and every event of the record: the largest page there is.
    f"/strategies/{STRATEGY}/changes/?from=2000-01-01&to=2030-01-01&all=1",
    "/search/",
    "/search/?q=knife",
    "/search/?q=knife&as_of=2018-05-01",
]


class Page(HTMLParser):
    """What the tests check of a page's markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(content: bytes) -> Page:
    parsed = Page()
    parsed.feed(content.decode())
    return parsed


def html(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_every_page_is_small_scriptless_styleless_and_self_hosted(
    client: Client, seeded: None
) -> None:
    for url in PAGES:
        assert_page_keeps_the_promises(client, url)


def assert_page_keeps_the_promises(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert len(response.content) < 150 * 1024
    body = response.content.decode()
    assert "<script" not in body.lower()
    assert "style=" not in body.lower()
    assert "<style" not in body.lower()
    page = parse(response.content)
    assert len(page.all("h1")) == 1
    assert page.all("html")[0]["lang"] == "en-GB"
    assert page.all("main")
    assert any(a.get("href") == "#main" for a in page.all("a"))
    for tag, attribute in (("link", "href"), ("img", "src"), ("script", "src")):
        for attrs in page.all(tag):
            address = attrs.get(attribute) or ""
            assert not urlparse(address).netloc, (tag, address)
    assert "Content-Security-Policy" in response
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_every_page_has_the_as_of_date_control_and_labelled_fields(
    client: Client, seeded: None
) -> None:
    for url in PAGES:
        page = parse(client.get(url).content)
        dates = [attrs for attrs in page.all("input") if attrs.get("name") == "as_of"]
        assert any(attrs.get("type") == "date" for attrs in dates), url
        labelled = {attrs.get("for") for attrs in page.all("label")}
        for attrs in page.all("input"):
            if attrs.get("type") not in ("hidden", "submit"):
                assert attrs.get("id") in labelled, (url, attrs)


def test_the_home_page_says_what_the_tracker_is_and_lists_the_strategies(
    client: Client, seeded: None
) -> None:
    body = html(client, "/")
    assert "follows each measure of a government strategy" in body
    assert f'href="/strategies/{STRATEGY}/"' in body
    assert "Serious Violence Strategy" in body
    assert "23 measures" in body
    assert str(Stage.IN_FORCE.label) in body
    assert 'action="/search/"' in body
    assert 'href="/api/v1/"' in body
    assert 'href="/api/docs/"' in body
    assert 'href="/admin/login/"' in body


def test_the_strategy_page_lists_every_measure_under_its_stage(
    client: Client, seeded: None
) -> None:
    body = html(client, f"/strategies/{STRATEGY}/")
    measures: Any = Measure.objects.filter(strategy__slug=STRATEGY).with_current_status()
    assert measures.count() == 23
    sections = re.split(r'<section class="stage-group"', body)[1:]
    for measure in measures:
        label = str(Stage(measure.stage_then).label)
        section = next(s for s in sections if f"{label} <span" in s)
        assert f'href="/measures/{measure.slug}/"' in section, (measure.slug, label)


def test_the_strategy_page_shows_the_timeline_and_the_summary_money(
    client: Client, seeded: None
) -> None:
    summary = client.get(f"/api/v1/strategies/{STRATEGY}/summary/").json()
    body = html(client, f"/strategies/{STRATEGY}/")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in body
    assert 'class="stage stage-in_force"' in body
    assert ">2019</text>" in body
    announced = next(row for row in summary["funding"]["by_phase"] if row["phase"] == "announced")
    millions = float(announced["total"]) / 1_000_000
    assert f"£{millions:,.2f}m" in body
    assert "Youth Endowment Fund" in body
    assert f'href="/api/v1/strategies/{STRATEGY}/summary/"' in body
    assert f"strategy={STRATEGY}&amp;format=csv" in body
    assert (
        f'<link rel="alternate" type="application/atom+xml" title="Changes to Serious Violence '
        f'Strategy" href="/strategies/{STRATEGY}/feed.atom">'
    ) in body


def test_the_strategy_page_as_of_a_date_shows_the_stages_then(client: Client, seeded: None) -> None:
    body = html(client, f"/strategies/{STRATEGY}/?as_of=2019-06-01")
    assert "as it stood on <strong>1 June 2019</strong>" in body
    assert 'id="stage-in_force"' not in body
    assert 'id="stage-enacted"' in body
    assert f'href="/measures/{MEASURE}/?as_of=2019-06-01"' in body
    assert "as_of=2019-06-01" in body.split('class="formats"')[1]


def test_the_measure_page_shows_the_evidence_the_law_and_the_money(
    client: Client, seeded: None
) -> None:
    body = html(client, f"/measures/{MEASURE}/")
    assert "<h1>Offence of possessing a corrosive substance in a public place</h1>" in body
    assert escape(IN_FORCE_QUOTE) in body
    assert "https://www.legislation.gov.uk/" in body
    assert "In force (commenced)" in body
    assert "Offensive Weapons Bill" in body
    assert "Offensive Weapons Act 2019" in body
    assert "Royal Assent" in body
    assert "In force from 6 April 2022" in body
    assert f'href="/api/v1/measures/{MEASURE}/"' in body
    assert f'href="/api/v1/measures/{MEASURE}/events/?format=csv"' in body
    assert f'href="/measures/{MEASURE}/feed.atom"' in body


def test_the_measure_page_shows_corrections_as_such(client: Client, seeded: None) -> None:
    body = html(client, f"/measures/{MEASURE}/")
    corrected = re.search(r'<li class="event corrected" id="event-(\d+)">', body)
    assert corrected is not None
    assert "Corrected by a later entry" in body
    assert f'Correction of <a href="#event-{corrected.group(1)}">' in body


def test_a_retracted_event_is_shown_retracted_and_no_longer_counts(
    client: Client, seeded: None
) -> None:
    measure = Measure.objects.get(slug=MEASURE)
    verdict = measure.events.standing().get(axis="verdict")
    retraction = status_event_retract(event=verdict, rationale="Rated the wrong measure.")
    body = html(client, f"/measures/{MEASURE}/")
    assert f'Retracted by a later entry (<a href="#event-{retraction.pk}">' in body
    assert f'Retraction of <a href="#event-{verdict.pk}">' in body
    assert "Rated the wrong measure." in body
    feed = client.get(f"/measures/{MEASURE}/feed.atom").content.decode()
    assert "Retraction. " in feed


def test_the_measure_page_as_of_a_date_hides_later_events(client: Client, seeded: None) -> None:
    body = html(client, f"/measures/{MEASURE}/?as_of=2019-06-01")
    assert escape(IN_FORCE_QUOTE) not in body
    assert "Enacted (Royal Assent), since 16 May 2019" in body
    assert escape(BILL_QUOTE) in body
    assert f'href="/api/v1/measures/{MEASURE}/?as_of=2019-06-01"' in body


def test_the_measure_page_shows_its_funding_lines(client: Client, seeded: None) -> None:
    measure = Measure.objects.filter(funding_lines__isnull=False).first()
    assert measure is not None
    body = html(client, f"/measures/{measure.slug}/")
    line = measure.funding_lines.first()
    assert line is not None
    assert escape(line.title) in body
    assert escape(line.quote) in body


def test_the_changes_page_shows_the_events_between_two_dates(client: Client, seeded: None) -> None:
    body = html(client, f"/strategies/{STRATEGY}/changes/?from=2018-04-09&to=2019-04-09")
    assert "From 9 April 2018 to 9 April 2019" in body
    assert escape(BILL_RATIONALE) in body
    assert escape(IN_FORCE_RATIONALE) not in body
    legislating = Measure.objects.get(slug=MEASURE).events.get(value="legislating")
    assert f'href="/measures/{MEASURE}/#event-{legislating.pk}"' in body
    assert f"/api/v1/strategies/{STRATEGY}/diff/?from=2018-04-09&amp;to=2019-04-09" in body
    later = html(client, f"/strategies/{STRATEGY}/changes/?from=2019-06-01&to=2022-12-31")
    assert escape(IN_FORCE_RATIONALE) in later
    assert escape(BILL_RATIONALE) not in later


def test_the_changes_page_without_dates_offers_the_form(client: Client, seeded: None) -> None:
    body = html(client, f"/strategies/{STRATEGY}/changes/")
    assert 'name="from"' in body
    assert 'name="to"' in body


def test_search_finds_measures_with_the_api_filter(client: Client, seeded: None) -> None:
    api = client.get("/api/v1/measures/?q=knife&page_size=100").json()
    slugs = {row["slug"] for row in api["results"]}
    assert slugs
    body = html(client, "/search/?q=knife")
    for slug in slugs:
        assert f'href="/measures/{slug}/"' in body
    assert f"{len(slugs)} measure" in body
    assert 'href="/api/v1/measures/?q=knife"' in body
    assert 'href="/api/v1/measures/?q=knife&amp;format=csv"' in body


def test_search_keeps_the_date_read_at(client: Client, seeded: None) -> None:
    body = html(client, "/search/?q=knife&as_of=2018-05-01")
    assert (
        'href="/measures/online-knife-sales/?as_of=2018-05-01"' in body
        or "?as_of=2018-05-01" in (body)
    )
    assert '<input type="hidden" name="q" value="knife">' in body


BAD_DATES = [
    "/?as_of=2019-13-01",
    f"/strategies/{STRATEGY}/?as_of=yesterday",
    f"/measures/{MEASURE}/?as_of=01/06/2019",
    "/search/?q=knife&as_of=2019-02-30",
    f"/strategies/{STRATEGY}/changes/?from=2019-01-01&to=soon",
    f"/strategies/{STRATEGY}/changes/?from=2019&to=2020-01-01",
    f"/strategies/{STRATEGY}/changes/?from=2019-01-01",
]
UNKNOWN_SLUGS = [
    "/strategies/no-such-strategy/",
    "/strategies/no-such-strategy/changes/?from=2019-01-01&to=2020-01-01",
    "/measures/no-such-measure/",
    "/strategies/no-such-strategy/feed.atom",
    "/measures/no-such-measure/feed.atom",
]


def test_a_bad_date_is_a_400_page_in_html(client: Client, seeded: None) -> None:
    for url in BAD_DATES:
        body = html(client, url, status=400)
        assert "is not a date" in body or "Give a date" in body, url
        assert len(parse(body.encode()).all("h1")) == 1
        assert "<script" not in body


def test_an_unknown_slug_is_a_404_page_in_html(client: Client, seeded: None) -> None:
    for url in UNKNOWN_SLUGS:
        body = html(client, url, status=404)
        assert "<h1>Not found</h1>" in body, url


def atom(client: Client, url: str) -> ElementTree.Element:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)  # noqa: S314 - the site's own feed
    assert root.tag == f"{ATOM}feed"
    return root


def assert_rfc_4287(feed: ElementTree.Element) -> list[ElementTree.Element]:
    """The elements RFC 4287 requires: a feed's id, title and updated (and an author, on
    the feed or on every entry); an entry's id, title, updated and link (an entry without
    content must have an alternate link) and a summary."""

    def one(parent: ElementTree.Element, name: str) -> Any:
        found = parent.findall(f"{ATOM}{name}")
        assert len(found) == 1, name
        assert (found[0].text or found[0].get("href") or "").strip(), name
        return found[0]

    for name in ("id", "title", "updated"):
        one(feed, name)
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    assert any(link.get("rel") == "self" for link in feed.findall(f"{ATOM}link"))
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    ids = set()
    for entry in entries:
        ids.add(one(entry, "id").text)
        one(entry, "title")
        updated = one(entry, "updated").text
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)", updated)
        links = entry.findall(f"{ATOM}link")
        assert any(link.get("rel", "alternate") == "alternate" for link in links)
        one(entry, "summary")
    assert len(ids) == len(entries)
    return entries


def test_the_strategy_feed_is_atom_with_the_evidence(client: Client, seeded: None) -> None:
    entries = assert_rfc_4287(atom(client, f"/strategies/{STRATEGY}/feed.atom"))
    summaries = " ".join(entry.findtext(f"{ATOM}summary") or "" for entry in entries)
    assert "“" in summaries
    link = entries[0].find(f"{ATOM}link")
    assert link is not None
    assert urlparse(link.get("href", "")).path.startswith("/measures/")


def test_the_measure_feed_is_atom_with_every_event(client: Client, seeded: None) -> None:
    entries = assert_rfc_4287(atom(client, f"/measures/{MEASURE}/feed.atom"))
    measure = Measure.objects.get(slug=MEASURE)
    assert len(entries) == measure.events.count()
    summaries = " ".join(entry.findtext(f"{ATOM}summary") or "" for entry in entries)
    assert escape(IN_FORCE_QUOTE) in summaries or IN_FORCE_QUOTE in summaries
    titles = [entry.findtext(f"{ATOM}title") or "" for entry in entries]
    assert any(title.startswith("Correction.") for title in titles)


def test_an_emptied_date_field_reads_as_today(client: Client, seeded: None) -> None:
    body = html(client, f"/measures/{MEASURE}/?as_of=")
    assert escape(IN_FORCE_QUOTE) in body
    assert "You are reading the record as it stood on" not in body


def test_a_post_to_a_page_is_refused(client: Client, seeded: None) -> None:
    assert client.post("/").status_code == 405
