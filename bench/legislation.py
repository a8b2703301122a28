"""The law's path for the benchmark: bills with their stages, the Acts they became, the
Acts' provisions, the instruments that commenced them and the links from measures to the
provisions that carry them, so that ``/bills/``, ``/provisions/``, ``/commencements/`` and a
measure's ``/legislation/`` chain are timed on rows, not on empty tables.

``bench/generate.py`` writes the tracker's big tables with ``COPY``; these tables stay small
(one Act per 1,000 measures, at most ``MAX_ACTS``), so they are written here with the ORM
after ``django.setup()``, seeded (the same dataset gives the same rows). ``ensure`` writes
them only when the database does not already hold this set: a new dataset
(``generate --reset`` empties the measures and with them the links) makes it write them
again.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

MAX_ACTS = 200
PROVISIONS_PER_ACT = 25
COMMENCEMENTS_PER_ACT = 10
# Measures delivered by legislation linked to provisions: one in LINK_EVERY of them.
LINK_EVERY = 2
NATIONS = ["england", "wales", "scotland", "northern_ireland"]
EXTENTS = [
    [],
    ["england", "wales"],
    ["england", "wales", "scotland"],
    NATIONS,
    ["scotland"],
    ["northern_ireland"],
    ["england"],
]
STAGES = [
    ("commons", "first_reading"),
    ("commons", "second_reading"),
    ("commons", "committee"),
    ("commons", "report"),
    ("commons", "third_reading"),
    ("lords", "first_reading"),
    ("lords", "second_reading"),
    ("lords", "committee"),
    ("lords", "report"),
    ("lords", "third_reading"),
    ("commons", "consideration_of_amendments"),
    ("parliament", "royal_assent"),
]
AREAS = ["Metropolitan police district", "West Midlands police area", "Greater Manchester"]
# The day the commencements filter and the chain are asked about.
IN_FORCE_DAYS = ["2021-01-01", "2022-04-06", "2023-06-30", "2024-12-31"]


@dataclass(frozen=True)
class Counts:
    bills: int
    stages: int
    provisions: int
    commencements: int
    links: int

    def summary(self) -> str:
        return (
            f"{self.bills:,} bills with {self.stages:,} stages and their Acts, "
            f"{self.provisions:,} provisions, {self.commencements:,} commencements, "
            f"{self.links:,} measure-provision links"
        )


def acts_for(measures: int) -> int:
    return max(5, min(MAX_ACTS, measures // 1000))


def current() -> Counts:
    from legislation.models import Bill, BillStage, Commencement, Provision
    from measures.models import MeasureProvision

    return Counts(
        bills=Bill.objects.count(),
        stages=BillStage.objects.count(),
        provisions=Provision.objects.count(),
        commencements=Commencement.objects.count(),
        links=MeasureProvision.objects.count(),
    )


def ensure(seed: int) -> tuple[Counts, bool]:
    """The legislation rows for the dataset in the database; whether they were written now."""
    from measures.models import Measure

    measures = Measure.objects.count()
    acts = acts_for(measures)
    have = current()
    expected_links = Measure.objects.filter(instrument="legislation").count() // LINK_EVERY
    if (
        have.bills == acts
        and have.provisions == acts * PROVISIONS_PER_ACT
        and have.commencements == acts * COMMENCEMENTS_PER_ACT
        and have.links >= expected_links
        and have.links > 0
    ):
        return have, False
    write(acts, seed)
    return current(), True


def write(acts: int, seed: int) -> None:
    """Empty the legislation tables and the links, then write ``acts`` Acts' worth."""
    from django.db import connection, transaction

    from legislation.models import Act, Bill, BillStage, Commencement, Provision
    from measures.models import Measure, MeasureProvision
    from strategy.models import Source

    rng = random.Random(seed * 31 + 7)
    sources = list(Source.objects.order_by("id").values_list("id", flat=True)[:100])
    if not sources:
        raise RuntimeError("the dataset has no sources to cite")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE measures_measureprovision, legislation_commencement_provisions, "
                "legislation_commencement, legislation_provision, legislation_act, "
                "legislation_billstage, legislation_bill RESTART IDENTITY"
            )
        bills = Bill.objects.bulk_create(
            Bill(
                slug=f"bench-bill-{number}",
                title=f"Benchmark Bill {number}",
                session=f"{2010 + number % 14}-{11 + number % 14}",
                url=f"https://bills.parliament.uk/bills/{100_000 + number}",
            )
            for number in range(acts)
        )
        stages: list[BillStage] = []
        assents: list[datetime.date] = []
        for bill in bills:
            day = datetime.date(2010, 1, 1) + datetime.timedelta(days=rng.randint(0, 4000))
            for house, stage in STAGES:
                day += datetime.timedelta(days=rng.randint(1, 40))
                stages.append(
                    BillStage(
                        bill=bill,
                        house=house,
                        stage=stage,
                        on=day,
                        source_id=rng.choice(sources),
                        quote=f"The Bill had its {stage.replace('_', ' ')}.",
                        locator=f"col. {rng.randint(1, 999)}",
                    )
                )
            assents.append(day)
        BillStage.objects.bulk_create(stages, batch_size=2000)
        act_rows = Act.objects.bulk_create(
            Act(
                slug=f"bench-act-{number}",
                title=f"Benchmark Act {assent.year} ({number})",
                citation=f"{assent.year} c. {number + 1}",
                uri=f"http://www.legislation.gov.uk/id/ukpga/{assent.year}/{number + 1}",
                url=f"https://www.legislation.gov.uk/ukpga/{assent.year}/{number + 1}",
                bill=bill,
                royal_assent_on=assent,
            )
            for number, (bill, assent) in enumerate(zip(bills, assents, strict=True))
        )
        provisions = Provision.objects.bulk_create(
            (
                Provision(
                    slug=f"bench-act-{number}-s-{section}",
                    act=act,
                    reference=f"s. {section}",
                    title=f"Section {section} of the benchmark Act {number}",
                    uri=f"{act.uri}/section/{section}",
                    extent=rng.choice(EXTENTS),
                    source_id=rng.choice(sources),
                    quote=f"{section} Section {section}",
                )
                for number, act in enumerate(act_rows)
                for section in range(1, PROVISIONS_PER_ACT + 1)
            ),
            batch_size=2000,
        )
        by_act = [
            provisions[start : start + PROVISIONS_PER_ACT]
            for start in range(0, len(provisions), PROVISIONS_PER_ACT)
        ]
        commencements: list[Commencement] = []
        covered: list[list[Provision]] = []
        for number, (act, own) in enumerate(zip(act_rows, by_act, strict=True)):
            assent = act.royal_assent_on or datetime.date(2020, 1, 1)
            for order in range(COMMENCEMENTS_PER_ACT):
                in_force = assent + datetime.timedelta(days=rng.randint(1, 1500))
                pilot = order == 0
                commencements.append(
                    Commencement(
                        slug=f"bench-si-{number}-{order}",
                        act=act,
                        instrument=f"SI {in_force.year}/{number * 10 + order + 1}",
                        instrument_title=(
                            f"The Benchmark Act {number} (Commencement No. {order + 1}) Regulations"
                        ),
                        instrument_uri=(
                            "http://www.legislation.gov.uk/id/uksi/"
                            f"{in_force.year}/{number * 10 + order + 1}"
                        ),
                        made_on=in_force - datetime.timedelta(days=rng.randint(1, 30)),
                        in_force_on=in_force,
                        ends_on=in_force + datetime.timedelta(days=rng.randint(90, 700))
                        if pilot
                        else None,
                        extent=["england"] if pilot else rng.choice(EXTENTS[1:]),
                        area=rng.choice(AREAS) if pilot else "",
                        source_id=rng.choice(sources),
                        quote="The following provisions come into force.",
                        locator=f"reg. {order + 2}",
                    )
                )
                covered.append(rng.sample(own, rng.randint(1, 5)))
        commencements = Commencement.objects.bulk_create(commencements, batch_size=2000)
        through: Any = Commencement.provisions.through
        through.objects.bulk_create(
            (
                through(commencement_id=commencement.pk, provision_id=provision.pk)
                for commencement, chosen in zip(commencements, covered, strict=True)
                for provision in chosen
            ),
            batch_size=5000,
        )
        carried = list(
            Measure.objects.filter(instrument="legislation")
            .order_by("id")
            .values_list("id", flat=True)
        )[::LINK_EVERY]
        MeasureProvision.objects.bulk_create(
            (
                MeasureProvision(measure_id=measure, provision_id=provision.pk)
                for measure in carried
                for provision in rng.sample(rng.choice(by_act), rng.randint(1, 3))
            ),
            batch_size=5000,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE measures_measureprovision, legislation_commencement_provisions, "
                "legislation_commencement, legislation_provision, legislation_act, "
                "legislation_billstage, legislation_bill"
            )


def linked_measures(limit: int) -> list[str]:
    """Slugs of measures carried by provisions, spread over the table (deterministic)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT m.slug FROM measures_measure m
               WHERE EXISTS (SELECT 1 FROM measures_measureprovision l WHERE l.measure_id = m.id)
               ORDER BY md5(m.slug) LIMIT %s""",
            [limit],
        )
        return [row[0] for row in cursor.fetchall()]
