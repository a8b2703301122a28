"""The researcher's spreadsheet import of measures, status events and funding lines,
checked and written as a whole: all or nothing with every bad row shown, a number of SQL
statements that does not grow with the rows, an audit row for every written row in the
request's context, and stored rows (the measures' cached status included) exactly as the
services leave them when each row is written alone."""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import tablib  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from measures.services import (
    CitationInput,
    InvalidRowsError,
    RowWrite,
    full_clean_many,
    funding_line_create,
    measure_create,
    measure_write_many,
    status_event_record,
    status_event_record_many,
)
from strategy.models import Organisation, Source, Strategy
from tests.admin.test_admin import signed_in
from tests.factories import OrganisationFactory, SourceFactory, StrategyFactory
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

MEASURE_COLUMNS = [
    "slug",
    "strategy",
    "title",
    "summary",
    "category",
    "lead_organisation",
    "instrument",
    "legal_vehicle",
    "target_on",
]
EVENT_COLUMNS = [
    "measure",
    "axis",
    "value",
    "effective_on",
    "effective_on_precision",
    "extent",
    "area",
    "ends_on",
    "rationale",
    "source",
    "quote",
    "locator",
]
FUNDING_COLUMNS = [
    "id",
    "strategy",
    "measure",
    "parent",
    "title",
    "amount",
    "currency",
    "phase",
    "announced_on",
    "announced_on_precision",
    "realises",
    "is_ceiling",
    "source",
    "quote",
]
INSTRUMENTS = ["legislation", "guidance", "funding", "operational"]


def as_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def preview(client: Client, model: str, text: str) -> Any:
    upload = io.BytesIO(text.encode())
    upload.name = f"{model}.csv"
    response = client.post(
        reverse(f"admin:measures_{model}_import"),
        {"import_file": upload, "format": "0", "resource": "0"},
    )
    assert response.status_code == 200
    return response


def confirm(client: Client, model: str, previewed: Any) -> Any:
    confirm_form = previewed.context["confirm_form"]
    assert confirm_form is not None, previewed.context["preview_rows"]
    response = client.post(reverse(f"admin:measures_{model}_process_import"), confirm_form.initial)
    assert response.status_code == 302
    return response


def import_file(client: Client, model: str, text: str) -> None:
    confirm(client, model, preview(client, model, text))


def errors_by_row(response: Any) -> dict[int, list[str]]:
    return {
        row["number"]: row["errors"] for row in response.context["preview_rows"] if row["errors"]
    }


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """Two strategies, two organisations and two sources, named as a file names them."""
    return {
        "strategies": [StrategyFactory.create(slug=f"svs-{n}") for n in range(2)],
        "organisations": [OrganisationFactory.create(slug=f"org-{n}") for n in range(2)],
        "sources": [SourceFactory.create(url=f"https://example.org/source-{n}") for n in range(2)],
    }


def measure_rows(count: int, prefix: str = "m") -> list[dict[str, Any]]:
    return [
        {
            "slug": f"{prefix}-{n:04d}",
            "strategy": f"svs-{n % 2}",
            "title": f"Measure {n}",
            "summary": "What was promised." if n % 3 else "",
            "category": "Prevention",
            "lead_organisation": f"org-{n % 2}" if n % 4 else "",
            "instrument": INSTRUMENTS[n % len(INSTRUMENTS)],
            "legal_vehicle": "Offensive Weapons Bill" if n % 5 == 0 else "",
            "target_on": "2020-03-31" if n % 2 else "",
        }
        for n in range(count)
    ]


def measure_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A file's row as the fields ``measure_create`` takes."""
    return {
        **row,
        "strategy": Strategy.objects.get(slug=row["strategy"]),
        "lead_organisation": Organisation.objects.filter(slug=row["lead_organisation"]).first(),
        "target_on": datetime.date.fromisoformat(row["target_on"]) if row["target_on"] else None,
    }


SKIPPED = {"id", "slug", "created_at", "updated_at", "change_xid", "search_vector"}


def stored(model: Any, rows: Any, *, skip: set[str] = SKIPPED) -> list[dict[str, Any]]:
    names = [
        f.attname
        for f in model._meta.concrete_fields
        if f.name not in skip and f.attname not in skip
    ]
    return [{name: getattr(row, name) for name in names} for row in rows]


def history(obj: Any, *, skip: set[str] = SKIPPED) -> list[tuple[Any, ...]]:
    """Its audit rows, oldest first: what happened and the values it left."""
    names = [
        f.attname for f in obj.history.model._meta.concrete_fields if not f.name.startswith("pgh_")
    ]
    names = [name for name in names if name not in skip]
    return [
        (event.pgh_label, *(getattr(event, name) for name in names))
        for event in obj.history.order_by("pgh_id")
    ]


