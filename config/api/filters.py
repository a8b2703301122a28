"""Query filtering shared by every list: django-filter and ``?ordering=``, strict about
what they accept, reporting mistakes by parameter name."""

from __future__ import annotations

import copy
import datetime
import functools
import re
from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.drainage import set_override
from rest_framework import filters
from rest_framework.request import Request
from rest_framework.settings import api_settings

from config.api.pagination import total_ordering
from config.api.problems import QueryParameterError


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

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """``ordering`` as what it is: a comma-separated list of the view's fields, each
        optionally prefixed with ``-``. A view without ``ordering_fields`` refuses the
        parameter, so it does not document one."""
        fields = [
            name if isinstance(name, str) else name[0]
            for name in getattr(view, "ordering_fields", None) or ()
        ]
        if not fields:
            return []
        default = ",".join(self.get_default_ordering(view) or ())
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Order by these fields, the first deciding most; `-` before a field reverses it. "
                    f"Default: `{default}`."
                ),
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": [term for name in fields for term in (name, f"-{name}")],
                    },
                    "minItems": 1,
                },
                "style": "form",
                "explode": False,
            }
        ]


ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
RFC3339_INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
# The OpenAPI schema of a parameter that ``parse_instant(..., date_allowed=True)`` reads.
INSTANT_OR_DATE_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]
}
EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
LATEST = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def _calendar_date(year: int, month: int, day: int) -> datetime.date:
    """The date, or ``ValueError``. Year 0 (valid in ISO 8601 and RFC 3339, where Python
    starts at 1) is read as the earliest date: no stored fact is older, so every
    comparison with stored data gives the same answer."""
    if year == 0:
        # Check the day against the proleptic year 0, a leap year.
        datetime.date(2000, month, day)
        return datetime.date.min
    return datetime.date(year, month, day)


def parse_iso_date(text: str) -> datetime.date:
    """A date as ``YYYY-MM-DD`` (the OpenAPI ``date`` format) and nothing else, or
    ``ValueError``: the locale's formats would read 03/04/2020 as 3 April for one client
    and 4 March for another."""
    match = ISO_DATE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day = (int(part) for part in match.groups())
    return _calendar_date(year, month, day)


def parse_instant(text: str, *, date_allowed: bool = False) -> datetime.datetime:
    """An instant as RFC 3339 (the OpenAPI ``date-time`` format: a date, a time and an
    offset from UTC), in UTC, or ``ValueError``; with ``date_allowed`` a date too, read as
    its first instant in UTC. An offset is applied here rather than sent to PostgreSQL,
    which refuses offsets beyond 15:59 that RFC 3339 allows; an instant beyond what Python
    can hold (the year 0, a leap second at the very end of 9999) is read as the nearest one
    it can, which compares the same with every stored fact."""
    if date_allowed and ISO_DATE.fullmatch(text):
        first_day = parse_iso_date(text)
        return datetime.datetime.combine(first_day, datetime.time.min, tzinfo=datetime.UTC)
    match = RFC3339_INSTANT.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, sign, offset_hours, offset_minutes = match.groups()[6:]
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(text)
    offset = datetime.timedelta(hours=int(offset_hours or 0), minutes=int(offset_minutes or 0))
    if offset_hours is not None and (int(offset_hours) > 23 or int(offset_minutes) > 59):
        raise ValueError(text)
    date = _calendar_date(year, month, day)
    if year == 0:
        return EARLIEST
    microseconds = int((fraction or "0")[:6].ljust(6, "0"))
    local = datetime.datetime.combine(date, datetime.time(hour, minute, min(second, 59)))
    # A leap second is the last microsecond before the next minute.
    local += datetime.timedelta(microseconds=999_999 if second == 60 else microseconds)
    try:
        return (local - offset if sign == "+" else local + offset).replace(tzinfo=datetime.UTC)
    except OverflowError:
        return EARLIEST if sign == "+" else LATEST


def document_filter(django_filter: django_filters.Filter, schema: dict[str, Any]) -> None:
    """Document ``django_filter`` in the OpenAPI document with ``schema`` and its help text,
    instead of what drf-spectacular would guess."""
    help_text = django_filter.extra.get("help_text")
    set_override(
        django_filter, "field", {**schema, **({"description": str(help_text)} if help_text else {})}
    )


class ParsedField(forms.Field):
    """A filter value read by ``parse`` (which raises ``ValueError`` on text it refuses).
    A parameter given empty is refused, not read as absent, so it cannot silently leave
    the results unfiltered."""

    @staticmethod
    def parse(text: str) -> Any:
        raise NotImplementedError

    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.parse(str(value))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class ISODateField(ParsedField):
    """A date, as ``parse_iso_date`` reads it."""

    default_error_messages = {"invalid": "Give a date as YYYY-MM-DD, e.g. 2019-05-16."}
    parse = staticmethod(parse_iso_date)


