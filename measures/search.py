"""Search of measures: one function, called by the API's ``q``, the admin's search box and
the public site, so that the same text finds the same measures everywhere.

The text is read as web-search syntax: words (all must match), ``"a phrase"``, ``OR``
between two terms, ``-word`` or ``-"a phrase"`` to exclude. A word matches a measure whose
title, summary, legal vehicle or category holds

- the word or another form of it: PostgreSQL's english stemming ("possess" finds
  "possessing"), and the irregular plurals it leaves apart ("knife" finds "knives", which
  it stems to "knive");
- for the last word, a word it begins ("kni" finds "knife"), as a search box is filled in;
- the word with a small typo, for words of four letters or more: two neighbouring letters
  swapped ("zombei"), or, after the first three letters, a letter missing, extra or wrong
  while the words still look alike ("corrosve": pg_trgm's word similarity, at its
  threshold ``pg_trgm.word_similarity_threshold``, 0.6 by default). A typo cannot be told
  from another word one letter away, so "police" also finds "policy"; ``rank`` puts the
  words as typed first.

A phrase and an excluded word match only as typed (with stemming), as web search does.
Words PostgreSQL ignores ("the", "of") are left out, as ``websearch_to_tsquery`` leaves
them out; a text with nothing else finds nothing.

All of the text reaches PostgreSQL as parameters. The only text written into ``to_tsquery``
syntax is words of letters and digits, quoted; phrases go to ``phraseto_tsquery``, which
reads no syntax."""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramWordSimilarity,
)
from django.db.models import F, FloatField, Func, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

from measures.models import Measure, search_text

CONFIG = "english"
RANK = "rank"
# Longer text is cut here (the API refuses it): every word costs a few index reads.
MAX_LENGTH = 200
# Typos are looked for in words of these lengths: in a shorter one, a letter changed makes
# too many other words; a longer one is no word (and would make many swaps).
TYPO_MIN_LENGTH = 4
TYPO_MAX_LENGTH = 30
# A typo other than two letters swapped is looked for after this many letters only.
TYPO_KEPT_START = 3
# How much the typed words' likeness to the title adds to the rank (ts_rank's own scores
# run from 0 to about 1): enough to put a title match first among typo matches, which
# ts_rank scores 0.
TITLE_LIKENESS_WEIGHT = 0.1

WORD = re.compile(r"[^\W_]+")
TOKEN = re.compile(r'(?P<minus>-*)"(?P<quoted>[^"]*)"?|(?P<bare>[^\s"]+)')

# Plurals that english stemming does not bring back to their singular, as (singular,
# plural) endings. A form made for a word that has no such plural ("staff", "stafves")
# matches nothing. "-fe" plurals are listed whole: "safe" is not the singular of "saves".
IRREGULAR_PLURALS = (
    ("f", "ves"),
    ("knife", "knives"),
    ("life", "lives"),
    ("wife", "wives"),
    ("is", "es"),
    ("man", "men"),
    ("child", "children"),
    ("person", "people"),
    ("foot", "feet"),
    ("tooth", "teeth"),
    ("mouse", "mice"),
    ("criterion", "criteria"),
    ("phenomenon", "phenomena"),
)


@dataclass(frozen=True)
class Word:
    """A word of letters and digits, in lower case; ``prefix``: it also matches the words
    it begins."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words to find one after the other, as typed (a quoted phrase, or words joined by
    punctuation such as "anti-knife")."""

    text: str


@dataclass(frozen=True)
class Term:
    match: Word | Phrase
    excluded: bool = False


def parse(text: str) -> list[list[Term]]:
    """``text`` as web-search syntax: groups of terms, every group to match, a group
    matching when one of its terms does (``OR``)."""
    groups: list[list[Term]] = []
    joining = False
    last: Term | None = None
    # PostgreSQL text cannot hold NUL (the API refuses it before this).
    for token in TOKEN.finditer(text[:MAX_LENGTH].replace("\x00", " ")):
        quoted, bare = token["quoted"], token["bare"]
        last = None
        if bare is not None and bare.lower() == "or":
            joining = bool(groups)
            continue
        if quoted is not None:
            excluded, written = bool(token["minus"]), quoted
        else:
            excluded, written = bare.startswith("-"), bare.lstrip("-")
        words = WORD.findall(written)
        if not words:
            continue
        single = quoted is None and len(words) == 1
        term = Term(Word(words[0].lower()) if single else Phrase(written), excluded)
        if joining:
            groups[-1].append(term)
        else:
            groups.append([term])
        joining = False
        last = term
    if last is not None and not last.excluded and isinstance(last.match, Word):
        # The word being typed: it may not be finished.
        groups[-1][-1] = Term(Word(last.match.text, prefix=True))
    return groups


def other_forms(word: str) -> list[str]:
    """The word's irregular plural, or singular, where it has one (see
    ``IRREGULAR_PLURALS``)."""
    forms = []
    for singular, plural in IRREGULAR_PLURALS:
        if word.endswith(plural):
            forms.append(word.removesuffix(plural) + singular)
        elif word.endswith(singular):
            forms.append(word.removesuffix(singular) + plural)
    return [form for form in forms if form and form != word]


def typo_tolerant(word: str) -> bool:
    return word.isalpha() and TYPO_MIN_LENGTH <= len(word) <= TYPO_MAX_LENGTH


