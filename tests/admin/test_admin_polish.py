"""The admin reads as the tracker's: its name on every page, lists with short headers, the
import preview showing every row with its errors and the format expected, the audit trail
in words, styled breadcrumbs, and an export page whose script the CSP allows."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from measures.models import Measure
from tests.admin.test_admin import change_form_data, signed_in
from tests.factories import MeasureFactory, SourceFactory, StrategyFactory

pytestmark = pytest.mark.django_db

CSV_HEADER = (
    "slug,strategy,title,summary,category,lead_organisation,instrument,legal_vehicle,target_on\n"
)


def page(client: Client, url: str, **params: Any) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


class TestSiteName:
    def test_every_page_names_the_tracker_not_django(self, researcher: Any) -> None:
        client = signed_in(researcher)
        measure = MeasureFactory.create()
        for url in (
            reverse("admin:index"),
            reverse("admin:measures_measure_changelist"),
            reverse("admin:measures_measure_change", args=[measure.pk]),
            reverse("admin:measures_measure_record_event", args=[measure.pk]),
            reverse("admin:measures_measure_import"),
            reverse("admin:measures_measure_export"),
        ):
            body = page(client, url)
            assert "Django administration" not in body, url
            assert "Django site admin" not in body, url
            assert re.search(r"<title>[^<]*\| Policy Measure Tracker</title>", body), url
            assert '<div id="site-name"><a href="/admin/">Policy Measure Tracker</a>' in body
            assert '<link rel="icon" href="/static/tracker/favicon.svg"' in body, url
            assert "/static/tracker/admin.css" in body, url

    def test_the_index_is_the_researcher_admin(self, researcher: Any) -> None:
        assert "<h1>Researcher admin</h1>" in page(signed_in(researcher), reverse("admin:index"))

    def test_the_sign_in_page_names_the_tracker(self, db: None) -> None:
        body = page(Client(), reverse("admin:login"))
        assert "Policy Measure Tracker" in body
        assert "Django administration" not in body


class TestListColumns:
    def test_the_measures_list_has_short_headers_and_no_strategy_column(
        self, researcher: Any
    ) -> None:
        MeasureFactory.create(target_on=datetime.date(2020, 3, 31))
        body = page(signed_in(researcher), reverse("admin:measures_measure_changelist"))
        headers = re.findall(r'<th scope="col" class="([^"]*)"', body)
        assert [h.split()[0] for h in headers] == [
            "sortable",  # title
            "sortable",  # stage
            "sortable",  # verdict
            "sortable",  # confidence
            "sortable",  # lead
            "column-money_per_phase",
            "sortable",  # target
            "sortable",  # overdue
        ]
        assert "column-strategy" not in body
        assert '<td class="field-target">31 Mar 2020</td>' in body


class TestBreadcrumbs:
    def test_record_event_import_and_export_use_the_admins_breadcrumb_list(
        self, researcher: Any
    ) -> None:
        client = signed_in(researcher)
        measure = MeasureFactory.create(title="Acid offence")
        record = page(client, reverse("admin:measures_measure_record_event", args=[measure.pk]))
        assert '<ol class="breadcrumbs">' in record
        assert '<li aria-current="page">Record a status event</li>' in record
        # The calendar icon of the date field is drawn by the admin's widgets stylesheet.
        assert "/static/admin/css/widgets.css" in record
        for name in ("import", "export"):
            body = page(client, reverse(f"admin:measures_measure_{name}"))
            assert '<ol class="breadcrumbs">' in body, name
            assert '<div class="breadcrumbs">' not in body, name


class TestExportPage:
    def test_select_all_is_bound_by_a_script_file_not_an_inline_handler(
        self, researcher: Any
    ) -> None:
        body = page(signed_in(researcher), reverse("admin:measures_measure_export"))
        assert 'id="select-all-toggle"' in body
        assert "/static/tracker/export_select_all.js" in body
        assert not re.search(r"\son[a-z]+=", body)  # no inline event handler
        assert 'style="' not in body


class TestImportPreview:
    def upload(self, client: Client, csv_text: str) -> Any:
        upload = io.BytesIO(csv_text.encode())
        upload.name = "measures.csv"
        return client.post(
            reverse("admin:measures_measure_import"),
            {"import_file": upload, "format": "0", "resource": "0"},
        )

    def test_every_row_is_shown_with_its_errors_and_the_date_format_expected(
        self, researcher: Any
    ) -> None:
        strategy = StrategyFactory.create(slug="svs")
        response = self.upload(
            signed_in(researcher),
            CSV_HEADER + "good-one,svs,A good measure,,Prevention,,funding,,\n"
            "bad-date,svs,A measure with a bad date,,Prevention,,guidance,,31/03/2020\n"
            "good-two,svs,Another good one,,Prevention,,guidance,,2020-03-31\n",
        )
        assert response.status_code == 200
        rows = response.context["preview_rows"]
        assert [row["number"] for row in rows] == [1, 2, 3]
        assert [bool(row["errors"]) for row in rows] == [False, True, False]
        assert rows[1]["errors"] == [
            "target_on: “31/03/2020” is not a date: write dates as YYYY-MM-DD, e.g. 2018-04-09."
        ]
        body = response.content.decode()
        for title in ("A good measure", "A measure with a bad date", "Another good one"):
            assert title in body
        assert "write dates as YYYY-MM-DD" in body
        assert "could not be parsed" not in body
        assert "validation-error-count" not in body  # the error is written out, not a badge
        assert response.context.get("confirm_form") is None
        assert not Measure.objects.filter(strategy=strategy).exists()

    def test_a_bad_amount_names_how_to_write_one(self, researcher: Any) -> None:
        measure = MeasureFactory.create(slug="acid")
        source_url = "https://example.org/source"
        SourceFactory.create(url=source_url)
        upload = io.BytesIO(
            (
                "id,strategy,measure,title,amount,currency,phase,source,quote\n"
                f",{measure.strategy.slug},acid,A line,£1.5m,GBP,announced,{source_url},q\n"
            ).encode()
        )
        upload.name = "lines.csv"
        response = signed_in(researcher).post(
            reverse("admin:measures_fundingline_import"),
            {"import_file": upload, "format": "0", "resource": "0"},
        )
        assert response.status_code == 200
        errors = [e for row in response.context["preview_rows"] for e in row["errors"]]
        assert any(
            "“£1.5m” is not an amount" in error and "1500000.00" in error for error in errors
        )


class TestAuditTrailInWords:
    def test_headers_titles_and_field_names_read_in_words(self, researcher: Any) -> None:
        measure = MeasureFactory.create(title="Ban on zombie knives")
        client = signed_in(researcher)
        client.post(
            reverse("admin:measures_measure_change", args=[measure.pk]),
            change_form_data(measure, target_on="2020-03-31"),
        )
        body = page(
            client,
            reverse("admin:measures_auditevent_changelist"),
            method="tracks",
            obj=f"measures.Measure:{measure.pk}",
        )
        thead = body[body.index('<table id="result_list">') :].split("</thead>")[0]
        headers = re.findall(r'<th scope="col"[^>]*>.*?<(?:a|span)[^>]*>([^<]+)<', thead, re.S)
        assert [h.strip() for h in headers] == ["When", "What", "Who", "Where", "Change"]
        assert "PGH" not in body.upper().replace("PGHISTORY", "")
        assert "Measure #" not in body
        assert "“Ban on zombie knives”" in body
        assert "changed" in body
        assert "added" in body
        assert "<li>Target date: (empty) → 2020-03-31</li>" in body
        assert researcher.get_username() in body
