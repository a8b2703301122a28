"""``export_data`` and ``import_data``: a deployment moved through the JSON document loses
nothing, and the import never mixes two datasets."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from legislation.models import Act, Bill, BillStage, Commencement, Provision
from legislation.services import commencement_set_provisions, measure_set_provisions, record_create
from measures.choices import Axis, FundingPhase, Stage, Verdict
from measures.management.commands.export_data import SECTIONS, CommencedProvision
from measures.management.commands.import_data import (
    ADDED_IN_VERSION_2_SECTIONS,
    MODELS,
    fields_absent_from,
    history_model,
)
from measures.models import EventCitation, FundingLine, Measure, MeasureProvision, StatusEvent
from measures.seeding import load_seeds
from measures.services import (
    CitationInput,
    funding_line_create,
    status_event_record,
    status_event_retract,
)
from strategy.models import Organisation, Source
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def export() -> dict[str, Any]:
    out = StringIO()
    call_command("export_data", stdout=out)
    return json.loads(out.getvalue())


def stored_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of every exported table, every column but the change feed's position (and
    the id of a commencement's link to a provision, which the document does not carry)."""
    return {
        model._meta.label: [
            {
                k: v
                for k, v in row.items()
                if k != "change_xid" and not (model is CommencedProvision and k == "id")
            }
            for row in model._default_manager.order_by(
                *(["commencement_id", "provision_id"] if model is CommencedProvision else ["pk"])
            ).values()
        ]
        for model in MODELS
    }


def empty_tracker_tables() -> None:
    """As in a fresh database, ids starting again from 1. TRUNCATE, unlike DELETE, is not
    refused by the append-only triggers on events and citations."""
    tables = ", ".join(model._meta.db_table for model in MODELS)
    with connection.cursor() as cursor:
        # The test's transaction holds deferred foreign-key checks, which TRUNCATE refuses.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def import_file(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_data", str(path), *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def researcher() -> User:
    return UserFactory.create(username="a.researcher")


