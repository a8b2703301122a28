"""Load the cited seed data in ``seeds/*.yaml``: organisations, sources, strategies, the
law's path (bills, Acts, provisions, commencements), measures with their events and the
provisions carrying them, and funding lines. Loading is idempotent: a second run finds
every object already as the file describes it and writes nothing. Every write goes through
the services, like the API's and the admin's: a changed measure gets a new version (and so
a new ETag), a funding line is checked for a cycle of envelopes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import models, transaction

from legislation.choices import normalised_extent
from legislation.models import Act, Bill, BillStage, Commencement, Provision
from legislation.services import (
    commencement_set_provisions,
    measure_set_provisions,
    record_create,
    record_update,
)
from measures.models import FundingLine, Measure, StatusEvent
from measures.services import (
    CitationInput,
    InvalidRowsError,
    funding_line_create,
    funding_line_update,
    measure_create,
    measure_update,
    status_event_record,
    status_event_record_many,
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


SECTIONS = (
    "organisations",
    "sources",
    "strategies",
    "bills",
    "acts",
    "provisions",
    "commencements",
    "measures",
    "funding_lines",
)
KEYS = {"sources": "key", "funding_lines": "key"}


def read_seed_documents(paths: list[Path]) -> dict[str, Any]:
    """The sections of every file, merged: a key defined in one file may be used in any
    other. A key or a source's address defined twice is refused."""
    merged: dict[str, Any] = {section: [] for section in SECTIONS}
    merged["measure_provisions"] = {}
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        unknown = set(data) - {*SECTIONS, "measure_provisions"}
        if unknown:
            raise SeedError(f"{path.name}: unknown section(s) {', '.join(sorted(unknown))}")
        for section in SECTIONS:
            for row in data.get(section) or []:
                fields = [KEYS.get(section, "slug"), *(["url"] if section == "sources" else [])]
                for field in fields:
                    name = (section, f"{field}={row.get(field)}")
                    if name in seen:
                        raise SeedError(
                            f"{path.name}: {section} {field} “{row.get(field)}” is also in "
                            f"{seen[name].name}"
                        )
                    seen[name] = path
                merged[section].append(row)
        for measure, provisions in (data.get("measure_provisions") or {}).items():
            if measure in merged["measure_provisions"]:
                raise SeedError(f"{path.name}: the provisions of “{measure}” are given twice")
            merged["measure_provisions"][measure] = provisions
    return merged


def _cited(
    row: dict[str, Any], sources: dict[str, Source], *, optional: bool = False
) -> dict[str, Any]:
    key = row.get("source")
    source = _ref(sources, key, "source") if optional else _require(sources, key or "", "source")
    return {"source": source, "quote": row.get("quote", ""), "locator": row.get("locator", "")}


def load_seed_file(path: Path) -> Counter[str]:
    return load_seed_data(read_seed_documents([path]))


def load_seed_data(data: dict[str, Any]) -> Counter[str]:
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
        provisions = _load_legislation(data, sources, counts)
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
            _load_events(measure, row.get("events", []), sources, counts)
        for slug, keys in data.get("measure_provisions", {}).items():
            measure = _require(measures, slug, "measure")
            linked = [_require(provisions, key, "provision") for key in keys]
            if measure_set_provisions(measure, linked):
                counts["measures linked to provisions"] += 1
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
                "announced_on": row.get("announced_on"),
                "announced_on_precision": row.get("announced_on_precision", "day"),
                "realises": _ref(funding, row.get("realises"), "funding line"),
                "is_ceiling": bool(row.get("is_ceiling", False)),
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


