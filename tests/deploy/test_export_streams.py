"""``export_data`` streams the document that PostgreSQL writes row by row: the text is the
one ``json.dumps`` gives for the same rows read plainly through the ORM, awkward values
included, it is read in one snapshot, in batches, and ``import_data`` loads it back."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, models
from django.test.utils import CaptureQueriesContext

from legislation.models import Act, Bill, BillStage, Commencement, Provision
from legislation.services import commencement_set_provisions, measure_set_provisions, record_create
from measures.choices import Axis, Confidence, FundingPhase, Stage, Verdict
from measures.management.commands import export_data
from measures.management.commands.export_data import (
    CITATIONS,
    COMMENCED,
    SCHEMA_VERSION,
    SECTIONS,
    export_snapshot,
    exported_fields,
    is_user_reference,
)
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from measures.services import (
    CitationInput,
    funding_line_create,
    status_event_record,
    status_event_retract,
)
from strategy.models import Organisation
from tests.deploy.test_export_import import empty_tracker_tables, import_file, stored_rows
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# Text that JSON has to escape, or that a careless writer might: quotes, a backslash,
# control characters, a line and a paragraph separator (which JSON allows unescaped), DEL,
# non-ASCII letters, an emoji and a byte order mark.
AWKWARD = (
    'Département "Justice" \\ d\'Écosse\n\tsecond line\r\n\x01\x1f\x7f'
    " \u2028 \u2029 \u00a0 😀 \ufeff end"
)


def orm_value(obj: models.Model, field: models.Field[Any, Any]) -> Any:
    """The value the document holds, from the model instance: a username for a recorder,
    instants in UTC by ``isoformat()``, dates ISO, money ``str(Decimal)``, arrays as lists."""
    if is_user_reference(field):
        user = getattr(obj, field.name)
        return None if user is None else user.get_username()
    value = getattr(obj, field.attname)
    if isinstance(value, datetime.datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return list(value)
    return value


def orm_row(obj: models.Model, model: type[models.Model]) -> dict[str, Any]:
    return {field.name: orm_value(obj, field) for field in exported_fields(model)}


def reference_document(exported_at: str) -> dict[str, Any]:
    """The document built the plain way: every row of every section as a model instance,
    in id order, its citations or provisions inside it."""
    document: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "exported_at": exported_at}
    for section, model in SECTIONS.items():
        rows = []
        for obj in model._default_manager.order_by("pk"):
            row = orm_row(obj, model)
            if isinstance(obj, StatusEvent):
                row[CITATIONS] = [
                    orm_row(citation, EventCitation) for citation in obj.citations.order_by("pk")
                ]
            elif isinstance(obj, Commencement):
                row[COMMENCED] = list(obj.provisions.order_by("pk").values_list("pk", flat=True))
            rows.append(row)
        document[section] = rows
    return document


def export_text(*args: str) -> str:
    out = StringIO()
    call_command("export_data", *args, stdout=out)
    return out.getvalue()


def expected_text(streamed: str, indent: int | None = 2) -> str:
    """What ``json.dumps`` writes for the reference document (with the streamed document's
    ``exported_at``, the one value read from the clock)."""
    exported_at = json.loads(streamed)["exported_at"]
    return json.dumps(reference_document(exported_at), indent=indent, ensure_ascii=False) + "\n"


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


@pytest.fixture
def awkward_dataset() -> None:
    """Rows in every section, with values that are hard to write right: escapes, non-ASCII
    text, empty strings and nulls, empty and non-empty arrays, instants to the whole second
    and with microseconds, money with trailing zeros, corrections and a retraction."""
    zoe = UserFactory.create(username="zoë.researcher")
    department = OrganisationFactory.create(slug="department", name=AWKWARD, url="")
    plain = OrganisationFactory.create(slug="plain", name="Plain", url="https://example.org/")
    Organisation.objects.filter(pk=department.pk).update(
        created_at=at("2026-01-31T12:00:00+00:00"),
        updated_at=at("2026-01-31T12:00:00.000500+00:00"),
    )
    Organisation.objects.filter(pk=plain.pk).update(
        created_at=at("2019-05-16T23:30:00.500000+01:00"),
        updated_at=at("2019-12-31T23:59:59.999999-05:00"),
    )
    source = SourceFactory.create(title=f"“{AWKWARD}”", note=AWKWARD, external_id="")
    undated = SourceFactory.create(published_on=None, note="", url='https://example.org/ü?q="')

    bill = record_create(
        Bill,
        fields={
            "slug": "awkward-bill",
            "title": 'The Knives (Scotland) "Bill"',
            "session": "2017-19",
            "url": "https://bills.parliament.uk/bills/1",
        },
    )
    record_create(
        BillStage,
        fields={
            "bill": bill,
            "house": "lords",
            "stage": "second_reading",
            "on": datetime.date(2018, 6, 27),
            "source": source,
            "quote": AWKWARD,
        },
    )
    act = record_create(
        Act,
        fields={
            "slug": "awkward-act",
            "title": "Awkward Act 2019",
            "citation": "2019 c. 17",
            "uri": "http://www.legislation.gov.uk/id/ukpga/2019/17",
            "url": "https://www.legislation.gov.uk/ukpga/2019/17/contents",
        },
    )
    nations = record_create(
        Provision,
        fields={
            "slug": "awkward-s-1",
            "act": act,
            "reference": "s. 1",
            "title": AWKWARD,
            "extent": ["scotland", "england", "wales"],
            "source": source,
            "locator": "s. 1(2)",
        },
    )
    anywhere = record_create(
        Provision,
        fields={"slug": "awkward-s-2", "act": act, "reference": "s. 2", "title": "Anywhere"},
    )
    with_provisions = record_create(
        Commencement,
        fields={
            "slug": "awkward-si-1",
            "act": act,
            "instrument": "SI 2021/1",
            "instrument_title": "The Awkward Act 2019 (Commencement No. 1) Regulations",
            "in_force_on": datetime.date(2021, 7, 5),
            "ends_on": datetime.date(2023, 3, 31),
            "extent": ["england"],
            "area": AWKWARD,
            "source": source,
            "locator": "reg. 2",
        },
    )
    commencement_set_provisions(with_provisions, [anywhere, nations])
    record_create(
        Commencement,
        fields={
            "slug": "awkward-si-2",
            "act": act,
            "instrument": "SI 2022/2",
            "instrument_title": "The Awkward Act 2019 (Commencement No. 2) Regulations",
            "in_force_on": datetime.date(2022, 1, 1),
            "source": undated,
            "quote": "nothing yet",
        },
    )

    strategy = StrategyFactory.create(owner=department, summary=AWKWARD, source=None)
    measure = MeasureFactory.create(
        strategy=strategy, title=f"Ban on “zombie” knives {AWKWARD}", summary=AWKWARD
    )
    bare = MeasureFactory.create(strategy=strategy, lead_organisation=None, summary="")
    Measure.objects.filter(pk=bare.pk).update(updated_at=at("2026-03-29T01:00:00+00:00"))
    measure_set_provisions(measure, [nations])

    announced = status_event_record(
        measure=measure,
        axis=Axis.STAGE,
        value=Stage.ANNOUNCED,
        effective_on=datetime.date(2018, 4, 30),
        effective_on_precision="month",
        rationale=AWKWARD,
        citations=[
            CitationInput(source=source, quote=AWKWARD),
            CitationInput(source=undated, locator='p. 1 "box"'),
        ],
    )
    status_event_record(
        measure=measure,
        axis=Axis.STAGE,
        value=Stage.ANNOUNCED,
        effective_on=datetime.date(2018, 4, 9),
        rationale="Corrected: the day, not the month.",
        citations=[CitationInput(source=source, locator="para. 3")],
        supersedes=announced,
        recorded_by=zoe,
    )
    rated = status_event_record(
        measure=measure,
        axis=Axis.CONFIDENCE,
        value=Confidence.RED,
        effective_on=datetime.date(2024, 2, 1),
        rationale="Delivery looks unlikely.",
        citations=[CitationInput(source=source, locator="p. 3")],
        recorded_by=zoe,
    )
    status_event_retract(event=rated, rationale="Another measure's rating.", recorded_by=zoe)
    status_event_record(
        measure=measure,
        axis=Axis.VERDICT,
        value=Verdict.IN_THE_WORKS,
        effective_on=datetime.date(2021, 7, 5),
        extent=["scotland", "england"],
        area='Glasgow "City"',
        ends_on=datetime.date(2031, 1, 1),
        rationale="Piloted.",
        citations=[CitationInput(source=undated, quote="“piloted”")],
    )
    # Recorded at a whole second (the service stamps the transaction's time).
    whole_second = StatusEvent.objects.create(
        measure=bare,
        axis=Axis.STAGE,
        value=Stage.ANNOUNCED,
        effective_on=datetime.date(2018, 4, 9),
        rationale="",
        recorded_at=at("2026-01-31T12:00:00+00:00"),
    )
    EventCitation.objects.create(event=whole_second, source=source, quote="", locator="p. 9")

    envelope = FundingLineFactory.create(
        strategy=strategy,
        title=AWKWARD,
        amount=Decimal("1500000.00"),
        source=source,
        funder=department,
        period_start=datetime.date(2018, 4, 1),
        period_end=None,
        notes=AWKWARD,
    )
    first = funding_line_create(
        fields={
            "strategy": strategy,
            "measure": measure,
            "parent": envelope,
            "title": "Pilot",
            "amount": "0.50",
            "phase": FundingPhase.ANNOUNCED,
            "announced_on": datetime.date(2018, 7, 31),
            "announced_on_precision": "month",
            "source": source,
            "quote": "fifty pence",
        },
        recorded_by=zoe,
    )
    funding_line_create(
        fields={
            "strategy": strategy,
            "measure": measure,
            "parent": envelope,
            "title": "Pilot, doubled",
            "amount": "1.00",
            "phase": FundingPhase.ANNOUNCED,
            "realises": first,
            "is_ceiling": True,
            "source": source,
            "locator": "table 1",
        },
    )
    FundingLine.objects.filter(pk=envelope.pk).update(
        created_at=at("2020-02-29T00:00:00+00:00"), updated_at=at("2020-02-29T00:00:00.1+00:00")
    )


@pytest.mark.usefixtures("awkward_dataset")
def test_the_streamed_document_is_what_json_dumps_writes_for_the_orm_rows() -> None:
    streamed = export_text()
    document = json.loads(streamed)

    assert {k: v for k, v in document.items() if k != "exported_at"} == {
        k: v for k, v in reference_document("").items() if k != "exported_at"
    }
    assert streamed == expected_text(streamed)
    # The comparison compares something: every section has rows, and the awkward values
    # are in them as they were stored.
    assert all(document[section] for section in SECTIONS)
    assert document["organisations"][0]["name"] == AWKWARD
    assert document["organisations"][0]["url"] == ""
    assert (
        document["organisations"][0]["created_at"],
        document["organisations"][0]["updated_at"],
    ) == (
        "2026-01-31T12:00:00+00:00",
        "2026-01-31T12:00:00.000500+00:00",
    )
    assert document["organisations"][1]["created_at"] == "2019-05-16T22:30:00.500000+00:00"
    assert document["organisations"][1]["updated_at"] == "2020-01-01T04:59:59.999999+00:00"
    assert [line["amount"] for line in document["funding_lines"]] == ["1500000.00", "0.50", "1.00"]
    assert document["funding_lines"][0]["updated_at"] == "2020-02-29T00:00:00.100000+00:00"
    assert document["funding_lines"][0]["period_end"] is None
    assert document["funding_lines"][1]["recorded_by"] == "zoë.researcher"
    assert document["funding_lines"][2]["recorded_by"] is None
    events = document["status_events"]
    assert [len(event["citations"]) for event in events] == [2, 1, 1, 0, 1, 1]
    assert events[0]["citations"][0]["quote"] == AWKWARD
    assert events[1]["supersedes"] == events[0]["id"]
    assert events[3]["is_retraction"] is True
    assert events[3]["citations"] == []
    assert events[4]["extent"] == ["england", "scotland"]
    assert events[5]["recorded_at"] == "2026-01-31T12:00:00+00:00"
    provisions = {row["slug"]: row for row in document["provisions"]}
    assert provisions["awkward-s-1"]["extent"] == ["england", "wales", "scotland"]
    assert provisions["awkward-s-2"]["extent"] == []
    assert [row[COMMENCED] for row in document["commencements"]] == [
        sorted([provisions["awkward-s-1"]["id"], provisions["awkward-s-2"]["id"]]),
        [],
    ]
    assert document["acts"][0]["bill"] is None
    assert document["bills"][0]["parliament_bill_id"] is None
    # Written as UTF-8 text, not \\u escapes; the separators JSON allows raw stay raw.
    assert "Département" in streamed
    assert "\u2028" in streamed
    assert "\\u0001" in streamed


@pytest.mark.parametrize(("option", "indent"), [("0", None), ("4", 4), ("1", 1)])
@pytest.mark.usefixtures("awkward_dataset")
def test_every_indent_lays_the_document_out_as_json_dumps_does(
    option: str, indent: int | None
) -> None:
    """``--indent 0`` is one line, as before (``json.dumps(indent=None)``)."""
    streamed = export_text("--indent", option)
    assert streamed == expected_text(streamed, indent)
    if indent is None:
        assert streamed.count("\n") == 1


@pytest.mark.usefixtures("awkward_dataset")
def test_instants_are_in_utc_whatever_the_sessions_time_zone() -> None:
    before = export_text()
    with connection.cursor() as cursor:
        # Until the end of the test's transaction (+12:45, or +13:45 in summer).
        cursor.execute("SET LOCAL TIME ZONE 'Pacific/Chatham'")
        cursor.execute("SELECT now()::text")
        (now,) = cursor.fetchone()
    assert now.endswith(("+12:45", "+13:45"))

    streamed = export_text()

    assert streamed.replace(json.loads(streamed)["exported_at"], "") == before.replace(
        json.loads(before)["exported_at"], ""
    )
    assert '"created_at": "2026-01-31T12:00:00+00:00"' in streamed


@pytest.mark.usefixtures("awkward_dataset")
def test_rows_are_read_and_written_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing holds a whole section: rows reach the output a few at a time, and the
    document is the same whatever the size of a batch."""
    monkeypatch.setattr(export_data, "WRITE_ROWS", 2)
    pieces: list[str] = []
    counts = export_data.write_document(pieces.append, indent=2)
    streamed = "".join(pieces) + "\n"

    assert streamed == expected_text(streamed)
    assert counts["status_events"] == 6
    event_pieces = [piece for piece in pieces if '"rationale"' in piece]
    # Six events, two at a time.
    assert len(event_pieces) == 3
    assert all(piece.count('"rationale"') == 2 for piece in event_pieces)


