"""The OpenAPI document is a contract: the committed file is what the code generates,
valid and free of warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

COMMITTED = Path(settings.BASE_DIR) / "openapi.yaml"


def test_committed_schema_is_current_and_valid(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    assert generated.read_text() == COMMITTED.read_text(), (
        "openapi.yaml is stale: run `make schema` and commit the result."
    )


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(COMMITTED.read_text())


def test_document_is_openapi_3_1(document: dict) -> None:
    assert document["openapi"].startswith("3.1")


def test_every_operation_documents_its_problem_responses(document: dict) -> None:
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


def test_enum_names_are_stable(document: dict) -> None:
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


def test_request_bodies_are_json_only(document: dict) -> None:
    for operations in document["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"]