def _load_legislation(
    data: dict[str, Any], sources: dict[str, Source], counts: Counter[str]
) -> dict[str, Provision]:
    """Bills with their stages, Acts, provisions and commencements; the provisions by
    slug."""

    def upsert[M: models.Model](
        model: type[M], lookup: dict[str, Any], values: dict[str, Any]
    ) -> M:
        if "extent" in values:
            values["extent"] = normalised_extent(values["extent"] or [])
        return _upsert(
            model,
            lookup,
            values,
            counts,
            create=lambda fields: record_create(model, fields=fields),
            update=lambda obj, fields: record_update(obj, fields=fields),
        )

    bills: dict[str, Bill] = {}
    for row in data.get("bills", []):
        bill = bills[row["slug"]] = upsert(
            Bill,
            {"slug": row["slug"]},
            {
                "title": row["title"],
                "session": row["session"],
                "parliament_bill_id": row.get("parliament_bill_id"),
                "url": row["url"],
            },
        )
        for stage in row.get("stages", []):
            upsert(
                BillStage,
                {"bill": bill, "house": stage["house"], "stage": stage["stage"], "on": stage["on"]},
                _cited(stage, sources),
            )
    acts: dict[str, Act] = {}
    for row in data.get("acts", []):
        acts[row["slug"]] = upsert(
            Act,
            {"slug": row["slug"]},
            {
                "title": row["title"],
                "citation": row["citation"],
                "uri": row["uri"],
                "url": row.get("url", ""),
                "bill": _ref(bills, row.get("bill"), "bill"),
                "royal_assent_on": row.get("royal_assent_on"),
            },
        )
    provisions: dict[str, Provision] = {}
    for row in data.get("provisions", []):
        provisions[row["slug"]] = upsert(
            Provision,
            {"slug": row["slug"]},
            {
                "act": _require(acts, row["act"], "Act"),
                "reference": row["reference"],
                "title": row["title"],
                "uri": row.get("uri", ""),
                "extent": row.get("extent") or [],
                "note": row.get("note", ""),
                **_cited(row, sources, optional=True),
            },
        )
    for row in data.get("commencements", []):
        commencement = upsert(
            Commencement,
            {"slug": row["slug"]},
            {
                "act": _require(acts, row["act"], "Act"),
                "instrument": row["instrument"],
                "instrument_title": row["instrument_title"],
                "instrument_uri": row.get("instrument_uri", ""),
                "made_on": row.get("made_on"),
                "in_force_on": row["in_force_on"],
                "ends_on": row.get("ends_on"),
                "extent": row.get("extent") or [],
                "area": row.get("area") or "",
                "note": row.get("note", ""),
                **_cited(row, sources),
            },
        )
        commenced = [_require(provisions, key, "provision") for key in row.get("provisions", [])]
        if commencement_set_provisions(commencement, commenced):
            counts["commencements linked to provisions"] += 1
    return provisions


def _event_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "axis": row["axis"],
        "value": row["value"],
        "effective_on": row["effective_on"],
        "extent": normalised_extent(row.get("extent") or []),
        "area": (row.get("area") or "").strip(),
    }


def _load_events(
    measure: Measure, rows: list[dict[str, Any]], sources: dict[str, Source], counts: Counter[str]
) -> None:
    """Record each event not already recorded: first the events in date order, as one set
    (``status_event_record_many``: each checked as recorded in turn, the measure's version
    raised once), then the corrections one by one in the file's order (a correction names
    its event by ``key``; the event it corrects stays in the history, as recorded)."""
    recorded: dict[str, StatusEvent] = {}
    originals = sorted(
        (row for row in rows if not row.get("corrects")), key=lambda row: row["effective_on"]
    )
    corrections = [row for row in rows if row.get("corrects")]
    new: list[dict[str, Any]] = []
    for row in originals:
        event = _stored_event(measure, row, supersedes=None)
        if event is None:
            new.append(row)
        elif row.get("key"):
            recorded[row["key"]] = event
    if new:
        try:
            written = status_event_record_many(
                events=[{"measure": measure, **_event_arguments(row, sources)} for row in new]
            )
        except InvalidRowsError as refused:
            # As recording them one by one would: the first refused event's errors.
            raise refused.errors[min(refused.errors)] from None
        counts["status events recorded"] += len(written)
        recorded.update(
            (row["key"], event) for row, event in zip(new, written, strict=True) if row.get("key")
        )
    for row in corrections:
        supersedes = recorded.get(row["corrects"])
        if supersedes is None:
            raise SeedError(f"{measure.slug}: no event “{row['corrects']}” to correct")
        event = _stored_event(measure, row, supersedes=supersedes)
        if event is None:
            event = status_event_record(
                measure=measure, supersedes=supersedes, **_event_arguments(row, sources)
            )
            counts["status events recorded"] += 1
        if row.get("key"):
            recorded[row["key"]] = event


def _stored_event(
    measure: Measure, row: dict[str, Any], *, supersedes: StatusEvent | None
) -> StatusEvent | None:
    return StatusEvent.objects.filter(
        measure=measure, supersedes=supersedes, **_event_fields(row)
    ).first()


def _event_arguments(row: dict[str, Any], sources: dict[str, Source]) -> dict[str, Any]:
    """The row as the services' arguments for an event, its measure and correction apart."""
    return {
        **_event_fields(row),
        "effective_on_precision": row.get("effective_on_precision", "day"),
        "ends_on": row.get("ends_on"),
        "rationale": row["rationale"],
        "citations": [CitationInput(**_cited(citation, sources)) for citation in row["citations"]],
    }


def load_seeds(directory: Path = SEEDS_DIR) -> Counter[str]:
    """Load every file of ``directory`` as one set of data (see ``read_seed_documents``)."""
    return load_seed_data(read_seed_documents(sorted(directory.glob("*.yaml"))))