@pytest.mark.usefixtures("awkward_dataset")
def test_export_snapshot_still_gives_the_document_as_a_dict() -> None:
    document = export_snapshot()
    assert document == reference_document(document["exported_at"])


@pytest.mark.usefixtures("awkward_dataset")
def test_the_file_written_is_the_document_and_replaces_an_earlier_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tracker.json"
    path.write_text("x" * 1_000_000, encoding="utf-8")
    err = StringIO()

    call_command("export_data", "-o", str(path), stderr=err)

    written = path.read_text(encoding="utf-8")
    assert written == expected_text(written)
    assert [p.name for p in tmp_path.iterdir()] == ["tracker.json"]
    counts = ", ".join(
        f"{model._default_manager.count()} {section}" for section, model in SECTIONS.items()
    )
    assert err.getvalue() == f"Wrote {counts} to {path}\n"
    assert "6 status_events, 3 funding_lines" in counts


@pytest.mark.usefixtures("awkward_dataset")
def test_the_awkward_document_loads_back_and_exports_the_same(tmp_path: Path) -> None:
    first = export_text()
    rows_before = stored_rows()
    path = tmp_path / "export.json"
    path.write_text(first, encoding="utf-8")
    empty_tracker_tables()
    assert Measure.objects.count() == 0

    import_file(path)

    assert stored_rows() == rows_before
    second = export_text()
    assert second.replace(json.loads(second)["exported_at"], "") == first.replace(
        json.loads(first)["exported_at"], ""
    )