def add_researchers_records(researcher: User) -> None:
    """What researchers add to data: a correction and attributed records (seeds have none)."""
    event = StatusEvent.objects.filter(axis=Axis.STAGE, supersedes__isnull=True).earliest()
    source = Source.objects.first()
    assert source is not None
    status_event_record(
        measure=event.measure,
        axis=Axis.STAGE,
        value=event.value,
        effective_on=event.effective_on,
        effective_on_precision=event.effective_on_precision,
        extent=event.extent,
        area=event.area,
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
    mistaken = status_event_record(
        measure=event.measure,
        axis=Axis.CONFIDENCE,
        value="red",
        effective_on=datetime.date(2024, 2, 1),
        rationale="Delivery looks unlikely.",
        citations=[CitationInput(source=source, locator="p. 3")],
        recorded_by=researcher,
    )
    status_event_retract(
        event=mistaken, rationale="That rating was another measure's.", recorded_by=researcher
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
def dataset(researcher: User) -> None:
    """A row in every table the document carries, every kind of link among them, and every
    field a value other than its default somewhere: built here rather than from the seed
    data, so that it stays what this test needs while the seeds change."""
    strategy = StrategyFactory.create()
    home_office = OrganisationFactory.create(slug="home-office", name="Home Office")
    source = SourceFactory.create(external_id="ukpga/2019/17", note="The Act as enacted.")
    bill = record_create(
        Bill,
        fields={
            "slug": "offensive-weapons-bill-2017-19",
            "title": "Offensive Weapons Bill",
            "session": "2017-19",
            "parliament_bill_id": 2187,
            "url": "https://bills.parliament.uk/bills/2187",
        },
    )
    record_create(
        BillStage,
        fields={
            "bill": bill,
            "house": "commons",
            "stage": "second_reading",
            "on": datetime.date(2018, 6, 27),
            "source": source,
            "locator": "col. 345",
        },
    )
    act = record_create(
        Act,
        fields={
            "slug": "offensive-weapons-act-2019",
            "title": "Offensive Weapons Act 2019",
            "citation": "2019 c. 17",
            "uri": "http://www.legislation.gov.uk/id/ukpga/2019/17",
            "url": "https://www.legislation.gov.uk/ukpga/2019/17/contents",
            "bill": bill,
            "royal_assent_on": datetime.date(2019, 5, 16),
        },
    )
    section_6 = record_create(
        Provision,
        fields={
            "slug": "owa-2019-s-6",
            "act": act,
            "reference": "s. 6",
            "title": "Offence of having a corrosive substance in a public place",
            "uri": "http://www.legislation.gov.uk/id/ukpga/2019/17/section/6",
            "extent": ["wales", "england"],
            "source": source,
            "quote": "Offence of having a corrosive substance in a public place",
        },
    )
    part_2 = record_create(
        Provision,
        fields={
            "slug": "owa-2019-part-2",
            "act": act,
            "reference": "Part 2 (ss. 14-33)",
            "title": "Knife crime prevention orders",
            "note": "Piloted before national roll-out.",
        },
    )
    pilot = record_create(
        Commencement,
        fields={
            "slug": "si-2021-762",
            "act": act,
            "instrument": "SI 2021/762",
            "instrument_title": "The Offensive Weapons Act 2019 (Commencement No. 1) Regulations",
            "instrument_uri": "http://www.legislation.gov.uk/id/uksi/2021/762",
            "made_on": datetime.date(2021, 6, 28),
            "in_force_on": datetime.date(2021, 7, 5),
            "ends_on": datetime.date(2023, 3, 31),
            "extent": ["england"],
            "area": "Metropolitan police district",
            "source": source,
            "locator": "reg. 2",
            "note": "A pilot.",
        },
    )
    commencement_set_provisions(pilot, [part_2, section_6])

    measure = MeasureFactory.create(
        strategy=strategy, lead_organisation=home_office, target_on=datetime.date(2020, 3, 31)
    )
    MeasureFactory.create(strategy=strategy, lead_organisation=None)
    measure_set_provisions(measure, [section_6])
    announced = status_event_record(
        measure=measure,
        axis=Axis.STAGE,
        value=Stage.ANNOUNCED,
        effective_on=datetime.date(2018, 4, 30),
        effective_on_precision="month",
        rationale="Announced in the strategy.",
        citations=[CitationInput(source=source, quote="we will legislate")],
    )
    status_event_record(
        measure=measure,
        axis=Axis.STAGE,
        value=Stage.ANNOUNCED,
        effective_on=datetime.date(2018, 4, 30),
        effective_on_precision="month",
        rationale="Corrected: the strategy, not a press release, announced it.",
        citations=[
            CitationInput(source=source, locator="p. 12"),
            CitationInput(source=SourceFactory.create(), quote="as announced"),
        ],
        supersedes=announced,
        recorded_by=researcher,
    )
    status_event_record(
        measure=measure,
        axis=Axis.VERDICT,
        value=Verdict.IN_THE_WORKS,
        effective_on=datetime.date(2021, 7, 5),
        extent=["england"],
        area="Metropolitan police district",
        # Still running: the measure's cached status holds only until the day after.
        ends_on=timezone.localdate() + datetime.timedelta(days=400),
        rationale="Piloted in London.",
        citations=[CitationInput(source=source, locator="reg. 2")],
        recorded_by=researcher,
    )

    envelope = FundingLineFactory.create(
        strategy=strategy,
        title="Serious Violence Fund",
        amount=Decimal("40000000.00"),
        source=source,
        funder=home_office,
        period_start=datetime.date(2018, 4, 1),
        period_end=datetime.date(2020, 3, 31),
        period_label="2018-19 and 2019-20",
    )
    first_figure = funding_line_create(
        fields={
            "strategy": strategy,
            "measure": measure,
            "parent": envelope,
            "title": "Early Intervention Youth Fund",
            "amount": "11000000.00",
            "phase": FundingPhase.ANNOUNCED,
            "announced_on": datetime.date(2018, 7, 31),
            "announced_on_precision": "month",
            "source": source,
            "quote": "an £11 million fund",
            "recipient": home_office,
        },
        recorded_by=researcher,
    )
    funding_line_create(
        fields={
            "strategy": strategy,
            "measure": measure,
            "parent": envelope,
            "title": "Early Intervention Youth Fund, doubled",
            "amount": "22000000.00",
            "phase": FundingPhase.ANNOUNCED,
            "announced_on": datetime.date(2019, 12, 31),
            "announced_on_precision": "year",
            "realises": first_figure,
            "is_ceiling": True,
            "source": source,
            "quote": "up to £22 million",
            "notes": "The same fund, doubled.",
        },
        recorded_by=researcher,
    )


@pytest.fixture
def small_dataset(researcher: User) -> None:
    """Enough rows for the import's error paths, quicker to make, and nothing that schema
    version 1 could not carry."""
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


def assert_round_trip(tmp_path: Path, first: dict[str, Any]) -> None:
    """Loading ``first`` (just exported) into emptied tables gives back every row, and the
    same document."""
    rows_before = stored_rows()
    path = write(tmp_path, first)

    empty_tracker_tables()
    assert Measure.objects.count() == 0
    output = import_file(path)
    second = export()

    assert first.pop("exported_at") != ""
    second.pop("exported_at")
    assert second == first
    assert stored_rows() == rows_before
    assert "Imported" in output


@pytest.mark.usefixtures("dataset")
def test_round_trip_reproduces_every_row(tmp_path: Path) -> None:
    first = export()
    rows_before = stored_rows()
    # Nothing is empty, so the comparison compares something.
    assert all(rows_before[model._meta.label] for model in MODELS)
    highest = {
        model: model._default_manager.aggregate(models.Max("pk"))["pk__max"] for model in MODELS
    }

    assert_round_trip(tmp_path, json.loads(json.dumps(first)))

    commencement = Commencement.objects.get(slug="si-2021-762")
    assert list(commencement.provisions.order_by("slug").values_list("slug", flat=True)) == [
        "owa-2019-part-2",
        "owa-2019-s-6",
    ]
    assert commencement.extent == ["england"]
    assert Provision.objects.get(slug="owa-2019-s-6").extent == ["england", "wales"]
    assert Act.objects.get().bill == Bill.objects.get()
    assert BillStage.objects.get().source == Source.objects.get(external_id="ukpga/2019/17")
    measure = MeasureProvision.objects.get().measure
    assert measure.status_valid_until is not None
    pilot = StatusEvent.objects.get(axis=Axis.VERDICT)
    assert (pilot.extent, pilot.area) == (["england"], "Metropolitan police district")
    assert pilot.ends_on is not None
    assert measure.status_valid_until == pilot.ends_on + datetime.timedelta(days=1)
    assert StatusEvent.objects.get(supersedes__isnull=False).effective_on_precision == "month"
    assert StatusEvent.objects.filter(recorded_by__username="a.researcher").count() == 2
    doubled = FundingLine.objects.get(realises__isnull=False)
    assert (doubled.is_ceiling, doubled.announced_on_precision) == (True, "year")
    assert doubled.realises is not None
    assert doubled.realises.announced_on == datetime.date(2018, 7, 31)
    assert FundingLine.objects.filter(parent__isnull=False).count() == 2

    # The audit trail has one import entry per row of every audited table.
    for model in MODELS:
        history = history_model(model)
        if history is None:
            continue
        imported = history._default_manager.filter(
            pgh_label="insert", pgh_context__metadata__command="import_data"
        )
        assert imported.count() == model._default_manager.count(), model
    # The tables' sequences were moved past the loaded ids.
    for model in (Bill, BillStage, Act, Provision, Commencement, MeasureProvision):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table]
            )
            (next_id,) = cursor.fetchone()
        assert next_id > highest[model], model


