"""A subscription's filter: the measure list's own parameters, kept as a mapping such as
``{"strategy": "serious-violence-strategy-2018", "stage": ["in_force"]}``, plus
``measure`` for one measure and ``axis`` for status events on some axes only. A change
passes when its measure, as it stands after the change, is one the measure list would give
for those parameters: the list's filters are the rule, not a copy of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from django.http import QueryDict

from measures.choices import Axis
from measures.filters import MeasureFilterSet
from measures.models import Measure, StatusEvent

# The measure-list parameters a filter may hold, besides ``measure``.
LIST_PARAMETERS = (
    "strategy",
    "stage",
    "verdict",
    "confidence",
    "category",
    "instrument",
    "lead_organisation",
)
# ``axis`` limits status events to those on these axes; other kinds of change pass it.
PARAMETERS = ("measure", "axis", *LIST_PARAMETERS)


def as_query(filter: Mapping[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name in LIST_PARAMETERS:
        value = filter.get(name)
        if isinstance(value, list):
            query.setlist(name, [str(item) for item in value])
        elif value not in (None, ""):
            query[name] = str(value)
    return query


def errors(filter: Any) -> list[str]:
    """What is wrong with a filter, in words for the subscriber; empty when it is valid."""
    if not isinstance(filter, Mapping):
        return ["The filter is an object of measure-list parameters."]
    problems = [
        f"Unknown parameter {name!r}. A filter may hold: {', '.join(PARAMETERS)}."
        for name in sorted(set(filter) - set(PARAMETERS))
    ]
    for name, value in filter.items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) and item for item in items):
            problems.append(f"{name}: give a non-empty string or a list of them.")
    if problems:
        return problems
    axes = filter.get("axis")
    unknown_axes = sorted(set(axes if isinstance(axes, list) else [axes]) - set(Axis.values))
    if axes is not None and unknown_axes:
        problems.append(f"axis: {', '.join(unknown_axes)} is not one of {', '.join(Axis.values)}.")
    form = MeasureFilterSet(data=as_query(filter), queryset=Measure.objects.none()).form
    if not form.is_valid():
        problems += [f"{name}: {' '.join(messages)}" for name, messages in form.errors.items()]
    for name in ("measure", "strategy", "lead_organisation"):
        if filter.get(name) and not _exists_named(name, filter[name]):
            problems.append(f"{name}: nothing has the slug {filter[name]!r}.")
    return problems


def _exists_named(name: str, slug: str) -> bool:
    from strategy.models import Organisation, Strategy

    model: type[models.Model] = {
        "measure": Measure,
        "strategy": Strategy,
        "lead_organisation": Organisation,
    }[name]
    return model._default_manager.filter(slug=slug).exists()


def matches(filter: Mapping[str, Any], instance: models.Model, measure: Measure | None) -> bool:
    """Whether a change passes ``filter``. A change of no measure (a source, a
    strategy-wide funding line) passes an empty filter, and a filter of only a strategy
    when it belongs to that strategy."""
    if not filter:
        return True
    if measure is None:
        strategy = getattr(instance, "strategy", None)
        return (
            set(filter) == {"strategy"}
            and strategy is not None
            and strategy.slug == filter["strategy"]
        )
    if filter.get("measure") not in (None, measure.slug):
        return False
    axes = filter.get("axis")
    if axes and isinstance(instance, StatusEvent) and instance.axis not in axes:
        return False
    filterset = MeasureFilterSet(
        data=as_query(filter), queryset=Measure.objects.filter(pk=measure.pk)
    )
    return bool(filterset.is_valid() and filterset.qs.exists())
