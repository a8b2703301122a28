"""/api/v1/bills/, /api/v1/provisions/, /api/v1/commencements/ and
/api/v1/measures/{slug}/legislation/: the law's path, read-only, with its filters."""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from legislation.models import Act, Bill, BillStage, Commencement, Provision
from legislation.services import commencement_set_provisions, measure_set_provisions, record_create
from measures.models import Measure
from strategy.models import Source
from tests.api.conftest import API, assert_problem, assert_validation_problem
from tests.factories import MeasureFactory, SourceFactory, StrategyFactory

pytestmark = pytest.mark.django_db

BILLS = f"{API}/bills/"
PROVISIONS = f"{API}/provisions/"
COMMENCEMENTS = f"{API}/commencements/"
MEASURES = f"{API}/measures/"
SERVER = "http://testserver"

OWA_URI = "http://www.legislation.gov.uk/id/ukpga/2019/17"
MET = "Metropolitan police district"


@dataclass
class Law:
    """The Offensive Weapons Bill and Act, three provisions, three commencements and two
    measures carried by them (made by the ``law`` fixture)."""

    source: Source
    bill: Bill
    act: Act
    s1: Provision
    s6: Provision
    s_scot: Provision
    pilot: Commencement
    national: Commencement
    scottish: Commencement
    acid: Measure
    knives: Measure


def source_reference(source: Source) -> dict[str, Any]:
    return {
        "id": source.pk,
        "title": source.title,
        "publisher": source.publisher,
        "link": source.url,
    }