@pytest.mark.usefixtures("dataset")
def test_rows_load_in_any_order_within_a_section(tmp_path: Path) -> None:
    """A correction before the event it corrects, a line before the one it realises or is
    drawn from: the document's order within a section does not matter."""
    document = export()
    for section in SECTIONS:
        document[section].reverse()
    rows_before = stored_rows()
    path = write(tmp_path, document)
    empty_tracker_tables()
    import_file(path)
    assert stored_rows() == rows_before


def test_round_trip_of_the_seed_data(tmp_path: Path, researcher: User) -> None:
    load_seeds()
    add_researchers_records(researcher)
    assert_round_trip(tmp_path, export())
    # The correction, the verdict, and a rating with its retraction.
    assert StatusEvent.objects.filter(recorded_by__username="a.researcher").count() == 4
    retraction = StatusEvent.objects.get(is_retraction=True)
    assert retraction.supersedes is not None
    assert retraction.supersedes.value == "red"


@pytest.mark.usefixtures("dataset")
def test_export_carries_schema_version_instant_and_attribution() -> None:
    document = export()
    assert document["schema_version"] == 3
    exported_at = datetime.datetime.fromisoformat(document["exported_at"])
    assert exported_at.utcoffset() == datetime.timedelta(0)
    correction = next(e for e in document["status_events"] if e["supersedes"] is not None)
    assert correction["recorded_by"] == "a.researcher"
    first, second = correction["citations"]
    assert first == {"id": first["id"], "source": first["source"], "quote": "", "locator": "p. 12"}
    assert (second["quote"], second["locator"]) == ("as announced", "")
    assert first["id"] < second["id"]
    measure = document["measures"][0]
    assert {"stage", "stage_since", "verdict", "confidence", "version"} <= measure.keys()
    line = next(f for f in document["funding_lines"] if f["realises"] is not None)
    assert line["amount"] == "22000000.00"
    assert line["parent"] is not None
    assert (line["announced_on"], line["is_ceiling"]) == ("2019-12-31", True)
    pilot = next(e for e in document["status_events"] if e["area"])
    assert pilot["extent"] == ["england"]
    assert datetime.date.fromisoformat(pilot["ends_on"]) > datetime.date.today()
    provisions = {p["slug"]: p for p in document["provisions"]}
    assert provisions["owa-2019-s-6"]["extent"] == ["england", "wales"]
    assert provisions["owa-2019-part-2"]["extent"] == []
    assert provisions["owa-2019-part-2"]["source"] is None
    (commencement,) = document["commencements"]
    assert commencement["provisions"] == sorted(p["id"] for p in provisions.values())
    (link,) = document["measure_provisions"]
    assert link["provision"] == provisions["owa-2019-s-6"]["id"]
    assert document["acts"][0]["bill"] == document["bills"][0]["id"]


