"""The read-replica router, on two database aliases of the local PostgreSQL: ``default`` and
``replica``, the test database under a second connection (as a replica would be, it sees
only committed data). Reads that may lag go to the replica; writes, reads inside a
transaction and reads after a write go to the primary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from rest_framework.authtoken.models import Token

from config import routers
from measures.models import Measure
from strategy.models import Organisation, Strategy
from tests.factories import MeasureFactory, UserFactory

REPLICA = "replica"

pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup: None, django_db_blocker: object) -> Iterator[str]:
    """A second alias on the test database, declared a test mirror of ``default`` (as
    settings do for every DATABASE_REPLICA_URLS entry), so tests never flush it."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    connections.settings[REPLICA] = {
        **primary,
        "TEST": {**primary["TEST"], "MIRROR": DEFAULT_DB_ALIAS},
    }
    with override_settings(DATABASE_REPLICAS=[REPLICA]):
        yield REPLICA
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture(autouse=True)
def thread_scope() -> Iterator[None]:
    """Writes made by fixtures keep the rest of their scope on the primary; this scope
    ends with the test. Tests open a nested scope where a new request would start."""
    with routers.request_scope():
        yield


@pytest.fixture
def measure() -> Measure:
    return MeasureFactory.create()


def reads_from() -> str:
    return Measure.objects.all().db


def test_read_outside_a_transaction_goes_to_the_replica() -> None:
    with routers.request_scope():
        assert reads_from() == REPLICA


def test_the_replica_really_serves_the_query(measure: Measure) -> None:
    with (
        routers.request_scope(),
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        found = Measure.objects.get(slug=measure.slug)
    assert found.pk == measure.pk
    assert found._state.db == REPLICA
    assert len(on_replica) == 1
    assert "measures_measure" in on_replica[0]["sql"]
    assert len(on_primary) == 0


def test_reads_inside_a_transaction_go_to_the_primary() -> None:
    with routers.request_scope(), transaction.atomic():
        assert reads_from() == DEFAULT_DB_ALIAS
    with routers.request_scope():
        assert reads_from() == REPLICA


def test_reads_after_a_write_in_the_same_scope_go_to_the_primary(measure: Measure) -> None:
    with routers.request_scope():
        assert reads_from() == REPLICA
        Organisation.objects.create(slug="written", name="Written", kind="department")
        assert reads_from() == DEFAULT_DB_ALIAS
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            assert Organisation.objects.filter(slug="written").exists()
        assert len(on_replica) == 0
    with routers.request_scope():
        assert reads_from() == REPLICA


def test_a_pinned_scope_reads_from_the_primary() -> None:
    with routers.request_scope(primary=True):
        assert reads_from() == DEFAULT_DB_ALIAS


def test_writes_always_go_to_the_primary(measure: Measure) -> None:
    with routers.request_scope():
        loaded = Measure.objects.get(pk=measure.pk)
        assert loaded._state.db == REPLICA
        loaded.title = "Renamed"
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            loaded.save()
        assert loaded._state.db == DEFAULT_DB_ALIAS
        assert any("UPDATE" in q["sql"] for q in on_primary)
    assert Measure.objects.using(DEFAULT_DB_ALIAS).get(pk=measure.pk).title == "Renamed"


def test_objects_from_primary_and_replica_may_be_related(measure: Measure) -> None:
    with routers.request_scope():
        strategy = Strategy.objects.get(pk=measure.strategy_id)
        assert strategy._state.db == REPLICA
        measure.strategy = strategy  # allowed: same data on both aliases
        measure.save()


def test_one_scope_reads_from_one_replica() -> None:
    connections.settings["replica_b"] = connections.settings[REPLICA]
    try:
        with override_settings(DATABASE_REPLICAS=[REPLICA, "replica_b"]):
            chosen = set()
            for _ in range(20):
                with routers.request_scope():
                    first = reads_from()
                    assert all(reads_from() == first for _ in range(10))
                    chosen.add(first)
            # Spread over both (the chance of 20 identical picks is 2 in a million).
            assert chosen == {REPLICA, "replica_b"}
    finally:
        del connections.settings["replica_b"]


def test_without_replicas_everything_uses_default() -> None:
    with override_settings(DATABASE_REPLICAS=[]), routers.request_scope():
        assert reads_from() == DEFAULT_DB_ALIAS


def test_replicas_are_never_migrated() -> None:
    router = routers.PrimaryReplicaRouter()
    assert router.allow_migrate(REPLICA, "measures") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "measures") is None


def test_an_anonymous_api_read_is_served_by_the_replica(measure: Measure) -> None:
    client = Client()
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        response = client.get(f"/api/v1/measures/{measure.slug}/")
    assert response.status_code == 200
    assert response.json()["slug"] == measure.slug
    assert len(on_replica) > 0
    assert len(on_primary) == 0


def test_a_write_request_reads_from_the_primary(measure: Measure) -> None:
    token = Token.objects.create(user=UserFactory.create())
    client = Client(headers={"Authorization": f"Token {token.key}"})
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        # Refused (no permission), but the token and the measure were read from the primary.
        response = client.post(
            f"/api/v1/measures/{measure.slug}/events/", {}, content_type="application/json"
        )
    assert response.status_code == 403
    assert len(on_replica) == 0
    assert any("authtoken_token" in q["sql"] for q in on_primary)


def test_a_signed_in_browser_reads_from_the_primary(measure: Measure) -> None:
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get("/admin/measures/measure/")
    assert response.status_code == 200
    assert len(on_replica) == 0