class TestAllOrNothing:
    def test_bad_rows_among_many_write_nothing_and_each_is_shown_with_its_errors(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        measure_create(fields=measure_fields(measure_rows(1, "taken")[0]))
        rows = measure_rows(60)
        rows[7]["instrument"] = "telepathy"
        rows[20]["target_on"] = "31/03/2020"
        rows[33]["slug"] = "taken-0000"
        rows[41]["slug"] = "Not-Kebab"
        rows[50]["title"] = ""
        rows[50]["instrument"] = "telepathy"
        rows[55]["slug"] = rows[54]["slug"]
        response = preview(signed_in(researcher), "measure", as_csv(MEASURE_COLUMNS, rows))
        assert errors_by_row(response) == {
            8: ["instrument: Value 'telepathy' is not a valid choice."],
            21: [
                "target_on: “31/03/2020” is not a date: write dates as YYYY-MM-DD, e.g. 2018-04-09."
            ],
            42: [
                "slug: Use lowercase letters and digits in words joined by single hyphens, "
                "e.g. “home-office”."
            ],
            51: [
                "title: This field cannot be blank.",
                "instrument: Value 'telepathy' is not a valid choice.",
            ],
            56: ["slug: Row 55 of the file is about the same measure: give each measure one row."],
        }
        # The taken slug is the stored measure's: that row is an update of it.
        assert [row["import_type"] for row in response.context["preview_rows"]][33] == "update"
        assert response.context.get("confirm_form") is None
        body = response.content.decode()
        assert "write dates as YYYY-MM-DD" in body
        assert "telepathy" in body
        assert Measure.objects.count() == 1

    def test_funding_lines_refused_by_the_models_and_the_tree_are_each_shown(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        svs = world["strategies"][0]
        measure = measure_create(fields=measure_fields(measure_rows(1)[0]))
        source = world["sources"][0]
        envelope = funding_line_create(
            fields={
                "strategy": svs,
                "title": "Envelope",
                "amount": Decimal("40000000.00"),
                "phase": "announced",
                "source": source,
                "quote": "£40m",
            }
        )
        part = funding_line_create(
            fields={
                "strategy": svs,
                "parent": envelope,
                "title": "Part",
                "amount": Decimal("1000000.00"),
                "phase": "announced",
                "source": source,
                "quote": "£1m",
            }
        )
        good = {
            "id": "",
            "strategy": "svs-0",
            "measure": measure.slug,
            "title": "A line",
            "amount": "100.00",
            "currency": "GBP",
            "phase": "announced",
            "announced_on": "2019-03-15",
            "announced_on_precision": "day",
            "is_ceiling": "0",
            "source": source.url,
            "quote": "£100",
        }
        rows = [dict(good, title=f"Line {n}") for n in range(30)]
        rows[3].update(amount="-5")
        rows[9].update(currency="pounds")
        rows[12].update(strategy="svs-1")
        rows[18].update(announced_on_precision="month")
        rows[21].update(quote="")
        rows[25].update(id=str(envelope.pk), measure="", title="Envelope", parent=str(part.pk))
        response = preview(signed_in(researcher), "fundingline", as_csv(FUNDING_COLUMNS, rows))
        assert errors_by_row(response) == {
            4: ["amount: Ensure this value is greater than or equal to 0."],
            10: [
                "currency: Use a three-letter ISO 4217 code, e.g. GBP.",
                "currency: Ensure this value has at most 3 characters (it has 6).",
            ],
            13: ["measure: The measure belongs to another strategy."],
            19: [
                "announced_on: A date known to the month is recorded as the last day of that month."
            ],
            22: ["quote: Quote the passage or give a locator."],
            26: ["parent: A funding line cannot be drawn from itself."],
        }
        assert response.context.get("confirm_form") is None
        assert FundingLine.objects.count() == 2

    def test_a_file_that_no_longer_passes_at_the_confirm_step_writes_nothing(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        client = signed_in(researcher)
        rows = measure_rows(5)
        previewed = preview(client, "measure", as_csv(MEASURE_COLUMNS, rows))
        # Meanwhile a colleague creates one of the file's measures in another strategy
        # and gives it money: the file's row would move it.
        taken = measure_create(
            fields={**measure_fields(rows[2]), "strategy": world["strategies"][1]}
        )
        funding_line_create(
            fields={
                "strategy": world["strategies"][1],
                "measure": taken,
                "title": "Its money",
                "amount": Decimal("5.00"),
                "phase": "announced",
                "source": world["sources"][0],
                "quote": "£5",
            }
        )
        response = confirm(client, "measure", previewed)
        assert response["Location"] == reverse("admin:measures_measure_import")
        assert list(Measure.objects.values_list("slug", flat=True)) == [taken.slug]
        shown = [str(message) for message in response.wsgi_request._messages]
        assert any(message.startswith("Nothing was imported") for message in shown)


class TestStatementCount:
    def count(
        self, client: Client, rows: list[dict[str, Any]]
    ) -> tuple[Counter[str], Counter[str]]:
        """The statements of the preview and of the import, by what they touch: the
        webhook outbox's look-up of subscriptions, or anything else."""
        counts = []
        text = as_csv(MEASURE_COLUMNS, rows)
        with CaptureQueriesContext(connection) as previewing:
            previewed = preview(client, "measure", text)
        with CaptureQueriesContext(connection) as importing:
            confirm(client, "measure", previewed)
        for captured in (previewing, importing):
            counts.append(
                Counter(
                    "outbox" if 'FROM "webhooks_webhook"' in query["sql"] else "other"
                    for query in captured.captured_queries
                )
            )
        return counts[0], counts[1]

    def test_a_thousand_rows_cost_the_statements_a_hundred_do(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        client = signed_in(researcher)
        small = self.count(client, measure_rows(100, "small"))
        large = self.count(client, measure_rows(1000, "large"))
        assert Measure.objects.count() == 1100
        for few, many in zip(small, large, strict=True):
            assert abs(many["other"] - few["other"]) <= 2, (few, many)
            # Each change is announced as the services announce one (record_change); the
            # webhook outbox looks its subscriptions up at most once for each.
            assert 1 <= few["outbox"] <= 100
            assert 1 <= many["outbox"] <= 1000
        assert large[0]["other"] < 40
        assert large[1]["other"] < 40

    def test_changed_rows_cost_no_statement_each_either(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        client = signed_in(researcher)
        rows = measure_rows(300)
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, rows))
        for row in rows:
            row["title"] += " (revised)"
            row["lead_organisation"] = "org-1"
        with CaptureQueriesContext(connection) as captured:
            import_file(client, "measure", as_csv(MEASURE_COLUMNS, rows))
        other = [q for q in captured.captured_queries if 'FROM "webhooks_webhook"' not in q["sql"]]
        assert len(other) < 60
        assert set(Measure.objects.values_list("version", "lead_organisation__slug")) == {
            (2, "org-1")
        }
        assert Measure.objects.filter(title__endswith="(revised)").count() == 300

    def test_a_measure_with_money_cannot_move_to_another_strategy(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        # A row that moves its measure is checked by the model's own look-up of the stored
        # row (Measure.clean); the rows that keep their strategy cost nothing each.
        client = signed_in(researcher)
        rows = measure_rows(4)
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, rows))
        funding_line_create(
            fields={
                "strategy": world["strategies"][0],
                "measure": Measure.objects.get(slug="m-0000"),
                "title": "Its money",
                "amount": Decimal("5.00"),
                "phase": "announced",
                "source": world["sources"][0],
                "quote": "£5",
            }
        )
        rows[0]["strategy"] = rows[2]["strategy"] = "svs-1"
        response = preview(client, "measure", as_csv(MEASURE_COLUMNS, rows))
        assert errors_by_row(response) == {
            1: [
                "strategy: This measure has funding lines in its strategy: move or detach them "
                "before moving the measure to another strategy."
            ]
        }
        assert [row["import_type"] for row in response.context["preview_rows"]] == [
            "invalid",
            "skip",
            "update",
            "skip",
        ]


class TestAudit:
    def test_every_written_row_has_its_audit_row_in_the_requests_context(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        client = signed_in(researcher)
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, measure_rows(20)))
        events = [event_row(f"m-{n:04d}", "stage", "announced", "2018-04-09") for n in range(20)]
        import_file(client, "statusevent", as_csv(EVENT_COLUMNS, events))
        lines = [
            {
                "strategy": f"svs-{n % 2}",
                "measure": f"m-{n:04d}",
                "title": f"Line {n}",
                "amount": "10.00",
                "currency": "GBP",
                "phase": "spent",
                "source": "https://example.org/source-0",
                "quote": "£10",
            }
            for n in range(20)
        ]
        import_file(client, "fundingline", as_csv(FUNDING_COLUMNS, lines))
        measures, recorded, funding = (
            reverse(f"admin:measures_{name}_process_import")
            for name in ("measure", "statusevent", "fundingline")
        )
        model: Any
        for model, label, url in (
            (Measure, "insert", measures),
            (Measure, "update", recorded),  # the cached status, once per event
            (StatusEvent, "insert", recorded),
            (EventCitation, "insert", recorded),
            (FundingLine, "insert", funding),
        ):
            audit = model.history.rel.related_model.objects.filter(pgh_label=label)
            assert audit.count() == 20, (model, label)
            assert {
                (entry.pgh_context.metadata["user"], entry.pgh_context.metadata["url"])
                for entry in audit.select_related("pgh_context")
            } == {(researcher.pk, url)}
            assert set(audit.values_list("pgh_obj_id", flat=True)) == set(
                model.objects.values_list("pk", flat=True)
            )
        # The change feed's stamp, by the same triggers.
        assert not Measure.objects.filter(change_xid__isnull=True).exists()
        assert not StatusEvent.objects.filter(change_xid__isnull=True).exists()
        assert not FundingLine.objects.filter(change_xid__isnull=True).exists()

    def test_every_written_row_is_announced_to_the_subscribers(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        Webhook.objects.create(
            owner=researcher,
            target_url="https://hooks.example.org/tracker",
            kinds=["measure.created", "status_event.recorded"],
            filter={"strategy": "svs-0"},
            secret="whsec_test",
        )
        client = signed_in(researcher)
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, measure_rows(6)))
        events = [event_row(f"m-{n:04d}", "stage", "announced", "2018-04-09") for n in range(6)]
        import_file(client, "statusevent", as_csv(EVENT_COLUMNS, events))
        kinds = Counter(Delivery.objects.values_list("kind", flat=True))
        # Three of the six are in the strategy the subscription asks for.
        assert kinds == {"measure.created": 3, "status_event.recorded": 3}