def slugs(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def stage(
    bill: Bill, house: str, kind: str, on: datetime.date, source: Source, **cite: str
) -> None:
    record_create(
        BillStage,
        fields={"bill": bill, "house": house, "stage": kind, "on": on, "source": source, **cite},
    )


def provision(act: Act, slug: str, reference: str, extent: list[str]) -> Provision:
    return record_create(
        Provision,
        fields={
            "slug": slug,
            "act": act,
            "reference": reference,
            "title": f"Section {reference}",
            "extent": extent,
        },
    )


def commencement(
    act: Act, slug: str, provisions: list[Provision], source: Source, **fields: Any
) -> Commencement:
    made = record_create(
        Commencement,
        fields={
            "slug": slug,
            "act": act,
            "instrument": f"SI {slug}",
            "instrument_title": f"Commencement {slug}",
            "source": source,
            "quote": "shall come into force",
            **fields,
        },
    )
    commencement_set_provisions(made, provisions)
    return made


@pytest.fixture
def law(db: None) -> Law:
    source = SourceFactory.create(title="Hansard", publisher="UK Parliament")
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
    # Recorded out of date order: the API gives them in date order.
    stage(bill, "parliament", "royal_assent", datetime.date(2019, 5, 16), source, locator="col. 9")
    stage(bill, "commons", "second_reading", datetime.date(2018, 6, 27), source, quote="read")
    stage(bill, "commons", "first_reading", datetime.date(2018, 6, 20), source, quote="first")
    act = record_create(
        Act,
        fields={
            "slug": "offensive-weapons-act-2019",
            "title": "Offensive Weapons Act 2019",
            "citation": "2019 c. 17",
            "uri": OWA_URI,
            "url": "https://www.legislation.gov.uk/ukpga/2019/17",
            "bill": bill,
            "royal_assent_on": datetime.date(2019, 5, 16),
        },
    )
    # Extent given out of the nations' order: it is stored in that order.
    s1 = provision(act, "owa-2019-s-1", "s. 1", ["wales", "england"])
    s6 = provision(act, "owa-2019-s-6", "s. 6", ["england", "wales"])
    s_scot = provision(act, "owa-2019-s-40", "s. 40", ["scotland"])
    pilot = commencement(
        act,
        "si-2021-762",
        [s1],
        source,
        in_force_on=datetime.date(2021, 7, 5),
        ends_on=datetime.date(2023, 3, 31),
        extent=["england"],
        area=MET,
        made_on=datetime.date(2021, 6, 28),
    )
    national = commencement(
        act,
        "si-2022-418",
        [s1, s6],
        source,
        in_force_on=datetime.date(2022, 4, 6),
        extent=["england", "wales"],
    )
    scottish = commencement(
        act,
        "ssi-2020-410",
        [s_scot],
        source,
        in_force_on=datetime.date(2020, 12, 10),
        extent=["scotland"],
    )
    strategy = StrategyFactory.create(slug="svs")
    acid = MeasureFactory.create(slug="acid", title="Acid offence", strategy=strategy)
    knives = MeasureFactory.create(slug="knives", title="Knife offence", strategy=strategy)
    measure_set_provisions(acid, [s1, s6])
    measure_set_provisions(knives, [s6])
    return Law(source, bill, act, s1, s6, s_scot, pilot, national, scottish, acid, knives)


def act_reference() -> dict[str, Any]:
    return {
        "slug": "offensive-weapons-act-2019",
        "title": "Offensive Weapons Act 2019",
        "citation": "2019 c. 17",
        "uri": OWA_URI,
        "url": "https://www.legislation.gov.uk/ukpga/2019/17",
        "royal_assent_on": "2019-05-16",
    }


def bill_representation(law: Law, updated_at: str) -> dict[str, Any]:
    cited = source_reference(law.source)
    return {
        "url": f"{SERVER}{BILLS}offensive-weapons-bill-2017-19/",
        "slug": "offensive-weapons-bill-2017-19",
        "title": "Offensive Weapons Bill",
        "session": "2017-19",
        "parliament_bill_id": 2187,
        "link": "https://bills.parliament.uk/bills/2187",
        "stages": [
            {
                "house": "commons",
                "stage": "first_reading",
                "on": "2018-06-20",
                "source": cited,
                "quote": "first",
                "locator": "",
            },
            {
                "house": "commons",
                "stage": "second_reading",
                "on": "2018-06-27",
                "source": cited,
                "quote": "read",
                "locator": "",
            },
            {
                "house": "parliament",
                "stage": "royal_assent",
                "on": "2019-05-16",
                "source": cited,
                "quote": "",
                "locator": "col. 9",
            },
        ],
        "act": act_reference(),
        "updated_at": updated_at,
    }


def unenacted_bill(slug: str = "tenant-fees-bill-2019-21", session: str = "2019-21") -> Bill:
    return record_create(
        Bill,
        fields={
            "slug": slug,
            "title": "Tenant Fees Bill",
            "session": session,
            "url": f"https://bills.parliament.uk/{slug}",
        },
    )


# Bills -----------------------------------------------------------------------------------


def test_bill_list_shows_stages_in_date_order_and_the_act(anonymous: APIClient, law: Law) -> None:
    unenacted_bill()
    response = anonymous.get(BILLS)
    assert slugs(response) == ["offensive-weapons-bill-2017-19", "tenant-fees-bill-2019-21"]
    enacted, unenacted = response.json()["results"]
    assert enacted == bill_representation(law, enacted["updated_at"])
    assert unenacted == {
        "url": f"{SERVER}{BILLS}tenant-fees-bill-2019-21/",
        "slug": "tenant-fees-bill-2019-21",
        "title": "Tenant Fees Bill",
        "session": "2019-21",
        "parliament_bill_id": None,
        "link": "https://bills.parliament.uk/tenant-fees-bill-2019-21",
        "stages": [],
        "act": None,
        "updated_at": unenacted["updated_at"],
    }


def test_bill_detail_by_slug(anonymous: APIClient, law: Law) -> None:
    response = anonymous.get(f"{BILLS}offensive-weapons-bill-2017-19/")
    assert response.status_code == 200
    data = response.json()
    assert data == bill_representation(law, data["updated_at"])
    assert response["ETag"]


def test_unknown_bill_is_a_404_problem(anonymous: APIClient, law: Law) -> None:
    assert_problem(anonymous.get(f"{BILLS}no-such-bill/"), 404)


def test_bill_filters_by_session_and_enactment(anonymous: APIClient, law: Law) -> None:
    unenacted_bill()
    unenacted_bill("knife-crime-bill-2017-19", "2017-19")
    assert slugs(anonymous.get(BILLS, {"session": "2017-19"})) == [
        "knife-crime-bill-2017-19",
        "offensive-weapons-bill-2017-19",
    ]
    assert slugs(anonymous.get(BILLS, {"session": "2019-21"})) == ["tenant-fees-bill-2019-21"]
    assert slugs(anonymous.get(BILLS, {"session": "1999-00"})) == []
    assert slugs(anonymous.get(BILLS, {"enacted": "true"})) == ["offensive-weapons-bill-2017-19"]
    assert slugs(anonymous.get(BILLS, {"enacted": "false"})) == [
        "knife-crime-bill-2017-19",
        "tenant-fees-bill-2019-21",
    ]
    assert slugs(anonymous.get(BILLS, {"enacted": "false", "session": "2017-19"})) == [
        "knife-crime-bill-2017-19"
    ]
    assert_validation_problem(anonymous.get(BILLS, {"enacted": "maybe"}), parameter="enacted")


def test_bill_csv_has_a_header_and_one_row_per_bill(anonymous: APIClient, law: Law) -> None:
    unenacted_bill()
    response = anonymous.get(BILLS, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="bills.csv"'
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:6] == ["url", "slug", "title", "session", "parliament_bill_id", "link"]
    assert "stages" in header
    assert [row[header.index("slug")] for row in rows] == [
        "offensive-weapons-bill-2017-19",
        "tenant-fees-bill-2019-21",
    ]
    assert all(len(row) == len(header) for row in rows)
    # The URL is the bill's, not a link asking it for CSV.
    assert rows[0][0] == f"{SERVER}{BILLS}offensive-weapons-bill-2017-19/"
    assert '"royal_assent"' in rows[0][header.index("stages")]
    assert rows[1][header.index("stages")] == "[]"


def test_bill_csv_names_the_act(anonymous: APIClient, law: Law) -> None:
    response = anonymous.get(BILLS, {"format": "csv"})
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row.get("act.slug", row.get("act")) for row in rows] == ["offensive-weapons-act-2019"]


