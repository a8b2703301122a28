"""The webhook admin, for the people who run the tracker: a subscription made in the admin
goes through the same rules as the API (a public target), shows its secret once, and its
deliveries can be read and sent again."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from measures.models import Measure
from measures.services import measure_update
from tests.factories import UserFactory
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Webhook
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

PUBLIC_TARGET = "https://93.184.215.14/hook"


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory.create(username="ops", is_staff=True, is_superuser=True))
    return client


def form(**changes: Any) -> dict[str, Any]:
    return {
        "description": "newsroom bot",
        "target_url": PUBLIC_TARGET,
        "kinds": ["status_event.recorded", "measure.changed"],
        "filter": "{}",
        "is_active": "on",
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
        "deliveries-MIN_NUM_FORMS": "0",
        "deliveries-MAX_NUM_FORMS": "0",
        **changes,
    }


def test_a_subscription_made_in_the_admin_shows_its_secret_once(operator: Client) -> None:
    response = operator.post(reverse("admin:webhooks_webhook_add"), form(), follow=True)

    webhook = Webhook.objects.get()
    assert webhook.kinds == ["status_event.recorded", "measure.changed"]
    assert webhook.owner.get_username() == "ops"
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert any(webhook.secret in message for message in shown), shown
    page = operator.get(reverse("admin:webhooks_webhook_change", args=[webhook.pk]))
    assert page.status_code == 200
    assert webhook.secret not in page.content.decode()


def test_the_admin_refuses_a_loopback_target_as_the_api_does(operator: Client) -> None:
    response = operator.post(
        reverse("admin:webhooks_webhook_add"), form(target_url="http://127.0.0.1:8000/hook")
    )

    assert response.status_code == 200
    assert "not public" in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_delivery_is_read_and_sent_again_from_the_admin(
    operator: Client, measure: Measure
) -> None:
    webhook = webhook_create(
        owner=UserFactory.create(),
        fields={"target_url": PUBLIC_TARGET, "kinds": ["measure.changed"]},
    )
    measure_update(measure=measure, fields={"summary": "Changed for the admin."})
    delivery = webhook.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, attempts=10
    )

    page = operator.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert delivery.message_id in page.content.decode()
    listing = operator.get(reverse("admin:webhooks_webhook_changelist"))
    assert listing.status_code == 200

    operator.post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempt_limit == 11