def event_row(
    measure: str, axis: str, value: str, effective_on: str, **cells: str
) -> dict[str, str]:
    return {
        "measure": measure,
        "axis": axis,
        "value": value,
        "effective_on": effective_on,
        "effective_on_precision": cells.pop("precision", "day"),
        "rationale": f"Why it is {value}.",
        "source": "https://example.org/source-0",
        "quote": f"It is {value}.",
        **cells,
    }


def event_plan(slug: str, n: int, soon: datetime.date) -> list[dict[str, str]]:
    """A measure's events, in the order recorded: stages in and out of order of date, in
    nations and in a pilot area with an end, ratings, a date known to the month, a date
    to come; every other measure without some of them."""
    plan = [
        event_row(slug, "stage", "announced", "2018-04-09"),
        event_row(slug, "verdict", "in_the_works", "2019-06-30", precision="month"),
        event_row(slug, "stage", "legislating", "2019-01-15"),
        event_row(slug, "stage", "enacted", "2019-04-02"),
        event_row(slug, "stage", "in_force", "2020-01-01", extent="england, wales"),
        event_row(
            slug,
            "stage",
            "in_force",
            "2021-06-01",
            extent="england",
            area="Metropolitan police district",
            ends_on="2023-03-31",
        ),
        event_row(slug, "confidence", "amber", soon.isoformat()),
    ]
    if n % 2:
        # Recorded last, dated between the first two stages: both moves around it count.
        plan.append(event_row(slug, "stage", "in_development", "2018-06-01", locator="p. 4"))
        plan.append(event_row(slug, "stage", "implementing", "2022-01-01", extent="england, wales"))
    return plan