# Provisions ------------------------------------------------------------------------------


def test_provision_list_shows_the_act_and_the_measures_carried(
    anonymous: APIClient, law: Law
) -> None:
    response = anonymous.get(PROVISIONS)
    assert slugs(response) == ["owa-2019-s-1", "owa-2019-s-40", "owa-2019-s-6"]
    rows = {row["slug"]: row for row in response.json()["results"]}
    s6 = rows["owa-2019-s-6"]
    assert s6 == {
        "url": f"{SERVER}{PROVISIONS}owa-2019-s-6/",
        "slug": "owa-2019-s-6",
        "act": act_reference(),
        "reference": "s. 6",
        "title": "Section s. 6",
        "uri": "",
        "extent": ["england", "wales"],
        "note": "",
        "measures": [
            {"slug": "acid", "title": "Acid offence"},
            {"slug": "knives", "title": "Knife offence"},
        ],
        "updated_at": s6["updated_at"],
    }
    assert rows["owa-2019-s-1"]["extent"] == ["england", "wales"]
    assert rows["owa-2019-s-1"]["measures"] == [{"slug": "acid", "title": "Acid offence"}]
    assert rows["owa-2019-s-40"]["measures"] == []


def test_provision_detail(anonymous: APIClient, law: Law) -> None:
    response = anonymous.get(f"{PROVISIONS}owa-2019-s-40/")
    assert response.status_code == 200
    data = response.json()
    assert data == {
        "url": f"{SERVER}{PROVISIONS}owa-2019-s-40/",
        "slug": "owa-2019-s-40",
        "act": act_reference(),
        "reference": "s. 40",
        "title": "Section s. 40",
        "uri": "",
        "extent": ["scotland"],
        "note": "",
        "measures": [],
        "updated_at": data["updated_at"],
    }
    assert response["ETag"]
    assert_problem(anonymous.get(f"{PROVISIONS}owa-2019-s-99/"), 404)


