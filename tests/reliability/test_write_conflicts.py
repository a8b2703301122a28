"""Two requests racing for the same rows: no deadlock answered as "database unavailable",
no cycle of envelopes made by two writes that each saw none, and a conflict PostgreSQL
still reports after the retries answered 409."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.api.views import WRITE_ATTEMPTS
from measures import views
from measures.models import FundingLine
from tests.factories import FundingLineFactory, StrategyFactory, UserFactory


def writer_token(*codenames: str) -> str:
    user = UserFactory.create()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return Token.objects.create(user=user).key


def drawn_from(line: FundingLine) -> int | None:
    return FundingLine.objects.values_list("parent_id", flat=True).get(pk=line.pk)


@pytest.mark.django_db(transaction=True)
def test_two_lines_given_each_other_as_envelope_at_once(live_server: Any) -> None:
    """Each PATCH locks its own line and would wait for the other's: PostgreSQL used to
    break the deadlock by failing one, answered 503. Now one wins and the other is refused
    for the cycle it would close, every time."""
    strategy = StrategyFactory.create()
    headers = {
        "Authorization": f"Token {writer_token('change_fundingline')}",
        "Content-Type": "application/json",
    }

    def give(
        line: FundingLine,
        envelope: FundingLine,
        start: threading.Barrier,
        answers: dict[int, httpx.Response],
    ) -> None:
        start.wait()
        answers[line.pk] = httpx.patch(
            f"{live_server.url}/api/v1/funding-lines/{line.pk}/",
            content=json.dumps({"parent": envelope.pk}),
            headers=headers,
            timeout=30,
        )

    for _ in range(10):
        first, second = FundingLineFactory.create_batch(2, strategy=strategy)
        start = threading.Barrier(2)
        answers: dict[int, httpx.Response] = {}
        threads = [
            threading.Thread(target=give, args=(first, second, start, answers)),
            threading.Thread(target=give, args=(second, first, start, answers)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answer.status_code for answer in answers.values()) == [200, 400]
        refused = next(answer for answer in answers.values() if answer.status_code == 400)
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["errors"][0]["pointer"] == "#/parent"
        # Exactly one of the two is drawn from the other: no cycle was stored.
        assert sorted([drawn_from(first) is None, drawn_from(second) is None]) == [False, True]


def raising_conflict_first(times: int, service: Callable[..., Any]) -> Callable[..., Any]:
    """``service``, after PostgreSQL reports a deadlock (SQLSTATE 40P01) to its first
    ``times`` calls, as it does to the transaction it chooses to abort."""
    calls = {"n": 0}

    def run(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            with connection.cursor() as cursor:
                cursor.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"
                )
        return service(**kwargs)

    run.calls = calls  # type: ignore[attr-defined]
    return run


@pytest.mark.django_db
@pytest.mark.parametrize("times", [1, WRITE_ATTEMPTS - 1])
def test_a_write_chosen_to_break_a_deadlock_is_retried(
    monkeypatch: pytest.MonkeyPatch, times: int
) -> None:
    line = FundingLineFactory.create(title="Before")
    service = raising_conflict_first(times, views.funding_line_update)
    monkeypatch.setattr(views, "funding_line_update", service)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {writer_token('change_fundingline')}")
    response = client.patch(f"/api/v1/funding-lines/{line.pk}/", {"title": "After"}, format="json")
    assert response.status_code == 200, response.json()
    assert service.calls["n"] == times + 1  # type: ignore[attr-defined]
    assert FundingLine.objects.get(pk=line.pk).title == "After"


@pytest.mark.django_db
def test_a_conflict_that_outlasts_the_retries_is_409_not_503(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = FundingLineFactory.create(title="Before")
    monkeypatch.setattr(
        views, "funding_line_update", raising_conflict_first(99, views.funding_line_update)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {writer_token('change_fundingline')}")
    response = client.patch(f"/api/v1/funding-lines/{line.pk}/", {"title": "After"}, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/api/problems/conflict/"
    assert "Retry-After" not in response
    assert FundingLine.objects.get(pk=line.pk).title == "Before"
