"""The filter sets a request builds hold only the filters it names."""

from __future__ import annotations

from django.http import QueryDict

from config.api.filters import requested_filterset
from measures.filters import MeasureFilterSet


def test_a_request_builds_only_the_filters_it_names_and_reuses_the_class() -> None:
    narrowed = requested_filterset(MeasureFilterSet, frozenset({"stage", "q"}))

    assert set(narrowed.base_filters) == {"stage", "q"}
    assert narrowed is requested_filterset(MeasureFilterSet, frozenset({"q", "stage"}))
    assert narrowed().get_form_class() is narrowed().get_form_class()
    # The view's own filter set keeps every filter, for the OpenAPI document.
    assert {"stage", "q", "strategy", "overdue"} <= set(MeasureFilterSet.base_filters)


def test_a_narrowed_filter_set_still_validates_what_it_is_given() -> None:
    narrowed = requested_filterset(MeasureFilterSet, frozenset({"stage"}))

    valid = narrowed(data=QueryDict("stage=in_force&stage=enacted"))
    invalid = narrowed(data=QueryDict("stage=nearly-done"))

    assert valid.is_valid()
    assert valid.form.cleaned_data == {"stage": ["in_force", "enacted"]}
    assert not invalid.is_valid()
    assert list(invalid.errors) == ["stage"]