def test_provision_filter_by_act(anonymous: APIClient, law: Law) -> None:
    other = record_create(
        Act,
        fields={
            "slug": "knives-act-1997",
            "title": "Knives Act 1997",
            "citation": "1997 c. 21",
            "uri": "http://www.legislation.gov.uk/id/ukpga/1997/21",
        },
    )
    provision(other, "ka-1997-s-1", "s. 1", ["england"])
    assert slugs(anonymous.get(PROVISIONS, {"act": "knives-act-1997"})) == ["ka-1997-s-1"]
    assert slugs(anonymous.get(PROVISIONS, {"act": "offensive-weapons-act-2019"})) == [
        "owa-2019-s-1",
        "owa-2019-s-40",
        "owa-2019-s-6",
    ]
    assert slugs(anonymous.get(PROVISIONS, {"act": "no-such-act"})) == []


def test_provision_filter_by_extent(anonymous: APIClient, law: Law) -> None:
    assert slugs(anonymous.get(PROVISIONS, {"extent": "england"})) == [
        "owa-2019-s-1",
        "owa-2019-s-6",
    ]
    assert slugs(anonymous.get(PROVISIONS, {"extent": "scotland"})) == ["owa-2019-s-40"]
    assert slugs(anonymous.get(PROVISIONS, {"extent": "northern_ireland"})) == []
    assert_validation_problem(anonymous.get(PROVISIONS, {"extent": "atlantis"}), parameter="extent")


def test_provision_filter_by_measure_lists_each_provision_once(
    anonymous: APIClient, law: Law
) -> None:
    assert slugs(anonymous.get(PROVISIONS, {"measure": "acid"})) == [
        "owa-2019-s-1",
        "owa-2019-s-6",
    ]
    response = anonymous.get(PROVISIONS, {"measure": "knives"})
    assert slugs(response) == ["owa-2019-s-6"]
    # The filter picks provisions; each still shows every measure it carries.
    assert response.json()["results"][0]["measures"] == [
        {"slug": "acid", "title": "Acid offence"},
        {"slug": "knives", "title": "Knife offence"},
    ]
    assert slugs(anonymous.get(PROVISIONS, {"measure": "nothing"})) == []


# Commencements ---------------------------------------------------------------------------


def test_commencement_list_is_ordered_by_date_in_force(anonymous: APIClient, law: Law) -> None:
    response = anonymous.get(COMMENCEMENTS)
    assert slugs(response) == ["ssi-2020-410", "si-2021-762", "si-2022-418"]
    pilot = response.json()["results"][1]
    assert pilot == {
        "url": f"{SERVER}{COMMENCEMENTS}si-2021-762/",
        "slug": "si-2021-762",
        "act": "offensive-weapons-act-2019",
        "instrument": "SI si-2021-762",
        "instrument_title": "Commencement si-2021-762",
        "instrument_uri": "",
        "made_on": "2021-06-28",
        "in_force_on": "2021-07-05",
        "ends_on": "2023-03-31",
        "extent": ["england"],
        "area": MET,
        "provisions": [{"slug": "owa-2019-s-1", "reference": "s. 1"}],
        "source": source_reference(law.source),
        "quote": "shall come into force",
        "locator": "",
        "note": "",
        "updated_at": pilot["updated_at"],
    }
    assert slugs(anonymous.get(COMMENCEMENTS, {"ordering": "-in_force_on"})) == [
        "si-2022-418",
        "si-2021-762",
        "ssi-2020-410",
    ]


def test_commencement_detail(anonymous: APIClient, law: Law) -> None:
    response = anonymous.get(f"{COMMENCEMENTS}si-2022-418/")
    assert response.status_code == 200
    data = response.json()
    assert data["provisions"] == [
        {"slug": "owa-2019-s-1", "reference": "s. 1"},
        {"slug": "owa-2019-s-6", "reference": "s. 6"},
    ]
    assert (data["in_force_on"], data["ends_on"], data["area"]) == ("2022-04-06", None, "")
    assert_problem(anonymous.get(f"{COMMENCEMENTS}si-1999-1/"), 404)


