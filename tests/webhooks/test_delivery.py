"""Sending a delivery, one attempt at a time, to a real HTTP receiver on this machine: the
Standard Webhooks signature, retries with backoff, giving up and pausing, timeouts,
refused redirects and DNS rebinding, and secret rotation."""

from __future__ import annotations

import datetime
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from measures.models import Measure
from tests.factories import UserFactory
from tests.support import Record
from webhooks import services, signing
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.tasks import backoff, deliver

pytestmark = pytest.mark.django_db

D1 = datetime.date(2018, 4, 9)
D2 = datetime.date(2018, 6, 20)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering.
    delay: float = 0.0
    # Seconds over which the status line's headers are sent, a byte every 0.2 s.
    trickle: float = 0.0


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up waiting closed its end: nothing to report."""


class Receiver:
    """An HTTP server on 127.0.0.1 in a thread: it keeps every request and answers each
    with the next planned answer (204 once none is left)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[Answer] = []
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                )
                answer = receiver.answers.pop(0) if receiver.answers else Answer()
                if answer.delay:
                    receiver.released.wait(answer.delay)
                if answer.trickle:
                    self.wfile.write(f"HTTP/1.0 {answer.status} OK\r\nX-Slow: ".encode())
                    self.wfile.flush()
                    for _ in range(round(answer.trickle / 0.2)):
                        if receiver.released.wait(0.2):
                            return
                        self.wfile.write(b"a")
                        self.wfile.flush()
                    self.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def plan(self, *statuses: int) -> None:
        self.answers.extend(Answer(status) for status in statuses)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.released.set()
    receiver.server.shutdown()
    receiver.server.server_close()
    receiver.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: Settings) -> None:
    """The receiver is on loopback, which a target may be only when the server allows it."""
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create()


def subscribe(owner: User, url: str) -> Webhook:
    return services.webhook_create(
        owner=owner, fields={"target_url": url, "kinds": ["status_event.recorded"]}
    )


def one_delivery(
    webhook: Webhook, measure: Measure, record: Record, day: datetime.date = D1
) -> Delivery:
    """Record a status event of ``measure``: its delivery to ``webhook``."""
    known = list(Delivery.objects.filter(webhook=webhook).values_list("pk", flat=True))
    record(measure, "announced" if day == D1 else "legislating", day)
    return Delivery.objects.filter(webhook=webhook).exclude(pk__in=known).get()


