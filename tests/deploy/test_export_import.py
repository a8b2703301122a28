"""``export_data`` and ``import_data``: a deployment moved through the JSON document loses
nothing, and the import never mixes two datasets."""

from __future__ import annotations

import datetime
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, models, transaction

from measures.choices import Axis, Verdict
from measures.management.commands.export_data import SECTIONS
from measures.management.commands.import_data import MODELS
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from measures.seeding import load_seeds
from measures.services import CitationInput, funding_line_create, status_event_record
from strategy.models import Organisation, Source
from tests.factories import FundingLineFactory, MeasureFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def export() -> dict[str, Any]:
    out = StringIO()
    call_command("export_data", stdout=out)
    return json.loads(out.getvalue())


def stored_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of every exported table, every column but the change feed's position."""
    return {
        model._meta.label: [
            {k: v for k, v in row.items() if k != "change_xid"}
            for row in model._default_manager.order_by("pk").values()
        ]
        for model in MODELS
    }


def empty_tracker_tables() -> None:
    """As in a fresh database. TRUNCATE, unlike DELETE, is not refused by the append-only
    triggers on events and citations."""
    tables = ", ".join(model._meta.db_table for model in MODELS)
    with connection.cursor() as cursor:
        # The test's transaction holds deferred foreign-key checks, which TRUNCATE refuses.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {tables}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def import_file(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_data", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def researcher() -> User:
    return UserFactory.create(username="a.researcher")


@pytest.fixture
def dataset(researcher: User) -> None:
    """The seed data plus what researchers add: a correction and attributed records."""
    load_seeds()
    event = StatusEvent.objects.filter(axis=Axis.STAGE, supersedes__isnull=True).earliest()
    source = Source.objects.first()
    assert source is not None
    status_event_record(
        measure=event.measure,
        axis=Axis.STAGE,
        value=event.value,
        effective_on=event.effective_on,
        rationale="Corrected: the earlier rationale named the wrong statutory instrument.",
        citations=[CitationInput(source=source, locator="art. 2")],
        supersedes=event,
        recorded_by=researcher,
    )
    status_event_record(
        measure=event.measure,
        axis=Axis.VERDICT,
        value=Verdict.IN_THE_WORKS,
        effective_on=datetime.date(2024, 1, 15),
        rationale="Progress is visible but the measure is not delivered.",
        citations=[CitationInput(source=source, quote="work is under way")],
        recorded_by=researcher,
    )
    envelope = FundingLine.objects.filter(children__isnull=False).first()
    assert envelope is not None
    funding_line_create(
        fields={
            "strategy": envelope.strategy,
            "parent": envelope,
            "title": "Local pilot",
            "amount": "125000.50",
            "phase": envelope.phase,
            "source": source,
            "locator": "table 3",
        },
        recorded_by=researcher,
    )


@pytest.fixture
def small_dataset(researcher: User) -> None:
    """Enough rows for the import's error paths, quicker to make than the seed data."""
    measure = MeasureFactory.create()
    source = SourceFactory.create()
    status_event_record(
        measure=measure,
        axis=Axis.STAGE,
        value="announced",
        effective_on=datetime.date(2018, 4, 9),
        rationale="Announced in the strategy.",
        citations=[CitationInput(source=source, quote="we will")],
        recorded_by=researcher,
    )
    FundingLineFactory.create(strategy=measure.strategy, measure=measure, source=source)


@pytest.mark.usefixtures("dataset")
def test_round_trip_reproduces_every_row(tmp_path: Path) -> None:
    first = export()
    rows_before = stored_rows()
    path = tmp_path / "export.json"
    path.write_text(json.dumps(first), encoding="utf-8")

    empty_tracker_tables()
    assert Measure.objects.count() == 0
    output = import_file(path)
    second = export()

    assert first.pop("exported_at") != ""
    second.pop("exported_at")
    assert second == first
    assert stored_rows() == rows_before
    assert "Imported" in output
    # Nothing was empty, so the comparison compared something.
    assert all(rows_before[model._meta.label] for model in MODELS)
    assert StatusEvent.objects.filter(supersedes__isnull=False).exists()
    assert StatusEvent.objects.filter(recorded_by__username="a.researcher").count() == 2
    assert FundingLine.objects.filter(parent__isnull=False).count() >= 2


