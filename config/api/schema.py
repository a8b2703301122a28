"""OpenAPI generation: every operation documents its error responses as problem details,
and reads document their ``ETag``."""

from __future__ import annotations

import functools
import sys
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import (
    ResolvedComponent,
    build_choice_description_list,
    get_view_model,
    load_enum_name_overrides,
    safe_ref,
)
from rest_framework import permissions, serializers
from rest_framework.schemas.utils import get_pk_description

from config.api.fields import LARGEST_ID, MoneyField, StrictPrimaryKeyRelatedField
from config.api.problems import PROBLEM_CONTENT_TYPE
from config.api.views import ID_LOOKUP, SLUG_LOOKUP


class ProblemErrorSerializer(serializers.Serializer):
    """One invalid field (``pointer``) or query parameter (``parameter``)."""

    pointer = serializers.CharField(
        required=False, help_text="JSON pointer into the request body, e.g. “#/citations/0/quote”."
    )
    parameter = serializers.CharField(required=False, help_text="Name of the query parameter.")
    detail = serializers.CharField(help_text="What is wrong, in words.")


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem details document."""

    type = serializers.CharField(
        help_text="A URI identifying the kind of problem; `about:blank` for a plain HTTP status."
    )
    title = serializers.CharField(help_text="A short summary of the kind of problem.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong with this request.")
    instance = serializers.CharField(required=False, help_text="The path of the request.")
    request_id = serializers.CharField(
        required=False,
        help_text="The request's id (also the `X-Request-ID` header): quote it when reporting a problem.",
    )
    errors = ProblemErrorSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="For validation problems: each invalid input."
    )


ERROR_DESCRIPTIONS = {
    "400": (
        "Invalid input: a field, a filter, an unknown parameter, a malformed cursor, or a "
        "rule across fields or stored rows (the request body's description states them)."
    ),
    "401": "The credentials are missing, wrong or disabled.",
    "403": "You are authenticated but lack the permission for this.",
    "404": "No such resource; on a list, no page starts at the given cursor.",
    "406": "None of the representations you accept is available.",
    "409": "The change conflicts with what is stored (a dependent row, or a concurrent write).",
    "412": "`If-Match` does not match the resource's current `ETag`: it changed since you read it.",
    "413": "The request body is too large.",
    "415": "Send the body as `application/json`.",
    "422": "The `Idempotency-Key` was already used with a different body.",
    "429": "Too many requests; retry after `Retry-After` seconds.",
    "503": "The database is unavailable; retry after `Retry-After` seconds.",
}
ETAG_HEADER = {
    "ETag": {
        "schema": {"type": "string"},
        "description": "Validator of this representation, for `If-None-Match` and `If-Match`.",
    }
}


LOCATION_HEADER = {
    "Location": {
        "schema": {"type": "string", "format": "uri"},
        "description": "The URL of the created resource.",
    }
}
CSV_SCHEMA = {
    "type": "string",
    "description": (
        "Every matching row (no pages), one per line after a header row; nested fields are "
        "dotted columns (`strategy.slug`), lists are JSON, empty cells are null."
    ),
}


@functools.cache
def not_blank_pattern() -> str:
    """A pattern matching text with a character ``str.strip()`` keeps. DRF strips text before
    refusing a blank one, so ``minLength: 1`` alone would promise that a lone space (or a
    unit separator, which Python counts as space) is taken."""
    spaces = [code for code in range(sys.maxunicode + 1) if chr(code).isspace()]
    ranges: list[list[int]] = []
    for code in spaces:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = [
        f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"
        for first, last in ranges
    ]
    return f"[^{''.join(parts)}]"


# How an operation's summary reads, by what it does ("List measures", "Read a measure").
SUMMARIES = {
    "list": "List {plural}",
    "retrieve": "Read a {singular}",
    "create": "Create a {singular}",
    "update": "Replace a {singular}",
    "partial_update": "Change part of a {singular}",
}


class TrackerAutoSchema(AutoSchema):
    def get_auth(self) -> list[dict[str, Any]]:
        """Reads are public: they are documented as needing no credentials (a token may
        still be sent, and then counts against its user's rate limit, not the anonymous
        one). A user's own resources (webhooks) need a token to be read too."""
        signed_in_only = any(
            isinstance(permission, type) and issubclass(permission, permissions.IsAuthenticated)
            for permission in getattr(self.view, "permission_classes", ())
        )
        if self.method in ("GET", "HEAD") and not signed_in_only:
            return []
        auth: list[dict[str, Any]] = super().get_auth()
        return auth

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        """A serializer that refuses members it does not declare (``closed = True``) says
        so: ``additionalProperties: false``."""
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if getattr(serializer, "closed", False):
            schema["additionalProperties"] = False
        return schema

    def get_summary(self) -> str | None:
        """A summary for every operation, from what it does to which resource; an action
        of its own gives its summary in ``extend_schema``."""
        template = SUMMARIES.get(getattr(self.view, "action", "") or "")
        model = get_view_model(self.view, emit_warnings=False)
        if template is None or model is None:
            return None
        options = model._meta
        return template.format(
            singular=options.verbose_name, plural=options.verbose_name_plural
        ).capitalize()

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.ChoiceField) and field.allow_null:
            return self._named_enum(field, direction, schema)
        if isinstance(field, serializers.ListSerializer | serializers.ListField) and (
            schema.get("type") == "array"
        ):
            if not field.allow_empty:
                schema["minItems"] = max(schema.get("minItems", 0), 1)
            min_length = getattr(field, "min_length", None)
            max_length = getattr(field, "max_length", None)
            if min_length is not None:
                schema["minItems"] = max(schema.get("minItems", 0), min_length)
            if max_length is not None:
                schema["maxItems"] = max_length
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and "pattern" not in schema
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            schema["pattern"] = not_blank_pattern()
        types = schema.get("type")
        if isinstance(field, StrictPrimaryKeyRelatedField) and "integer" in (
            types if isinstance(types, list) else [types]
        ):
            schema.update(minimum=1, maximum=LARGEST_ID)
        if isinstance(field, MoneyField):
            # drf-spectacular's pattern for a decimal also allows a sign and an empty string.
            schema["pattern"] = field.pattern
        if isinstance(field, serializers.SlugField):
            # Every slug column is constrained to lowercase kebab case (what URLs take), not
            # the upper case and underscores a Django slug allows.
            schema["pattern"] = f"^{SLUG_LOOKUP}$"
        return schema

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        for parameter in parameters:
            # Every page size goes through ``parse_page_size``: a whole number from 1 (one
            # above the cap is reduced to it).
            if parameter.get("in") == "query" and parameter["name"] == "page_size":
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters

    def _named_enum(
        self, field: serializers.ChoiceField, direction: Any, schema: dict[str, Any]
    ) -> dict[str, Any]:
        """A nullable choice as a reference to its named enum (``StageEnum``), which
        drf-spectacular then puts beside ``null``. Left to the enum post-processing, the
        null would be dropped (ENUM_ADD_EXPLICIT_BLANK_NULL_CHOICE is off), documenting a
        stage that is null until the first event as never null, and generated clients would
        refuse such a measure."""
        name = load_enum_name_overrides().get(schema.get("x-spec-enum-id", ""))
        if name is None:
            return schema
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema={
                "enum": [value for value in field.choices if value not in ("", None)],
                "type": "string",
                "description": build_choice_description_list(field.choices.items()),
            },
        )
        self.registry.register_on_missing(component)
        meta = self._get_serializer_field_meta(field, direction)
        meta.pop("nullable", None)
        return safe_ref({"oneOf": [component.ref, {"type": "null"}], **meta})

    def _resolve_path_parameters(self, variables: Any) -> list[dict[str, Any]]:
        """A lookup restricted by a URL pattern is documented from that pattern alone (a
        string); put back what the model says: ids are integers, slugs are explained."""
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)
        model = get_view_model(self.view, emit_warnings=False)
        lookup = getattr(self.view, "lookup_url_kwarg", None) or getattr(
            self.view, "lookup_field", None
        )
        if model is None:
            return parameters
        if lookup == "pk":
            lookup = model._meta.pk.name  # drf-spectacular names the parameter after the field
        for parameter in parameters:
            schema = parameter["schema"]
            if schema.get("pattern") == f"^{ID_LOOKUP}$":
                parameter["schema"] = {"type": "integer"}
                if parameter["name"] == lookup:
                    required = parameter.pop("required")
                    parameter["description"] = get_pk_description(model, model._meta.pk)
                    parameter["required"] = required
            elif parameter["name"] == lookup:
                try:
                    help_text = model._meta.get_field(str(lookup)).help_text
                except FieldDoesNotExist:
                    help_text = ""
                if help_text:
                    schema["description"] = str(help_text)
        return parameters

    def error_codes(self) -> list[str]:
        codes = ["400", "401", "406", "429", "503"]
        if self.method not in ("GET", "HEAD"):
            codes += ["403", "409", "413", "415"]
        if self.method == "POST":
            codes.append("422")
        # A path naming a resource, or a cursor naming a page, may name nothing.
        if "{" in self.path or any(p["name"] == "cursor" for p in self._get_parameters()):
            codes.append("404")
        if self.method in ("PUT", "PATCH") or (self.method == "POST" and "{" in self.path):
            codes.append("412")
        return sorted(codes)

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in responses.items():
            if code in ("200", "201") and self.method != "DELETE":
                response.setdefault("headers", {}).update(ETAG_HEADER)
            if code == "201":
                response["headers"].update(LOCATION_HEADER)
            if "text/csv" in response.get("content", {}):
                response["content"]["text/csv"] = {"schema": CSV_SCHEMA}
        if self.method == "GET":
            responses["304"] = {
                "description": "Not modified: the `If-None-Match` ETag is still current.",
                "headers": ETAG_HEADER,
            }
        for code in self.error_codes():
            if code not in responses:
                response = self._get_response_for_code(
                    ProblemSerializer, code, media_types=[PROBLEM_CONTENT_TYPE]
                )
                response["description"] = ERROR_DESCRIPTIONS[code]
                if code in ("429", "503"):
                    response["headers"] = {
                        "Retry-After": {
                            "schema": {"type": "integer"},
                            "description": "Seconds to wait.",
                        }
                    }
                responses[code] = response
        return responses


def reference_parameter_enums(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Post-processing hook: a query parameter whose values are exactly those of a named
    enum (a stage filter and ``StageEnum``) refers to that enum, so generated clients use
    one type for both instead of a duplicate per filter."""
    schemas = result.get("components", {}).get("schemas", {})
    named = {
        frozenset(schema["enum"]): name
        for name, schema in schemas.items()
        if name.endswith("Enum") and "enum" in schema
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                target = schema.get("items", schema) if schema.get("type") == "array" else schema
                values = target.get("enum")
                name = named.get(frozenset(values)) if values else None
                if name is None:
                    continue
                reference = {"$ref": f"#/components/schemas/{name}"}
                if target is schema:
                    parameter["schema"] = reference
                else:
                    schema["items"] = reference
    return result


def public_reads_need_no_credentials(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Post-processing hook: an operation with no security requirement says so
    (``security: []``) rather than leaving it unsaid."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("security", [])
    return result
