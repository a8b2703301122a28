"""A measure's read shape is declared once, by ``MeasureSerializer``. The hand-built JSON of
the list and the detail, the CSV that PostgreSQL writes, and the benchmark's floor are each
held here to what DRF itself renders from that declaration: the same fields, in the same
order, with the same values and formats."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from bench import floor
from config.api.csv_export import flatten
from measures.choices import Stage
from measures.models import Measure, is_overdue
from measures.representation import (
    MeasureRepresentation,
    MeasureSerializer,
    instance_row,
    row_columns,
)
from tests.support import Record

pytestmark = pytest.mark.django_db

URL = "/api/v1/measures/"

# Two instants that show both of the JSON's forms: ``Z`` in winter without microseconds,
# an offset in British Summer Time with them.
WINTER = datetime.datetime(2018, 1, 15, 9, 30, tzinfo=datetime.UTC)
SUMMER = datetime.datetime(2019, 7, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)


@pytest.fixture
def measures(acid_and_knives: list[Measure], record: Record) -> list[Measure]:
    """The two measures, with a verdict too, and instants in both of the JSON's forms."""
    acid, knives = acid_and_knives
    record(acid, "kept", datetime.date(2019, 5, 16), axis="verdict")
    Measure.objects.filter(slug="acid").update(
        legal_vehicle="Offensive Weapons Bill", created_at=WINTER, updated_at=SUMMER
    )
    Measure.objects.filter(slug="knives").update(summary="", created_at=SUMMER, updated_at=WINTER)
    return [acid, knives]


def drf_rendering(measure: Measure, request: Request) -> dict[str, Any]:
    """What DRF's own per-field machinery renders from the declaration."""
    serializer = MeasureSerializer(context={"request": request})
    return serializers.ModelSerializer.to_representation(serializer, measure)


def api_request(path: str = URL) -> Request:
    return Request(APIRequestFactory().get(path))


def test_the_fast_json_is_drfs_rendering_of_the_declaration(measures: list[Measure]) -> None:
    request = api_request()
    represent = MeasureRepresentation(request)
    rows = Measure.objects.order_by("slug").values(*row_columns())
    for measure, row in zip(
        Measure.objects.for_api().with_overdue().order_by("slug"), rows, strict=True
    ):
        expected = drf_rendering(measure, request)
        built = represent(row)
        assert list(built) == list(expected) == MeasureSerializer.Meta.fields
        assert built == expected


def test_a_time_travel_read_is_the_declaration_with_the_historys_status(
    measures: list[Measure],
) -> None:
    as_of = datetime.date(2018, 5, 1)
    request = api_request()
    rows = (
        Measure.objects.with_history(as_of=as_of)
        .order_by("slug")
        .values(*row_columns(time_travel=True))
    )
    then = Measure.objects.for_api().with_history(as_of=as_of).with_overdue(as_of, "stage_then")
    for measure, row in zip(then.order_by("slug"), rows, strict=True):
        for name in MeasureSerializer.time_travelled:
            setattr(measure, name, getattr(measure, f"{name}_then"))
        assert MeasureRepresentation(request, on=as_of)(row) == drf_rendering(measure, request)
    assert [row["stage_then"] for row in rows] == ["announced", "announced"]


def test_an_instance_reads_as_its_row(measures: list[Measure]) -> None:
    """The change feed serializes instances: the same JSON as from a row."""
    request = api_request()
    measure = Measure.objects.for_api().get(slug="acid")
    row = Measure.objects.values(*row_columns()).get(slug="acid")
    assert instance_row(measure) == row
    assert MeasureSerializer(measure, context={"request": request}).data == (
        MeasureRepresentation(request)(row)
    )


@pytest.mark.parametrize("params", [{}, {"as_of": "2018-05-01"}], ids=["now", "as_of"])
def test_the_csv_is_the_json_flattened(
    anonymous: APIClient, measures: list[Measure], params: dict[str, str]
) -> None:
    """Same columns in the same order (nested fields as ``outer.inner``), same values in
    the same formats; a null is an empty cell."""
    page = anonymous.get(URL, params).json()["results"]
    response: Any = anonymous.get(URL, {**params, "format": "csv"})
    text = b"".join(response.streaming_content).decode()
    header, *cells = list(csv.reader(io.StringIO(text)))
    expected = [flatten(row) for row in page]
    assert page[0]["lead_organisation"] is not None  # its flattening names every column
    assert header == list(expected[0])
    assert [dict(zip(header, row, strict=True)) for row in cells] == [
        {name: str(row.get(name, "")) for name in header} for row in expected
    ]
    times = {(row["slug"], row["created_at"], row["updated_at"]) for row in page}
    assert times == {
        ("acid", "2018-01-15T09:30:00Z", "2019-07-01T13:00:00.123456+01:00"),
        ("knives", "2019-07-01T13:00:00.123456+01:00", "2018-01-15T09:30:00Z"),
    }


def test_instants_follow_each_requests_time_zone(measures: list[Measure]) -> None:
    """DRF's field for instants is kept for each zone, not once: a request in another zone
    still gets its own (``test_public_reads`` holds links to each request's script prefix)."""
    row = Measure.objects.values(*row_columns()).get(slug="acid")
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        abroad = MeasureRepresentation(api_request())(row)
    at_home = MeasureRepresentation(api_request())(row)
    assert (abroad["created_at"], at_home["created_at"]) == (
        "2018-01-15T04:30:00-05:00",
        "2018-01-15T09:30:00Z",
    )


def test_the_benchmark_floor_answers_the_same_json(measures: list[Measure]) -> None:
    """The floor repeats the shape on purpose (it must not share the product's code); this
    keeps the two from drifting apart."""
    request = api_request()
    base = request.build_absolute_uri(URL)
    for row in Measure.objects.with_overdue().values(*floor.FIELDS):
        assert floor.representation(row, base) == MeasureRepresentation(request)(row)


# One measure row serves every example: each sets the two columns it is about.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target_on=st.one_of(st.none(), st.dates(datetime.date(2017, 1, 1), datetime.date(2021, 1, 1))),
    stage=st.one_of(st.none(), st.sampled_from(Stage.values)),
    on=st.dates(datetime.date(2017, 1, 1), datetime.date(2021, 1, 1)),
)
def test_overdue_is_the_same_rule_in_python_and_in_sql(
    measure: Measure, target_on: datetime.date | None, stage: str | None, on: datetime.date
) -> None:
    Measure.objects.filter(pk=measure.pk).update(target_on=target_on, stage=stage)
    overdue: Any = Measure.objects.with_overdue(on)
    in_sql = overdue.values_list("is_overdue", flat=True).get()
    assert is_overdue(target_on, stage, on) is in_sql
