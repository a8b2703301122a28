"""With ``REDIS_URL`` set, every app process uses the same Redis cache, so a client's
throttle count is one count however many app servers answer it. Runs against the Redis
server at ``REDIS_TEST_URL`` (default: the local one on 127.0.0.1:6379)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
CLIENT_ADDRESS = "203.0.113.7"

# What one app process does for each request of an anonymous client, allowed 3 a minute.
THROTTLE_IN_ANOTHER_PROCESS = textwrap.dedent(
    f"""
    import json, django
    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.throttling import AnonRateThrottle

    class ThreePerMinute(AnonRateThrottle):
        rate = "3/minute"

    def allowed():
        request = Request(RequestFactory().get("/api/v1/", REMOTE_ADDR="{CLIENT_ADDRESS}"))
        return ThreePerMinute().allow_request(request, None)

    print(json.dumps({{
        "backend": settings.CACHES["default"]["BACKEND"],
        "prefix": cache.key_prefix,
        "allowed": [allowed(), allowed()],
    }}))
    """
)


class ThreePerMinute(AnonRateThrottle):
    rate = "3/minute"


def allowed(cache: BaseCache) -> bool:
    throttle = ThreePerMinute()
    throttle.cache = cache
    request = Request(RequestFactory().get("/api/v1/", REMOTE_ADDR=CLIENT_ADDRESS))
    return throttle.allow_request(request, None)  # type: ignore[arg-type]


@pytest.fixture
def key_prefix() -> Iterator[str]:
    """A prefix of this test's own, so that it shares Redis with nothing; its keys are
    removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is required in CI: {error}")
        pytest.skip(f"no Redis at {REDIS_URL} ({error}); set REDIS_TEST_URL")
    prefix = f"test-shared-cache-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.mark.slow
def test_throttle_counts_are_shared_through_redis_by_separate_processes(key_prefix: str) -> None:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://unused/unused",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": key_prefix,
    }
    finished = subprocess.run(  # noqa: S603 - our own script, not input
        [sys.executable, "-c", THROTTLE_IN_ANOTHER_PROCESS],
        cwd=Path(settings.BASE_DIR),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    other = json.loads(finished.stdout.strip().splitlines()[-1])
    assert other == {
        "backend": "django.core.cache.backends.redis.RedisCache",
        "prefix": key_prefix,
        "allowed": [True, True],
    }

    # This process, with a Redis connection of its own, continues the same count.
    here = RedisCache(REDIS_URL, {"KEY_PREFIX": key_prefix})
    assert allowed(here) is True
    assert allowed(here) is False

    stored = redis.Redis.from_url(REDIS_URL, decode_responses=True).keys(f"{key_prefix}:*")
    assert [str(key).endswith(f"throttle_anon_{CLIENT_ADDRESS}") for key in stored] == [True]


def test_a_different_prefix_keeps_a_separate_count(key_prefix: str) -> None:
    """Two deployments on one Redis server do not share counts."""
    ours = RedisCache(REDIS_URL, {"KEY_PREFIX": key_prefix})
    theirs = RedisCache(REDIS_URL, {"KEY_PREFIX": f"{key_prefix}:other"})
    assert [allowed(ours) for _ in range(4)] == [True, True, True, False]
    assert allowed(theirs) is True
