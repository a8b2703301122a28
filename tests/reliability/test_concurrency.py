"""No lost updates through a real server: of many writers holding the same ETag exactly one
wins; writers that retry on 412 all get their change in; concurrent events keep the cached
stage equal to what the history derives."""

from __future__ import annotations

import datetime
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from measures.models import Measure, StatusEvent
from tests.factories import MeasureFactory, SourceFactory, UserFactory
from tests.measures.test_history import derive, rows

pytestmark = pytest.mark.django_db(transaction=True)


def writer_headers(*codenames: str) -> dict[str, str]:
    user = UserFactory.create()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    token = Token.objects.create(user=user)
    return {"Authorization": f"Token {token.key}", "Content-Type": "application/json"}


def test_one_of_100_parallel_patches_with_the_same_etag_wins(live_server: Any) -> None:
    measure = MeasureFactory.create(title="Original")
    url = f"{live_server.url}/api/v1/measures/{measure.slug}/"
    headers = writer_headers("change_measure")
    etag = httpx.get(url).headers["ETag"]

    def patch(n: int) -> httpx.Response:
        return httpx.patch(
            url,
            content=json.dumps({"title": f"Title {n}"}),
            headers={**headers, "If-Match": etag},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(patch, range(100)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 99
    assert all(
        r.headers["Content-Type"] == "application/problem+json"
        for r in responses
        if r.status_code == 412
    )
    measure.refresh_from_db()
    assert measure.version == 2
    winner = next(r for r in responses if r.status_code == 200)
    assert measure.title == winner.json()["title"]


def test_50_pairs_of_concurrent_edits_that_retry_on_412_all_land(live_server: Any) -> None:
    measures = MeasureFactory.create_batch(50, title="old", summary="old")
    headers = writer_headers("change_measure")

    def edit(job: tuple[Measure, str]) -> int:
        measure, field = job
        url = f"{live_server.url}/api/v1/measures/{measure.slug}/"
        for attempt in range(1, 51):
            etag = httpx.get(url, timeout=60).headers["ETag"]
            response = httpx.patch(
                url,
                content=json.dumps({field: f"new {field}"}),
                headers={**headers, "If-Match": etag},
                timeout=60,
            )
            if response.status_code == 200:
                return attempt
            assert response.status_code == 412, response.text
        raise AssertionError(f"{measure.slug} {field}: no success in 50 attempts")

    jobs = [(m, field) for m in measures for field in ("title", "summary")]
    with ThreadPoolExecutor(max_workers=16) as pool:
        attempts = list(pool.map(edit, jobs))
    assert len(attempts) == 100
    for measure in Measure.objects.filter(pk__in=[m.pk for m in measures]):
        assert (measure.title, measure.summary) == ("new title", "new summary")
        assert measure.version == 3  # exactly two successful writes each


def test_concurrent_events_keep_the_cached_stage_equal_to_the_history(live_server: Any) -> None:
    measure = MeasureFactory.create()
    source = SourceFactory.create()
    url = f"{live_server.url}/api/v1/measures/{measure.slug}/events/"
    headers = writer_headers("add_statusevent")
    stages = [
        "announced",
        "consultation",
        "legislating",
        "enacted",
        "in_force",
        "implementing",
        "stalled",
        "withdrawn",
        "completed",
        "in_development",
    ]
    start = datetime.date(2018, 1, 1)

    def record(n: int) -> int:
        body = {
            "axis": "stage",
            "value": stages[n % len(stages)],
            "effective_on": (start + datetime.timedelta(days=37 * n)).isoformat(),
            "rationale": f"event {n}",
            "citations": [{"source": source.pk, "locator": f"p. {n}"}],
        }
        return httpx.post(url, content=json.dumps(body), headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(record, range(60)))
    assert set(statuses) <= {201, 400}, statuses
    assert statuses.count(201) == StatusEvent.objects.filter(measure=measure).count() >= 1
    measure.refresh_from_db()
    history = rows(measure)
    from django.utils import timezone

    assert measure.stage == derive(history, "stage", timezone.localdate())
    assert measure.version == 1 + statuses.count(201)
