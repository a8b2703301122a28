"""Writes of the law's path: bills, their stages, Acts, provisions, commencements, and the
links from measures to the provisions that carry them. The admin, the importers and the seed
loader write through these functions; each checks the model's rules (``full_clean``) and
writes nothing when nothing changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.db.models.functions import Now

from legislation.choices import normalised_extent
from legislation.models import Commencement, Provision
from strategy.services import create_checked, update_checked


def _with_extent(fields: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(fields)
    if "extent" in fields:
        fields["extent"] = normalised_extent(fields["extent"] or [])
    return fields


def record_create[M: models.Model](model: type[M], *, fields: Mapping[str, Any]) -> M:
    """Create a bill, bill stage, Act, provision or commencement (without its provisions:
    ``commencement_set_provisions``)."""
    return create_checked(model, _with_extent(fields))


def record_update[M: models.Model](instance: M, *, fields: Mapping[str, Any]) -> M:
    """Change one; return it as stored. Nothing is written when nothing changes."""
    return update_checked(instance, _with_extent(fields))


def commencement_set_provisions(
    commencement: Commencement, provisions: Iterable[Provision]
) -> bool:
    """Make ``provisions`` the ones ``commencement`` brings into force; return whether
    anything changed."""
    wanted = {provision.pk for provision in provisions}
    with transaction.atomic():
        current = set(commencement.provisions.values_list("pk", flat=True))
        if current == wanted:
            return False
        commencement.provisions.set(wanted)
        Commencement.objects.filter(pk=commencement.pk).update(updated_at=Now())
    return True


def measure_set_provisions(measure: Any, provisions: Iterable[Provision]) -> bool:
    """Make ``provisions`` the ones that carry ``measure``; return whether anything changed.
    Each link added or removed is in the audit trail."""
    from measures.models import MeasureProvision

    wanted = {provision.pk for provision in provisions}
    with transaction.atomic():
        links = MeasureProvision.objects.filter(measure=measure)
        current = set(links.values_list("provision_id", flat=True))
        if current == wanted:
            return False
        links.exclude(provision_id__in=wanted).delete()
        MeasureProvision.objects.bulk_create(
            MeasureProvision(measure=measure, provision_id=pk) for pk in wanted - current
        )
    return True