@pytest.mark.usefixtures("dataset")
def test_export_carries_schema_version_instant_and_attribution() -> None:
    document = export()
    assert document["schema_version"] == 1
    exported_at = datetime.datetime.fromisoformat(document["exported_at"])
    assert exported_at.utcoffset() == datetime.timedelta(0)
    correction = next(e for e in document["status_events"] if e["supersedes"] is not None)
    assert correction["recorded_by"] == "a.researcher"
    assert correction["citations"] == [
        {
            "id": correction["citations"][0]["id"],
            "source": correction["citations"][0]["source"],
            "quote": "",
            "locator": "art. 2",
        }
    ]
    measure = document["measures"][0]
    assert {"stage", "stage_since", "verdict", "confidence", "version"} <= measure.keys()
    line = next(f for f in document["funding_lines"] if f["title"] == "Local pilot")
    assert line["amount"] == "125000.50"
    assert line["parent"] is not None


@pytest.mark.usefixtures("dataset")
def test_document_fields_are_pinned_to_the_schema_version() -> None:
    """A model field added or removed changes the document: bump SCHEMA_VERSION and teach
    import_data to read the old version, then update this list."""
    document = export()
    keys = {section: sorted(document[section][0]) for section in SECTIONS}
    assert set(document) == {"schema_version", "exported_at", *SECTIONS}
    # fmt: off
    assert keys == {
        "organisations": ["created_at", "id", "kind", "name", "slug", "updated_at", "url"],
        "sources": [
            "archived_url", "created_at", "external_id", "id", "kind", "note", "published_on",
            "publisher", "title", "updated_at", "url",
        ],
        "strategies": [
            "created_at", "id", "owner", "published_on", "slug", "source", "source_quote",
            "summary", "title", "updated_at", "url",
        ],
        "measures": [
            "category", "confidence", "created_at", "id", "instrument", "lead_organisation",
            "legal_vehicle", "slug", "stage", "stage_since", "strategy", "summary",
            "target_on", "title", "updated_at", "verdict", "version",
        ],
        "status_events": [
            "axis", "citations", "effective_on", "id", "measure", "rationale", "recorded_at",
            "recorded_by", "supersedes", "value",
        ],
        "funding_lines": [
            "amount", "created_at", "currency", "funder", "id", "locator", "measure", "notes",
            "novelty", "parent", "period_end", "period_label", "period_start", "phase",
            "quote", "recipient", "recorded_by", "source", "strategy", "title", "updated_at",
        ],
    }
    # fmt: on
    citation = document["status_events"][0]["citations"][0]
    assert sorted(citation) == ["id", "locator", "quote", "source"]
    # Every stored column is either in the document or deliberately left out.
    for section, model in SECTIONS.items():
        stored = {f.name for f in model._meta.concrete_fields}
        assert stored - set(keys[section]) <= {"change_xid", "search_vector"}
    assert {f.name for f in EventCitation._meta.concrete_fields} == {"event", *citation}


@pytest.mark.usefixtures("dataset")
def test_import_refuses_a_database_with_tracker_data(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()), encoding="utf-8")
    rows_before = stored_rows()
    with pytest.raises(CommandError, match="already holds tracker data"):
        import_file(path)
    assert stored_rows() == rows_before


@pytest.mark.usefixtures("dataset")
def test_recorder_without_an_account_gets_an_inactive_one(tmp_path: Path, researcher: User) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()), encoding="utf-8")
    empty_tracker_tables()
    researcher.delete()

    output = import_file(path)

    recreated = User.objects.get(username="a.researcher")
    assert not recreated.is_active
    assert not recreated.has_usable_password()
    assert StatusEvent.objects.filter(recorded_by=recreated).count() == 2
    assert "a.researcher" in output