def record_by_service(row: dict[str, str], user: Any) -> None:
    status_event_record(
        measure=Measure.objects.get(slug=row["measure"]),
        axis=row["axis"],
        value=row["value"],
        effective_on=datetime.date.fromisoformat(row["effective_on"]),
        effective_on_precision=row["effective_on_precision"],
        extent=[n.strip() for n in row.get("extent", "").split(",") if n.strip()],
        area=row.get("area", ""),
        ends_on=datetime.date.fromisoformat(row["ends_on"]) if row.get("ends_on") else None,
        rationale=row["rationale"],
        citations=[
            CitationInput(
                source=Source.objects.get(url=row["source"]),
                quote=row.get("quote", ""),
                locator=row.get("locator", ""),
            )
        ]
        if row["source"]
        else [],
        recorded_by=user,
    )


class TestAsTheServicesLeaveThem:
    """The same file written row by row through the services (``measure_create``,
    ``status_event_record``, ``funding_line_create``) and through the import: measures
    ``a-…`` by the first, ``b-…`` by the second, every stored value and audit row alike."""

    def test_measures_events_and_their_cached_status(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        soon = timezone.localdate() + datetime.timedelta(days=30)
        client = signed_in(researcher)
        count = 8
        for row in measure_rows(count, "a"):
            measure_create(fields=measure_fields(row))
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, measure_rows(count, "b")))
        # The file lists the first event of every measure, then the second, and so on.
        plans = [event_plan(f"{prefix}-{n:04d}", n, soon) for prefix in "ab" for n in range(count)]
        by_service = [
            row for step in range(9) for plan in plans[:count] for row in plan[step : step + 1]
        ]
        by_import = [
            row for step in range(9) for plan in plans[count:] for row in plan[step : step + 1]
        ]
        for row in by_service:
            record_by_service(row, researcher)
        import_file(client, "statusevent", as_csv(EVENT_COLUMNS, by_import))

        unversioned = {*SKIPPED, "version"}
        for n in range(count):
            a = Measure.objects.get(slug=f"a-{n:04d}")
            b = Measure.objects.get(slug=f"b-{n:04d}")
            assert stored(Measure, [b], skip=unversioned) == stored(Measure, [a], skip=unversioned)
            assert b.stage in ("in_force", "implementing")
            assert b.status_valid_until == soon
            # Recorded one by one, each event is a change of the measure; the file is one.
            assert a.version == 1 + len(event_plan("", n, soon))
            assert b.version == 2
            # The file leaves one history row: the state the services' last row holds.
            assert [label for label, *_ in history(b)] == ["insert", "update"]
            assert history(b, skip=unversioned) == [
                history(a, skip=unversioned)[0],
                history(a, skip=unversioned)[-1],
            ]
            skip = {*SKIPPED, "measure", "recorded_at"}
            a_events = a.events.order_by("id")
            b_events = b.events.order_by("id")
            assert stored(StatusEvent, b_events, skip=skip) == stored(
                StatusEvent, a_events, skip=skip
            )
            cited = {*SKIPPED, "event"}
            assert stored(
                EventCitation,
                EventCitation.objects.filter(event__measure=b).order_by("id"),
                skip=cited,
            ) == stored(
                EventCitation,
                EventCitation.objects.filter(event__measure=a).order_by("id"),
                skip=cited,
            )
            for event_a, event_b in zip(a_events, b_events, strict=True):
                assert len(history(event_b)) == len(history(event_a)) == 1

    def test_funding_lines_added_and_changed(self, researcher: Any, world: dict[str, Any]) -> None:
        client = signed_in(researcher)
        for row in (*measure_rows(4, "a"), *measure_rows(4, "b")):
            measure_create(fields=measure_fields(row))
        envelope = funding_line_create(
            fields={
                "strategy": world["strategies"][0],
                "title": "Envelope",
                "amount": Decimal("40000000.00"),
                "phase": "announced",
                "announced_on": datetime.date(2018, 4, 9),
                "source": world["sources"][0],
                "quote": "£40m",
            }
        )

        def lines(prefix: str) -> list[dict[str, Any]]:
            return [
                {
                    "id": "",
                    "strategy": f"svs-{n % 2}",
                    "measure": f"{prefix}-{n:04d}",
                    "parent": str(envelope.pk) if n % 2 == 0 else "",
                    "title": f"Line {n}",
                    "amount": f"{n + 1}000.50",
                    "currency": "GBP",
                    "phase": ["announced", "allocated", "spent", "committed"][n],
                    "announced_on": "2019-03-31" if n % 2 else "2019-03-15",
                    "announced_on_precision": "month" if n % 2 else "day",
                    "is_ceiling": "1" if n == 3 else "0",
                    "source": world["sources"][n % 2].url,
                    "quote": f"£{n + 1}000.50",
                }
                for n in range(4)
            ]

        for row in lines("a"):
            funding_line_create(
                fields={
                    "strategy": Strategy.objects.get(slug=row["strategy"]),
                    "measure": Measure.objects.get(slug=row["measure"]),
                    "parent": envelope if row["parent"] else None,
                    "title": row["title"],
                    "amount": Decimal(row["amount"]),
                    "phase": row["phase"],
                    "announced_on": datetime.date.fromisoformat(row["announced_on"]),
                    "announced_on_precision": row["announced_on_precision"],
                    "is_ceiling": row["is_ceiling"] == "1",
                    "source": Source.objects.get(url=row["source"]),
                    "quote": row["quote"],
                },
                recorded_by=researcher,
            )
        import_file(client, "fundingline", as_csv(FUNDING_COLUMNS, lines("b")))
        skip = {*SKIPPED, "measure_id"}
        by_service = FundingLine.objects.filter(measure__slug__startswith="a-").order_by("id")
        by_import = FundingLine.objects.filter(measure__slug__startswith="b-").order_by("id")
        assert stored(FundingLine, by_import, skip=skip) == stored(
            FundingLine, by_service, skip=skip
        )
        assert [len(history(line)) for line in by_import] == [1, 1, 1, 1]

        # Changed by a second file: written as funding_line_update writes a change.
        changed = [
            {**row, "id": str(line.pk), "amount": "7.00", "parent": ""}
            for row, line in zip(lines("b"), by_import, strict=True)
        ]
        import_file(client, "fundingline", as_csv(FUNDING_COLUMNS, changed))
        assert set(by_import.values_list("amount", "parent")) == {(Decimal("7.00"), None)}
        assert [[label for label, *_ in history(line)] for line in by_import] == [
            ["insert", "update"]
        ] * 4