def test_commencement_filter_by_provision(anonymous: APIClient, law: Law) -> None:
    assert slugs(anonymous.get(COMMENCEMENTS, {"provision": "owa-2019-s-1"})) == [
        "si-2021-762",
        "si-2022-418",
    ]
    # The filter picks commencements; each still shows every provision it commences.
    response = anonymous.get(COMMENCEMENTS, {"provision": "owa-2019-s-6"})
    assert slugs(response) == ["si-2022-418"]
    assert [p["slug"] for p in response.json()["results"][0]["provisions"]] == [
        "owa-2019-s-1",
        "owa-2019-s-6",
    ]
    assert slugs(anonymous.get(COMMENCEMENTS, {"provision": "owa-2019-s-99"})) == []
    assert slugs(anonymous.get(COMMENCEMENTS, {"act": "offensive-weapons-act-2019"})) == [
        "ssi-2020-410",
        "si-2021-762",
        "si-2022-418",
    ]


def test_commencement_filter_by_extent(anonymous: APIClient, law: Law) -> None:
    assert slugs(anonymous.get(COMMENCEMENTS, {"extent": "england"})) == [
        "si-2021-762",
        "si-2022-418",
    ]
    assert slugs(anonymous.get(COMMENCEMENTS, {"extent": "wales"})) == ["si-2022-418"]
    assert slugs(anonymous.get(COMMENCEMENTS, {"extent": "scotland"})) == ["ssi-2020-410"]
    assert_validation_problem(
        anonymous.get(COMMENCEMENTS, {"extent": "atlantis"}), parameter="extent"
    )


def test_commencement_filter_by_area_ignores_case(anonymous: APIClient, law: Law) -> None:
    for area in (MET, MET.upper(), "metropolitan police district"):
        assert slugs(anonymous.get(COMMENCEMENTS, {"area": area})) == ["si-2021-762"], area
    assert slugs(anonymous.get(COMMENCEMENTS, {"area": "Metropolitan"})) == []


def test_commencement_filters_by_date_in_force(anonymous: APIClient, law: Law) -> None:
    def listed(**params: str) -> list[str]:
        return slugs(anonymous.get(COMMENCEMENTS, params))

    assert listed(in_force_after="2021-07-05") == ["si-2021-762", "si-2022-418"]
    assert listed(in_force_after="2021-07-06") == ["si-2022-418"]
    assert listed(in_force_before="2021-07-05") == ["ssi-2020-410", "si-2021-762"]
    assert listed(in_force_before="2021-07-04") == ["ssi-2020-410"]
    assert listed(in_force_after="2021-01-01", in_force_before="2021-12-31") == ["si-2021-762"]


def test_in_force_on_lists_a_pilot_only_between_its_dates(anonymous: APIClient, law: Law) -> None:
    def listed(day: str) -> list[str]:
        return slugs(anonymous.get(COMMENCEMENTS, {"in_force_on": day, "area": MET}))

    assert listed("2021-07-04") == []
    assert listed("2021-07-05") == ["si-2021-762"]
    assert listed("2021-08-01") == ["si-2021-762"]
    assert listed("2023-03-31") == ["si-2021-762"]
    assert listed("2023-04-01") == []
    # Without an end, in force from its first day on.
    assert slugs(anonymous.get(COMMENCEMENTS, {"in_force_on": "2023-04-01"})) == [
        "ssi-2020-410",
        "si-2022-418",
    ]
    assert slugs(anonymous.get(COMMENCEMENTS, {"in_force_on": "2022-04-05"})) == [
        "ssi-2020-410",
        "si-2021-762",
    ]


@pytest.mark.parametrize("name", ["in_force_on", "in_force_after", "in_force_before"])
@pytest.mark.parametrize("value", ["2021-02-30", "yesterday", "05/07/2021"])
def test_a_malformed_date_is_refused(anonymous: APIClient, law: Law, name: str, value: str) -> None:
    assert_validation_problem(anonymous.get(COMMENCEMENTS, {name: value}), parameter=name)


