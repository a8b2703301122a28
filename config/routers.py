"""Read replicas: reads that may be a little behind go to a replica, everything else to the
primary (the ``default`` database).

The replicas are the aliases in ``settings.DATABASE_REPLICAS``, made from
``DATABASE_REPLICA_URLS``; with none, every query uses ``default``. A read goes to the
primary when it must see the latest data:

- inside a transaction on the primary (``transaction.atomic()``), whose reads must be
  consistent with its writes;
- after a write in the same request (or, outside requests, the same thread or task);
- for the whole of a request that ``PrimaryDatabaseMiddleware`` pins to the primary.

Replicas lag behind the primary by the replication delay (usually well under a second), so
an anonymous client that writes and then reads in a *new* request may briefly see the old
data; the write's own response carries the new state.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

# True once this request (or thread) has written, or when it was pinned from the start.
_on_primary: contextvars.ContextVar[bool] = contextvars.ContextVar("on_primary", default=False)
# The replica this request reads from: one per request, so that two reads of one response
# never come from replicas at different points of the primary's history.
_replica: contextvars.ContextVar[str | None] = contextvars.ContextVar("replica", default=None)


@contextlib.contextmanager
def request_scope(*, primary: bool = False) -> Iterator[None]:
    """Start a fresh read-your-writes scope: reads may use replicas until the first write,
    unless ``primary`` keeps the whole scope on the primary."""
    primary_token = _on_primary.set(primary)
    replica_token = _replica.set(None)
    try:
        yield
    finally:
        _replica.reset(replica_token)
        _on_primary.reset(primary_token)


def pin_to_primary() -> None:
    """Send every later read of the current scope to the primary."""
    _on_primary.set(True)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


class PrimaryReplicaRouter:
    """Writes to the primary; reads to a random replica unless they must see the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        replicas = replica_aliases()
        if not replicas or _on_primary.get() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        replica = _replica.get()
        if replica not in replicas:
            replica = random.choice(replicas)  # noqa: S311 - spreading load, not a secret
            _replica.set(replica)
        return replica

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        pin_to_primary()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        same_data = {DEFAULT_DB_ALIAS, *replica_aliases()}
        if obj1._state.db in same_data and obj2._state.db in same_data:
            return True
        return None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        # Replicas receive the schema by replication; migrating them would fail (read-only).
        if db in replica_aliases():
            return False
        return None
