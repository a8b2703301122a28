"""Client libraries generated from the committed OpenAPI document are users of the API too.

This module generates a Python client from ``openapi.yaml`` with openapi-python-client (once
per module, offline) and drives a live server with it over real HTTP: list, filter, time
travel, the law's path (bills, provisions, commencements, a measure's chain), answers for a
nation or an area, the money trail, an authenticated write and a webhook subscription with
its delivery log. The assertions are on the client's typed models (its
enums, dates and instants), so a schema that promises one shape while the server sends
another fails here, the way it would fail for a user of the generated library.

The generated package has no type information at mypy time, so it is reached through
``importlib`` and handled as ``Any``.
"""

from __future__ import annotations

import datetime
import importlib
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from pytest_django.live_server_helper import LiveServer
from rest_framework.authtoken.models import Token

from measures.models import FundingLine, Measure
from measures.seeding import load_seeds
from measures.services import CitationInput, status_event_record
from strategy.models import Source, Strategy
from tests.factories import MeasureFactory, SourceFactory, StrategyFactory, UserFactory
from tests.support import OPENAPI_YAML

pytestmark = pytest.mark.slow

PACKAGE = "tracker_client"
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Generated:
    """The generated package, importable as ``PACKAGE``, and what the generator printed."""

    root: Path
    output: str

    def module(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.{name}")

    def operation(self, name: str) -> Any:
        """An operation module by operationId, e.g. ``measures_list``: the generator puts it
        in the package of its tag (``measures``, ``funding_lines``...)."""
        tags = [path.name for path in (self.root / PACKAGE / "api").iterdir() if path.is_dir()]
        tag = max((t for t in tags if name.startswith(f"{t}_")), key=len)
        return self.module(f"api.{tag}.{name}")

    @property
    def models(self) -> Any:
        return self.module("models")

    def client(self, base_url: str) -> Any:
        return self.module("client").Client(base_url=base_url, raise_on_unexpected_status=True)

    def authenticated_client(self, base_url: str, token: str) -> Any:
        return self.module("client").AuthenticatedClient(
            base_url=base_url, token=token, prefix="Token", raise_on_unexpected_status=True
        )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """Generate the client once for the module and put it on ``sys.path``. The post hooks run
    the virtualenv's ruff (the generator's default looks for ``ruff`` on PATH)."""
    root = tmp_path_factory.mktemp("generated-client")
    ruff = shlex.quote(str(VENV_BIN / "ruff"))
    config = root / "generator.json"
    config.write_text(
        json.dumps(
            {
                "package_name_override": PACKAGE,
                "post_hooks": [
                    f"{ruff} check . --fix-only --extend-select=I",
                    f"{ruff} format .",
                ],
            }
        )
    )
    result = subprocess.run(  # noqa: S603 - a fixed command line built from our own paths
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(OPENAPI_YAML),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(root / PACKAGE),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield Generated(root=root, output=output)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def base_url(live_server: LiveServer) -> str:
    """The live server's URL. It speaks plain HTTP, which the test settings serve
    (``DJANGO_HTTPS=0``); with the production default every request would be a 301."""
    assert not settings.SECURE_SSL_REDIRECT, "run the tests with DJANGO_HTTPS=0"
    return live_server.url


@dataclass(frozen=True)
class Seeded:
    strategy: Strategy
    source: Source
    acid: Measure  # enacted on 16 May 2019, announced on 9 April 2018
    knives: Measure  # in consultation since 1 October 2018


@pytest.fixture
def seeded(transactional_db: None) -> Seeded:
    """Two measures with a value on every axis (see
    ``test_a_measure_with_no_verdict_or_confidence_parses`` for why every axis)."""
    strategy = StrategyFactory.create(slug="serious-violence-strategy-2018")
    source = SourceFactory.create(title="Serious Violence Strategy")
    acid = MeasureFactory.create(
        strategy=strategy,
        slug="corrosive-substance-possession-offence",
        legal_vehicle="Offensive Weapons Bill",
    )
    knives = MeasureFactory.create(strategy=strategy, slug="online-knife-sales-restrictions")
    citations = [CitationInput(source=source, quote="The Government will legislate.")]
    history = [
        (acid, "stage", "announced", datetime.date(2018, 4, 9)),
        (acid, "verdict", "in_the_works", datetime.date(2018, 4, 9)),
        (acid, "confidence", "amber_green", datetime.date(2018, 4, 9)),
        (acid, "stage", "legislating", datetime.date(2018, 6, 20)),
        (acid, "stage", "enacted", datetime.date(2019, 5, 16)),
        (knives, "stage", "announced", datetime.date(2018, 4, 9)),
        (knives, "verdict", "not_yet_rated", datetime.date(2018, 4, 9)),
        (knives, "confidence", "amber", datetime.date(2018, 4, 9)),
        (knives, "stage", "consultation", datetime.date(2018, 10, 1)),
    ]
    for measure, axis, value, effective_on in history:
        status_event_record(
            measure=measure,
            axis=axis,
            value=value,
            effective_on=effective_on,
            rationale=f"{axis} became {value}",
            citations=citations,
        )
    return Seeded(strategy=strategy, source=source, acid=acid, knives=knives)


@pytest.fixture
def the_record(transactional_db: None) -> None:
    """The seed files (``seeds/*.yaml``): the strategy's measures, the Offensive Weapons Bill
    and Act, its provisions and commencements, and the money with its trail."""
    load_seeds()


PILOT_AREA = "Metropolitan police district"


def test_generator_prints_no_warnings(generated: Generated) -> None:
    """The design promises a warning-free document for client generators."""
    complaints = [
        line
        for line in generated.output.splitlines()
        if line.strip() and not line.startswith("Generating ")
    ]
    assert complaints == [], generated.output
    assert (generated.root / PACKAGE / "api" / "measures" / "measures_list.py").is_file()


def test_list_measures_as_typed_models(generated: Generated, base_url: str, seeded: Seeded) -> None:
    models = generated.models
    response = generated.operation("measures_list").sync_detailed(
        client=generated.client(base_url), strategy=seeded.strategy.slug
    )

    assert response.status_code == HTTPStatus.OK
    assert response.headers["ETag"]
    page = response.parsed
    assert isinstance(page, models.PaginatedMeasureList)
    assert page.next_ is None
    assert [m.slug for m in page.results] == [seeded.acid.slug, seeded.knives.slug]
    acid, knives = page.results
    assert isinstance(acid, models.Measure)
    assert acid.stage is models.StageEnum.ENACTED
    assert acid.stage_since == datetime.date(2019, 5, 16)
    assert acid.verdict is models.VerdictEnum.IN_THE_WORKS
    assert acid.confidence is models.ConfidenceEnum.AMBER_GREEN
    assert acid.instrument is models.InstrumentEnum.LEGISLATION
    assert acid.legal_vehicle == "Offensive Weapons Bill"
    assert acid.target_on is None
    assert acid.is_overdue is False
    assert acid.version == 6  # created, then five events
    assert isinstance(acid.strategy, models.StrategyReference)
    assert acid.strategy.slug == seeded.strategy.slug
    assert isinstance(acid.lead_organisation, models.OrganisationReference)
    assert isinstance(acid.created_at, datetime.datetime)
    assert acid.created_at.utcoffset() is not None
    assert acid.created_at <= acid.updated_at
    assert acid.events_url.startswith(f"{base_url}/api/v1/measures/{seeded.acid.slug}/events")
    assert knives.stage is models.StageEnum.CONSULTATION
    assert knives.stage_since == datetime.date(2018, 10, 1)
    assert knives.confidence is models.ConfidenceEnum.AMBER


def test_filter_measures_by_stage(generated: Generated, base_url: str, seeded: Seeded) -> None:
    models = generated.models
    # The stage filter takes the same type the measures carry: one StageEnum, no duplicate.
    stage = models.StageEnum
    assert not hasattr(models, "MeasuresListStageItem")
    measures_list = generated.operation("measures_list")
    client = generated.client(base_url)

    enacted = measures_list.sync(client=client, stage=[stage.ENACTED])
    assert [m.slug for m in enacted.results] == [seeded.acid.slug]
    assert enacted.results[0].stage is models.StageEnum.ENACTED

    either = measures_list.sync(client=client, stage=[stage.ENACTED, stage.CONSULTATION])
    assert [m.slug for m in either.results] == [seeded.acid.slug, seeded.knives.slug]

    none = measures_list.sync(client=client, stage=[stage.IN_FORCE])
    assert none.results == []

    # Filters compose with time travel: on 1 May 2018 both measures were only announced.
    then = measures_list.sync(
        client=client, stage=[stage.ANNOUNCED], as_of=datetime.date(2018, 5, 1)
    )
    assert [m.stage for m in then.results] == [models.StageEnum.ANNOUNCED] * 2


def test_read_a_measure_as_of_a_past_date(
    generated: Generated, base_url: str, seeded: Seeded
) -> None:
    models = generated.models
    measures_retrieve = generated.operation("measures_retrieve")
    client = generated.client(base_url)

    today = measures_retrieve.sync(client=client, slug=seeded.acid.slug)
    then = measures_retrieve.sync(
        client=client, slug=seeded.acid.slug, as_of=datetime.date(2018, 5, 1)
    )

    assert isinstance(then, models.Measure)
    assert today.stage is models.StageEnum.ENACTED
    assert then.stage is models.StageEnum.ANNOUNCED
    assert then.stage != today.stage
    assert then.stage_since == datetime.date(2018, 4, 9)
    assert today.stage_since == datetime.date(2019, 5, 16)
    assert then.verdict is models.VerdictEnum.IN_THE_WORKS
    assert then.confidence is models.ConfidenceEnum.AMBER_GREEN

    while_legislating = measures_retrieve.sync(
        client=client, slug=seeded.acid.slug, as_of=datetime.date(2019, 5, 15)
    )
    assert while_legislating.stage is models.StageEnum.LEGISLATING


def test_record_a_status_event_with_a_token_and_read_it_back(
    generated: Generated, base_url: str, seeded: Seeded
) -> None:
    models = generated.models
    user = UserFactory.create(username="researcher-with-token")
    user.user_permissions.add(
        Permission.objects.get_by_natural_key("add_statusevent", "measures", "statusevent")
    )
    token = Token.objects.create(user=user)
    authed = generated.authenticated_client(base_url, token.key)
    public = generated.client(base_url)
    slug = seeded.acid.slug

    # Read the measure for its ETag, then write with If-Match as a careful client does.
    read = generated.operation("measures_retrieve").sync_detailed(client=authed, slug=slug)
    assert read.status_code == HTTPStatus.OK
    body = models.StatusEventRequest(
        axis=models.AxisEnum.STAGE,
        value=models.StatusValueEnum.IN_FORCE,
        effective_on=datetime.date(2022, 4, 6),
        rationale="SI 2022/418 commenced section 6 on 6 April 2022.",
        citations=[
            models.EventCitationRequest(
                source=seeded.source.pk,
                quote="The following provisions come into force on 6th April 2022.",
                locator="reg. 2(b)",
            )
        ],
    )
    created = generated.operation("measures_events_create").sync_detailed(
        client=authed, measure_slug=slug, body=body, if_match=read.headers["ETag"]
    )

    assert created.status_code == HTTPStatus.CREATED, created.content
    event = created.parsed
    assert isinstance(event, models.StatusEvent)
    assert isinstance(event.id, int)
    assert event.measure == slug
    assert event.axis is models.AxisEnum.STAGE
    assert event.value is models.StatusValueEnum.IN_FORCE
    assert event.effective_on == datetime.date(2022, 4, 6)
    assert isinstance(event.recorded_at, datetime.datetime)
    assert event.recorded_at.utcoffset() is not None
    assert event.recorded_by == "researcher-with-token"
    assert event.supersedes is None
    assert event.superseded_by is None
    [citation] = event.citations
    assert isinstance(citation, models.EventCitation)
    assert isinstance(citation.source, models.SourceReference)
    assert citation.source.id == seeded.source.pk
    assert citation.locator == "reg. 2(b)"

    # Read it back, without credentials: reads are public.
    again = generated.operation("measures_events_retrieve").sync(
        client=public, measure_slug=slug, id=event.id
    )
    assert isinstance(again, models.StatusEvent)
    assert again.to_dict() == event.to_dict()
    timeline = generated.operation("measures_events_list").sync(client=public, measure_slug=slug)
    assert timeline.results[0].id == event.id
    measure = generated.operation("measures_retrieve").sync(client=public, slug=slug)
    assert measure.stage is models.StageEnum.IN_FORCE
    assert measure.stage_since == datetime.date(2022, 4, 6)
    assert measure.version == read.parsed.version + 1


def test_record_a_scoped_event_with_its_precision_and_read_it_back(
    generated: Generated, base_url: str, seeded: Seeded
) -> None:
    """An event limited to a nation and an area, for a period, with a date known to the
    month: the client sends the enums and dates and reads them back typed, and the measure
    answers for that area, and not for another nation."""
    models = generated.models
    user = UserFactory.create(username="researcher-recording-a-pilot")
    user.user_permissions.add(
        Permission.objects.get_by_natural_key("add_statusevent", "measures", "statusevent")
    )
    authed = generated.authenticated_client(base_url, Token.objects.create(user=user).key)
    public = generated.client(base_url)
    slug = seeded.acid.slug
    body = models.StatusEventRequest(
        axis=models.AxisEnum.STAGE,
        value=models.StatusValueEnum.IN_FORCE,
        effective_on=datetime.date(2021, 7, 31),  # July 2021: the last day of the month
        effective_on_precision=models.DatePrecisionEnum.MONTH,
        extent=[models.ExtentEnum.ENGLAND],
        area=PILOT_AREA,
        ends_on=datetime.date(2023, 3, 31),
        rationale="A pilot in London from July 2021 to March 2023.",
        citations=[models.EventCitationRequest(source=seeded.source.pk, locator="reg. 2(1)")],
    )
    created = generated.operation("measures_events_create").sync_detailed(
        client=authed, measure_slug=slug, body=body
    )

    assert created.status_code == HTTPStatus.CREATED, created.content
    event = created.parsed
    assert isinstance(event, models.StatusEvent)
    assert event.effective_on == datetime.date(2021, 7, 31)
    assert event.effective_on_precision is models.DatePrecisionEnum.MONTH
    assert event.extent == [models.ExtentEnum.ENGLAND]
    assert all(isinstance(nation, models.ExtentEnum) for nation in event.extent)
    assert event.area == PILOT_AREA
    assert event.ends_on == datetime.date(2023, 3, 31)

    again = generated.operation("measures_events_retrieve").sync(
        client=public, measure_slug=slug, id=event.id
    )
    assert again.to_dict() == event.to_dict()
    assert again.extent == [models.ExtentEnum.ENGLAND]
    assert again.effective_on_precision is models.DatePrecisionEnum.MONTH
    assert again.ends_on == datetime.date(2023, 3, 31)
    # The events recorded before carry the defaults: day precision, not limited, no end.
    [first] = [
        e
        for e in generated.operation("measures_events_list")
        .sync(client=public, measure_slug=slug)
        .results
        if e.effective_on == datetime.date(2018, 4, 9) and e.axis is models.AxisEnum.STAGE
    ]
    assert first.effective_on_precision is models.DatePrecisionEnum.DAY
    assert first.extent == []
    assert first.area == ""
    assert first.ends_on is None

    # The measure answers for the pilot's area, during the pilot, and not for Scotland.
    measures_list = generated.operation("measures_list")
    during = datetime.date(2022, 1, 1)
    in_london = measures_list.sync(
        client=public, strategy=seeded.strategy.slug, area=PILOT_AREA, as_of=during
    )
    assert {m.slug: m.stage for m in in_london.results}[slug] is models.StageEnum.IN_FORCE
    in_scotland = measures_list.sync(
        client=public,
        strategy=seeded.strategy.slug,
        extent=models.ExtentEnum.SCOTLAND,
        as_of=during,
    )
    assert {m.slug: m.stage for m in in_scotland.results}[slug] is models.StageEnum.ENACTED


def test_read_the_law_s_path_as_typed_models(
    generated: Generated, base_url: str, the_record: None
) -> None:
    """Bills, provisions and commencements of the seeded Offensive Weapons Act: lists,
    filters and details."""
    models = generated.models
    client = generated.client(base_url)

    bills = generated.operation("bills_list").sync(client=client)
    assert isinstance(bills, models.PaginatedBillList)
    [bill] = bills.results
    assert isinstance(bill, models.Bill)
    assert bill.slug == "offensive-weapons-bill-2017-19"
    assert bill.session == "2017-19"
    assert isinstance(bill.act, models.ActReference)
    assert bill.act.slug == "offensive-weapons-act-2019"
    assert bill.act.citation == "2019 c. 17"
    assert bill.act.royal_assent_on == datetime.date(2019, 5, 16)
    assert bill.url == f"{base_url}/api/v1/bills/{bill.slug}/"
    first, *_, assent = bill.stages
    assert isinstance(first, models.BillStage)
    assert (first.house, first.stage, first.on) == (
        models.HouseEnum.COMMONS,
        models.BillStageKindEnum.FIRST_READING,
        datetime.date(2018, 6, 20),
    )
    assert (assent.house, assent.stage, assent.on) == (
        models.HouseEnum.PARLIAMENT,
        models.BillStageKindEnum.ROYAL_ASSENT,
        datetime.date(2019, 5, 16),
    )
    assert len(bill.stages) == 13
    detail = generated.operation("bills_retrieve").sync(client=client, slug=bill.slug)
    assert isinstance(detail, models.Bill)
    assert detail.to_dict() == bill.to_dict()
    assert generated.operation("bills_list").sync(client=client, enacted=False).results == []

    provisions_list = generated.operation("provisions_list")
    everywhere = provisions_list.sync(client=client, page_size=100)
    assert len(everywhere.results) == 15
    in_scotland = provisions_list.sync(client=client, extent=models.ExtentEnum.SCOTLAND)
    assert [p.slug for p in in_scotland.results] == ["owa-2019-s-44", "owa-2019-s-66"]
    for provision in in_scotland.results:
        assert isinstance(provision, models.Provision)
        assert provision.extent == [
            models.ExtentEnum.ENGLAND,
            models.ExtentEnum.WALES,
            models.ExtentEnum.SCOTLAND,
            models.ExtentEnum.NORTHERN_IRELAND,
        ]
    part_2 = generated.operation("provisions_retrieve").sync(client=client, slug="owa-2019-part-2")
    assert isinstance(part_2, models.Provision)
    assert part_2.reference == "Part 2 (ss. 14-33)"
    assert part_2.title == "Knife crime prevention orders"
    assert part_2.extent == [models.ExtentEnum.ENGLAND, models.ExtentEnum.WALES]
    assert part_2.act.slug == "offensive-weapons-act-2019"
    assert [m.slug for m in part_2.measures] == ["knife-crime-prevention-orders"]

    commencements_list = generated.operation("commencements_list")
    in_force_then = commencements_list.sync(client=client, in_force_on=datetime.date(2022, 1, 1))
    assert isinstance(in_force_then, models.PaginatedCommencementList)
    assert [c.slug for c in in_force_then.results] == [
        "ssi-2020-410-s-46-15",
        "si-2021-762-kcpo-pilot",
        "owa-2019-part-4-e-w-2021-07-14",
    ]
    # The pilot ended on 31 March 2023; SI 2022/418 had begun by then.
    later = commencements_list.sync(client=client, in_force_on=datetime.date(2023, 6, 1))
    assert "si-2021-762-kcpo-pilot" not in [c.slug for c in later.results]
    assert {"si-2022-418-reg-2-a", "si-2022-418-reg-2-b"} <= {c.slug for c in later.results}
    pilot = generated.operation("commencements_retrieve").sync(
        client=client, slug="si-2021-762-kcpo-pilot"
    )
    assert isinstance(pilot, models.Commencement)
    assert pilot.instrument == "SI 2021/762"
    assert pilot.area == PILOT_AREA
    assert pilot.extent == [models.ExtentEnum.ENGLAND]
    assert pilot.made_on == datetime.date(2021, 6, 25)
    assert pilot.in_force_on == datetime.date(2021, 7, 5)
    assert pilot.ends_on == datetime.date(2023, 3, 31)
    assert [p.slug for p in pilot.provisions] == ["owa-2019-part-2"]
    assert isinstance(pilot.source, models.SourceReference)
    assert pilot.to_dict() == {c.slug: c for c in in_force_then.results}[pilot.slug].to_dict()


def test_read_a_measure_s_legislation_chain(
    generated: Generated, base_url: str, the_record: None
) -> None:
    models = generated.models
    client = generated.client(base_url)
    slug = "knife-crime-prevention-orders"

    measure = generated.operation("measures_retrieve").sync(client=client, slug=slug)
    assert measure.legislation_url == f"{base_url}/api/v1/measures/{slug}/legislation/"
    chain = generated.operation("measures_legislation_retrieve").sync(client=client, slug=slug)

    assert isinstance(chain, models.MeasureLegislation)
    assert chain.measure.slug == slug
    [provision] = chain.provisions
    assert isinstance(provision, models.ChainProvision)
    assert provision.slug == "owa-2019-part-2"
    assert provision.extent == [models.ExtentEnum.ENGLAND, models.ExtentEnum.WALES]
    [pilot] = provision.commencements
    assert isinstance(pilot, models.ChainCommencement)
    assert pilot.slug == "si-2021-762-kcpo-pilot"
    assert pilot.area == "Metropolitan police district"
    assert (pilot.in_force_on, pilot.ends_on) == (
        datetime.date(2021, 7, 5),
        datetime.date(2023, 3, 31),
    )
    [act] = chain.acts
    assert isinstance(act, models.ChainAct)
    assert act.slug == "offensive-weapons-act-2019"
    assert act.royal_assent_on == datetime.date(2019, 5, 16)
    assert isinstance(act.bill, models.Bill)
    assert act.bill.slug == "offensive-weapons-bill-2017-19"
    assert act.bill.stages[-1].stage is models.BillStageKindEnum.ROYAL_ASSENT

    # A measure no provision carries has an empty chain.
    unlegislated = generated.operation("measures_legislation_retrieve").sync(
        client=client, slug="county-lines-and-drugs-market"
    )
    assert (unlegislated.acts, unlegislated.provisions) == ([], [])


def test_list_measures_for_a_nation_on_a_date(
    generated: Generated, base_url: str, the_record: None
) -> None:
    """SI 2022/418 brought the sale of corrosives to under-18s into force in Scotland as well
    as England and Wales, but the offence of carrying them in England and Wales only."""
    models = generated.models
    measures_list = generated.operation("measures_list")
    client = generated.client(base_url)
    day = datetime.date(2022, 5, 1)

    scotland = measures_list.sync(
        client=client, extent=models.ExtentEnum.SCOTLAND, as_of=day, page_size=100
    )
    wales = measures_list.sync(
        client=client, extent=models.ExtentEnum.WALES, as_of=day, page_size=100
    )

    assert len(scotland.results) == 23
    in_scotland = {m.slug: m.stage for m in scotland.results}
    in_wales = {m.slug: m.stage for m in wales.results}
    assert in_scotland["corrosive-products-sale-to-under-18s"] is models.StageEnum.IN_FORCE
    assert in_scotland["corrosive-substance-possession-offence"] is models.StageEnum.ENACTED
    assert in_wales["corrosive-substance-possession-offence"] is models.StageEnum.IN_FORCE
    # The knife crime prevention orders were in force only in the London pilot then.
    pilot = measures_list.sync(client=client, area=PILOT_AREA, as_of=day, page_size=100)
    kcpo = "knife-crime-prevention-orders"
    assert {m.slug: m.stage for m in pilot.results}[kcpo] is models.StageEnum.IN_FORCE
    assert in_wales[kcpo] is not models.StageEnum.IN_FORCE
    # The summary takes the same scope.
    summary = generated.operation("strategies_summary_retrieve").sync(
        client=client,
        slug="serious-violence-strategy-2018",
        extent=models.ExtentEnum.SCOTLAND,
        as_of=day,
    )
    assert isinstance(summary, models.StrategySummary)
    assert summary.extent is models.ExtentEnum.SCOTLAND
    assert summary.as_of == day
    assert summary.measure_count == len(in_scotland)
    in_force = [slug for slug, stage in in_scotland.items() if stage is models.StageEnum.IN_FORCE]
    assert summary.by_stage.to_dict()["in_force"] == len(in_force)


def test_read_the_money_trail(generated: Generated, base_url: str, the_record: None) -> None:
    """When each figure was announced (and how precisely that is known), which figure an
    announcement restates or delivers, and which are maxima."""
    models = generated.models
    page = generated.operation("funding_lines_list").sync(
        client=generated.client(base_url),
        measure="prevention-and-early-intervention",
        page_size=100,
    )
    lines = {line.title: line for line in page.results}
    announced = lines["Early Intervention Youth Fund (as announced)"]
    doubled = lines["Early Intervention Youth Fund (doubled)"]

    assert isinstance(doubled, models.FundingLine)
    assert doubled.announced_on == datetime.date(2018, 7, 30)
    assert doubled.announced_on_precision is models.DatePrecisionEnum.DAY
    assert doubled.realises == announced.id
    assert doubled.is_ceiling is False
    assert doubled.amount == "22000000.00"
    assert announced.announced_on == datetime.date(2018, 4, 9)
    assert announced.realises is None
    community = lines["Anti-knife crime Community Fund, 2018 to 2019 round (as announced)"]
    assert community.is_ceiling is True
    assert FundingLine.objects.get(pk=doubled.realises).title == announced.title
    # Dates known only to the month or the year are typed too.
    everything = generated.operation("funding_lines_list").sync(
        client=generated.client(base_url), page_size=500
    )
    precisions = {line.announced_on_precision for line in everything.results}
    assert precisions == {
        models.DatePrecisionEnum.DAY,
        models.DatePrecisionEnum.MONTH,
        models.DatePrecisionEnum.YEAR,
    }


def test_writing_without_a_token_is_a_typed_problem(
    generated: Generated, base_url: str, seeded: Seeded
) -> None:
    models = generated.models
    body = models.StatusEventRequest(
        axis=models.AxisEnum.VERDICT,
        value=models.StatusValueEnum.KEPT,
        effective_on=datetime.date(2019, 5, 16),
        rationale="Royal Assent.",
        citations=[models.EventCitationRequest(source=seeded.source.pk, locator="s. 6")],
    )
    response = generated.operation("measures_events_create").sync_detailed(
        client=generated.client(base_url), measure_slug=seeded.acid.slug, body=body
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(response.parsed, models.Problem)
    assert response.parsed.status == HTTPStatus.UNAUTHORIZED
    assert Measure.objects.get(pk=seeded.acid.pk).verdict == "in_the_works"


def test_a_measure_with_no_verdict_or_confidence_parses(
    generated: Generated, base_url: str, seeded: Seeded
) -> None:
    """Like every measure in ``seeds/``: a stage, but no verdict or confidence yet."""
    MeasureFactory.create(strategy=seeded.strategy, slug="county-lines-and-drugs-market")
    status_event_record(
        measure=Measure.objects.get(slug="county-lines-and-drugs-market"),
        axis="stage",
        value="announced",
        effective_on=datetime.date(2018, 4, 9),
        rationale="Announced in the strategy.",
        citations=[CitationInput(source=seeded.source, locator="p. 12")],
    )
    page = generated.operation("measures_list").sync(client=generated.client(base_url))
    fresh = {m.slug: m for m in page.results}["county-lines-and-drugs-market"]
    assert fresh.stage is generated.models.StageEnum.ANNOUNCED
    assert fresh.verdict is None
    assert fresh.confidence is None


def test_the_change_feed_parses(generated: Generated, base_url: str, seeded: Seeded) -> None:
    # The feed shows only finished transactions; another test run on the same server may
    # hold one open for a moment, so wait until the seeded rows are there.
    deadline = time.monotonic() + 60
    while True:
        page = generated.operation("changes_list").sync(
            client=generated.client(base_url),
            since=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
        )
        assert isinstance(page, generated.models.ChangeFeedPage)
        if page.items or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert page.items[0].kind is generated.models.ChangeKindEnum.STATUS_EVENT


def test_a_diff_from_before_the_first_event_parses(
    generated: Generated, base_url: str, seeded: Seeded
) -> None:
    diff = generated.operation("strategies_diff_retrieve").sync(
        client=generated.client(base_url),
        slug=seeded.strategy.slug,
        from_=datetime.date(2018, 1, 1),
        to=datetime.date(2020, 1, 1),
    )
    acid = {m.slug: m for m in diff.measures}[seeded.acid.slug]
    assert acid.status_from.stage is None
    assert acid.status_to.stage is generated.models.StageEnum.ENACTED


def test_subscribe_to_changes_and_read_the_delivery_log(
    generated: Generated, base_url: str, seeded: Seeded
) -> None:
    """A subscription made, read and paused with the typed client; a recorded event then
    shows in its delivery log as the documented Delivery, with the body sent."""
    models = generated.models
    owner = UserFactory.create(username="newsroom-bot")
    authed = generated.authenticated_client(base_url, Token.objects.create(user=owner).key)
    kind = models.WebhookEventTypeEnum.STATUS_EVENT_RECORDED
    created = generated.operation("webhooks_create").sync_detailed(
        client=authed,
        body=models.WebhookRequest(
            target_url="https://93.184.215.14/hook",
            kinds=[kind],
            filter_=models.WebhookFilterRequest(strategy=seeded.strategy.slug),
            description="newsroom bot",
        ),
    )
    assert created.status_code == HTTPStatus.CREATED, created.content
    webhook = created.parsed
    assert isinstance(webhook, models.WebhookWithSecret)
    assert webhook.secret.startswith("whsec_")
    assert webhook.kinds == [kind]
    assert webhook.filter_.strategy == seeded.strategy.slug

    status_event_record(
        measure=seeded.acid,
        axis="verdict",
        value="in_the_works",
        effective_on=datetime.date(2019, 6, 1),
        rationale="Rated for the subscription.",
        citations=[CitationInput(source=seeded.source, quote="q", locator="")],
    )
    log = generated.operation("webhooks_deliveries_list").sync(client=authed, webhook_pk=webhook.id)
    (delivery,) = log.results
    assert isinstance(delivery, models.Delivery)
    assert delivery.kind is kind
    assert delivery.status is models.DeliveryStatusEnum.PENDING
    assert delivery.webhook_id.startswith("msg_")
    assert delivery.payload["data"]["measure"] == seeded.acid.slug

    paused = generated.operation("webhooks_partial_update").sync(
        client=authed, id=webhook.id, body=models.PatchedWebhookRequest(is_active=False)
    )
    assert paused.is_active is False
    mine = generated.operation("webhooks_list").sync(client=authed)
    assert [w.id for w in mine.results] == [webhook.id]


def test_the_readme_example_runs_as_printed(
    generated: Generated, base_url: str, the_record: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's Python example, against the seed data, prints what its comment says."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    example = next(s for s in snippets if "policy_measure_tracker_api_client" in s)
    code = example.replace("policy_measure_tracker_api_client", PACKAGE).replace(
        "http://127.0.0.1:8000", base_url
    )
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README's example
    printed = capsys.readouterr().out.splitlines()
    assert "online-knife-sales-restrictions in_force 2022-04-06" in printed
    assert printed[-1] == (
        "Offence of possessing a corrosive substance in a public place on 1 June 2019: enacted"
    )
