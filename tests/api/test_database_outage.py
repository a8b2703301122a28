"""A database that cannot be reached answers 503 problem+json with ``Retry-After``, never a
bare 500, and a constraint that catches a concurrent write answers 409.

The outage is real: the connection settings point at a local port nothing listens on,
and the driver's connection attempt is refused, as it would be by a stopped server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from strategy.models import Organisation
from tests.api.conftest import API, ClientFor, assert_problem
from tests.factories import MeasureFactory

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    """A local TCP port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def unreachable_database() -> Iterator[None]:
    """Inside the block, the connection is made to a closed port; after it, to the real
    server again."""
    settings = connection.settings_dict
    saved = {key: settings[key] for key in ("HOST", "PORT")}
    connection.close()
    settings.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        settings.update(saved)


@pytest.fixture
def database_down(transactional_db: None) -> Iterator[None]:
    """The whole test runs with the database unreachable (and the real settings are back
    before the test database is flushed)."""
    with unreachable_database():
        yield


def assert_unavailable(response: object) -> None:
    problem = assert_problem(response, 503)  # type: ignore[arg-type]
    assert problem["type"] == "/api/problems/database-unavailable/"
    assert response["Retry-After"] == "5"  # type: ignore[index]


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/measures/",
        f"{API}/measures/acid/",
        f"{API}/measures/acid/events/",
        f"{API}/organisations/?format=csv",
        f"{API}/strategies/svs/summary/",
        f"{API}/changes/",
    ],
)
def test_reads_answer_503_when_the_database_is_down(database_down: None, url: str) -> None:
    assert_unavailable(APIClient().get(url))


def test_a_write_answers_503_when_the_database_is_down(
    client_for: ClientFor, transactional_db: None
) -> None:
    writer = client_for("strategy.add_organisation")  # made while the database is up
    with unreachable_database():
        response = writer.post(
            f"{API}/organisations/", {"slug": "hmt", "name": "HM Treasury", "kind": "department"}
        )
    assert_unavailable(response)
    assert not Organisation.objects.filter(slug="hmt").exists()


def test_a_page_outside_the_api_answers_503_too(database_down: None) -> None:
    """The admin reads the session from the database before any view runs: the failure
    reaches Django's own error handler, which also answers with a problem document."""
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/admin/")
    assert_unavailable(response)


def test_the_api_answers_again_once_the_database_is_back(anonymous: APIClient) -> None:
    MeasureFactory.create(slug="acid")
    with unreachable_database():
        assert_unavailable(anonymous.get(f"{API}/measures/acid/"))
    assert anonymous.get(f"{API}/measures/acid/").status_code == 200


def test_a_concurrent_insert_caught_by_a_constraint_is_409(editor: APIClient) -> None:
    """Two researchers create the same organisation at once: validation saw no such slug,
    so the unique index catches the second insert, which waits for the first to commit."""
    inserted = threading.Event()
    release = threading.Event()

    def first_writer() -> None:
        other = connections.create_connection("default")
        try:
            other.set_autocommit(False)
            with other.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO strategy_organisation (slug, name, kind, url) "
                    "VALUES ('hmt', 'HM Treasury', 'department', '')"
                )
            inserted.set()
            release.wait(10)
            other.commit()
        finally:
            other.close()

    thread = threading.Thread(target=first_writer)
    thread.start()
    try:
        assert inserted.wait(10)
        # Commit the first insert once the second request is blocked on the index.
        threading.Timer(1.0, release.set).start()
        response = editor.post(
            f"{API}/organisations/", {"slug": "hmt", "name": "Treasury", "kind": "department"}
        )
    finally:
        release.set()
        thread.join(15)
    problem = assert_problem(response, 409)
    assert problem["type"] == "/api/problems/conflict/"
    assert Organisation.objects.get(slug="hmt").name == "HM Treasury"
