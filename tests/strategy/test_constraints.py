"""Each invariant of the strategy app's models is enforced by PostgreSQL itself: these rows
are written past Django's validation (``objects.create`` skips ``full_clean``) and the
database refuses every one, naming the constraint."""

from __future__ import annotations

import datetime

import pytest

from strategy.models import Organisation, Source, Strategy
from tests.factories import OrganisationFactory, SourceFactory, StrategyFactory
from tests.support import refused_by

pytestmark = pytest.mark.django_db

DAY = datetime.date(2019, 5, 16)


def test_organisation_kind_outside_choices_is_refused() -> None:
    with refused_by("strategy_organisation_kind_valid"):
        Organisation.objects.create(slug="x", name="X", kind="cabal")


def test_organisation_slug_must_be_lowercase_kebab_case() -> None:
    with refused_by("strategy_organisation_slug_lowercase_kebab"):
        Organisation.objects.create(slug="Home Office", name="X", kind="department")


def test_organisation_slug_is_unique() -> None:
    OrganisationFactory.create(slug="home-office")
    with refused_by("strategy_organisation_slug_key"):
        Organisation.objects.create(slug="home-office", name="Y", kind="department")


def test_source_kind_outside_choices_is_refused() -> None:
    with refused_by("strategy_source_kind_valid"):
        Source.objects.create(url="https://example.org/a", title="A", kind="rumour")


def test_source_url_is_unique() -> None:
    SourceFactory.create(url="https://example.org/a")
    with refused_by("strategy_source_url_key"):
        Source.objects.create(url="https://example.org/a", title="B", kind="news")


def test_strategy_slug_is_unique() -> None:
    first = StrategyFactory.create(slug="serious-violence-strategy-2018")
    with refused_by("strategy_strategy_slug_key"):
        Strategy.objects.create(
            slug="serious-violence-strategy-2018",
            title="Again",
            owner=first.owner,
            published_on=DAY,
        )


def test_strategy_slug_must_be_lowercase_kebab_case() -> None:
    with refused_by("strategy_strategy_slug_lowercase_kebab"):
        Strategy.objects.create(
            slug="-bad-", title="T", owner=OrganisationFactory.create(), published_on=DAY
        )
