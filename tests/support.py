"""What several test packages share that is not a fixture. Fixtures live in the conftest
files."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import IntegrityError, connection, transaction

from measures.models import FundingLine, Measure, StatusEvent
from measures.services import CitationInput, status_event_record
from strategy.models import Organisation, Source, Strategy
from tests.factories import SourceFactory

OPENAPI_YAML = Path(settings.BASE_DIR) / "openapi.yaml"

# The ``record`` fixture: record an event through the service with a valid citation.
Record = Callable[..., StatusEvent]


def recorder() -> Record:
    """What the ``record`` fixture gives, for set-up that outlives one test: record an event
    through the service, citing one new source unless told otherwise."""
    source = SourceFactory.create()

    def record(
        measure: Measure,
        value: str,
        effective_on: datetime.date,
        *,
        axis: str = "stage",
        **kwargs: Any,
    ) -> StatusEvent:
        return status_event_record(
            measure=measure,
            axis=axis,
            value=value,
            effective_on=effective_on,
            rationale=kwargs.pop("rationale", f"{axis} became {value}"),
            citations=kwargs.pop("citations", [CitationInput(source=source, quote="quoted")]),
            **kwargs,
        )

    return record


@contextmanager
def shared_rows(django_db_blocker: Any) -> Iterator[None]:
    """Rows written inside the block are seen by every test that runs inside it, and are
    gone when it ends: the block is one transaction, rolled back, and each test's own
    transaction is a savepoint in it (as with Django's ``setUpTestData``). Tests that
    commit (``transactional_db``, a live server) must not run inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The committed OpenAPI document, parsed once per test process. It is shared: read it,
    and give a copy to anything that may change it."""
    # libyaml's safe loader reads the same document as yaml.safe_load, about ten times faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(OPENAPI_YAML.read_text(), Loader=loader)  # noqa: S506
    return document


def database_now() -> datetime.datetime:
    """The database clock now: ``recorded_at`` comes from it, so instants compared with
    ``known_at`` must too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (instant,) = cursor.fetchone()
    return instant


READ_ONLY_PERMISSIONS = (
    "strategy.view_organisation",
    "strategy.view_strategy",
    "strategy.view_source",
    "measures.view_measure",
    "measures.view_statusevent",
    "measures.view_fundingline",
)
WRITE_PERMISSIONS = (
    "strategy.add_organisation",
    "strategy.change_organisation",
    "strategy.add_strategy",
    "strategy.change_strategy",
    "strategy.add_source",
    "strategy.change_source",
    "measures.add_measure",
    "measures.change_measure",
    "measures.add_statusevent",
    "measures.add_fundingline",
    "measures.change_fundingline",
)


def grant(user: User, *permissions: str) -> None:
    """Give ``user`` permissions named ``app_label.codename``."""
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


@dataclass
class OneOfEachKind:
    """One stored object of every kind the API serves (made by the ``one_of_each`` fixture):
    the Home Office, its strategy ``svs``, a source, the measure ``acid`` (led by the Home
    Office) with one stage event, and a funding line of the strategy."""

    organisation: Organisation
    strategy: Strategy
    source: Source
    measure: Measure
    event: StatusEvent
    line: FundingLine


@contextmanager
def refused_by(constraint: str, error: type[Exception] = IntegrityError) -> Iterator[None]:
    """The block's write is refused by the database, naming ``constraint``; the test's
    transaction stays usable."""
    with pytest.raises(error, match=constraint), transaction.atomic():
        yield


# The fuzzing's figures (tests/reliability/test_schemathesis.py), reported once at the end of
# the run by tests/conftest.py, added up over the xdist workers that ran its cases.
FUZZING_FIGURES = pytest.StashKey[list[dict[str, Any]]]()


def keep_fuzzing_figures(config: pytest.Config, figures: dict[str, Any]) -> None:
    """Keep this process's ``figures`` for the report: an xdist worker hands them to the
    controller when it finishes."""
    worker_output = getattr(config, "workeroutput", None)
    if worker_output is not None:
        worker_output["fuzzing_figures"] = figures
    else:
        config.stash[FUZZING_FIGURES] = [figures]
