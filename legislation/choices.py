"""Named values for legislation and for where and when a fact holds. Each set of values is
its own ``TextChoices``: alike in shape, different in meaning."""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence

from django.db import models


class Extent(models.TextChoices):
    """A nation of the United Kingdom, the unit in which an Act extends and a provision
    comes into force."""

    ENGLAND = "england", "England"
    WALES = "wales", "Wales"
    SCOTLAND = "scotland", "Scotland"
    NORTHERN_IRELAND = "northern_ireland", "Northern Ireland"


def extent_label(extent: list[str] | tuple[str, ...]) -> str:
    """“England and Wales”, or “not limited” for an empty extent, in the nations' order."""
    if not extent:
        return "not limited"
    names = [str(choice.label) for choice in Extent if choice.value in extent]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def normalised_extent(extent: Sequence[str]) -> list[str]:
    """The nations once each, in the order of ``Extent`` (unknown names are kept, last, for
    the model's check to report)."""
    known = [nation for nation in Extent.values if nation in extent]
    return known + [nation for nation in dict.fromkeys(extent) if nation not in Extent.values]


class DatePrecision(models.TextChoices):
    """How much of a date its source gives. A date known to the month or the year is stored
    as the last day of that month or year: the first day on which the fact is certainly
    true, so that no answer for an earlier day claims it."""

    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


def is_last_day_of(day: datetime.date, precision: str) -> bool:
    """Whether ``day`` is how a date of ``precision`` is stored (see ``DatePrecision``)."""
    if precision == DatePrecision.MONTH:
        return day.day == calendar.monthrange(day.year, day.month)[1]
    if precision == DatePrecision.YEAR:
        return (day.month, day.day) == (12, 31)
    return True


def date_label(day: datetime.date, precision: str) -> str:
    """The date as precisely as it is known: “6 April 2022”, “May 2019”, “2019”."""
    if precision == DatePrecision.MONTH:
        return day.strftime("%B %Y")
    if precision == DatePrecision.YEAR:
        return str(day.year)
    return f"{day.day} {day.strftime('%B %Y')}"


class House(models.TextChoices):
    """Where a bill's stage took place."""

    COMMONS = "commons", "House of Commons"
    LORDS = "lords", "House of Lords"
    PARLIAMENT = "parliament", "Parliament (Royal Assent)"


class BillStageKind(models.TextChoices):
    """A step of a bill through Parliament, in the order a bill usually takes them."""

    FIRST_READING = "first_reading", "First reading"
    SECOND_READING = "second_reading", "Second reading"
    COMMITTEE = "committee", "Committee stage"
    REPORT = "report", "Report stage"
    THIRD_READING = "third_reading", "Third reading"
    CONSIDERATION_OF_AMENDMENTS = "consideration_of_amendments", "Consideration of amendments"
    ROYAL_ASSENT = "royal_assent", "Royal Assent"
    WITHDRAWN = "withdrawn", "Withdrawn"
    FELL = "fell", "Fell (session ended)"