@pytest.mark.django_db(transaction=True)
def test_the_export_is_one_read_only_snapshot_while_others_write() -> None:
    """A change committed by another connection while the export runs, before the
    measures are read, is not in the document: every section is read in one REPEATABLE
    READ transaction (statement by statement, READ COMMITTED would show it)."""
    measure = MeasureFactory.create(title="As it was")
    other = connection.copy()

    class ChangedMidway(StringIO):
        def write(self, text: str) -> int:
            if text.endswith('"sources": '):
                with other.cursor() as cursor:
                    cursor.execute(
                        "UPDATE measures_measure SET title = 'Changed meanwhile' WHERE id = %s",
                        [measure.pk],
                    )
            return super().write(text)

    out = ChangedMidway()
    try:
        with CaptureQueriesContext(connection) as queries:
            call_command("export_data", stdout=out)
    finally:
        other.close()

    document = json.loads(out.getvalue())
    assert [row["title"] for row in document["measures"]] == ["As it was"]
    assert Measure.objects.get().title == "Changed meanwhile"
    statements = [query["sql"] for query in queries.captured_queries]
    assert statements[:2] == ["BEGIN", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"]
    assert sum(statement.startswith("COPY (SELECT") for statement in statements) == len(SECTIONS)


@pytest.mark.django_db(transaction=True)
def test_an_export_that_fails_half_way_leaves_the_earlier_file_as_it_was(tmp_path: Path) -> None:
    """The sections before the measures are written when reading the measures fails (here
    another connection holds them locked past the lock timeout): the file at the path is
    still the earlier one, and nothing half-written is left beside it."""
    MeasureFactory.create()
    path = tmp_path / "tracker.json"
    path.write_text("the earlier backup", encoding="utf-8")
    other = connection.copy()
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("LOCK TABLE measures_measure IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            call_command("export_data", "-o", str(path))
    finally:
        other.rollback()
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert path.read_text(encoding="utf-8") == "the earlier backup"
    assert [p.name for p in tmp_path.iterdir()] == ["tracker.json"]
