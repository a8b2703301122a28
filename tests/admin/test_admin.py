"""The researchers' admin through Django's test client: the changelist's query count,
refusal of a stale save, the audit trail of admin, API and bulk writes, bulk import with a
preview that refuses a bad file, and the two roles."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from measures.models import AuditEvent, Measure, StatusEvent
from measures.services import CitationInput, status_event_record
from tests.factories import FundingLineFactory, MeasureFactory, SourceFactory, StrategyFactory

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_form_data(measure: Measure, **changes: Any) -> dict[str, Any]:
    data = {
        "strategy": measure.strategy_id,
        "title": measure.title,
        "summary": measure.summary,
        "category": measure.category,
        "lead_organisation": measure.lead_organisation_id or "",
        "instrument": measure.instrument,
        "legal_vehicle": measure.legal_vehicle,
        "target_on": measure.target_on or "",
        "expected_version": measure.version,
        "_save": "Save",
    }
    data.update(changes)
    return data


class TestMeasureChangelist:
    def test_query_count_does_not_grow_with_rows(
        self, researcher: Any, django_assert_num_queries: DjangoAssertNumQueries
    ) -> None:
        client = signed_in(researcher)
        url = reverse("admin:measures_measure_changelist")
        strategy = StrategyFactory.create()
        source = SourceFactory.create()

        def add(count: int) -> None:
            for _ in range(count):
                measure = MeasureFactory.create(
                    strategy=strategy, target_on=datetime.date(2019, 1, 1)
                )
                status_event_record(
                    measure=measure,
                    axis="stage",
                    value="announced",
                    effective_on=datetime.date(2018, 4, 9),
                    rationale="r",
                    citations=[CitationInput(source=source, quote="q")],
                )
                FundingLineFactory.create(strategy=strategy, measure=measure)

        add(3)
        client.get(url)  # warm caches (content types, session)
        with django_assert_num_queries(11) as few:
            assert client.get(url).status_code == 200
        add(30)
        with django_assert_num_queries(len(few.captured_queries)):
            response = client.get(url)
        assert response.status_code == 200
        assert response.content.count(b'class="field-title"') == 33

    def test_shows_status_money_and_overdue(self, researcher: Any) -> None:
        measure = MeasureFactory.create(target_on=datetime.date(2019, 1, 1), title="Acid offence")
        FundingLineFactory.create(
            strategy=measure.strategy, measure=measure, phase="spent", amount="3600000"
        )
        response = signed_in(researcher).get(
            reverse("admin:measures_measure_changelist"), {"overdue": "yes"}
        )
        body = response.content.decode()
        assert "Acid offence" in body
        assert "Spent £3.60m" in body
        assert 'alt="True"' in body  # the overdue icon


class TestStaleVersion:
    def test_second_save_of_a_stale_version_is_refused(self, researcher: Any, roles: None) -> None:
        measure = MeasureFactory.create(title="Original title")
        url = reverse("admin:measures_measure_change", args=[measure.pk])
        alice, bob = signed_in(researcher), signed_in(researcher)
        opened = change_form_data(measure)  # both open version 1

        first = alice.post(url, {**opened, "title": "Alice's title"})
        assert first.status_code == 302
        second = bob.post(url, {**opened, "title": "Bob's title"})
        assert second.status_code == 200
        assert (
            "Someone else saved this measure while you were editing it" in second.content.decode()
        )
        assert "rita" in second.content.decode()  # who made the newer version

        measure.refresh_from_db()
        assert (measure.title, measure.version) == ("Alice's title", 2)

    def test_save_of_the_current_version_succeeds_and_bumps_it(self, researcher: Any) -> None:
        measure = MeasureFactory.create()
        url = reverse("admin:measures_measure_change", args=[measure.pk])
        response = signed_in(researcher).post(url, change_form_data(measure, title="Better"))
        assert response.status_code == 302
        measure.refresh_from_db()
        assert (measure.title, measure.version) == ("Better", 2)


class TestAuditTrail:
    def history(self, measure: Measure) -> list[Any]:
        return list(measure.history.order_by("pgh_id").select_related("pgh_context"))  # type: ignore[attr-defined]

    def test_admin_edit_is_recorded_with_user_and_before_and_after(self, researcher: Any) -> None:
        measure = MeasureFactory.create(title="Before")
        url = reverse("admin:measures_measure_change", args=[measure.pk])
        signed_in(researcher).post(url, change_form_data(measure, title="After"))
        update = self.history(measure)[-1]
        assert update.pgh_label == "update"
        assert update.title == "After"
        assert update.pgh_context.metadata["user"] == researcher.pk
        assert update.pgh_context.metadata["url"] == url
        diff = AuditEvent.objects.tracks(measure).filter(pgh_label="update").get().pgh_diff
        assert diff["title"] == ["Before", "After"]

    def test_api_edit_is_recorded_with_the_token_user(self, researcher: Any) -> None:
        measure = MeasureFactory.create(title="Before")
        token = Token.objects.create(user=researcher)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        response = client.patch(
            f"/api/v1/measures/{measure.slug}/", {"title": "From the API"}, format="json"
        )
        assert response.status_code == 200, response.content
        update = self.history(measure)[-1]
        assert update.title == "From the API"
        assert update.pgh_context.metadata["user"] == researcher.pk
        assert update.pgh_context.metadata["url"] == f"/api/v1/measures/{measure.slug}/"

    def test_bulk_update_is_recorded_too(self) -> None:
        measures = MeasureFactory.create_batch(3, category="Old")
        Measure.objects.filter(pk__in=[m.pk for m in measures]).update(category="New")
        for measure in measures:
            update = self.history(measure)[-1]
            assert (update.pgh_label, update.category) == ("update", "New")
            assert update.pgh_context is None  # no request: nobody to name, still recorded

    def test_audit_trail_is_linked_from_every_tracked_object(self, researcher: Any) -> None:
        measure = MeasureFactory.create()
        page = signed_in(researcher).get(
            reverse("admin:measures_measure_change", args=[measure.pk])
        )
        assert f"obj=measures.Measure:{measure.pk}" in page.content.decode()
        trail = signed_in(researcher).get(
            reverse("admin:measures_auditevent_changelist"),
            {"method": "tracks", "obj": f"measures.Measure:{measure.pk}"},
        )
        assert trail.status_code == 200
        assert "insert" in trail.content.decode()


class TestRecordEventInAdmin:
    def test_event_goes_through_the_service_and_refuses_a_forbidden_move(
        self, researcher: Any
    ) -> None:
        measure = MeasureFactory.create()
        source = SourceFactory.create()
        url = reverse("admin:measures_measure_record_event", args=[measure.pk])
        client = signed_in(researcher)
        ok = client.post(
            url,
            {
                "change": "stage:completed",
                "effective_on": "2020-01-01",
                "rationale": "done",
                "source": source.pk,
                "quote": "it is done",
            },
        )
        assert ok.status_code == 302
        refused = client.post(
            url,
            {
                "change": "stage:announced",
                "effective_on": "2021-01-01",
                "rationale": "again",
                "source": source.pk,
                "quote": "q",
            },
        )
        assert refused.status_code == 200
        assert "cannot move from “Completed” to “Announced”" in refused.content.decode()
        assert list(
            StatusEvent.objects.filter(measure=measure).values_list("value", flat=True)
        ) == ["completed"]

    def test_event_without_evidence_is_refused(self, researcher: Any) -> None:
        measure = MeasureFactory.create()
        url = reverse("admin:measures_measure_record_event", args=[measure.pk])
        response = signed_in(researcher).post(
            url,
            {
                "change": "stage:announced",
                "effective_on": "2018-04-09",
                "rationale": "r",
                "source": SourceFactory.create().pk,
                "quote": "",
                "locator": "",
            },
        )
        assert response.status_code == 200
        assert "Quote the passage or give a locator." in response.content.decode()
        assert not StatusEvent.objects.exists()


class TestImport:
    def upload(self, client: Client, csv_text: str) -> Any:
        url = reverse("admin:measures_measure_import")
        upload = io.BytesIO(csv_text.encode())
        upload.name = "measures.csv"
        return client.post(url, {"import_file": upload, "format": "0", "resource": "0"})

    def test_preview_lists_the_bad_row_and_nothing_is_written(self, researcher: Any) -> None:
        strategy = StrategyFactory.create(slug="svs")
        csv_text = (
            "slug,strategy,title,summary,category,lead_organisation,instrument,legal_vehicle,target_on\n"
            "good-one,svs,A good measure,,Prevention,,funding,,\n"
            "bad-one,svs,A bad measure,,Prevention,,telepathy,,\n"
            "good-two,svs,Another good one,,Prevention,,guidance,,2020-03-31\n"
        )
        response = self.upload(signed_in(researcher), csv_text)
        body = response.content.decode()
        assert response.status_code == 200
        assert "telepathy" in body
        assert "is not a valid choice" in body
        # With an invalid row there is nothing to confirm: the import cannot go ahead.
        assert response.context.get("confirm_form") is None
        assert not Measure.objects.filter(strategy=strategy).exists()

    def test_a_clean_file_is_previewed_then_written_through_the_service(
        self, researcher: Any
    ) -> None:
        StrategyFactory.create(slug="svs")
        client = signed_in(researcher)
        csv_text = (
            "slug,strategy,title,summary,category,lead_organisation,instrument,legal_vehicle,target_on\n"
            "good-one,svs,A good measure,,Prevention,,funding,,\n"
        )
        preview = self.upload(client, csv_text)
        assert preview.status_code == 200
        assert not Measure.objects.exists()  # the preview writes nothing
        confirm_form = preview.context["confirm_form"]
        confirmed = client.post(
            reverse("admin:measures_measure_process_import"), confirm_form.initial
        )
        assert confirmed.status_code == 302
        measure = Measure.objects.get(slug="good-one")
        assert (measure.instrument, measure.stage, measure.version) == ("funding", None, 1)


class TestRoles:
    def test_setup_roles_is_idempotent(self, roles: None) -> None:
        before = {
            g.name: set(g.permissions.values_list("codename", flat=True))
            for g in Group.objects.all()
        }
        call_command("setup_roles", verbosity=0)
        after = {
            g.name: set(g.permissions.values_list("codename", flat=True))
            for g in Group.objects.all()
        }
        assert before == after
        assert set(after) == {"researchers", "reviewers"}

    def test_researchers_add_and_change_but_never_delete(self, roles: None) -> None:
        codenames = set(
            Group.objects.get(name="researchers").permissions.values_list("codename", flat=True)
        )
        assert {
            "add_statusevent",
            "add_eventcitation",
            "change_measure",
            "add_fundingline",
            "add_source",
        } <= codenames
        assert not {c for c in codenames if c.startswith("delete_")}
        assert "change_statusevent" not in codenames  # events are corrected, never edited

    def test_reviewers_only_view(self, roles: None) -> None:
        codenames = set(
            Group.objects.get(name="reviewers").permissions.values_list("codename", flat=True)
        )
        assert codenames
        assert all(c.startswith("view_") for c in codenames)

    def test_reviewer_cannot_save_a_measure_or_record_an_event(self, reviewer: Any) -> None:
        measure = MeasureFactory.create(title="Unchanged")
        client = signed_in(reviewer)
        change_url = reverse("admin:measures_measure_change", args=[measure.pk])
        assert client.get(change_url).status_code == 200  # can look
        response = client.post(change_url, change_form_data(measure, title="Changed"))
        assert response.status_code == 403
        response = client.post(
            reverse("admin:measures_measure_record_event", args=[measure.pk]),
            {"change": "stage:announced", "effective_on": "2018-04-09", "rationale": "r"},
        )
        assert response.status_code == 403
        measure.refresh_from_db()
        assert measure.title == "Unchanged"
        assert not StatusEvent.objects.exists()

    def test_researcher_can_sign_in_to_the_admin(self, researcher: Any) -> None:
        assert signed_in(researcher).get(reverse("admin:index")).status_code == 200
        assert researcher.has_perm("measures.add_statusevent")
        assert not researcher.has_perm("measures.delete_measure")
        assert Permission.objects.filter(codename="view_auditevent").exists()


def test_admin_refuses_to_move_a_funded_measure_with_a_message(researcher: Any) -> None:
    measure = MeasureFactory.create()
    FundingLineFactory.create(strategy=measure.strategy, measure=measure)
    other = StrategyFactory.create()
    url = reverse("admin:measures_measure_change", args=[measure.pk])
    response = signed_in(researcher).post(url, change_form_data(measure, strategy=other.pk))
    assert response.status_code == 200
    assert "This measure has funding lines in its strategy" in response.content.decode()
    measure.refresh_from_db()
    assert measure.strategy_id != other.pk
