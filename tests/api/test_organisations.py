"""/api/v1/organisations/: list, filters, read, create and update."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from strategy.models import Organisation
from tests.api.conftest import API, assert_problem, assert_validation_problem, body
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

URL = f"{API}/organisations/"


def test_list_shows_every_organisation_in_slug_order(anonymous: APIClient) -> None:
    OrganisationFactory.create(slug="home-office", name="Home Office", url="https://ho.example")
    OrganisationFactory.create(slug="cabinet-office", name="Cabinet Office")
    response = anonymous.get(URL)
    assert response.status_code == 200
    data = response.json()
    assert [o["slug"] for o in data["results"]] == ["cabinet-office", "home-office"]
    assert data["results"][1] == {
        "url": "http://testserver/api/v1/organisations/home-office/",
        "slug": "home-office",
        "name": "Home Office",
        "kind": "department",
        "url_homepage": "https://ho.example",
        "created_at": data["results"][1]["created_at"],
        "updated_at": data["results"][1]["updated_at"],
    }
    assert data["next"] is None


def test_kind_filter_takes_several_kinds(anonymous: APIClient) -> None:
    OrganisationFactory.create(slug="home-office", kind="department")
    OrganisationFactory.create(slug="met", kind="police_force")
    OrganisationFactory.create(slug="itv", kind="media")
    response = anonymous.get(URL, {"kind": ["department", "media"]})
    assert [o["slug"] for o in response.json()["results"]] == ["home-office", "itv"]


def test_unknown_kind_is_a_parameter_error(anonymous: APIClient) -> None:
    assert_validation_problem(anonymous.get(URL, {"kind": "guild"}), parameter="kind")


def test_q_searches_name_and_slug(anonymous: APIClient) -> None:
    OrganisationFactory.create(slug="home-office", name="Home Office")
    OrganisationFactory.create(slug="hmt", name="HM Treasury")
    OrganisationFactory.create(slug="met", name="Metropolitan Police")
    assert [o["slug"] for o in anonymous.get(URL, {"q": "office"}).json()["results"]] == [
        "home-office"
    ]
    assert [o["slug"] for o in anonymous.get(URL, {"q": "HMT"}).json()["results"]] == ["hmt"]


def test_ordering_by_name_descending(anonymous: APIClient) -> None:
    OrganisationFactory.create(slug="a", name="Zeta")
    OrganisationFactory.create(slug="b", name="Alpha")
    response = anonymous.get(URL, {"ordering": "-name"})
    assert [o["name"] for o in response.json()["results"]] == ["Zeta", "Alpha"]


def test_ordering_by_an_unknown_field_is_refused(anonymous: APIClient) -> None:
    assert_validation_problem(anonymous.get(URL, {"ordering": "kind"}), parameter="ordering")


def test_retrieve_by_slug(anonymous: APIClient) -> None:
    OrganisationFactory.create(slug="home-office", name="Home Office")
    response = anonymous.get(f"{URL}home-office/")
    assert response.status_code == 200
    assert response.json()["name"] == "Home Office"
    assert response["ETag"]


def test_retrieve_unknown_slug_is_404_problem(anonymous: APIClient) -> None:
    assert_problem(anonymous.get(f"{URL}nobody/"), 404)


def test_create_returns_201_with_location_and_etag(editor: APIClient) -> None:
    response = editor.post(
        URL,
        {"slug": "cabinet-office", "name": "Cabinet Office", "kind": "department"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response["Location"] == "http://testserver/api/v1/organisations/cabinet-office/"
    assert response["ETag"] == editor.get(response["Location"])["ETag"]
    assert Organisation.objects.get(slug="cabinet-office").name == "Cabinet Office"


def test_create_with_duplicate_slug_is_refused(editor: APIClient) -> None:
    OrganisationFactory.create(slug="home-office")
    response = editor.post(URL, {"slug": "home-office", "name": "X", "kind": "other"})
    assert_validation_problem(response, pointer="#/slug")


def test_create_with_uppercase_slug_is_refused(editor: APIClient) -> None:
    response = editor.post(URL, {"slug": "Home-Office", "name": "X", "kind": "other"})
    assert_problem(response, 400)
    assert not Organisation.objects.exists()


def test_server_fields_sent_on_create_are_not_stored(editor: APIClient) -> None:
    response = editor.post(
        URL,
        {
            "slug": "hmt",
            "name": "HM Treasury",
            "kind": "department",
            "created_at": "2001-01-01T00:00:00Z",
            "updated_at": "2001-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 201
    assert Organisation.objects.get(slug="hmt").created_at.year > 2001


def test_patch_changes_the_name(editor: APIClient) -> None:
    OrganisationFactory.create(slug="home-office", name="Home Office")
    etag = editor.get(f"{URL}home-office/")["ETag"]
    response = editor.patch(
        f"{URL}home-office/", {"name": "The Home Office"}, headers={"If-Match": etag}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "The Home Office"
    assert response["ETag"] != etag
    assert response["ETag"] == editor.get(f"{URL}home-office/")["ETag"]


def test_put_replaces_the_organisation(editor: APIClient) -> None:
    OrganisationFactory.create(slug="home-office", name="Home Office", kind="department")
    response = editor.put(
        f"{URL}home-office/",
        {"slug": "home-office", "name": "Home Office (UK)", "kind": "public_body"},
    )
    assert response.status_code == 200
    assert Organisation.objects.get(slug="home-office").kind == "public_body"


def test_slug_cannot_be_changed(editor: APIClient) -> None:
    OrganisationFactory.create(slug="home-office")
    response = editor.patch(f"{URL}home-office/", {"slug": "ho"})
    assert_validation_problem(response, pointer="#/slug")
    assert Organisation.objects.filter(slug="home-office").exists()


def test_list_body_is_json(anonymous: APIClient) -> None:
    OrganisationFactory.create()
    response = anonymous.get(URL)
    assert response["Content-Type"] == "application/json"
    assert set(body(response)) == {"next", "previous", "results"}
