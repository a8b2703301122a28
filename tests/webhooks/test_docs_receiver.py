"""The receiver printed in docs/webhooks.md, run as written against real deliveries: it
accepts one signed with its secret and refuses one signed with another."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from measures.models import Measure
from measures.services import measure_update
from tests.factories import UserFactory
from webhooks import signing
from webhooks.choices import DeliveryStatus
from webhooks.models import Webhook
from webhooks.services import webhook_create
from webhooks.tasks import deliver

pytestmark = pytest.mark.django_db

DOCS = Path(django_settings.BASE_DIR) / "docs" / "webhooks.md"


def documented_receiver() -> str:
    section = DOCS.read_text().split("## A receiver that checks signatures", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "docs/webhooks.md has no Python receiver"
    return found.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[int, Path, str]]:
    """The documented receiver, running with a secret of its own: (port, its log, secret)."""
    script = tmp_path / "receiver.py"
    script.write_text(documented_receiver())
    secret, port, log = signing.new_secret(), free_port(), tmp_path / "receiver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(script)],
            env={**os.environ, "WEBHOOK_SECRET": secret, "PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port, log, secret
    finally:
        process.terminate()
        process.wait(timeout=10)


def subscribe_and_change(port: int, measure: Measure) -> Webhook:
    webhook = webhook_create(
        owner=UserFactory.create(),
        fields={"target_url": f"http://127.0.0.1:{port}/hook", "kinds": ["measure.changed"]},
    )
    measure_update(measure=measure, fields={"summary": "Read by the documented receiver."})
    return webhook


def test_the_documented_receiver_accepts_a_signed_delivery(
    receiver: tuple[int, Path, str], measure: Measure, settings: Any
) -> None:
    port, log, secret = receiver
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]
    webhook = subscribe_and_change(port, measure)
    Webhook.objects.filter(pk=webhook.pk).update(secret=secret)
    delivery = webhook.deliveries.get()

    assert deliver.call(str(delivery.pk)) == "delivered"

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.last_response_status == 204
    assert f"{delivery.message_id} verified" in log.read_text()


def test_the_documented_receiver_refuses_a_delivery_signed_with_another_secret(
    receiver: tuple[int, Path, str], measure: Measure, settings: Any
) -> None:
    port, log, _ = receiver
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]
    delivery = subscribe_and_change(port, measure).deliveries.get()

    assert deliver.call(str(delivery.pk)) == "attempt 1 failed"

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_response_status == 401
    assert f"{delivery.message_id} REFUSED" in log.read_text()
