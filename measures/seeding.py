"""Load the cited seed data in ``seeds/*.yaml``. Loading is idempotent: a second run finds
every object already as the file describes it and writes nothing. Every write goes through
the services, like the API's and the admin's: a changed measure gets a new version (and so
a new ETag), a funding line is checked for a cycle of envelopes."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import models, transaction

from measures.models import FundingLine, Measure, StatusEvent
from measures.services import (
    CitationInput,
    funding_line_create,
    funding_line_update,
    measure_create,
    measure_update,
    status_event_record,
)
from strategy.models import Organisation, Source, Strategy
from strategy.services import (
    organisation_create,
    organisation_update,
    source_create,
    source_update,
    strategy_create,
    strategy_update,
)

SEEDS_DIR = Path(settings.BASE_DIR) / "seeds"


class SeedError(Exception):
    """The seed file refers to something it does not define."""


def _upsert[M: models.Model](
    model: type[M],
    lookup: dict[str, Any],
    values: dict[str, Any],
    counts: Counter[str],
    *,
    create: Callable[..., M],
    update: Callable[[M, Mapping[str, Any]], M],
) -> M:
    """Create the object (``create``), or bring it in line with ``values`` (``update``)
    when something differs, so that an unchanged object keeps its timestamps and version
    and gains no audit entry."""
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        counts[f"{model._meta.verbose_name_plural} created"] += 1
        return create(fields={**lookup, **values})
    if any(getattr(obj, name) != value for name, value in values.items()):
        counts[f"{model._meta.verbose_name_plural} updated"] += 1
        return update(obj, values)
    return obj


def _ref[M: models.Model](table: dict[str, M], key: str | None, what: str) -> M | None:
    if key is None:
        return None
    try:
        return table[key]
    except KeyError:
        raise SeedError(f"unknown {what} “{key}”") from None


def _require[M: models.Model](table: dict[str, M], key: str, what: str) -> M:
    found = _ref(table, key, what)
    if found is None:
        raise SeedError(f"missing {what}")
    return found


def load_seed_file(path: Path) -> Counter[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    counts: Counter[str] = Counter()
    with transaction.atomic():
        organisations = {
            row["slug"]: _upsert(
                Organisation,
                {"slug": row["slug"]},
                {"name": row["name"], "kind": row["kind"], "url": row.get("url", "")},
                counts,
                create=organisation_create,
                update=lambda obj, fields: organisation_update(organisation=obj, fields=fields),
            )
            for row in data.get("organisations", [])
        }
        # Each kind of row is upserted alike, with its own lookup, fields and services.
        sources = {
            row["key"]: _upsert(
                Source,
                {"url": row["url"]},
                {
                    "title": row["title"],
                    "publisher": row.get("publisher", ""),
                    "kind": row["kind"],
                    "published_on": row.get("published_on"),
                    "archived_url": row.get("archived_url", ""),
                    "external_id": row.get("external_id", ""),
                    "note": row.get("note", ""),
                },
                counts,
                create=source_create,
                update=lambda obj, fields: source_update(source=obj, fields=fields),
            )
            for row in data.get("sources", [])
        }
        strategies = {
            row["slug"]: _upsert(
                Strategy,
                {"slug": row["slug"]},
                {
                    "title": row["title"],
                    "owner": _require(organisations, row["owner"], "organisation"),
                    "published_on": row["published_on"],
                    "summary": row.get("summary", ""),
                    "url": row.get("url", ""),
                    "source": _ref(sources, row.get("source"), "source"),
                    "source_quote": row.get("source_quote", ""),
                },
                counts,
                create=strategy_create,
                update=lambda obj, fields: strategy_update(strategy=obj, fields=fields),
            )
            for row in data.get("strategies", [])
        }
        measures: dict[str, Measure] = {}
        for row in data.get("measures", []):
            measure = _upsert(
                Measure,
                {"slug": row["slug"]},
                {
                    "strategy": _require(strategies, row["strategy"], "strategy"),
                    "title": row["title"],
                    "summary": row.get("summary", ""),
                    "category": row.get("category", ""),
                    "lead_organisation": _ref(
                        organisations, row.get("lead_organisation"), "organisation"
                    ),
                    "instrument": row["instrument"],
                    "legal_vehicle": row.get("legal_vehicle") or "",
                    "target_on": row.get("target_on"),
                },
                counts,
                create=measure_create,
                update=lambda obj, fields: measure_update(measure=obj, fields=fields),
            )
            measures[row["slug"]] = measure
            for event in sorted(row.get("events", []), key=lambda e: e["effective_on"]):
                _load_event(measure, event, sources, counts)
        funding: dict[str, FundingLine] = {}
        for row in data.get("funding_lines", []):
            strategy = _require(strategies, row["strategy"], "strategy")
            values = {
                "measure": _ref(measures, row.get("measure"), "measure"),
                "parent": _ref(funding, row.get("parent"), "funding line"),
                "amount": Decimal(str(row["amount"])),
                "currency": row.get("currency", "GBP"),
                "period_start": row.get("period_start"),
                "period_end": row.get("period_end"),
                "funder": _ref(organisations, row.get("funder"), "organisation"),
                "recipient": _ref(organisations, row.get("recipient"), "organisation"),
                "novelty": row.get("novelty", "unknown"),
                "source": _require(sources, row["source"], "source"),
                "quote": row.get("quote", ""),
                "locator": row.get("locator", ""),
                "notes": row.get("notes", ""),
            }
            lookup = {
                "strategy": strategy,
                "title": row["title"],
                "phase": row["phase"],
                "period_label": row.get("period_label", ""),
            }
            funding[row["key"]] = _upsert(
                FundingLine,
                lookup,
                values,
                counts,
                create=funding_line_create,
                update=lambda obj, fields: funding_line_update(line=obj, fields=fields),
            )
    return counts


def _load_event(
    measure: Measure, row: dict[str, Any], sources: dict[str, Source], counts: Counter[str]
) -> None:
    effective_on: datetime.date = row["effective_on"]
    already = StatusEvent.objects.filter(
        measure=measure,
        axis=row["axis"],
        value=row["value"],
        effective_on=effective_on,
        superseded_by__isnull=True,
    ).exists()
    if already:
        return
    status_event_record(
        measure=measure,
        axis=row["axis"],
        value=row["value"],
        effective_on=effective_on,
        rationale=row["rationale"],
        citations=[
            CitationInput(
                source=_require(sources, c["source"], "source"),
                quote=c.get("quote", ""),
                locator=c.get("locator", ""),
            )
            for c in row["citations"]
        ],
    )
    counts["status events recorded"] += 1


def load_seeds(directory: Path = SEEDS_DIR) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in sorted(directory.glob("*.yaml")):
        counts.update(load_seed_file(path))
    return counts
