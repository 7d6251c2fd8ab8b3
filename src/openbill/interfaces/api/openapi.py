"""The OpenAPI schema, completed: FastAPI documents what a route declares; this adds what every
operation of a kind can answer, so that a client generated from the schema (and schemathesis,
which checks every answer against it) knows every refusal.

- every refusal (4xx, 5xx) is a Problem, `application/problem+json`;
- an operation guarded by an action (`x-openbill-action`): 401 and 403, and how to log in;
- every operation: 422 (the request is wrong; at least a NUL character anywhere in it);
- an operation with a path parameter: 404; a change: 409, and 413 for a body too large;
  with an If-Match header: 412, 428;
- a path parameter read by a dependency (the `{entity}` of the guard) is declared;
- a POST of an IdempotentRoute declares its Idempotency-Key header.

A route documents a refusal of its own with `responses={429: {"description": ...}}`; its
content becomes the Problem here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from openbill.interfaces.api.idempotency import HEADER as IDEMPOTENCY_KEY
from openbill.interfaces.api.idempotency import MAX_KEY_LENGTH, IdempotentRoute
from openbill.interfaces.api.problems import PROBLEM_JSON, Problem
from openbill.interfaces.api.security import ACTION_KEY, SESSION_COOKIE

__all__ = ["LOGGED_IN", "SECURITY_SCHEMES", "complete_schema", "documented"]

SECURITY_SCHEMES: dict[str, Any] = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key (`openbill apikeys create`): `Authorization: Bearer obk_...`",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "the session cookie that POST /v1/sessions sets",
    },
}
# Either way of logging in (OpenAPI: one requirement of the list suffices).
LOGGED_IN: list[dict[str, list[str]]] = [{"apiKey": []}, {"session": []}]

_GUARDED = {
    401: "not logged in: no API key or session, or a bad one",
    403: "the caller may not do this here (another legal entity, or an action it lacks)",
}
_RECORD = {404: "no such record"}
_INPUT = {422: "the request is wrong: `field` names where, `errors` lists every problem"}
_WRITE = {
    409: "the record's state refuses it, or the same Idempotency-Key is still running",
    413: "the body is larger than the server takes (OPENBILL_MAX_BODY_MB, 64 MB by default)",
}
_IF_MATCH = {
    412: "changed by someone else since it was read: read it again",
    428: "send If-Match with the ETag you read",
}
_PATH_PARAMETERS = {"entity": "the legal entity's code, e.g. ACME"}
_WRITE_METHODS = {"post", "put", "patch", "delete"}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


Operations = Callable[[], Iterable[tuple[str, str, APIRoute]]]


def documented(app: FastAPI, operations: Operations) -> Callable[[], dict[str, Any]]:
    """A replacement for `app.openapi`: FastAPI's schema, completed once and then cached.
    `operations` gives (method, path, route) of every operation (app.operations)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete_schema(build(), operations())
        assert app.openapi_schema is not None
        return app.openapi_schema

    return openapi


def complete_schema(
    schema: dict[str, Any], operations: Iterable[tuple[str, str, APIRoute]]
) -> None:
    """Complete FastAPI's `schema` in place (see the module's docstring)."""
    idempotent = {
        (method.lower(), re.sub(r"\{(\w+):\w+\}", r"{\1}", path))  # {p:path} -> {p}
        for method, path, route in operations
        if isinstance(route, IdempotentRoute)
    }
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem = Problem.model_json_schema(
        mode="serialization", ref_template="#/components/schemas/{model}"
    )
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete(path, method, operation, (method, path) in idempotent)
    # FastAPI's own validation error models: our 422 is a Problem.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _complete(path: str, method: str, operation: dict[str, Any], idempotent: bool) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    declared = {(p.get("in"), str(p.get("name", "")).lower()) for p in parameters}
    for place, name in enumerate(re.findall(r"\{([^}/]+)\}", path)):
        if ("path", name.lower()) not in declared:
            parameters.insert(
                place,
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": _PATH_PARAMETERS.get(name, name),
                },
            )
    if idempotent and method == "post" and ("header", IDEMPOTENCY_KEY.lower()) not in declared:
        parameters.append(
            {
                "name": IDEMPOTENCY_KEY,
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                "description": "runs this POST once: a replay returns the first response "
                "(Idempotent-Replayed: true)",
            }
        )
    if not parameters:
        del operation["parameters"]
    wanted: dict[int, str] = {}
    if ACTION_KEY in operation:
        wanted |= _GUARDED
        operation.setdefault("security", LOGGED_IN)
    if any(p["in"] == "path" for p in parameters):
        wanted |= _RECORD
    # Every operation: at least a path or query with a NUL character is refused (inputs.py).
    wanted |= _INPUT
    if method in _WRITE_METHODS:
        wanted |= _WRITE
    if ("header", "if-match") in declared:
        wanted |= _IF_MATCH
    responses: dict[str, Any] = operation["responses"]
    for status, text in wanted.items():
        responses.setdefault(str(status), {"description": text})
    operation["responses"] = responses = dict(sorted(responses.items()))
    for status, response in responses.items():
        if status[:1] not in ("4", "5"):
            continue
        if response.get("description") in (None, "", "Validation Error"):
            response["description"] = (
                _INPUT[422] if status == "422" else _phrase(status) or "refused"
            )
        response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}


def _phrase(status: str) -> str | None:
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:  # a range such as "4XX"
        return None
