"""The seed loader writes through the services: loading twice changes nothing, a changed
fact gives a measure a new version (and so a new ETag), and the services' rules hold."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from measures.models import AuditEvent, FundingLine, Measure, StatusEvent
from measures.seeding import SEEDS_DIR, SeedError, load_seed_file, load_seeds
from tests.support import database_now

pytestmark = pytest.mark.django_db

SEED: dict[str, Any] = {
    "organisations": [{"slug": "home-office", "name": "Home Office", "kind": "department"}],
    "sources": [
        {
            "key": "launch",
            "url": "https://www.gov.uk/government/news/launch",
            "title": "Launch",
            "kind": "government",
            "published_on": datetime.date(2018, 4, 9),
        }
    ],
    "strategies": [
        {
            "slug": "svs",
            "title": "Serious Violence Strategy",
            "owner": "home-office",
            "published_on": datetime.date(2018, 4, 9),
        }
    ],
    "measures": [
        {
            "slug": "acid",
            "strategy": "svs",
            "title": "Acid offence",
            "instrument": "legislation",
            "events": [
                {
                    "axis": "stage",
                    "value": "announced",
                    "effective_on": datetime.date(2018, 4, 9),
                    "rationale": "In the strategy.",
                    "citations": [{"source": "launch", "quote": "a new offence"}],
                }
            ],
        }
    ],
    "funding_lines": [
        {
            "key": "envelope",
            "strategy": "svs",
            "title": "Envelope",
            "amount": "40000000.00",
            "phase": "announced",
            "source": "launch",
            "quote": "£40m",
        },
        {
            "key": "fund",
            "strategy": "svs",
            "parent": "envelope",
            "title": "Fund",
            "amount": "11000000.00",
            "phase": "announced",
            "source": "launch",
            "quote": "£11m",
        },
    ],
}


def write(directory: Path, data: dict[str, Any]) -> Path:
    path = directory / "seed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_project_seed_loads_and_a_second_load_writes_nothing() -> None:
    first = load_seeds(SEEDS_DIR)
    assert first["measures created"] >= 8
    audit_entries = AuditEvent.objects.count()
    versions = dict(Measure.objects.values_list("slug", "version"))
    assert load_seeds(SEEDS_DIR) == {}
    assert AuditEvent.objects.count() == audit_entries
    assert dict(Measure.objects.values_list("slug", "version")) == versions


def test_a_changed_title_gives_the_measure_a_new_version_and_etag(tmp_path: Path) -> None:
    load_seed_file(write(tmp_path, SEED))
    client = APIClient()
    before = client.get("/api/v1/measures/acid/")
    changed = copy.deepcopy(SEED)
    changed["measures"][0]["title"] = "Offence of possessing a corrosive substance"
    assert load_seed_file(write(tmp_path, changed)) == {"measures updated": 1}
    after = client.get("/api/v1/measures/acid/", headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.json()["title"] == "Offence of possessing a corrosive substance"
    assert after.json()["version"] == before.json()["version"] + 1


def test_a_seed_cannot_make_a_cycle_of_envelopes(tmp_path: Path) -> None:
    """The envelope listed a second time, now drawn from the fund that is drawn from it."""
    load_seed_file(write(tmp_path, SEED))
    envelope, fund = SEED["funding_lines"]
    again = {**envelope, "key": "envelope-again", "parent": "fund"}
    cyclic = {**SEED, "funding_lines": [envelope, fund, again]}
    with pytest.raises(ValidationError) as refusal:
        load_seed_file(write(tmp_path, cyclic))
    assert refusal.value.message_dict == {"parent": ["A funding line cannot be drawn from itself."]}
    assert FundingLine.objects.get(title="Envelope").parent is None


def test_an_event_with_a_missing_quote_is_refused_as_the_api_refuses_it(tmp_path: Path) -> None:
    bad = copy.deepcopy(SEED)
    bad["measures"][0]["events"][0]["citations"] = [{"source": "launch", "quote": " "}]
    with pytest.raises(ValidationError) as refusal:
        load_seed_file(write(tmp_path, bad))
    assert list(refusal.value.message_dict) == ["citations.0.quote"]
    assert not Measure.objects.exists()
    assert not StatusEvent.objects.exists()


def test_a_reference_to_nothing_is_named(tmp_path: Path) -> None:
    bad = copy.deepcopy(SEED)
    bad["measures"][0]["strategy"] = "no-such-strategy"
    with pytest.raises(SeedError, match="unknown strategy “no-such-strategy”"):
        load_seed_file(write(tmp_path, bad))


def test_a_correction_in_a_later_seed_supersedes_and_known_at_still_shows_the_old_record(
    tmp_path: Path,
) -> None:
    original = copy.deepcopy(SEED)
    original["measures"][0]["events"][0]["key"] = "launch-announcement"
    load_seed_file(write(tmp_path, original))
    before = database_now()
    corrected = copy.deepcopy(original)
    corrected["measures"][0]["events"].append(
        {
            "axis": "stage",
            "value": "announced",
            "effective_on": datetime.date(2017, 10, 3),
            "corrects": "launch-announcement",
            "rationale": "First announced at the party conference.",
            "citations": [{"source": "launch", "quote": "first announced"}],
        }
    )
    assert load_seed_file(write(tmp_path, corrected)) == {"status events recorded": 1}
    assert load_seed_file(write(tmp_path, corrected)) == {}
    old, new = StatusEvent.objects.order_by("id")
    assert new.supersedes == old
    client = APIClient()
    now = client.get("/api/v1/measures/acid/").json()
    then = client.get("/api/v1/measures/acid/", {"known_at": before.isoformat()}).json()
    assert (now["stage_since"], then["stage_since"]) == ("2017-10-03", "2018-04-09")


def test_a_source_address_given_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"sources": SEED["sources"]}), encoding="utf-8")
    twin = [{**SEED["sources"][0], "key": "another-key"}]
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"sources": twin}), encoding="utf-8")
    with pytest.raises(SeedError, match=r"also in a\.yaml"):
        load_seeds(tmp_path)
