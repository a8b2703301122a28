"""Safe retries: a POST repeated with the same Idempotency-Key creates one row and gets the
same answer; the same key for another request is refused."""

from __future__ import annotations

import datetime
import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.api.models import IdempotencyRecord
from measures.models import Measure
from tests.factories import StrategyFactory, UserFactory


def writer_token() -> str:
    user = UserFactory.create()
    user.user_permissions.add(Permission.objects.get(codename="add_measure"))
    return Token.objects.create(user=user).key


def client_for(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def measure_body(slug: str = "acid-offence", title: str = "Acid offence") -> dict[str, Any]:
    return {
        "slug": slug,
        "strategy": StrategyFactory._meta.model.objects.get().slug,
        "title": title,
        "instrument": "legislation",
    }


def post(client: APIClient, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/v1/measures/", body, format="json", headers=headers)


@pytest.fixture
def strategy(db: None) -> Any:
    return StrategyFactory.create(slug="svs")


@pytest.mark.usefixtures("strategy")
class TestIdempotencyKey:
    def test_same_key_and_body_creates_one_row_and_replays_the_answer(self) -> None:
        client = client_for(writer_token())
        first = post(client, measure_body(), "retry-1")
        second = post(client, measure_body(), "retry-1")
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.content == first.content
        assert second["Location"] == first["Location"]
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert Measure.objects.count() == 1

    def test_same_key_with_another_body_is_refused(self) -> None:
        client = client_for(writer_token())
        post(client, measure_body(), "retry-2")
        other = post(client, measure_body(slug="knife-sales", title="Knife sales"), "retry-2")
        assert other.status_code == 422
        assert other["Content-Type"] == "application/problem+json"
        assert other.json()["type"].endswith("/idempotency-key-reused/")
        assert list(Measure.objects.values_list("slug", flat=True)) == ["acid-offence"]

    def test_keys_belong_to_their_client(self) -> None:
        post(client_for(writer_token()), measure_body(), "shared-key")
        other_client = post(
            client_for(writer_token()), measure_body(slug="b", title="B"), "shared-key"
        )
        assert other_client.status_code == 201
        assert Measure.objects.count() == 2

    def test_a_refused_request_is_not_remembered(self) -> None:
        client = client_for(writer_token())
        bad = post(client, {**measure_body(), "instrument": "telepathy"}, "retry-3")
        assert bad.status_code == 400
        assert not IdempotencyRecord.objects.exists()
        fixed = post(client, measure_body(), "retry-3")
        assert fixed.status_code == 201
        assert "Idempotent-Replayed" not in fixed

    def test_without_a_key_each_post_is_its_own(self) -> None:
        client = client_for(writer_token())
        assert post(client, measure_body(), None).status_code == 201
        assert post(client, measure_body(), None).status_code == 400  # the slug now exists
        assert not IdempotencyRecord.objects.exists()

    @pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "two words"])
    def test_malformed_key_is_refused(self, key: str) -> None:
        response = post(client_for(writer_token()), measure_body(), key)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert not Measure.objects.exists()

    def test_a_key_expires_after_the_retention_period(self, settings: Any) -> None:
        """``purge_idempotency_keys`` deletes records older than the retention period;
        the same key then makes a new request."""
        settings.IDEMPOTENCY_KEY_RETENTION_HOURS = 24
        client = client_for(writer_token())
        post(client, measure_body(), "old-key")
        post(client, measure_body(slug="recent", title="Recent"), "recent-key")
        IdempotencyRecord.objects.filter(key="old-key").update(
            created_at=timezone.now() - datetime.timedelta(hours=25)
        )
        output = io.StringIO()
        call_command("purge_idempotency_keys", stdout=output)
        assert "Deleted 1 idempotency record(s) older than 24 hours." in output.getvalue()
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent-key"]
        again = post(client, measure_body(slug="new-body", title="New body"), "old-key")
        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again


@pytest.mark.django_db(transaction=True)
def test_racing_identical_retries_through_a_real_server_make_one_row(live_server: Any) -> None:
    StrategyFactory.create(slug="svs")
    token = writer_token()
    body = json.dumps(measure_body()).encode()

    def send(_: int) -> httpx.Response:
        return httpx.post(
            f"{live_server.url}/api/v1/measures/",
            content=body,
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": "race",
            },
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, range(8)))
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 7
    assert Measure.objects.count() == 1
