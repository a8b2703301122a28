"""The public site's pages. Each reads through what the API reads through: the measure
queryset's time travel (``with_history`` / ``with_current_status``), the strategy summary
and diff (``measures.reports``), the money rule (``measures.money``), the law's chain
(``legislation.queries``) and the measure filters (``MeasureFilterSet``)."""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from config.api.filters import parse_iso_date
from legislation.queries import legislation_chain
from measures import money, reports
from measures import search as measure_search
from measures.choices import Axis, FundingPhase, Stage
from measures.filters import MeasureFilterSet
from measures.models import (
    FundingLine,
    Measure,
    StatusEvent,
    StatusEventQuerySet,
    status_subqueries,
)
from reader.timeline import stage_timeline
from strategy.models import Strategy

# Days whose status one query of the timeline asks for (a subquery per measure and day).
DAYS_PER_QUERY = 40
# What a page keeps of its query when the reader changes the date (the as-of form).
KEPT_PARAMETERS = ("q", "from", "to", "all")
MONEY_SERIES = (
    ("by_phase", "All money (each sum counted once)"),
    ("envelope", "Strategy-wide envelope"),
    ("drawn_from_envelope", "Drawn from the envelope"),
    ("allocated_to_measures", "Attached to measures"),
)


class BadQueryError(Exception):
    """A query parameter the page cannot answer for, with a message per parameter."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


def query_day(request: HttpRequest, name: str, *, required: bool = False) -> datetime.date | None:
    """The date given as ``name`` (YYYY-MM-DD, read as the API reads it), or None when it is
    absent or left empty in the form."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        if required:
            raise BadQueryError({name: "Give a date such as 2019-05-16."})
        return None
    try:
        return parse_iso_date(raw)
    except ValueError:
        raise BadQueryError(
            {name: f"“{raw[:40]}” is not a date; use YYYY-MM-DD, e.g. 2019-05-16."}
        ) from None


