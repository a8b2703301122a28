"""Writes of organisations, sources and strategies. The API, the admin, the importers and
the seed loader all write through these functions, as they do through
``measures.services`` for what is tracked.

``apply_changes`` is the step every update of every app shares: it refuses a change of a
field fixed once the row exists and says which fields actually change, so that an update
that changes nothing writes nothing (no audit entry, no new ``updated_at``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from strategy.changes import ChangeKind, record_change
from strategy.models import Organisation, Source, Strategy


def apply_changes[M: models.Model](instance: M, fields: Mapping[str, Any]) -> list[str]:
    """Set ``fields`` on ``instance`` and return the names whose value changed. A field the
    model fixes once created (``fixed_once_created``, e.g. a slug) may be repeated as it is,
    never changed."""
    fixed = getattr(type(instance), "fixed_once_created", ())
    changed = [name for name, value in fields.items() if getattr(instance, name) != value]
    refused = sorted(name for name in changed if name in fixed and instance.pk is not None)
    if refused:
        raise ValidationError(dict.fromkeys(refused, "This cannot be changed once created."))
    for name in changed:
        setattr(instance, name, fields[name])
    return changed


def create_checked[M: models.Model](model: type[M], fields: Mapping[str, Any]) -> M:
    instance = model(**fields)
    instance.full_clean()
    instance.save()
    return instance


def update_checked[M: models.Model](instance: M, fields: Mapping[str, Any]) -> M:
    """The row as stored, locked, with ``fields`` applied, checked and saved if anything
    changed."""
    model = type(instance)
    with transaction.atomic():
        locked = model._default_manager.select_for_update(no_key=True).get(pk=instance.pk)
        if apply_changes(locked, fields):
            locked.full_clean()
            locked.save()
    return locked


def organisation_create(*, fields: Mapping[str, Any]) -> Organisation:
    return create_checked(Organisation, fields)


def organisation_update(*, organisation: Organisation, fields: Mapping[str, Any]) -> Organisation:
    return update_checked(organisation, fields)


def source_create(*, fields: Mapping[str, Any]) -> Source:
    with transaction.atomic():
        source = create_checked(Source, fields)
        record_change(ChangeKind.SOURCE_ADDED, source)
    return source


def source_update(*, source: Source, fields: Mapping[str, Any]) -> Source:
    return update_checked(source, fields)


def strategy_create(*, fields: Mapping[str, Any]) -> Strategy:
    return create_checked(Strategy, fields)


def strategy_update(*, strategy: Strategy, fields: Mapping[str, Any]) -> Strategy:
    return update_checked(strategy, fields)