class ISODateFilter(django_filters.DateFilter):
    field_class = ISODateField


class ISODateTimeField(ParsedField):
    """An instant, as ``parse_instant`` reads it."""

    default_error_messages = {
        "invalid": "Give an instant in RFC 3339, e.g. 2026-01-01T00:00:00Z.",
    }
    parse = staticmethod(parse_instant)


class ISODateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = ISODateTimeField


class StrictDecimalField(forms.DecimalField):
    """A number; given empty, refused."""

    def to_python(self, value: Any) -> Any:
        if value == "":
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class StrictNumberFilter(django_filters.NumberFilter):
    field_class = StrictDecimalField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Above 1e50 is refused (django-filter's ``get_max_validator``).
        document_filter(self, {"type": "number", "maximum": 1e50})


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``). Anything else, the empty value included, is an
    error, where Django's ``NullBooleanField`` reads it as "not given" and the filter
    silently does nothing."""

    default_error_messages = {"invalid": "Use true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value is None:
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A boolean even when a ``method`` does the filtering, which drf-spectacular would
        # otherwise document as a string.
        document_filter(self, {"type": "boolean"})


class StrictChoiceField(forms.ChoiceField):
    """One of the choices; given empty, refused (a plain choice field reads it as "not
    given", and the filter silently does nothing)."""

    def clean(self, value: Any) -> Any:
        if value == "":
            choices: Any = self.choices
            names = ", ".join(str(key) for key, _ in choices)
            raise ValidationError(f"Name one of: {names}.", code="invalid")
        return super().clean(value)


class StrictChoiceFilter(django_filters.ChoiceFilter):
    field_class = StrictChoiceField


@functools.lru_cache(maxsize=256)
def requested_filterset(
    filterset_class: type[django_filters.FilterSet], names: frozenset[str]
) -> type[django_filters.FilterSet]:
    """``filterset_class`` with only the filters in ``names``, and its form class made once.

    A filter set copies every filter it has and builds a form class and a form field for
    each, on every request: for the measure list that cost more than its query. A filter
    the request does not name filters nothing (and an unknown parameter is refused before
    this), so leaving it out changes no answer."""
    base_filters = {
        name: filter_ for name, filter_ in filterset_class.base_filters.items() if name in names
    }
    templates = copy.deepcopy(base_filters)
    for filter_ in templates.values():
        filter_.model = filterset_class._meta.model
    form_class = type(
        f"{filterset_class.__name__}Form",
        (filterset_class._meta.form,),
        {name: filter_.field for name, filter_ in templates.items()},
    )
    narrowed: type[django_filters.FilterSet] = type(
        filterset_class.__name__,
        (filterset_class,),
        {"__module__": filterset_class.__module__, "get_form_class": lambda self: form_class},
    )
    # Set after the class is made: the filter set's metaclass collects every declared filter.
    narrowed.base_filters = base_filters
    return narrowed


class TrackerFilterBackend(DjangoFilterBackend):
    """django-filter, reporting an invalid filter value as a query parameter error, with
    only the filters the request names (``requested_filterset``)."""

    def get_filterset(self, request: Request, queryset: Any, view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        names = frozenset(request.query_params.keys()).intersection(filterset_class.base_filters)
        if not names:
            # Nothing to filter by: no filter set is built at all, which costs a plain page
            # more than its query does.
            return None
        narrowed = requested_filterset(filterset_class, names)
        return narrowed(**self.get_filterset_kwargs(request, queryset, view))

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


def query_date(request: Request, name: str, *, required: bool = False) -> datetime.date | None:
    """The date given as ``name`` (YYYY-MM-DD), or None when the parameter is absent. Given
    empty, it is refused rather than read as absent: a client whose variable came out empty
    would otherwise get today's answer where it asked for another day's."""
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise QueryParameterError(
                {name: ["This parameter is required (a date such as 2019-05-16)."]}
            )
        return None
    try:
        return parse_iso_date(raw)
    except ValueError:
        raise QueryParameterError(
            {name: [f"“{raw[:40]}” is not a date; use YYYY-MM-DD, e.g. 2019-05-16."]}
        ) from None


def query_instant(request: Request, name: str) -> datetime.datetime | None:
    """The instant given as ``name`` (RFC 3339, or a date for its first instant in UTC), or
    None when the parameter is absent; given empty, refused."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return parse_instant(raw, date_allowed=True)
    except ValueError:
        raise QueryParameterError(
            {
                name: [
                    f"“{raw[:40]}” is not an instant; use RFC 3339, e.g. 2024-01-01T00:00:00Z, "
                    "or a date."
                ]
            }
        ) from None