class TestEventsImport:
    def test_a_forbidden_stage_move_is_refused_with_both_stages_named(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        client = signed_in(researcher)
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, measure_rows(3)))
        record_by_service(event_row("m-0002", "stage", "completed", "2020-01-01"), researcher)
        rows = [
            event_row("m-0000", "stage", "announced", "2018-04-09"),
            event_row("m-0000", "stage", "implementing", "2019-01-01"),
            event_row("m-0000", "stage", "completed", "2020-01-01"),
            event_row("m-0000", "stage", "announced", "2021-01-01"),  # after the file's own
            event_row("m-0001", "stage", "enacted", "2019-01-01"),
            event_row("m-0001", "stage", "in_force", "2018-06-01"),  # back-dated before it
            event_row("m-0002", "stage", "announced", "2021-01-01"),  # after the stored one
            event_row("m-0001", "verdict", "telepathy", "2019-01-01"),
            event_row("m-0001", "stage", "in_force", "2019-05-31", precision="month", quote=""),
            event_row("m-0001", "stage", "in_force", "2019-06-15", precision="month", source=""),
            event_row(
                "m-0001", "stage", "in_force", "2019-06-01", ends_on="2019-01-01", extent="france"
            ),
            event_row("m-0001", "stage", "in_force", "2019-07-01", extent="scotland"),
        ]
        expected = service_errors(rows, researcher)
        response = preview(client, "statusevent", as_csv(EVENT_COLUMNS, rows))
        assert errors_by_row(response) == expected
        assert expected == {
            4: ["value: A measure cannot move from “Completed” to “Announced” (on 2021-01-01)."],
            6: [
                "value: A measure cannot move from “In force (commenced)” to “Enacted (Royal "
                "Assent)” (on 2019-01-01)."
            ],
            7: ["value: A measure cannot move from “Completed” to “Announced” (on 2021-01-01)."],
            8: [
                "value: “telepathy” is not a verdict; choose one of not_yet_rated, in_the_works, "
                "stalled, kept, partially_kept, broken, unratable."
            ],
            9: ["quote: Quote the passage or give a locator."],
            10: [
                "source: Cite at least one source.",
                "effective_on: A date known to the month is recorded as the last day of that month.",
            ],
            11: [
                "extent: Item 1 in the array did not validate: Value 'france' is not a valid "
                "choice.",
                "ends_on: It cannot end before it takes effect.",
            ],
        }
        assert response.context.get("confirm_form") is None
        assert StatusEvent.objects.count() == 1

    def test_a_valid_sequence_is_recorded_in_the_order_of_the_file(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        client = signed_in(researcher)
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, measure_rows(2)))
        record_by_service(event_row("m-0001", "stage", "legislating", "2019-01-01"), researcher)
        rows = [
            event_row("m-0000", "stage", "announced", "2018-04-09"),
            event_row("m-0001", "stage", "enacted", "2019-04-02"),
            event_row("m-0000", "stage", "legislating", "2019-01-01"),
            event_row("m-0001", "stage", "in_force", "2020-01-01", extent="scotland"),
            event_row("m-0001", "stage", "in_force", "2021-01-01", extent="england, wales"),
            event_row("m-0000", "stage", "in_development", "2018-06-01"),  # back-dated
            event_row("m-0000", "confidence", "green", "2019-02-28", precision="month"),
        ]
        assert service_errors(rows, researcher) == {}
        import_file(client, "statusevent", as_csv(EVENT_COLUMNS, rows))
        first, second = Measure.objects.order_by("slug")
        assert (first.stage, first.stage_since, first.confidence, first.version) == (
            "legislating",
            datetime.date(2019, 1, 1),
            "green",
            2,
        )
        assert (second.stage, second.stage_since, second.version) == (
            "in_force",
            datetime.date(2021, 1, 1),
            3,
        )
        assert list(
            StatusEvent.objects.filter(measure=second).order_by("id").values_list("value", "extent")
        ) == [
            ("legislating", []),
            ("enacted", []),
            ("in_force", ["scotland"]),
            ("in_force", ["england", "wales"]),
        ]
        assert set(StatusEvent.objects.values_list("recorded_by", flat=True)) == {researcher.pk}