def with_query(url: str, **parameters: Any) -> str:
    present = {name: value for name, value in parameters.items() if value not in (None, "")}
    return f"{url}?{urlencode(present)}" if present else url


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    as_of: datetime.date | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render a page with what every page shows: the date it is read at, the as-of form
    (keeping the page's other parameters) and the links out."""
    kept = [(name, request.GET[name]) for name in KEPT_PARAMETERS if request.GET.get(name)]
    as_of_text = as_of.isoformat() if as_of else ""
    context = {
        "as_of": as_of,
        "as_of_text": as_of_text,
        "as_of_query": f"?as_of={as_of_text}" if as_of else "",
        "kept_parameters": kept,
        "today_url": with_query(request.path, **dict(kept)),
        **context,
    }
    return render(request, template, context, status=status)


def reader_page(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """A site page: GET or HEAD only; an unreadable parameter is a 400 page and an unknown
    slug a 404 page, both in HTML (the API's handlers answer problem documents)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadQueryError as error:
            return page(request, "reader/400.html", {"problems": error.problems}, status=400)
        except (Strategy.DoesNotExist, Measure.DoesNotExist):
            return not_found(request)

    return require_safe(wrapped)


def not_found(request: HttpRequest) -> HttpResponse:
    return page(request, "reader/404.html", {}, status=404)


def measures_at(as_of: datetime.date | None) -> Any:
    """Measures with their status as ``*_then`` annotations: on ``as_of``, or today, as the
    API's measure reads annotate them (``MeasureViewSet.get_queryset``)."""
    measures: Any = Measure.objects.for_api()
    return measures.with_history(as_of=as_of) if as_of else measures.with_current_status()


def stage_changes(
    measures: Any, events: StatusEventQuerySet, on: datetime.date
) -> dict[int, list[tuple[datetime.date, str]]]:
    """Per measure, its stage over time up to ``on``, oldest change first: the time-travel
    answer (``status_subqueries``, as ``with_history`` reads it) on each day a stage event
    took effect or ended, so that the picture shows what the pages and the API say on any
    day (a pilot that ended, a correction). One query per ``DAYS_PER_QUERY`` such days."""
    days: set[datetime.date] = set()
    for effective_on, ends_on in (
        events.filter(axis=Axis.STAGE, effective_on__lte=on)
        .known_at(None)
        .values_list("effective_on", "ends_on")
    ):
        days.add(effective_on)
        if ends_on is not None and ends_on < on:
            days.add(ends_on + datetime.timedelta(days=1))
    changes: dict[int, list[tuple[datetime.date, str]]] = defaultdict(list)
    ordered = sorted(days)
    for first in range(0, len(ordered), DAYS_PER_QUERY):
        chunk = ordered[first : first + DAYS_PER_QUERY]
        stages = {f"stage_{n}": status_subqueries(day)["stage"] for n, day in enumerate(chunk)}
        for row in measures.annotate(**stages).values("pk", *stages):
            for n, day in enumerate(chunk):
                stage = row[f"stage_{n}"]
                history = changes[row["pk"]]
                if stage and (not history or history[-1][1] != stage):
                    history.append((day, stage))
    return changes


def money_series(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary's money as table rows: one per currency and phase, a column per part."""
    funding = summary["funding"]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    order = {phase: index for index, phase in enumerate(FundingPhase.values)}
    for key, _ in MONEY_SERIES:
        for total in funding[key]:
            row = rows.setdefault(
                (total["currency"], total["phase"]),
                {
                    "currency": total["currency"],
                    "phase": FundingPhase(total["phase"]).label,
                    "order": order.get(total["phase"], 99),
                },
            )
            row[key] = total
    ordered = sorted(rows.values(), key=lambda row: (row["currency"], row["order"]))
    return [{**row, "cells": [row.get(key) for key, _ in MONEY_SERIES]} for row in ordered]


def counted_trail(
    lines: Iterable[FundingLine], counted: Iterable[money.Counted]
) -> list[tuple[FundingLine, money.Counted]]:
    """The lines that count (on the date asked), each with what it adds to its phase."""
    by_id = {item.line.id: item for item in counted}
    return [(line, by_id[line.pk]) for line in lines if line.pk in by_id]


@reader_page
def home(request: HttpRequest) -> HttpResponse:
    as_of = query_day(request, "as_of")
    strategies = []
    for strategy in Strategy.objects.select_related("owner").order_by("-published_on", "title"):
        summary = reports.strategy_summary(strategy, as_of=as_of)
        strategies.append(
            {
                "strategy": strategy,
                "measure_count": summary["measure_count"],
                "stages": [
                    (Stage(stage).label if stage in Stage.values else "No stage yet", count)
                    for stage, count in summary["by_stage"].items()
                    if count
                ],
            }
        )
    api = reverse("strategy-list")
    return page(
        request,
        "reader/home.html",
        {
            "strategies": strategies,
            "api_root": reverse("api-root"),
            "api_docs": reverse("swagger-ui"),
            "admin_login": reverse("admin:login"),
            "json_url": api,
            "csv_url": with_query(api, format="csv"),
        },
        as_of=as_of,
    )


@reader_page
def strategy_detail(request: HttpRequest, slug: str) -> HttpResponse:
    as_of = query_day(request, "as_of")
    on = as_of or timezone.localdate()
    strategy = Strategy.objects.select_related("owner").get(slug=slug)
    measures = list(measures_at(as_of).filter(strategy=strategy).order_by("title"))
    groups = [
        (stage.value, stage.label, [m for m in measures if m.stage_then == stage.value])
        for stage in Stage
    ]
    groups.append(("none", "No stage recorded yet", [m for m in measures if not m.stage_then]))
    changes = stage_changes(
        Measure.objects.filter(strategy=strategy),
        StatusEvent.objects.filter(measure__strategy=strategy),
        on,
    )
    summary = reports.strategy_summary(strategy, as_of=as_of)
    lines = list(
        FundingLine.objects.for_api()
        .filter(strategy=strategy)
        .select_related("parent", "realises", "source")
        .order_by("announced_on", "id")
    )
    counted = money.counted_lines(reports.money_lines(strategy), as_of)
    api = reverse("strategy-report-summary", kwargs={"slug": slug})
    return page(
        request,
        "reader/strategy.html",
        {
            "strategy": strategy,
            "measure_count": len(measures),
            "groups": [group for group in groups if group[2]],
            "timeline": stage_timeline(
                [(m.title, changes.get(m.pk, [])) for m in measures], until=on
            ),
            "summary": summary,
            "money_headers": [label for _, label in MONEY_SERIES],
            "money_rows": money_series(summary),
            "trail": counted_trail(lines, counted),
            "uncounted_line_count": len(lines) - len(counted),
            "json_url": with_query(api, as_of=as_of),
            "csv_url": with_query(
                reverse("measure-list"), strategy=slug, as_of=as_of, format="csv"
            ),
            "feed_url": reverse("reader:strategy-feed", kwargs={"slug": slug}),
            "feed_title": f"Changes to {strategy.title}",
        },
        as_of=as_of,
    )


@reader_page
def measure_detail(request: HttpRequest, slug: str) -> HttpResponse:
    as_of = query_day(request, "as_of")
    on = as_of or timezone.localdate()
    measure = measures_at(as_of).get(slug=slug)
    events = StatusEvent.objects.for_api().filter(measure=measure).in_effect_order()
    if as_of:
        events = events.filter(effective_on__lte=as_of)
    changes = stage_changes(
        Measure.objects.filter(pk=measure.pk), StatusEvent.objects.filter(measure=measure), on
    )
    lines = list(
        FundingLine.objects.for_api()
        .filter(measure=measure)
        .select_related("parent", "realises", "source")
        .order_by("announced_on", "id")
    )
    counted = money.counted_lines(reports.money_lines(measure.strategy), as_of)
    trail = counted_trail(lines, counted)
    api = reverse("measure-detail", kwargs={"slug": slug})
    return page(
        request,
        "reader/measure.html",
        {
            "measure": measure,
            "events": list(events),
            "timeline": stage_timeline(
                [("Stage", changes.get(measure.pk, []))], until=on, label_width=70
            ),
            "legislation": legislation_chain(measure),
            "trail": trail,
            "money_totals": money.totals([item for _, item in trail], FundingPhase.values),
            "uncounted_line_count": len(lines) - len(trail),
            "json_url": with_query(api, as_of=as_of),
            "events_json_url": reverse("measure-event-list", kwargs={"measure_slug": slug}),
            "legislation_json_url": reverse("measure-legislation", kwargs={"slug": slug}),
            "csv_url": with_query(
                reverse("measure-event-list", kwargs={"measure_slug": slug}), format="csv"
            ),
            "feed_url": reverse("reader:measure-feed", kwargs={"slug": slug}),
            "feed_title": f"Changes to {measure.title}",
        },
        as_of=as_of,
    )


@reader_page
def strategy_changes(request: HttpRequest, slug: str) -> HttpResponse:
    as_of = query_day(request, "as_of")
    strategy = Strategy.objects.get(slug=slug)
    asked = bool(request.GET.get("from") or request.GET.get("to"))
    diff = None
    start = end = None
    show_all = request.GET.get("all") == "1"
    if asked:
        problems: dict[str, str] = {}
        days: dict[str, datetime.date] = {}
        for name in ("from", "to"):
            try:
                days[name] = query_day(request, name, required=True)  # type: ignore[assignment]
            except BadQueryError as error:
                problems.update(error.problems)
        if problems:
            raise BadQueryError(problems)
        start, end = days["from"], days["to"]
        diff = reports.strategy_diff(strategy, start=start, end=end, changed_only=not show_all)
    api = reverse("strategy-report-diff", kwargs={"slug": slug})
    return page(
        request,
        "reader/changes.html",
        {
            "strategy": strategy,
            "diff": diff,
            "start": start,
            "end": end,
            "show_all": show_all,
            "axes": [(axis.value, axis.label) for axis in Axis],
            "json_url": (
                with_query(api, **{"from": start, "to": end, "changed_only": not show_all})
                if diff
                else None
            ),
            "csv_url": (
                with_query(reverse("measure-list"), strategy=slug, as_of=end, format="csv")
                if diff
                else None
            ),
            "feed_url": reverse("reader:strategy-feed", kwargs={"slug": slug}),
            "feed_title": f"Changes to {strategy.title}",
        },
        as_of=as_of,
    )


@reader_page
def search(request: HttpRequest) -> HttpResponse:
    as_of = query_day(request, "as_of")
    query = request.GET.get("q", "").strip()
    results = None
    if query:
        # The API's own filter, so that the site searches as the API does.
        request.time_travel = True  # type: ignore[attr-defined]
        request.as_of = as_of  # type: ignore[attr-defined]
        filterset = MeasureFilterSet(
            data={"q": query}, queryset=measures_at(as_of), request=request
        )
        if not filterset.is_valid():
            raise BadQueryError(
                {name: " ".join(errors) for name, errors in filterset.errors.items()}
            )
        found: Any = filterset.qs
        ranked = measure_search.RANK in found.query.annotations
        results = list(found.order_by(*([f"-{measure_search.RANK}"] if ranked else []), "title"))
    api = reverse("measure-list")
    return page(
        request,
        "reader/search.html",
        {
            "query": query,
            "results": results,
            "json_url": with_query(api, q=query, as_of=as_of) if query else None,
            "csv_url": with_query(api, q=query, as_of=as_of, format="csv") if query else None,
        },
        as_of=as_of,
    )
