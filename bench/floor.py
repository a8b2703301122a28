"""The floor: what the measure list and detail cost when done the plainest way Django
allows, a ``.values()`` query turned into a ``JsonResponse``. It answers the same JSON as
the product for the same request (same fields, nested strategy and lead organisation,
same ``next``/``previous`` cursor links), for the requests the benchmark makes: the list
with ``cursor``, ``stage``, ``strategy``, ``q`` and ``as_of``, and the detail. It checks
nothing else (no unknown-parameter errors, no problem documents, no ETag).

It is served only with ``bench.settings`` (``bench/urls.py``), never by the product."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any
from urllib import parse

from django.contrib.postgres.search import SearchQuery
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date

from measures.models import Measure

PAGE_SIZE = 50
# The product's columns, repeated on purpose: the floor must not share the product's code
# (tests/api/test_measure_representation.py holds the two answers equal).
FIELDS = (
    "slug",
    "title",
    "summary",
    "category",
    "instrument",
    "legal_vehicle",
    "target_on",
    "is_overdue",
    "stage",
    "stage_since",
    "verdict",
    "confidence",
    "version",
    "created_at",
    "updated_at",
    "strategy__slug",
    "strategy__title",
    "lead_organisation__slug",
    "lead_organisation__name",
)
TIME_TRAVEL = ("stage_then", "stage_since_then", "verdict_then", "confidence_then")
# Compact and UTF-8, as DRF's JSONRenderer writes it.
JSON_OPTIONS = {"separators": (",", ":"), "ensure_ascii": False}


def instant(value: datetime.datetime) -> str:
    """As DRF writes a DateTimeField: in the current time zone, ``Z`` for UTC."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def representation(row: dict[str, Any], measures_url: str) -> dict[str, Any]:
    slug = row["slug"]
    if "stage_then" in row:
        stage, since = row["stage_then"], row["stage_since_then"]
        verdict, confidence = row["verdict_then"], row["confidence_then"]
    else:
        stage, since = row["stage"], row["stage_since"]
        verdict, confidence = row["verdict"], row["confidence"]
    lead = row["lead_organisation__slug"]
    return {
        "url": f"{measures_url}{slug}/",
        "slug": slug,
        "strategy": {"slug": row["strategy__slug"], "title": row["strategy__title"]},
        "title": row["title"],
        "summary": row["summary"],
        "category": row["category"],
        "lead_organisation": (
            {"slug": lead, "name": row["lead_organisation__name"]} if lead is not None else None
        ),
        "instrument": row["instrument"],
        "legal_vehicle": row["legal_vehicle"],
        "target_on": day(row["target_on"]),
        "is_overdue": row["is_overdue"],
        "stage": stage,
        "stage_since": day(since),
        "verdict": verdict,
        "confidence": confidence,
        "version": row["version"],
        "events_url": f"{measures_url}{slug}/events/",
        "legislation_url": f"{measures_url}{slug}/legislation/",
        "created_at": instant(row["created_at"]),
        "updated_at": instant(row["updated_at"]),
    }


def cursor_link(base_url: str, *, position: str, reverse: bool) -> str:
    """A link with the cursor the product writes: URL-safe base64, unpadded, of the JSON
    ``[reverse, [slug]]``."""
    text = json.dumps([reverse, [position]], ensure_ascii=False, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")
    scheme, netloc, path, query, fragment = parse.urlsplit(base_url)
    params = parse.parse_qs(query, keep_blank_values=True)
    params["cursor"] = [encoded]
    query = parse.urlencode(sorted(params.items()), doseq=True)
    return parse.urlunsplit((scheme, netloc, path, query, fragment))


def cursor_position(request: HttpRequest) -> str | None:
    encoded = request.GET.get("cursor")
    if not encoded:
        return None
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    _, (slug,) = json.loads(raw)
    return str(slug)


def measure_list(request: HttpRequest) -> JsonResponse:
    queryset: Any = Measure.objects.all()
    as_of = parse_date(request.GET.get("as_of", ""))
    fields: tuple[str, ...] = FIELDS
    if as_of is not None:
        queryset = queryset.with_history(as_of=as_of).with_overdue(as_of, "stage_then")
        fields = FIELDS + TIME_TRAVEL
        stage_column = "stage_then"
    else:
        # Today's status: the cached columns while they hold (a scheduled event or the end
        # of a pilot expires them), as the product reads it.
        queryset = queryset.with_current_status().with_overdue(None, "stage_then")
        fields = FIELDS + TIME_TRAVEL
        stage_column = "stage_then"
    if strategy := request.GET.get("strategy"):
        queryset = queryset.filter(strategy__slug=strategy)
    if stages := request.GET.getlist("stage"):
        queryset = queryset.filter(**{f"{stage_column}__in": stages})
    if q := request.GET.get("q"):
        queryset = queryset.filter(
            search_vector=SearchQuery(q, search_type="websearch", config="english")
        )
    position = cursor_position(request)
    if position is not None:
        queryset = queryset.filter(slug__gt=position)
    rows = list(queryset.order_by("slug", "pk").values(*fields)[: PAGE_SIZE + 1])
    page = rows[:PAGE_SIZE]
    measures_url = request.build_absolute_uri(reverse("measure-list"))
    base_url = request.build_absolute_uri()
    body = {
        "next": (
            cursor_link(base_url, position=page[-1]["slug"], reverse=False)
            if len(rows) > PAGE_SIZE
            else None
        ),
        "previous": (
            cursor_link(base_url, position=page[0]["slug"], reverse=True)
            if position is not None and page
            else None
        ),
        "results": [representation(row, measures_url) for row in page],
    }
    return JsonResponse(body, json_dumps_params=JSON_OPTIONS)


def measure_detail(request: HttpRequest, slug: str) -> JsonResponse:
    row = (
        Measure.objects.with_current_status()
        .with_overdue(None, "stage_then")
        .filter(slug=slug)
        .values(*FIELDS, *TIME_TRAVEL)
        .first()
    )
    if row is None:
        raise Http404("No such measure.")
    measures_url = request.build_absolute_uri(reverse("measure-list"))
    return JsonResponse(representation(row, measures_url), json_dumps_params=JSON_OPTIONS)