# The chain from a measure to the law -----------------------------------------------------


def chain_commencement(law: Law, commencement: Commencement) -> dict[str, Any]:
    return {
        "url": f"{SERVER}{COMMENCEMENTS}{commencement.slug}/",
        "slug": commencement.slug,
        "act": "offensive-weapons-act-2019",
        "instrument": commencement.instrument,
        "instrument_title": commencement.instrument_title,
        "instrument_uri": "",
        "made_on": commencement.made_on.isoformat() if commencement.made_on else None,
        "in_force_on": commencement.in_force_on.isoformat(),
        "ends_on": commencement.ends_on.isoformat() if commencement.ends_on else None,
        "extent": commencement.extent,
        "area": commencement.area,
        "source": source_reference(law.source),
        "quote": "shall come into force",
        "locator": "",
        "note": "",
        "updated_at": commencement.updated_at.isoformat().replace("+00:00", "Z"),
    }


def test_the_chain_of_a_measure(anonymous: APIClient, law: Law) -> None:
    response = anonymous.get(f"{MEASURES}acid/legislation/")
    assert response.status_code == 200
    data = response.json()
    bill = data["acts"][0]["bill"]
    assert data["measure"] == {"slug": "acid", "title": "Acid offence"}
    assert data["acts"] == [
        {**act_reference(), "bill": bill_representation(law, bill["updated_at"])}
    ]
    law.pilot.refresh_from_db()
    law.national.refresh_from_db()
    assert data["provisions"] == [
        {
            "url": f"{SERVER}{PROVISIONS}owa-2019-s-1/",
            "slug": "owa-2019-s-1",
            "act": "offensive-weapons-act-2019",
            "reference": "s. 1",
            "title": "Section s. 1",
            "uri": "",
            "extent": ["england", "wales"],
            "commencements": [
                chain_commencement(law, law.pilot),
                chain_commencement(law, law.national),
            ],
        },
        {
            "url": f"{SERVER}{PROVISIONS}owa-2019-s-6/",
            "slug": "owa-2019-s-6",
            "act": "offensive-weapons-act-2019",
            "reference": "s. 6",
            "title": "Section s. 6",
            "uri": "",
            "extent": ["england", "wales"],
            "commencements": [chain_commencement(law, law.national)],
        },
    ]


def test_an_act_without_a_bill_is_in_the_chain_with_a_null_bill(
    anonymous: APIClient, law: Law
) -> None:
    act = record_create(
        Act,
        fields={
            "slug": "knives-act-1997",
            "title": "Knives Act 1997",
            "citation": "1997 c. 21",
            "uri": "http://www.legislation.gov.uk/id/ukpga/1997/21",
        },
    )
    measure_set_provisions(law.knives, [law.s6, provision(act, "ka-1997-s-1", "s. 1", [])])
    data = anonymous.get(f"{MEASURES}knives/legislation/").json()
    assert [(a["slug"], a["bill"] and a["bill"]["slug"]) for a in data["acts"]] == [
        ("knives-act-1997", None),
        ("offensive-weapons-act-2019", "offensive-weapons-bill-2017-19"),
    ]
    assert [(p["slug"], len(p["commencements"])) for p in data["provisions"]] == [
        ("owa-2019-s-6", 1),
        ("ka-1997-s-1", 0),
    ]


def test_a_measure_carried_by_no_law_has_an_empty_chain(anonymous: APIClient, law: Law) -> None:
    MeasureFactory.create(slug="unlinked", title="Not yet law")
    response = anonymous.get(f"{MEASURES}unlinked/legislation/")
    assert response.status_code == 200
    assert response.json() == {
        "measure": {"slug": "unlinked", "title": "Not yet law"},
        "acts": [],
        "provisions": [],
    }


def test_the_chain_of_an_unknown_measure_is_a_404_problem(anonymous: APIClient, db: None) -> None:
    assert_problem(anonymous.get(f"{MEASURES}no-such-measure/legislation/"), 404)