@pytest.mark.usefixtures("dataset")
def test_document_fields_are_pinned_to_the_schema_version() -> None:
    """A model field added or removed changes the document: bump SCHEMA_VERSION and teach
    import_data to read the old version (as it reads version 1: ADDED_IN_VERSION_2_*), then
    update this list."""
    document = export()
    keys = {section: sorted(document[section][0]) for section in SECTIONS}
    # In load order: a row refers only to rows of earlier sections or of its own.
    assert list(document) == [
        "schema_version", "exported_at", "organisations", "sources", "bills", "bill_stages",
        "acts", "provisions", "commencements", "strategies", "measures", "measure_provisions",
        "status_events", "funding_lines",
    ]  # fmt: skip
    # fmt: off
    assert keys == {
        "organisations": ["created_at", "id", "kind", "name", "slug", "updated_at", "url"],
        "sources": [
            "archived_url", "created_at", "external_id", "id", "kind", "note", "published_on",
            "publisher", "title", "updated_at", "url",
        ],
        "bills": [
            "created_at", "id", "parliament_bill_id", "session", "slug", "title",
            "updated_at", "url",
        ],
        "bill_stages": [
            "bill", "house", "id", "locator", "on", "quote", "source", "stage", "updated_at",
        ],
        "acts": [
            "bill", "citation", "id", "royal_assent_on", "slug", "title", "updated_at", "uri",
            "url",
        ],
        "provisions": [
            "act", "extent", "id", "locator", "note", "quote", "reference", "slug", "source",
            "title", "updated_at", "uri",
        ],
        "commencements": [
            "act", "area", "ends_on", "extent", "id", "in_force_on", "instrument",
            "instrument_title", "instrument_uri", "locator", "made_on", "note", "provisions",
            "quote", "slug", "source", "updated_at",
        ],
        "strategies": [
            "created_at", "id", "owner", "published_on", "slug", "source", "source_quote",
            "summary", "title", "updated_at", "url",
        ],
        "measures": [
            "category", "confidence", "created_at", "id", "instrument", "lead_organisation",
            "legal_vehicle", "slug", "stage", "stage_since", "status_valid_until", "strategy",
            "summary", "target_on", "title", "updated_at", "verdict", "version",
        ],
        "measure_provisions": ["id", "measure", "provision"],
        "status_events": [
            "area", "axis", "citations", "effective_on", "effective_on_precision", "ends_on",
            "extent", "id", "is_retraction", "measure", "rationale", "recorded_at",
            "recorded_by", "supersedes", "value",
        ],
        "funding_lines": [
            "amount", "announced_on", "announced_on_precision", "created_at", "currency",
            "funder", "id", "is_ceiling", "locator", "measure", "notes", "novelty", "parent",
            "period_end", "period_label", "period_start", "phase", "quote", "realises",
            "recipient", "recorded_by", "source", "strategy", "title", "updated_at",
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
    assert {f.name for f in CommencedProvision._meta.concrete_fields} == {
        "id",
        "commencement",
        "provision",
    }


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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["provisions"][0].update(extent="england"), "extent is not a JSON array"),
        (lambda d: d["provisions"][0].update(extent=[{"nation": "wales"}]), "JSON dict"),
        (lambda d: d["status_events"][0].update(extent=["atlantis"]), "could not be loaded"),
        (lambda d: d["commencements"][0].pop("provisions"), r"missing \['provisions'\]"),
        (lambda d: d["commencements"][0].update(provisions="all"), "list of provision ids"),
        (lambda d: d["commencements"][0]["provisions"].append(10**9), "could not be loaded"),
        (lambda d: d["measure_provisions"][0].update(provision=10**9), "could not be loaded"),
        (lambda d: d["funding_lines"][-1].update(realises=10**9), "could not be loaded"),
        (lambda d: d.update(schema_version=1), "A version-1 document has no “bills”"),
    ],
)
@pytest.mark.usefixtures("dataset")
def test_import_refuses_bad_legislation_scope_or_links(
    tmp_path: Path, change: Any, message: str
) -> None:
    document = export()
    change(document)
    path = write(tmp_path, document)
    empty_tracker_tables()
    with pytest.raises(CommandError, match=message):
        import_file(path)
    assert Measure.objects.count() == 0
    assert Provision.objects.count() == 0


