"""The API's JSON renderer (``config/api/renderers.py``) writes with orjson the bytes DRF's
``JSONRenderer`` writes: for any data the API can hold, and for the answers it gives."""

from __future__ import annotations

import datetime
import decimal
import json
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from django.utils.functional import lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers
from rest_framework.settings import api_settings

from config.api.problems import ProblemJSONRenderer
from config.api.renderers import JSONRenderer
from config.api.views import TrackerGenericViewSet
from tests.api.conftest import new_client

OURS, DRFS = JSONRenderer(), renderers.JSONRenderer()
SCHEMA = Path(__file__).resolve().parents[2] / "openapi.yaml"

lazy_text = lazy(lambda text: text, str)

instants = st.datetimes(
    timezones=st.one_of(
        st.none(), st.just(datetime.UTC), st.just(zoneinfo.ZoneInfo("Europe/London"))
    )
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    # Beyond 64 bits orjson refuses an integer: DRF's renderer writes it.
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(),
    # Every character JSON escapes or JavaScript would misread.
    st.sampled_from(
        ["\u2028", "\u2029", "— \u2028 \u2019\u2029é", "\x00\x1f\x7f", '"\\/', "\b\f\n\r\t", "é—🙂"]
    ),
    instants,
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    st.text().map(lazy_text),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(), inner, max_size=4),
    ),
    max_leaves=30,
)


def rendered(renderer: renderers.JSONRenderer, data: Any, media_type: str | None = None) -> Any:
    """The bytes, or the kind of error the renderer raised."""
    try:
        return renderer.render(data, media_type, {})
    except Exception as error:
        return type(error)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_any_document_is_written_as_drf_writes_it(data: Any) -> None:
    assert rendered(OURS, data) == rendered(DRFS, data)


@pytest.mark.parametrize(
    "data",
    [
        {"big": 2**64, "small": -(2**63) - 1},  # beyond what orjson writes
        {1: "a key that is not text", "b": True},
        ["\ud800 a lone surrogate"],
        {"amount": decimal.Decimal("0.00001")},  # DRF's default makes it a float
        [[[[[[[[[["deep"]]]]]]]]]] * 3,
        None,
    ],
    ids=["big integers", "integer key", "lone surrogate", "decimal", "nesting", "none"],
)
def test_what_orjson_does_not_write_is_written_by_drf(data: Any) -> None:
    assert rendered(OURS, data) == rendered(DRFS, data)


def test_deeper_than_orjson_goes_is_written_by_drf() -> None:
    data: Any = "leaf"
    for _ in range(300):
        data = [data]
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(data)
    assert OURS.render(data) == DRFS.render(data)


def test_an_indented_answer_is_drfs() -> None:
    data = {"results": [{"title": "Acid attacks", "n": 1}], "next": None}
    media_type = "application/json; indent=4"
    assert OURS.render(data, media_type, {}) == DRFS.render(data, media_type, {})
    assert OURS.render(data, media_type, {}).startswith(b'{\n    "results"')


def test_the_two_separators_are_escaped_as_drf_escapes_them() -> None:
    assert OURS.render({"t": "a\u2028b\u2029c"}) == b'{"t":"a\\u2028b\\u2029c"}'


def number_schemas(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        kinds = node.get("type")
        if kinds == "number" or (isinstance(kinds, list) and "number" in kinds):
            yield path
        for key, value in node.items():
            yield from number_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from number_schemas(value, f"{path}/{index}")


def test_no_answer_of_the_api_holds_a_float() -> None:
    """orjson writes a float below 1e-4 without an exponent and NaN as null, where DRF's
    encoder would not: the renderer is only exact while no answer declares a number (an
    integer is ``type: integer``). A new float field must write its number as text, or
    bring the float back to DRF's encoder."""
    document = yaml.safe_load(SCHEMA.read_text())
    in_answers = list(number_schemas(document["components"]["schemas"], "components"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict):
                in_answers += number_schemas(operation.get("responses", {}), f"{method} {path}")
    assert in_answers == []
    # The committed document does hold numbers: a filter's bounds, in the query.
    assert any(number_schemas(document["paths"]))


def test_the_api_answers_with_this_renderer() -> None:
    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is JSONRenderer
    assert type(TrackerGenericViewSet().get_renderers()[0]) is JSONRenderer
    assert issubclass(ProblemJSONRenderer, JSONRenderer)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/measures/",
        "/api/v1/measures/?page_size=3&as_of=2019-06-30",
        "/api/v1/strategies/",
        "/api/v1/organisations/",
        "/api/v1/funding-lines/",
        "/api/v1/changes/",
        "/api/v1/measures/?stage=nonsense",  # a problem document
    ],
)
def test_answers_are_the_bytes_drf_would_write(seeds_for_the_module: None, path: str) -> None:
    response = new_client().get(path)
    assert response["Content-Type"].endswith("json")
    data = json.loads(response.content)
    assert data  # an answer with something in it
    if hasattr(response, "data"):
        assert response.content == DRFS.render(response.data)
    else:
        assert response.content == DRFS.render(data)


@pytest.mark.django_db
def test_summaries_and_details_are_the_bytes_drf_would_write(seeds_for_the_module: None) -> None:
    client = new_client()
    slug = json.loads(client.get("/api/v1/strategies/").content)["results"][0]["slug"]
    measure = json.loads(client.get("/api/v1/measures/").content)["results"][0]["slug"]
    for path in (
        f"/api/v1/strategies/{slug}/summary/",
        f"/api/v1/measures/{measure}/",
        f"/api/v1/measures/{measure}/events/",
        f"/api/v1/measures/{measure}/legislation/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.content == DRFS.render(response.data), path
