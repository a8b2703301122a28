"""Query filtering shared by every list: django-filter and ``?ordering=``, strict about
what they accept, reporting mistakes by parameter name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.request import Request
from rest_framework.settings import api_settings

from config.pagination import total_ordering
from config.problems import QueryParameterError


def _invalid_ordering(allowed: Iterable[str]) -> QueryParameterError:
    names = ", ".join(sorted(allowed))
    return QueryParameterError(
        {
            api_settings.ORDERING_PARAM: [
                f"Order by one or more of: {names} (comma-separated; prefix - for descending)."
            ]
        }
    )


class TrackerOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` that refuses a field it does not know instead of silently ignoring it,
    and that always ends with a unique column (see ``total_ordering``)."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        params = request.query_params.get(self.ordering_param)
        if params is not None:
            allowed = [name for name, _ in self.get_valid_fields(queryset, view)]
            terms = [term.strip() for term in params.split(",")]
            if not terms or any(term.removeprefix("-") not in allowed for term in terms):
                raise _invalid_ordering(allowed)
            ordering: tuple[str, ...] = tuple(terms)
        else:
            ordering = tuple(self.get_default_ordering(view) or ())
        return total_ordering(queryset.model, ordering) if ordering else ordering


class ISODateFilter(django_filters.DateFilter):
    """A date filter that takes ISO 8601 dates only: the locale's formats would read
    03/04/2020 as 3 April for one client and 4 March for another."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``). Anything else is an error, where Django's
    ``NullBooleanField`` reads it as "not given" and the filter silently does nothing."""

    default_error_messages = {"invalid": "Use true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class TrackerFilterBackend(DjangoFilterBackend):
    """django-filter, reporting an invalid filter value as a query parameter error."""

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise QueryParameterError(
                {
                    name: [str(message) for message in messages]
                    for name, messages in filterset.errors.items()
                }
            )
        return filterset.qs