@pytest.mark.usefixtures("small_dataset")
def test_rows_created_after_an_import_get_new_ids(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()), encoding="utf-8")
    highest = Organisation.objects.aggregate(models.Max("pk"))["pk__max"]
    empty_tracker_tables()
    with connection.cursor() as cursor:
        cursor.execute("ALTER SEQUENCE strategy_organisation_id_seq RESTART WITH 1")
    import_file(path)

    created = Organisation.objects.create(slug="new-body", name="New body", kind="other")
    assert created.pk > highest


@pytest.mark.usefixtures("small_dataset")
def test_dry_run_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()), encoding="utf-8")
    empty_tracker_tables()

    output = import_file(path, "--dry-run")

    assert "Would import" in output
    assert Measure.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema_version=99), "schema version 99"),
        (lambda d: d.pop("measures"), "no “measures” list"),
        (lambda d: d["measures"][0].pop("slug"), r"measures\[0\] does not match"),
        (lambda d: d["measures"][0].update(colour="red"), r"unknown \['colour'\]"),
        (lambda d: d["status_events"][0].update(effective_on="yesterday"), "not a valid"),
    ],
)
@pytest.mark.usefixtures("small_dataset")
def test_import_refuses_a_document_it_cannot_read(
    tmp_path: Path, change: Any, message: str
) -> None:
    document = export()
    change(document)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    empty_tracker_tables()
    with pytest.raises(CommandError, match=message):
        import_file(path)
    assert Measure.objects.count() == 0


@pytest.mark.usefixtures("small_dataset")
def test_a_broken_link_rolls_everything_back(tmp_path: Path) -> None:
    document = export()
    document["status_events"][0]["measure"] = 10**9
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    empty_tracker_tables()
    with pytest.raises(CommandError, match="could not be loaded"):
        import_file(path)
    assert Measure.objects.count() == 0


@pytest.mark.usefixtures("small_dataset")
def test_import_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """`docker compose exec -T web python manage.py import_data - < backup.json`"""
    document = export()
    empty_tracker_tables()
    monkeypatch.setattr("sys.stdin", StringIO(json.dumps(document)))
    out = StringIO()
    call_command("import_data", "-", stdout=out)
    assert out.getvalue().startswith("Imported")
    assert Measure.objects.count() == 1


@pytest.mark.usefixtures("small_dataset")
def test_an_import_is_in_the_audit_trail_and_the_change_feed_and_leaves_triggers_on(
    tmp_path: Path,
) -> None:
    """The import loads with the row triggers off; what they do is done once per table."""
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()), encoding="utf-8")
    empty_tracker_tables()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE measures_measurehistory")
    import_file(path)

    measure = Measure.objects.get()
    history = list(
        apps.get_model("measures", "MeasureHistory").objects.filter(pgh_obj_id=measure.pk)
    )
    assert [(entry.pgh_label, entry.slug) for entry in history] == [("insert", measure.slug)]
    assert history[0].pgh_context.metadata == {"command": "import_data"}
    stamps = {
        *Measure.objects.values_list("change_xid", flat=True),
        *StatusEvent.objects.values_list("change_xid", flat=True),
        *FundingLine.objects.values_list("change_xid", flat=True),
    }
    assert None not in stamps
    assert len(stamps) == 1

    # The triggers are on again: an edit is stamped and audited, history stays append-only.
    Measure.objects.filter(pk=measure.pk).update(title="Edited after the import")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        (current,) = cursor.fetchone()
    assert Measure.objects.get().change_xid == current
    labels = apps.get_model("measures", "MeasureHistory").objects.values_list(
        "pgh_label", flat=True
    )
    assert sorted(labels) == ["insert", "update"]
    with pytest.raises(DatabaseError, match="Cannot update"), transaction.atomic():
        StatusEvent.objects.update(rationale="Rewritten")
