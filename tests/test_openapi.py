"""The OpenAPI document is a contract: the committed file is what the code generates,
valid and free of warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.support import OPENAPI_YAML, openapi_document


def test_committed_schema_is_current_and_valid(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    assert generated.read_text() == OPENAPI_YAML.read_text(), (
        "openapi.yaml is stale: run `make schema` and commit the result."
    )


@pytest.fixture
def document() -> dict[str, Any]:
    return openapi_document()


def test_document_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")


def test_every_operation_documents_its_problem_responses(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "401", "429"}
            if method in {"post", "put", "patch"}:
                expected |= {"403"}
            if "{" in path:
                expected |= {"404"}
            if method in {"put", "patch"}:
                expected |= {"412"}
            assert expected <= set(responses), (method, path, sorted(responses))
            for code in expected:
                content = responses[code]["content"]
                assert list(content) == ["application/problem+json"], (method, path, code)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }


def test_enum_names_are_stable(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in [
        "StageEnum",
        "VerdictEnum",
        "ConfidenceEnum",
        "AxisEnum",
        "InstrumentEnum",
        "FundingPhaseEnum",
        "FundingNoveltyEnum",
        "OrganisationKindEnum",
        "SourceKindEnum",
        "StatusValueEnum",
    ]:
        assert name in schemas, name
    assert schemas["StageEnum"]["enum"][:2] == ["announced", "in_development"]


def test_request_bodies_are_json_only(document: dict[str, Any]) -> None:
    for operations in document["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"]
