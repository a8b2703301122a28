"""The admin's sign-in is throttled (django-axes), and its spreadsheet exports never carry a
formula."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from django.test import Client

from tests.admin.conftest import PASSWORD
from tests.factories import MeasureFactory, StrategyFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_the_right_password_signs_in(db: None) -> None:
    UserFactory.create(username="rita", is_staff=True)
    assert signed_in(sign_in(Client(), "rita", PASSWORD))


def test_after_five_wrong_passwords_the_right_one_is_refused(settings: Any) -> None:
    UserFactory.create(username="rita", is_staff=True)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "rita", "wrong").status_code == 200  # the form again
    assert sign_in(client, "rita", "wrong").status_code == 429
    refused = sign_in(client, "rita", PASSWORD)
    assert refused.status_code == 429
    assert not signed_in(refused)
    # The lockout is for that username from that address: others are not shut out.
    UserFactory.create(username="victor", is_staff=True)
    assert signed_in(sign_in(Client(), "victor", PASSWORD))
    assert signed_in(sign_in(Client(), "rita", PASSWORD, address="10.0.0.2"))


def test_a_success_resets_the_count(settings: Any) -> None:
    UserFactory.create(username="rita", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(Client(), "rita", "wrong")
    assert signed_in(sign_in(Client(), "rita", PASSWORD))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(Client(), "rita", "wrong")
    assert signed_in(sign_in(Client(), "rita", PASSWORD))


def test_a_forwarded_address_does_not_escape_the_lockout(settings: Any) -> None:
    """Without proxies in front (DJANGO_NUM_PROXIES=0), X-Forwarded-For is not believed: a
    client cannot name a new address with every attempt."""
    UserFactory.create(username="rita", is_staff=True)
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": "rita", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}",
        )
    refused = client.post(
        LOGIN,
        {"username": "rita", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert refused.status_code == 429


FORMULAS = ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "\tTab"]


@pytest.fixture
def formula_titles() -> None:
    strategy = StrategyFactory.create(slug="svs")
    for number, formula in enumerate(FORMULAS):
        MeasureFactory.create(slug=f"m-{number}", strategy=strategy, title=formula)


def export(format_index: int) -> bytes:
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/measures/measure/export/",
        {
            "format": str(format_index),
            "resource": "0",
            "measureresource_slug": "on",
            "measureresource_title": "on",
        },
    )
    assert response.status_code == 200, response.content[:500]
    return response.content


def test_an_admin_csv_export_carries_no_formula(formula_titles: None) -> None:
    rows = list(csv.DictReader(io.StringIO(export(0).decode("utf-8-sig"))))
    assert {row["slug"]: row["title"] for row in rows} == {
        f"m-{number}": "'" + formula for number, formula in enumerate(FORMULAS)
    }


def test_an_admin_xlsx_export_carries_no_formula(formula_titles: None) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(export(1))).active
    assert sheet is not None
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    for number, formula in enumerate(FORMULAS):
        cell = cells[f"m-{number}"]
        assert cell.data_type == "s"
        assert cell.value == "'" + formula
