"""The OpenAPI document ``GET /openapi.json`` serves: Powertools' generation from the routes,
completed with what the route signatures cannot say.

- Parameter rules are enforced in one place, :mod:`api.codec`, with the API's own error codes
  (``bad_id``, ``bad_limit``...), so their JSON Schema is stated here from the same constants
  rather than through Powertools' validation. The schemathesis run against the deployed API
  (tests/e2e/test_api_schema.py) fails if the two drift apart: schema-valid
  values must be accepted and schema-invalid ones rejected.
- With validation on, Powertools lists a 422 with its own ``HTTPValidationError`` body on every
  operation; this API never sends that body (``request_validation_error`` answers 400 or 422 with
  an ``ErrorBody``), so it is dropped wherever the route does not document a 422 itself.
- The PUT body is parsed by hand (size limit, exact numbers), so its schema is added here.
- Links say what a client can do next with an answer (the item a write returns can be read,
  replaced or deleted at its version; a page leads to the next); schemathesis' stateful phase
  follows them, which is how read-after-write and use-after-delete get checked.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from common.items import ID_MAX_LENGTH

from . import codec

JSON = "application/json"
POWERTOOLS_ONLY_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

# JSON Schema (ECMA-262 patterns) of the rules codec and common.items enforce.
PARAMETER_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("path", "id"): {
        "type": "string",
        "minLength": 1,
        "maxLength": ID_MAX_LENGTH,
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._~-]*$",  # common.items.is_valid_id
    },
    ("query", "consistent"): {"type": "string", "enum": ["true", "false"]},
    ("query", "limit"): {"type": "integer", "minimum": 1, "maximum": codec.MAX_LIMIT},
    ("query", "cursor"): {
        "type": "string",
        "minLength": 1,
        "maxLength": codec.MAX_CURSOR_CHARS,
        "pattern": f"^{codec.CURSOR_PATTERN.pattern}$",
    },
    ("header", "if-match"): {"type": "string", "pattern": f"^{codec.IF_MATCH_PATTERN.pattern}$"},
}


_ITEM = {"path.id": "$response.body#/id"}
_AT_VERSION = {**_ITEM, "header.if-match": "$response.header.ETag"}
_NEXT_STEPS = {
    "GetItem": ("getItem", _ITEM),
    "ReplaceItem": ("putItem", _AT_VERSION),
    "DeleteItem": ("deleteItem", _AT_VERSION),
}
# (operationId, status) -> {link name: (target operationId, parameters)}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("putItem", "200"): _NEXT_STEPS,
    ("putItem", "201"): _NEXT_STEPS,
    ("getItem", "200"): {name: step for name, step in _NEXT_STEPS.items() if name != "GetItem"},
    ("deleteItem", "204"): {"GetDeletedItem": ("getItem", {"path.id": "$request.path.id"})},
    ("listItems", "200"): {"NextPage": ("listItems", {"query.cursor": "$response.body#/cursor"})},
}


def document(app: APIGatewayHttpResolver, *, title: str, version: str, description: str) -> str:
    doc = json.loads(app.get_openapi_json_schema(title=title, version=version, description=description))
    for operations in doc["paths"].values():
        for operation in operations.values():
            _state_parameter_rules(operation)
            _drop_powertools_validation_error(operation)
            _add_links(operation)
    doc["paths"]["/items/{id}"]["put"]["requestBody"] = {
        "required": True,
        "content": {JSON: {"schema": codec.PutItemBody.model_json_schema()}},
        "description": f"At most {codec.MAX_BODY_BYTES} bytes.",
    }
    _drop_unreferenced_powertools_schemas(doc)
    return json.dumps(doc, separators=(",", ":"))


def _state_parameter_rules(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        rule = PARAMETER_SCHEMAS.get((parameter["in"], parameter["name"].lower()))
        if rule is not None:
            parameter["schema"] = {**rule, "description": parameter.get("description", "")}


def _add_links(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        links = LINKS.get((operation.get("operationId", ""), status))
        if links:
            response["links"] = {
                name: {"operationId": target, "parameters": dict(parameters)}
                for name, (target, parameters) in links.items()
            }


def _drop_powertools_validation_error(operation: dict[str, Any]) -> None:
    validation = operation.get("responses", {}).get("422", {})
    if "HTTPValidationError" in json.dumps(validation):
        del operation["responses"]["422"]


def _drop_unreferenced_powertools_schemas(doc: dict[str, Any]) -> None:
    schemas = doc.get("components", {}).get("schemas", {})
    for name in POWERTOOLS_ONLY_SCHEMAS:
        schemas.pop(name, None)
    # Whatever still points at them would now be a dangling $ref: fail loudly at generation time.
    text = json.dumps(doc)
    dangling = [name for name in POWERTOOLS_ONLY_SCHEMAS if f'"#/components/schemas/{name}"' in text]
    if dangling:
        raise ValueError(f"the OpenAPI document still refers to {dangling}")