def service_errors(rows: list[dict[str, str]], user: Any) -> dict[int, list[str]]:
    """What ``status_event_record`` refuses of each row, the rows recorded in turn, as the
    preview shows it (the citation's errors under its columns); nothing is kept."""
    found: dict[int, list[str]] = {}
    with transaction.atomic():
        for number, row in enumerate(rows, start=1):
            try:
                with transaction.atomic():
                    record_by_service(row, user)
            except ValidationError as error:
                found[number] = [
                    f"{'source' if key == 'citations' else key.rsplit('.', 1)[-1]}: {message}"
                    for key, messages in error.message_dict.items()
                    for message in messages
                ]
        transaction.set_rollback(True)
    return found


class TestEventsImportPage:
    def test_researchers_import_events_reviewers_do_not_and_nobody_exports_them(
        self, researcher: Any, reviewer: Any
    ) -> None:
        client = signed_in(researcher)
        listed = client.get(reverse("admin:measures_statusevent_changelist")).content.decode()
        assert reverse("admin:measures_statusevent_import") in listed
        assert reverse("admin:measures_statusevent_export") not in listed
        page = client.get(reverse("admin:measures_statusevent_import"))
        assert page.status_code == 200
        assert "One event a row, with its evidence" in page.content.decode()
        assert client.get(reverse("admin:measures_statusevent_export")).status_code == 403
        assert (
            signed_in(reviewer).get(reverse("admin:measures_statusevent_import")).status_code == 403
        )

    def test_a_spreadsheet_of_events_is_read_like_a_csv_file(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        client = signed_in(researcher)
        import_file(client, "measure", as_csv(MEASURE_COLUMNS, measure_rows(1)))
        sheet = tablib.Dataset(headers=EVENT_COLUMNS)
        for row in (
            event_row("m-0000", "stage", "announced", "2018-04-09"),
            event_row("m-0000", "stage", "legislating", "2019-01-31", precision="month"),
        ):
            sheet.append(
                [
                    datetime.date.fromisoformat(row[column])
                    if column == "effective_on"
                    else row.get(column, "")
                    for column in EVENT_COLUMNS
                ]
            )
        upload = io.BytesIO(sheet.export("xlsx"))
        upload.name = "events.xlsx"
        previewed = client.post(
            reverse("admin:measures_statusevent_import"),
            {"import_file": upload, "format": "1", "resource": "0"},
        )
        confirm(client, "statusevent", previewed)
        measure = Measure.objects.get()
        assert (measure.stage, measure.stage_since, measure.version) == (
            "legislating",
            datetime.date(2019, 1, 31),
            2,
        )


class TestCheckingASetAsEachRowAlone:
    """``full_clean_many`` answers for each row what its own ``full_clean`` answers."""

    def alone(self, instance: Any) -> dict[str, list[str]]:
        try:
            instance.full_clean()
        except ValidationError as error:
            return error.message_dict
        return {}

    def test_measures_funding_lines_and_events(self, world: dict[str, Any]) -> None:
        svs, other = world["strategies"]
        source = world["sources"][0]
        taken = measure_create(fields=measure_fields(measure_rows(1, "taken")[0]))
        elsewhere = measure_create(
            fields={**measure_fields(measure_rows(1, "elsewhere")[0]), "strategy": other}
        )
        measures = [
            Measure(slug="fine", strategy=svs, title="Fine", instrument="funding"),
            Measure(slug="Bad Slug", strategy=svs, title="", instrument="telepathy"),
            Measure(slug=taken.slug, strategy=svs, title="Taken", instrument="funding"),
            Measure(slug="no-strategy", title="T", instrument="funding"),  # no strategy
            Measure(slug="ghost-strategy", strategy_id=999_999, title="T", instrument="funding"),
            Measure(slug="x" * 121, strategy=svs, title="T" * 301, instrument="guidance"),
        ]
        lines = [
            FundingLine(
                strategy=svs,
                title="Fine",
                amount=Decimal("1.00"),
                phase="spent",
                source=source,
                quote="q",
            ),
            FundingLine(
                strategy=svs,
                measure=elsewhere,
                title="Other strategy",
                amount=Decimal("-1"),
                phase="gone",
                currency="gbp",
                source=source,
            ),
            FundingLine(
                strategy=svs,
                title="Backwards",
                amount=Decimal("1"),
                phase="spent",
                period_start=datetime.date(2020, 1, 1),
                period_end=datetime.date(2019, 1, 1),
                announced_on=datetime.date(2019, 3, 15),
                announced_on_precision="month",
                source=source,
                quote="q",
            ),
            FundingLine(
                strategy=svs,
                title="No source",
                amount=Decimal("1"),
                phase="spent",
                source_id=999_999,
                locator="p. 1",
            ),
        ]
        events = [
            StatusEvent(
                measure=taken,
                axis="stage",
                value="announced",
                effective_on=datetime.date(2019, 1, 1),
                rationale="r",
            ),
            StatusEvent(
                measure=taken,
                axis="verdict",
                value="in_force",
                effective_on=datetime.date(2019, 1, 15),
                effective_on_precision="month",
                rationale="",
            ),
            StatusEvent(
                measure=taken,
                axis="mood",
                value="happy",
                effective_on=datetime.date(2019, 1, 1),
                ends_on=datetime.date(2018, 1, 1),
                extent=["england", "france"],
                area="",
                rationale="r",
            ),
        ]
        for instances, exclude in ((measures, ()), (lines, ()), (events, ("recorded_at",))):
            expected = {}
            for index, instance in enumerate(instances):
                try:
                    instance.full_clean(exclude=exclude)
                except ValidationError as error:
                    expected[index] = error.message_dict
            assert expected  # every kind of rule is exercised
            found = full_clean_many(instances, exclude=exclude)
            assert {index: error.message_dict for index, error in found.items()} == expected


class TestSetServices:
    def test_a_stored_row_named_twice_or_gone_is_refused_alone(self, world: dict[str, Any]) -> None:
        measure = measure_create(fields=measure_fields(measure_rows(1)[0]))
        with pytest.raises(InvalidRowsError) as refused:
            measure_write_many(
                rows=[
                    RowWrite(fields={"title": "One"}, target=measure.pk),
                    RowWrite(fields={"title": "Two"}, target=measure.pk),
                    RowWrite(fields={"title": "Three"}, target=999_999),
                    RowWrite(fields={"title": "Four", "version": 7}, target=measure.pk),
                ]
            )
        assert {index: error.message_dict for index, error in refused.value.errors.items()} == {
            1: {"__all__": ["This measure is changed by an earlier row of the set."]},
            2: {"__all__": ["This measure no longer exists."]},
            3: {"version": ["This field cannot be written here."]},
        }
        measure.refresh_from_db()
        assert (measure.title, measure.version) == ("Measure 0", 1)

    def test_events_limited_or_not_are_written_in_the_order_given(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        """Events limited to some nations are inserted apart from the others (an array
        column keeps Django from inserting by ``UNNEST``): their ids still rise in the order
        given, every extent is as given, and the others take one ``UNNEST`` statement."""
        measures = [measure_create(fields=measure_fields(row)) for row in measure_rows(3, "order")]
        cite = [CitationInput(source=world["sources"][0], quote="q")]
        plan = [
            (0, "legislating", "2019-01-01", []),
            (1, "legislating", "2019-01-01", []),
            (0, "enacted", "2019-04-02", []),
            (0, "in_force", "2020-01-01", ["scotland"]),
            (1, "enacted", "2019-04-02", []),
            (0, "in_force", "2021-01-01", ["wales", "england"]),
            (1, "in_force", "2020-01-01", ["northern_ireland"]),
            (2, "announced", "2018-04-09", []),
        ]
        with CaptureQueriesContext(connection) as queries:
            events = status_event_record_many(
                events=[
                    {
                        "measure": measures[n],
                        "axis": "stage",
                        "value": value,
                        "effective_on": datetime.date.fromisoformat(day),
                        "rationale": "r",
                        "citations": cite,
                        "extent": extent,
                    }
                    for n, value, day, extent in plan
                ],
                recorded_by=researcher,
            )
        assert [event.pk for event in events] == sorted(event.pk for event in events)
        stored = StatusEvent.objects.filter(pk__in=[event.pk for event in events])
        assert list(stored.order_by("id").values_list("measure", "value", "extent")) == [
            (
                measures[n].pk,
                value,
                sorted(extent, key=["england", "wales", "scotland", "northern_ireland"].index),
            )
            for n, value, _, extent in plan
        ]
        inserts = [
            query["sql"].split(" RETURNING ")[0]
            for query in queries.captured_queries
            if query["sql"].startswith('INSERT INTO "measures_statusevent"')
        ]
        assert len(inserts) == 2
        assert "UNNEST" in inserts[0]
        assert '"extent"' not in inserts[0]
        assert '"extent"' in inserts[1]
        assert inserts[1].count("), (") == 2
        assert [
            measure.stage
            for measure in Measure.objects.filter(slug__startswith="order").order_by("slug")
        ] == ["in_force", "in_force", "announced"]

    def test_events_come_back_recorded_with_their_measure_as_it_now_stands(
        self, researcher: Any, world: dict[str, Any]
    ) -> None:
        measure = measure_create(fields=measure_fields(measure_rows(1)[0]))
        cite = [CitationInput(source=world["sources"][0], quote="q")]
        events = status_event_record_many(
            events=[
                {
                    "measure": measure,
                    "axis": "stage",
                    "value": value,
                    "effective_on": day,
                    "rationale": " why ",
                    "citations": cite,
                    "extent": ["wales", "england"],
                }
                for value, day in (
                    ("announced", datetime.date(2018, 4, 9)),
                    ("legislating", datetime.date(2019, 1, 1)),
                )
            ],
            recorded_by=researcher,
        )
        recorded_at = dict(
            StatusEvent.objects.filter(pk__in=[event.pk for event in events]).values_list(
                "pk", "recorded_at"
            )
        )
        assert [event.recorded_at for event in events] == [recorded_at[e.pk] for e in events]
        assert all(isinstance(event.recorded_at, datetime.datetime) for event in events)
        assert {event.measure.version for event in events} == {2}
        assert [(e.value, e.extent, e.rationale) for e in events] == [
            ("announced", ["england", "wales"], "why"),
            ("legislating", ["england", "wales"], "why"),
        ]
