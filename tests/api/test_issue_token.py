"""``manage.py issue_token``: the token a researcher's script authenticates with."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from tests.api.conftest import API, assert_problem, grant, new_client
from tests.factories import TokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def issue(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_a_token_is_created_and_printed_alone() -> None:
    user = UserFactory.create(username="alice")
    key, message = issue("alice")
    assert key == Token.objects.get(user=user).key
    assert len(key) == 40
    assert "alice" in message


def test_the_same_token_is_printed_again() -> None:
    token = TokenFactory.create(user=UserFactory.create(username="alice"))
    assert issue("alice")[0] == token.key
    assert Token.objects.count() == 1


def test_the_printed_token_authenticates_a_write() -> None:
    user = UserFactory.create(username="alice")
    grant(user, "strategy.add_organisation")
    key, _ = issue("alice")
    response = new_client(key).post(
        f"{API}/organisations/", {"slug": "hmt", "name": "HM Treasury", "kind": "department"}
    )
    assert response.status_code == 201, response.json()


def test_rotate_replaces_the_token_and_the_old_one_is_refused() -> None:
    user = UserFactory.create(username="alice")
    grant(user, "strategy.add_organisation")
    old = TokenFactory.create(user=user).key
    new, message = issue("alice", "--rotate")
    assert new != old
    assert Token.objects.get(user=user).key == new
    assert "no longer works" in message
    body = {"slug": "hmt", "name": "HM Treasury", "kind": "department"}
    assert_problem(new_client(old).post(f"{API}/organisations/", body), 401)
    assert new_client(new).post(f"{API}/organisations/", body).status_code == 201


def test_rotate_without_a_token_creates_one() -> None:
    user = UserFactory.create(username="alice")
    key, _ = issue("alice", "--rotate")
    assert Token.objects.get(user=user).key == key


def test_an_unknown_user_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="No user “nobody”"):
        issue("nobody")
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token() -> None:
    user = UserFactory.create(username="gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        issue("gone")
    with pytest.raises(CommandError, match="inactive"):
        issue("gone", "--rotate")
    assert not Token.objects.filter(user=user).exists()


def test_the_username_is_required() -> None:
    with pytest.raises(CommandError, match="username"):
        call_command("issue_token")
