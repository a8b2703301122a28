"""From a recorded change to deliveries, in the change's own transaction.

``on_change_recorded`` receives ``strategy.changes.change_recorded``. It finds the active
subscriptions that asked for the change's kind and whose filter the change matches, builds
the body once (the resource as the API shows it, read inside the transaction, so as it
stands after this change), and writes one ``Delivery`` per subscription. Only when the
transaction commits is each delivery handed to the task queue; ``sweep`` hands over again
any that are overdue (a process that died between the commit and the hand-over), so a
committed change is never lost."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.http import HttpRequest
from django.urls import resolve, reverse
from django.utils import timezone

from measures.models import FundingLine, Measure, StatusEvent
from strategy.changes import ChangeKind
from strategy.models import Source
from webhooks.choices import DeliveryStatus
from webhooks.filtering import matches
from webhooks.models import Delivery, Webhook

logger = logging.getLogger(__name__)


class _PublicRequest(HttpRequest):
    """A GET of ``path`` as a reader at ``PUBLIC_BASE_URL`` would send it: the API's links
    in a delivery point at the public site, whatever process builds the body."""

    def __init__(self, path: str) -> None:
        super().__init__()
        base = urlsplit(settings.PUBLIC_BASE_URL)
        self.method = "GET"
        self.path = self.path_info = path
        self.META = {"HTTP_ACCEPT": "application/json", "REMOTE_ADDR": "127.0.0.1"}
        self.user = AnonymousUser()
        self._public_host = base.netloc
        self._public_scheme = base.scheme

    def get_host(self) -> str:
        return self._public_host

    def _get_scheme(self) -> str:
        return self._public_scheme


def representation(path: str) -> Any:
    """What a GET of the API's ``path`` answers, by its own view (so the body of a delivery
    is the resource exactly as the API shows it), without throttling."""
    match = resolve(path)
    view_class = match.func.cls  # type: ignore[attr-defined]
    view = view_class.as_view(
        match.func.actions,  # type: ignore[attr-defined]
        throttle_classes=[],
        **match.func.initkwargs,  # type: ignore[attr-defined]
    )
    response = view(_PublicRequest(path), *match.args, **match.kwargs)
    if response.status_code != 200:
        raise LookupError(f"{path} answered {response.status_code}")
    return response.data


def absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def resource_path(instance: models.Model) -> str:
    if isinstance(instance, StatusEvent):
        return reverse(
            "measure-event-detail",
            kwargs={"measure_slug": instance.measure.slug, "pk": instance.pk},
        )
    if isinstance(instance, Measure):
        return reverse("measure-detail", kwargs={"slug": instance.slug})
    if isinstance(instance, FundingLine):
        return reverse("fundingline-detail", kwargs={"pk": instance.pk})
    if isinstance(instance, Source):
        return reverse("source-detail", kwargs={"pk": instance.pk})
    raise TypeError(f"No API resource for {type(instance).__name__}")


def body(kind: str, instance: models.Model, measure: Measure | None) -> str:
    """The delivery's JSON body: the Standard Webhooks envelope (``type``, ``timestamp``,
    ``data``) around the change, the resource and links."""
    path = resource_path(instance)
    links = {"resource": absolute(path), "changes": absolute(reverse("change-list"))}
    if measure is not None:
        links["measure"] = absolute(reverse("measure-detail", kwargs={"slug": measure.slug}))
    envelope = {
        "type": kind,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "data": {
            "kind": kind,
            "measure": measure.slug if measure is not None else None,
            "resource": representation(path),
            "links": links,
        },
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, ensure_ascii=False)


def on_change_recorded(
    sender: type[models.Model],
    *,
    kind: ChangeKind,
    instance: models.Model,
    measure: Measure | None = None,
    **kwargs: Any,
) -> None:
    deliver(kind, [(instance, measure)], _subscribed(kind))


def on_changes_recorded(
    sender: type[models.Model],
    *,
    kind: ChangeKind,
    changes: list[tuple[models.Model, Measure | None]],
    **kwargs: Any,
) -> None:
    """``on_change_recorded`` for a set of changes of one kind: the subscriptions are read
    once for the whole set."""
    deliver(kind, changes, _subscribed(kind))


def _subscribed(kind: ChangeKind) -> list[Webhook]:
    return list(Webhook.objects.filter(is_active=True, kinds__contains=[kind]))


def deliver(
    kind: ChangeKind, changes: list[tuple[models.Model, Measure | None]], webhooks: list[Webhook]
) -> None:
    """One delivery of each change to each of ``webhooks`` whose filter it matches."""
    if not webhooks:
        return
    now = timezone.now()
    ids: list[Any] = []
    for instance, measure in changes:
        subscribers = [
            webhook for webhook in webhooks if matches(webhook.filter, instance, measure)
        ]
        if not subscribers:
            continue
        text = body(kind, instance, measure)
        with transaction.atomic():
            deliveries = Delivery.objects.bulk_create(
                Delivery(
                    webhook=webhook,
                    kind=kind,
                    body=text,
                    next_attempt_at=now,
                    attempt_limit=settings.WEBHOOK_MAX_ATTEMPTS,
                )
                for webhook in subscribers
            )
        ids += [delivery.pk for delivery in deliveries]
    if ids:
        transaction.on_commit(lambda: hand_over(ids))


def hand_over(ids: Iterable[Any], *, run_after: datetime.datetime | None = None) -> None:
    """Put a delivery task on the queue for each delivery. A queue that cannot take them
    now loses nothing: ``sweep`` finds them when they are overdue."""
    from webhooks.tasks import deliver

    task = deliver.using(run_after=run_after) if run_after is not None else deliver
    for delivery_id in ids:
        try:
            task.enqueue(str(delivery_id))
        except Exception:
            logger.exception("Could not queue delivery %s; the sweep will", delivery_id)


def sweep(*, overdue_after: datetime.timedelta | None = None) -> int:
    """Hand over again every pending delivery overdue by more than ``overdue_after``
    (``WEBHOOK_SWEEP_AFTER_SECONDS``): its task was lost or never queued. A delivery
    handed over twice is still sent once, since the task checks its state under a lock."""
    if overdue_after is None:
        overdue_after = datetime.timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
    ids = list(
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lt=timezone.now() - overdue_after
        ).values_list("pk", flat=True)[:1000]
    )
    hand_over(ids)
    return len(ids)