def swapped_letters(word: str) -> list[str]:
    """The word with two neighbouring letters swapped, each way it can be: one of these is
    what was meant when two letters were typed in the wrong order ("zombei")."""
    swaps = (
        word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        for i in range(len(word) - 1)
        if word[i] != word[i + 1]
    )
    return list(dict.fromkeys(swap for swap in swaps if swap != word))


def tsquery_text(words: Iterable[str], prefix: str | None = None) -> str:
    """``to_tsquery`` text matching any of ``words`` (letters and digits only, so the
    quotes hold them whole), ``prefix`` also as the start of a word."""
    operands = []
    for word in words:
        if not WORD.fullmatch(word):
            raise ValueError(f"not a word of letters and digits: {word!r}")
        operands.append(f"'{word}':*" if word == prefix else f"'{word}'")
    return " | ".join(operands)


class NumNode(Func):
    """How many lexemes and operators a tsquery holds: none when PostgreSQL ignores every
    word of it. On a constant, PostgreSQL works it out when planning."""

    function = "numnode"
    output_field = IntegerField()


@dataclass
class TermSQL:
    """A term's condition; ``ignored``, a condition that holds when PostgreSQL ignores all
    of its words; and the query that scores a measure it finds, if it is not excluded."""

    condition: Q
    ignored: Q
    scored: SearchQuery | None


def term_sql(term: Term) -> TermSQL:
    if isinstance(term.match, Phrase):
        phrase = SearchQuery(term.match.text, search_type="phrase", config=CONFIG)
        found = Q(search_vector=phrase)
        return TermSQL(
            condition=~found if term.excluded else found,
            ignored=Q(Exact(NumNode(phrase), 0)),
            scored=None if term.excluded else phrase,
        )
    word = term.match.text
    ignored = Q(Exact(NumNode(SearchQuery(word, search_type="plain", config=CONFIG)), 0))
    if term.excluded:
        excluded = SearchQuery(word, search_type="plain", config=CONFIG)
        return TermSQL(condition=~Q(search_vector=excluded), ignored=ignored, scored=None)
    forms = [word, *other_forms(word)]
    prefix = word if term.match.prefix else None
    scored = SearchQuery(tsquery_text(forms, prefix), search_type="raw", config=CONFIG)
    condition = Q(search_vector=scored)
    if typo_tolerant(word):
        condition |= typo_of(word, forms)
    return TermSQL(condition=condition, ignored=ignored, scored=scored)


def typo_of(word: str, forms: list[str]) -> Q:
    """A measure holding ``word`` with two letters swapped (or that word's other form), or
    a word like it (pg_trgm's ``%>``) that begins with the same ``TYPO_KEPT_START`` letters:
    the likeness is slow to work out, the test of a word's start is quick and indexed."""
    swaps = [
        form
        for swap in swapped_letters(word)
        for form in (swap, *other_forms(swap))
        if form not in forms
    ]
    start = word[:TYPO_KEPT_START]
    # Not stemmed ("simple"): a stem begins as its word does.
    begins = SearchQuery(tsquery_text([start], prefix=start), search_type="raw", config="simple")
    like = Q(search_vector=begins) & Q(TrigramWordSimilar(search_text(), Value(word)))
    if not swaps:
        return like
    swapped = SearchQuery(tsquery_text(dict.fromkeys(swaps)), search_type="raw", config=CONFIG)
    return Q(search_vector=swapped) | like


def any_of(conditions: Iterable[Q]) -> Q:
    return functools.reduce(operator.or_, conditions)


def all_of(conditions: Iterable[Q]) -> Q:
    return functools.reduce(operator.and_, conditions)


def search_measures(queryset: QuerySet[Measure], text: str) -> QuerySet[Measure]:
    """The measures of ``queryset`` that ``text`` finds (see this module's docstring),
    annotated with ``rank``: the higher, the better the match. A word in the title scores
    above one in the summary, and that above one in the legal vehicle or category; a word
    as typed above a typo. ``rank`` is a double precision number, so that a page boundary
    on it (the API's cursor) compares exactly."""
    groups = parse(text)
    sql = [[term_sql(term) for term in group] for group in groups]
    terms = [term for group in sql for term in group]
    if not terms:
        return queryset.none().annotate(**{RANK: Value(0.0, output_field=FloatField())})
    # A term PostgreSQL ignores drops out of its group; a group of only such terms drops
    # out of the search; a search of only such terms finds nothing. The ``ignored``
    # conditions are constants, which PostgreSQL resolves when it plans the query.
    condition = all_of(
        any_of(~term.ignored & term.condition for term in group)
        | all_of(term.ignored for term in group)
        for group in sql
    ) & ~all_of(term.ignored for term in terms)
    typed = [term.match.text for group in groups for term in group if is_word_sought(term)]
    scored = [term.scored for term in terms if term.scored is not None]
    return queryset.filter(condition).annotate(**{RANK: rank(scored, typed)})


def is_word_sought(term: Term) -> bool:
    return isinstance(term.match, Word) and not term.excluded


def rank(scored: list[SearchQuery], words: list[str]) -> Cast:
    """ts_rank of the words and phrases sought, in their forms as typed (the columns
    weighted A to C, see ``Measure.search_vector``), plus a tenth of how like the title
    the words sought are (pg_trgm's word similarity), which also orders typo matches."""
    score: Any = Value(0.0)
    if scored:
        score = SearchRank(F("search_vector"), functools.reduce(operator.or_, scored))
    if words:
        likeness = TrigramWordSimilarity(" ".join(words), "title")
        score = score + likeness * TITLE_LIKENESS_WEIGHT
    return Cast(score, FloatField())
