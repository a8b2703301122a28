"""``setup_roles --add-user``, as the README has a newcomer run it: for a colleague who
has no account yet, and for one who has."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_makes_a_staff_researcher_without_a_password_yet() -> None:
    out = StringIO()
    call_command("setup_roles", add_user="rita", role="researchers", create=True, stdout=out)
    rita = User.objects.get(username="rita")
    assert rita.is_staff
    assert not rita.is_superuser
    assert list(rita.groups.values_list("name", flat=True)) == ["researchers"]
    assert not rita.has_usable_password()
    assert "changepassword rita" in out.getvalue()


def test_an_unknown_user_without_create_is_refused_with_the_way_out() -> None:
    with pytest.raises(CommandError, match="add --create"):
        call_command("setup_roles", add_user="nobody", role="reviewers", stdout=StringIO())
    assert not User.objects.filter(username="nobody").exists()


def test_create_leaves_an_existing_user_and_their_password_alone() -> None:
    victor = UserFactory.create(username="victor")
    victor.set_password("kept-as-it-was")
    victor.save()
    call_command("setup_roles", add_user="victor", role="reviewers", create=True, stdout=StringIO())
    victor.refresh_from_db()
    assert victor.check_password("kept-as-it-was")
    assert victor.is_staff
    assert list(victor.groups.values_list("name", flat=True)) == ["reviewers"]