def make_due(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def attempt_of(delivery: Delivery) -> list[tuple[int, int | None]]:
    return [
        (attempt.number, attempt.response_status)
        for attempt in DeliveryAttempt.objects.filter(delivery=delivery)
    ]


def verified(secret: str, received: Received) -> Any:
    return Verifier(secret).verify(received.body, received.headers)


# A delivery is a signed POST -------------------------------------------------------------


def test_a_delivery_is_one_post_signed_by_the_standard(
    owner: User, measure: Measure, record: Record, receiver: Receiver
) -> None:
    """One attempt is one POST of the body (UTF-8, non-ASCII text included), whose
    webhook-id, webhook-timestamp and webhook-signature the Standard Webhooks reference
    library verifies with the subscription's secret (and not with another); the delivery
    has then succeeded, and a second task for it sends nothing."""
    webhook = subscribe(owner, receiver.url)
    record(measure, "announced", D1, rationale="Announced — “£40m” for the Youth Fund.")
    delivery = Delivery.objects.get(webhook=webhook)
    assert "“£40m”" in delivery.body
    assert deliver.call(str(delivery.pk)) == "delivered"

    (received,) = receiver.requests
    assert received.path == "/hook"
    assert received.body == delivery.body.encode()
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["webhook-id"] == delivery.message_id
    assert abs(int(received.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert verified(webhook.secret, received) == json.loads(delivery.body)
    with pytest.raises(WebhookVerificationError):
        verified(signing.new_secret(), received)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.last_response_status == 204
    assert delivery.last_error == ""
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
    assert attempt_of(delivery) == [(1, 204)]
    assert deliver.call(str(delivery.pk)) == "not due"
    assert len(receiver.requests) == 1


def test_a_failed_attempt_is_retried_later_with_the_same_message(
    owner: User,
    measure: Measure,
    record: Record,
    receiver: Receiver,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A 500 leaves the delivery pending after one attempt, the next one due after about
    WEBHOOK_RETRY_BASE_SECONDS and queued for then; before then nothing is sent; when due,
    the same webhook-id and body are sent again."""
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    delivery = one_delivery(subscribe(owner, receiver.url), measure, record)
    receiver.plan(500)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver.call(str(delivery.pk)) == "attempt 1 failed"
    after = timezone.now()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_response_status == 500
    assert "500" in delivery.last_error
    assert delivery.next_attempt_at is not None
    assert before + datetime.timedelta(seconds=24) <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= after + datetime.timedelta(seconds=36)
    assert attempt_of(delivery) == [(1, 500)]
    (retry,) = DBTaskResult.objects.filter(task_path__endswith="webhooks.tasks.deliver")
    assert retry.args_kwargs["args"] == [str(delivery.pk)]
    assert retry.run_after == delivery.next_attempt_at

    assert deliver.call(str(delivery.pk)) == "not due"
    assert len(receiver.requests) == 1

    make_due(delivery)
    assert deliver.call(str(delivery.pk)) == "delivered"
    first, second = receiver.requests
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery.message_id
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert attempt_of(delivery) == [(1, 500), (2, 204)]


def test_two_failures_then_a_success(
    owner: User, measure: Measure, record: Record, receiver: Receiver
) -> None:
    """Failing twice and answering 200 the third time, the delivery has succeeded after
    three attempts, each logged."""
    delivery = one_delivery(subscribe(owner, receiver.url), measure, record)
    receiver.plan(500, 503, 200)
    outcomes = []
    for _ in range(3):
        make_due(delivery)
        outcomes.append(deliver.call(str(delivery.pk)))
    assert outcomes == ["attempt 1 failed", "attempt 2 failed", "delivered"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == (
        DeliveryStatus.SUCCEEDED,
        3,
        200,
    )
    assert attempt_of(delivery) == [(1, 500), (2, 503), (3, 200)]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.message_id}


def test_after_the_last_failed_attempt_the_subscription_is_paused(
    owner: User, measure: Measure, record: Record, receiver: Receiver, settings: Settings
) -> None:
    """After WEBHOOK_MAX_ATTEMPTS failures the delivery has failed and its subscription is
    paused, saying why; another delivery of it, when due, is skipped without a request."""
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    webhook = subscribe(owner, receiver.url)
    failing = one_delivery(webhook, measure, record, D1)
    waiting = one_delivery(webhook, measure, record, D2)
    receiver.plan(500, 500, 500)
    for number in (1, 2, 3):
        make_due(failing)
        assert deliver.call(str(failing.pk)) == f"attempt {number} failed"
    failing.refresh_from_db()
    assert failing.status == DeliveryStatus.FAILED
    assert failing.attempts == 3
    assert failing.next_attempt_at is None
    webhook.refresh_from_db()
    assert webhook.is_active is False
    assert failing.message_id in webhook.paused_reason
    assert "3 attempts" in webhook.paused_reason
    assert len(receiver.requests) == 3

    make_due(waiting)
    assert deliver.call(str(waiting.pk)) == "skipped"
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.SKIPPED
    assert waiting.next_attempt_at is None
    assert attempt_of(waiting) == []
    assert len(receiver.requests) == 3


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(
    owner: User, measure: Measure, record: Record, receiver: Receiver, settings: Settings
) -> None:
    """A receiver silent for longer than WEBHOOK_TIMEOUT_SECONDS: the attempt fails after
    about that long, with no status and an error naming the timeout."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    delivery = one_delivery(subscribe(owner, receiver.url), measure, record)
    receiver.answers.append(Answer(200, delay=10))
    assert deliver.call(str(delivery.pk)) == "attempt 1 failed"
    (attempt,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempt.response_status is None
    assert "0.5 s" in attempt.error
    assert 400 <= attempt.duration_ms < 5000
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == attempt.error
    assert len(receiver.requests) == 1


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(
    owner: User, measure: Measure, record: Record, receiver: Receiver, settings: Settings
) -> None:
    """A receiver that starts answering at once but sends its headers a byte at a time
    has not answered within WEBHOOK_TIMEOUT_SECONDS: the attempt ends about then, failed,
    rather than when the receiver chooses to finish."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    delivery = one_delivery(subscribe(owner, receiver.url), measure, record)
    receiver.answers.append(Answer(200, trickle=2.0))
    outcome = deliver.call(str(delivery.pk))
    (attempt,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert outcome == "attempt 1 failed", (outcome, attempt.duration_ms)
    assert attempt.duration_ms < 1500


def test_a_host_that_now_resolves_to_loopback_is_refused_at_delivery(
    owner: User,
    measure: Measure,
    record: Record,
    receiver: Receiver,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: a target whose name resolved to a public address when saved and to
    127.0.0.1 when delivered is refused at delivery, no request made, while loopback is
    not allowed; the same delivery reaches the receiver once loopback is allowed."""
    real_getaddrinfo = socket.getaddrinfo
    resolved = {"hooks.example.org": "93.184.215.14"}

    def dns_stub(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in resolved:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (resolved[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dns_stub)
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []
    webhook = subscribe(owner, f"http://hooks.example.org:{receiver.port}/hook")
    delivery = one_delivery(webhook, measure, record)

    resolved["hooks.example.org"] = "127.0.0.1"
    assert deliver.call(str(delivery.pk)) == "attempt 1 failed"
    (attempt,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempt.response_status is None
    assert "127.0.0.1" in attempt.error
    assert "not public" in attempt.error
    assert receiver.requests == []

    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]
    make_due(delivery)
    assert deliver.call(str(delivery.pk)) == "delivered"
    (received,) = receiver.requests
    assert received.headers["Host"] == f"hooks.example.org:{receiver.port}"


def test_a_redirect_is_not_followed(
    owner: User, measure: Measure, record: Record, receiver: Receiver
) -> None:
    """A 302 answer is a failed attempt: the Location is not requested."""
    delivery = one_delivery(subscribe(owner, receiver.url), measure, record)
    receiver.answers.append(
        Answer(302, headers={"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"})
    )
    assert deliver.call(str(delivery.pk)) == "attempt 1 failed"
    assert [r.path for r in receiver.requests] == ["/hook"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_response_status == 302
    assert "302" in delivery.last_error


# While an attempt is in flight -----------------------------------------------------------


class InFlight:
    """An attempt of ``delivery`` made in another thread (its own database connection),
    whose receiver holds the answer until ``receiver.released`` is set."""

    def __init__(self, delivery: Delivery, receiver: Receiver) -> None:
        self.outcome: str | BaseException = "not run"
        receiver.answers.append(Answer(204, delay=10))
        self.thread = threading.Thread(target=self.run, args=(str(delivery.pk),))
        self.thread.start()
        deadline = time.monotonic() + 5
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert receiver.requests, "the attempt in the other thread never reached the receiver"
        self.receiver = receiver

    def run(self, delivery_id: str) -> None:
        try:
            self.outcome = deliver.call(delivery_id)
        except BaseException as error:  # reported by finish()
            self.outcome = error
        finally:
            connection.close()

    def finish(self) -> str | BaseException:
        self.receiver.released.set()
        self.thread.join(timeout=15)
        return self.outcome


@pytest.mark.django_db(transaction=True)
def test_another_delivery_of_the_subscription_is_sent_while_one_is_in_flight(
    owner: User, measure: Measure, record: Record, receiver: Receiver, settings: Settings
) -> None:
    """Two due deliveries of one subscription are sent side by side: while the receiver
    holds the first one's answer, the second one's task sends it rather than taking it
    for not due (which would leave it to the sweep, minutes later)."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    webhook = subscribe(owner, receiver.url)
    first = one_delivery(webhook, measure, record, D1)
    second = one_delivery(webhook, measure, record, D2)
    in_flight = InFlight(first, receiver)
    try:
        outcome = deliver.call(str(second.pk))
    finally:
        first_outcome = in_flight.finish()
    assert first_outcome == "delivered"
    assert outcome == "delivered"
    assert len(receiver.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_a_slow_receiver_does_not_hold_up_the_recording_of_changes(
    owner: User, measure: Measure, record: Record, receiver: Receiver, settings: Settings
) -> None:
    """While a receiver takes its time to answer an attempt, a change that the same
    subscription is sent is recorded without waiting for it (here: within 1 s of lock
    waiting, where the receiver holds its answer for seconds)."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    webhook = subscribe(owner, receiver.url)
    first = one_delivery(webhook, measure, record, D1)
    in_flight = InFlight(first, receiver)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '1s'")
            record(measure, "legislating", D2)
    finally:
        first_outcome = in_flight.finish()
    assert first_outcome == "delivered"
    assert Delivery.objects.filter(webhook=webhook).count() == 2


# Backoff ---------------------------------------------------------------------------------


def test_backoff_grows_threefold_with_jitter_up_to_eight_hours(settings: Settings) -> None:
    """The delay after the n-th failed attempt is base * 3^(n-1), at most 8 hours, within
    ±20%, and not always the same."""
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    cap = datetime.timedelta(hours=8).total_seconds()
    for n in range(1, 13):
        expected = min(30 * 3 ** (n - 1), cap)
        delays = [backoff(n).total_seconds() for _ in range(200)]
        assert all(0.8 * expected <= delay <= 1.2 * expected for delay in delays), n
        assert max(delays) - min(delays) > 0.05 * expected, n
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    assert all(8 <= backoff(1).total_seconds() <= 12 for _ in range(50))


def test_ten_attempts_span_about_a_day(settings: Settings) -> None:
    """With the default base of 30 s, the nine waits between ten attempts add up to
    between 20 and 32 hours."""
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    for _ in range(200):
        total = sum((backoff(n) for n in range(1, 10)), datetime.timedelta())
        assert datetime.timedelta(hours=20) <= total <= datetime.timedelta(hours=32)


# Secret rotation -------------------------------------------------------------------------


def test_after_a_rotation_both_secrets_verify_until_the_old_one_expires(
    owner: User, measure: Measure, record: Record, receiver: Receiver
) -> None:
    """After a rotation each delivery carries two signatures, one per secret, and verifies
    with either; once the old secret has expired only the new one signs."""
    webhook = subscribe(owner, receiver.url)
    old_secret = webhook.secret
    new_secret = services.webhook_rotate_secret(webhook=webhook).secret
    assert new_secret != old_secret
    delivery = one_delivery(webhook, measure, record, D1)
    assert deliver.call(str(delivery.pk)) == "delivered"
    (received,) = receiver.requests
    signatures = received.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    assert verified(old_secret, received) == json.loads(delivery.body)
    assert verified(new_secret, received) == json.loads(delivery.body)

    Webhook.objects.filter(pk=webhook.pk).update(
        previous_secret_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    later = one_delivery(webhook, measure, record, D2)
    assert deliver.call(str(later.pk)) == "delivered"
    received = receiver.requests[1]
    assert len(received.headers["webhook-signature"].split(" ")) == 1
    assert verified(new_secret, received) == json.loads(later.body)
    with pytest.raises(WebhookVerificationError):
        verified(old_secret, received)
