"""One search for the API's ``q``, the admin's search box and ``search_measures`` itself,
on the seed data: other forms of a word, the start of the last word, small typos, web-search
syntax, relevance ordering, and text that is not a search at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from config.api.pagination import KeysetCursor, encode_position
from measures.models import Measure
from measures.search import MAX_LENGTH, Phrase, Term, Word, parse, search_measures, tsquery_text
from tests.api.conftest import API, assert_problem, assert_validation_problem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = f"{API}/measures/"

# The seed measures about knives: "knife" in some, only "knives" in others.
KNIVES_IN_THE_TITLE = {
    "flick-and-gravity-knives",
    "knife-crime-prevention-orders",
    "knifefree-campaign",
    "online-knife-sales-restrictions",
    "private-possession-of-offensive-weapons",
}
KNIVES = KNIVES_IN_THE_TITLE | {
    "offensive-weapons-schools-and-further-education",
    "prevention-and-early-intervention",
}
CORROSIVE = {
    "corrosive-products-sale-to-under-18s",
    "corrosive-substance-possession-offence",
    "corrosive-substance-stop-and-search",
}
ZOMBIE = {"private-possession-of-offensive-weapons"}

HOSTILE = [
    "",
    " ",
    "&|!:*()'\"",
    "'",
    "\\",
    ":*",
    "!knife",
    "knife:*",
    "knife & !acid",
    "'knife' | 'acid'",
    "(knife",
    "<->",
    "knife <-> acid",
    '"',
    '""',
    '-"',
    "--",
    "- -knife",
    "OR",
    "or or or",
    "knife OR",
    "OR knife",
    "-",
    "the",
    "the of and",
    "-the",
    "é",
    "中文",
    "😀",
    "x" * MAX_LENGTH,
    "knife " * (MAX_LENGTH // 6),
    "a" * 2100,
    "\x01\x02",
    "%_",
    "knife\u0000acid",
]


@pytest.fixture
def seeded(seeds_for_the_module: None, db: None) -> None:
    """The seed data, loaded once for the module."""


@pytest.fixture
def staff(seeded: None) -> Client:
    client = Client()
    client.force_login(UserFactory.create(username="sam", is_staff=True, is_superuser=True))
    return client


def api_slugs(text: str, **params: str) -> list[str]:
    response = APIClient().get(URL, {"q": text, "page_size": "500", **params})
    assert response.status_code == 200, response.content[:500]
    return [row["slug"] for row in response.json()["results"]]


def admin_slugs(client: Client, text: str) -> list[str]:
    response = client.get(reverse("admin:measures_measure_changelist"), {"q": text})
    assert response.status_code == 200
    return [measure.slug for measure in response.context["cl"].result_list]


def function_slugs(text: str) -> list[str]:
    found: Any = search_measures(Measure.objects.all(), text)
    return list(found.order_by("-rank", "slug").values_list("slug", flat=True))


@pytest.fixture(params=["api", "admin", "function"])
def found(request: pytest.FixtureRequest, staff: Client) -> Callable[[str], set[str]]:
    """The slugs a text finds, through the API, the admin or the function."""
    if request.param == "api":
        return lambda text: set(api_slugs(text))
    if request.param == "admin":
        return lambda text: set(admin_slugs(staff, text))
    return lambda text: set(function_slugs(text))


# What a word finds ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["knife", "knives", "Knives", "kni", "knif"])
def test_knife_knives_and_the_start_of_either_find_every_measure_about_knives(
    found: Callable[[str], set[str]], text: str
) -> None:
    assert found(text) == KNIVES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zombei", ZOMBIE),  # two letters swapped
        ("zomibe", ZOMBIE),
        ("corrosve", CORROSIVE),  # a letter missing
        ("corrossive", CORROSIVE),  # a letter too many
        ("corosive", CORROSIVE),
        ("kinfe", KNIVES),  # swapped, and then its plural too
    ],
)
def test_a_small_typo_finds_the_word_meant(
    found: Callable[[str], set[str]], text: str, expected: set[str]
) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", ["xylophone", "zebra", "knife xylophone", "kn1fe"])
def test_a_word_in_no_measure_finds_nothing(found: Callable[[str], set[str]], text: str) -> None:
    assert found(text) == set()


def test_web_search_syntax_still_works(found: Callable[[str], set[str]]) -> None:
    assert found('"zombie knives"') == ZOMBIE
    assert found("knives -zombie") == KNIVES - ZOMBIE
    assert found('knives -"zombie knives"') == KNIVES - ZOMBIE
    assert found("zombie OR corrosive") == ZOMBIE | CORROSIVE
    assert found("zombie or corrosive") == ZOMBIE | CORROSIVE
    # Words PostgreSQL ignores drop out, in a group of OR too.
    assert found("the zombie") == ZOMBIE
    assert found("the OR zombie") == ZOMBIE
    assert found("the") == set()


def test_a_phrase_and_an_excluded_word_match_only_as_typed(
    found: Callable[[str], set[str]],
) -> None:
    assert found('"zombei knives"') == set()
    assert found("knives -zombei") == KNIVES


# The same answer everywhere --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["knife", "kni", "offensive weapons", "possess", "acid -knife", "serious OR drugs", "crime"],
)
def test_the_admin_finds_what_the_api_finds(staff: Client, text: str) -> None:
    assert set(admin_slugs(staff, text)) == set(api_slugs(text)) == set(function_slugs(text))
    assert api_slugs(text)


# Relevance -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["knives", "knife", "kni"])
def test_relevance_puts_the_title_matches_first(seeded: None, text: str) -> None:
    ranked = api_slugs(text, ordering="relevance")
    assert set(ranked[: len(KNIVES_IN_THE_TITLE)]) == KNIVES_IN_THE_TITLE
    assert set(ranked) == KNIVES
    assert ranked == function_slugs(text)
    weakest_first = api_slugs(text, ordering="-relevance")
    assert set(weakest_first[-len(KNIVES_IN_THE_TITLE) :]) == KNIVES_IN_THE_TITLE


def test_relevance_puts_a_title_with_the_word_meant_first(seeded: None) -> None:
    # A typo scores nothing in ts_rank: the likeness of the title decides.
    assert set(api_slugs("offensve", ordering="relevance")[:3]) == {
        "offensive-weapons-schools-and-further-education",
        "private-possession-of-offensive-weapons",
        "owa-statutory-guidance",
    }


@pytest.mark.parametrize("ordering", ["relevance", "relevance,title", "-relevance"])
def test_pages_ordered_by_relevance_neither_repeat_nor_skip(seeded: None, ordering: str) -> None:
    client = APIClient()
    everything = api_slugs("knives OR corrosive OR weapons", ordering=ordering)
    assert len(everything) > 10
    forward: list[str] = []
    response = client.get(
        URL, {"q": "knives OR corrosive OR weapons", "ordering": ordering, "page_size": "2"}
    )
    pages = []
    while True:
        assert response.status_code == 200, response.json()
        pages.append(response.json())
        forward += [row["slug"] for row in pages[-1]["results"]]
        if pages[-1]["next"] is None:
            break
        response = client.get(pages[-1]["next"])
    assert forward == everything
    backward = [row["slug"] for row in pages[-1]["results"]]
    page = pages[-1]
    while page["previous"] is not None:
        page = client.get(page["previous"]).json()
        backward[:0] = [row["slug"] for row in page["results"]]
    assert backward == everything


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": " "}, {"stage": "in_force"}])
def test_relevance_without_a_search_is_refused(seeded: None, params: dict[str, str]) -> None:
    response = APIClient().get(URL, {"ordering": "relevance", **params})
    problem = assert_validation_problem(response, parameter="ordering")
    assert "q" in problem["errors"][0]["detail"]


def test_a_forged_relevance_cursor_is_a_missing_page(seeded: None) -> None:
    first = APIClient().get(URL, {"q": "knives", "ordering": "relevance", "page_size": "2"})
    assert first.status_code == 200
    for rank in ["nan", "inf", "x", 1, None]:
        cursor = encode_position(KeysetCursor((rank, 1), reverse=False))
        response = APIClient().get(URL, {"q": "knives", "ordering": "relevance", "cursor": cursor})
        assert_problem(response, 404)


def test_the_rank_is_not_shown(seeded: None) -> None:
    row = APIClient().get(URL, {"q": "knives", "ordering": "relevance"}).json()["results"][0]
    assert "rank" not in row


def test_a_csv_export_can_be_ordered_by_relevance(seeded: None) -> None:
    response = APIClient().get(URL, {"q": "zombie", "ordering": "relevance", "format": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert "private-possession-of-offensive-weapons" in body


# Text that is not a search ---------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("ordering", [None, "relevance"])
def test_no_text_is_a_server_error(staff: Client, text: str, ordering: str | None) -> None:
    params = {"q": text, **({"ordering": ordering} if ordering else {})}
    response = APIClient().get(URL, params)
    if response.status_code != 200:
        assert_problem(response, 400)
    assert staff.get(reverse("admin:measures_measure_changelist"), {"q": text}).status_code == 200
    search_measures(Measure.objects.all(), text).count()


def test_a_search_longer_than_it_reads_is_refused(seeded: None) -> None:
    assert APIClient().get(URL, {"q": "k" * MAX_LENGTH}).status_code == 200
    response = APIClient().get(URL, {"q": "k" * (MAX_LENGTH + 1)})
    assert_validation_problem(response, parameter="q")


def test_nul_in_a_search_is_refused(seeded: None) -> None:
    assert_validation_problem(APIClient().get(URL, {"q": "knife\x00"}), parameter="q")


# Reading the text --------------------------------------------------------------------------


def test_the_text_is_read_as_web_search_syntax() -> None:
    assert parse('zombie "offensive weapons" -acid OR knife kni') == [
        [Term(Word("zombie"))],
        [Term(Phrase("offensive weapons"))],
        [Term(Word("acid"), excluded=True), Term(Word("knife"))],
        [Term(Word("kni", prefix=True))],
    ]
    assert parse("anti-knife") == [[Term(Phrase("anti-knife"))]]
    assert parse("-acid") == [[Term(Word("acid"), excluded=True)]]
    assert parse("OR or &|!") == []


def test_only_words_of_letters_and_digits_are_written_as_tsquery() -> None:
    assert tsquery_text(["knife", "knives"], prefix="knife") == "'knife':* | 'knives'"
    for text in ["knife'", "kni fe", "a:*", "!a", "a&b", ""]:
        with pytest.raises(ValueError, match="not a word"):
            tsquery_text([text])
