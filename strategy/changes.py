"""The signal a service sends when it has written a change others may want to hear of.

It is sent inside the service's transaction, after the write: a receiver that writes (the
webhook outbox) writes in the same transaction, so what it writes is committed with the
change or rolled back with it. The domain apps do not know who listens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.dispatch import Signal


class ChangeKind(models.TextChoices):
    """What happened, named as ``<resource>.<verb>`` (the ``type`` of a delivery's body)."""

    STATUS_EVENT_RECORDED = "status_event.recorded", "A status event was recorded"
    STATUS_EVENT_CORRECTED = "status_event.corrected", "A status event was corrected"
    STATUS_EVENT_RETRACTED = "status_event.retracted", "A status event was retracted"
    MEASURE_CREATED = "measure.created", "A measure was created"
    MEASURE_CHANGED = "measure.changed", "A measure's description was changed"
    FUNDING_LINE_ADDED = "funding_line.added", "A funding line was added"
    FUNDING_LINE_CHANGED = "funding_line.changed", "A funding line was changed"
    SOURCE_ADDED = "source.added", "A source was added"


# Sent with ``kind`` (a ``ChangeKind``), ``instance`` (the row written) and ``measure``
# (the measure it concerns, or None).
change_recorded = Signal()


def record_change(kind: ChangeKind, instance: models.Model, *, measure: Any = None) -> None:
    change_recorded.send(sender=type(instance), kind=kind, instance=instance, measure=measure)


# Sent with ``kind`` (a ``ChangeKind``) and ``changes``: the (row written, measure it
# concerns or None) pairs of a set written at once (an import), in order.
changes_recorded = Signal()


def record_changes(kind: ChangeKind, changes: Sequence[tuple[models.Model, Any]]) -> None:
    """Announce many changes of one kind at once, as ``record_change`` announces each: in
    one signal, so that a receiver can answer the set with a statement rather than one a
    change."""
    if changes:
        changes_recorded.send(sender=type(changes[0][0]), kind=kind, changes=list(changes))
