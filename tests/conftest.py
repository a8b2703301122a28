from __future__ import annotations

import datetime
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, settings

from measures.models import Measure
from measures.seeding import load_seeds
from tests.browser import browser  # noqa: F401 - the browser tests' fixture
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
)
from tests.support import FUZZING_FIGURES, OneOfEachKind, Record, recorder, shared_rows

# Hashing a test user's password with the production hasher costs most of a second; the
# tests are about permissions, not password storage.
django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests serve static files from the finders; WhiteNoise still looks for the collectstatic
# folder, and warns on every request handler it builds when there is none.
Path(django_settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

# Property tests run a bounded number of examples in the suite; HYPOTHESIS_PROFILE=deep
# runs many more.
settings.register_profile(
    "suite", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(scope="module")
def seeds_for_the_module(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The seed data, loaded once for a test module and rolled back after it (see
    ``shared_rows``): for modules whose tests only read it, or roll back what they write."""
    with shared_rows(django_db_blocker):
        load_seeds()
        yield


@pytest.fixture
def measure(db: None) -> Measure:
    return MeasureFactory.create()


@pytest.fixture
def record(db: None) -> Record:
    """Record an event through the service with a valid citation."""
    return recorder()


@pytest.fixture
def one_of_each(record: Record) -> OneOfEachKind:
    organisation = OrganisationFactory.create(slug="home-office")
    strategy = StrategyFactory.create(slug="svs", owner=organisation)
    source = SourceFactory.create()
    measure = MeasureFactory.create(slug="acid", strategy=strategy, lead_organisation=organisation)
    event = record(measure, "announced", datetime.date(2018, 4, 9))
    line = FundingLineFactory.create(strategy=strategy, source=source)
    return OneOfEachKind(organisation, strategy, source, measure, event, line)


DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup"}


def uses_the_test_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(fixtures & DATABASE_FIXTURES)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests of modules that leave the test database alone (the database restart, the
    cache shared by processes) run first. pytest-django puts tests without the database
    last, where one of them, half a minute long, would keep a worker busy while the others
    wait; tests that use the database keep pytest-django's order."""
    with_the_database = {item.path for item in items if uses_the_test_database(item)}
    first = [i for i in items if i.get_closest_marker("slow") and i.path not in with_the_database]
    items[:] = first + [item for item in items if item not in first]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """An xdist worker finished: keep the fuzzing figures it sent (pytest-xdist is not typed)."""
    figures = node.workeroutput.get("fuzzing_figures")
    if figures:
        node.config.stash.setdefault(FUZZING_FIGURES, []).append(figures)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """How many cases the fuzzing generated, so that a run shows it kept its count."""
    every = config.stash.get(FUZZING_FIGURES, [])
    cases: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    for figures in every:
        cases.update(figures["cases"])
        requests.update(figures["requests"])
    if cases:
        seeds = ", ".join(sorted({str(figures["seed"]) for figures in every}))
        examples = ", ".join(sorted({str(figures["examples"]) for figures in every}))
        terminalreporter.write_line(
            f"schemathesis: {len(cases)} operations, {sum(cases.values())} cases "
            f"({min(cases.values())} to {max(cases.values())} per operation), "
            f"{sum(requests.values())} requests; seed {seeds}, max_examples {examples}"
        )
        if terminalreporter.stats.get("failed"):
            terminalreporter.write_line(
                f"replay the fuzzing: make fuzz FUZZ_SEED={seeds} FUZZ_EXAMPLES={examples}"
            )