def as_version(version: int, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as the tracker wrote it at ``version`` (1 or 2)."""
    old = dict(document)
    if version == 1:
        old = {k: v for k, v in old.items() if k not in ADDED_IN_VERSION_2_SECTIONS}
    old["schema_version"] = version
    for section, added in fields_absent_from(version).items():
        old[section] = [{k: v for k, v in row.items() if k not in added} for row in old[section]]
    return old


def as_version_1(document: dict[str, Any]) -> dict[str, Any]:
    return as_version(1, document)


@pytest.mark.usefixtures("small_dataset")
def test_import_reads_a_version_2_document(tmp_path: Path) -> None:
    """A backup made before retractions restores: none of its events is one."""
    current = export()
    assert all(event["is_retraction"] is False for event in current["status_events"])
    rows_before = stored_rows()
    old = as_version(2, current)
    assert "is_retraction" not in old["status_events"][0]
    assert "extent" in old["status_events"][0]
    path = write(tmp_path, old)
    empty_tracker_tables()

    import_file(path)

    assert stored_rows() == rows_before
    again = export()
    assert {k: v for k, v in again.items() if k != "exported_at"} == {
        k: v for k, v in current.items() if k != "exported_at"
    }


@pytest.mark.usefixtures("small_dataset")
def test_import_reads_a_version_1_document(tmp_path: Path) -> None:
    """A backup made before version 2 still restores: what it lacks loads as the migration
    to version 2 left the rows of the time, so exporting it again gives today's document."""
    current = export()
    rows_before = stored_rows()
    old = as_version_1(current)
    assert "bills" not in old
    assert "extent" not in old["status_events"][0]
    path = write(tmp_path, old)
    empty_tracker_tables()

    output = import_file(path)

    assert "Imported" in output
    assert stored_rows() == rows_before
    again = export()
    assert {k: v for k, v in again.items() if k != "exported_at"} == {
        k: v for k, v in current.items() if k != "exported_at"
    }


@pytest.mark.usefixtures("small_dataset")
def test_import_refuses_a_version_1_document_with_version_2_fields(tmp_path: Path) -> None:
    old = as_version_1(export())
    old["status_events"][0]["extent"] = ["england"]
    path = write(tmp_path, old)
    empty_tracker_tables()
    with pytest.raises(
        CommandError, match=r"schema version 1: missing nothing, unknown \['extent'\]"
    ):
        import_file(path)


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