def test_the_chain_is_revalidated_by_its_etag(anonymous: APIClient, law: Law) -> None:
    url = f"{MEASURES}acid/legislation/"
    etag = anonymous.get(url)["ETag"]
    assert etag
    not_modified = anonymous.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert anonymous.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
    # A new commencement of a provision carrying the measure changes the chain and its tag.
    commencement(
        law.act,
        "si-2023-1",
        [law.s6],
        law.source,
        in_force_on=datetime.date(2023, 1, 1),
        extent=["wales"],
    )
    changed = anonymous.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


@pytest.mark.parametrize(
    "params",
    [{"extent": "atlantis"}, {"as_of": "2021-02-30"}, {"known_at": "x"}, {"area": ""}],
)
def test_the_chain_refuses_the_measure_reads_parameters(
    anonymous: APIClient, law: Law, params: dict[str, str]
) -> None:
    response = anonymous.get(f"{MEASURES}acid/legislation/", params)
    assert_validation_problem(response, parameter=next(iter(params)))


def test_the_chain_refuses_an_unknown_parameter(anonymous: APIClient, law: Law) -> None:
    response = anonymous.get(f"{MEASURES}acid/legislation/", {"session": "2017-19"})
    assert_validation_problem(response, parameter="session")


def test_the_measure_links_to_its_chain(anonymous: APIClient, law: Law) -> None:
    listed = {row["slug"]: row for row in anonymous.get(MEASURES).json()["results"]}
    assert listed["acid"]["legislation_url"] == f"{SERVER}{MEASURES}acid/legislation/"
    detail = anonymous.get(f"{MEASURES}acid/").json()
    assert detail["legislation_url"] == f"{SERVER}{MEASURES}acid/legislation/"
    followed = anonymous.get(detail["legislation_url"])
    assert followed.status_code == 200
    assert followed.json()["measure"]["slug"] == "acid"


# Read-only -------------------------------------------------------------------------------

WRITES = [
    ("post", BILLS),
    ("post", PROVISIONS),
    ("post", COMMENCEMENTS),
    ("put", f"{BILLS}offensive-weapons-bill-2017-19/"),
    ("patch", f"{BILLS}offensive-weapons-bill-2017-19/"),
    ("delete", f"{BILLS}offensive-weapons-bill-2017-19/"),
    ("put", f"{PROVISIONS}owa-2019-s-6/"),
    ("patch", f"{PROVISIONS}owa-2019-s-6/"),
    ("delete", f"{PROVISIONS}owa-2019-s-6/"),
    ("put", f"{COMMENCEMENTS}si-2022-418/"),
    ("patch", f"{COMMENCEMENTS}si-2022-418/"),
    ("delete", f"{COMMENCEMENTS}si-2022-418/"),
    ("post", f"{MEASURES}acid/legislation/"),
    ("put", f"{MEASURES}acid/legislation/"),
    ("patch", f"{MEASURES}acid/legislation/"),
    ("delete", f"{MEASURES}acid/legislation/"),
]


@pytest.mark.parametrize(("method", "url"), WRITES)
@pytest.mark.parametrize("who", ["anonymous", "editor"])
def test_writes_are_refused_with_405(
    request: pytest.FixtureRequest, law: Law, who: str, method: str, url: str
) -> None:
    client: APIClient = request.getfixturevalue(who)
    response = getattr(client, method)(url, {"slug": "x", "title": "Changed"}, format="json")
    assert_problem(response, 405)
    assert "GET" in response["Allow"]
    assert method.upper() not in response["Allow"]
    assert Bill.objects.get(slug="offensive-weapons-bill-2017-19").title == "Offensive Weapons Bill"
    assert Provision.objects.count() == 3
    assert Commencement.objects.count() == 3


@pytest.mark.parametrize("url", [PROVISIONS, COMMENCEMENTS])
def test_an_empty_extent_is_refused_not_ignored(anonymous: APIClient, law: Law, url: str) -> None:
    response = anonymous.get(url, {"extent": ""})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["parameter"] for error in response.json()["errors"]] == ["extent"]
