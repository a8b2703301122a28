"""The API as a person in a browser sees it: an HTML page of the same answer when HTML is
what the request prefers, JSON for every other client, and a root that lists every
resource."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client

from config.urls import router
from tests.factories import MeasureFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_the_root_lists_every_resource_with_a_list() -> None:
    listed = Client().get(f"{API}/").json()
    top_level = {prefix for prefix, _, _ in router.registry if "(" not in prefix}
    assert set(listed) == top_level
    assert listed["strategies"] == "http://testserver/api/v1/strategies/"


def test_a_browser_gets_a_readable_page_of_the_same_answer() -> None:
    measure = MeasureFactory.create(title="Ban on zombie knives in private")
    page = Client().get(f"{API}/measures/{measure.slug}/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "Accept" in page["Vary"]
    html = page.content.decode()
    assert "<title>Measure Instance \N{EN DASH} Policy Measure Tracker API</title>" in html
    assert "Ban on zombie knives in private" in html
    # Links in the answer are links on the page.
    assert f'href="http://testserver/api/v1/measures/{measure.slug}/' in html


def test_the_page_has_no_form_that_writes() -> None:
    MeasureFactory.create()
    html = Client().get(f"{API}/measures/", HTTP_ACCEPT=BROWSER_ACCEPT).content.decode()
    methods = re.findall(r'<form[^>]*method="(\w+)"', html, flags=re.IGNORECASE)
    assert {method.upper() for method in methods} <= {"GET", "OPTIONS"}, methods
    assert 'id="post-object-form"' not in html
    assert "raw data" not in html.lower()


def test_the_page_loads_nothing_from_another_host() -> None:
    html = Client().get(f"{API}/", HTTP_ACCEPT=BROWSER_ACCEPT).content.decode()
    assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
    assert assets
    assert all(url.startswith("/") for url in assets), assets


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "application/*"])
def test_every_other_client_still_gets_json(accept: str | None) -> None:
    measure = MeasureFactory.create()
    headers = {} if accept is None else {"Accept": accept}
    answer = Client().get(f"{API}/measures/{measure.slug}/", headers=headers)
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["slug"] == measure.slug
    assert answer.has_header("ETag")


def test_csv_is_still_given_to_those_who_ask_for_it() -> None:
    MeasureFactory.create()
    answer = Client().get(f"{API}/measures/", HTTP_ACCEPT="text/csv")
    assert answer["Content-Type"].startswith("text/csv")
    assert answer.getvalue().startswith(b"url,")


def test_an_error_is_problem_json_even_for_a_browser() -> None:
    answer = Client().get(f"{API}/measures/no-such-measure/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def test_the_page_does_not_carry_the_json_tag() -> None:
    """A tag names one representation's bytes: were the page to carry the JSON's, a
    browser revalidating the page would be told 304 for bytes it never had."""
    measure = MeasureFactory.create()
    client = Client()
    json_tag = client.get(f"{API}/measures/{measure.slug}/")["ETag"]
    page = client.get(f"{API}/measures/{measure.slug}/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert page.get("ETag") != json_tag


def test_the_favicon_is_found_where_browsers_look_for_it() -> None:
    answer = Client().get("/favicon.ico")
    assert answer.status_code == 301
    assert answer["Location"] == static("tracker/favicon.ico")
    icon = finders.find("tracker/favicon.ico")
    assert icon is not None
    assert Path(str(icon)).read_bytes()[:4] == b"\x00\x00\x01\x00"  # the ICO header
