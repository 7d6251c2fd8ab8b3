"""openbill's own schemathesis checks, loaded by test_schemathesis.py (SCHEMATHESIS_HOOKS).

Beside schemathesis's checks (no 5xx, status codes, content types, headers and bodies as the
schema documents them, schema-violating requests refused, auth enforced ...):

- every refusal is a problem detail whose `status` is the HTTP status and whose `type` is
  openbill's URN (RFC 9457), whatever route gave it;
- a request the schema allows gets past request validation: a 422 listing field `errors`
  (FastAPI's validation) for schema-valid data means the schema promises more than the route
  takes. Business refusals (an unknown customer, an amount the currency cannot hold) are 422
  without `errors`, and so is an uploaded file's content, whose `errors` name its lines (a
  CSV's columns are no part of the schema); both are the documented contract, so schemathesis's own
  positive_data_acceptance (which wants 2xx for every schema-valid request) is left out.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:openbill:problem:"


def _problem(response: Any) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@schemathesis.check
def refusals_are_problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code < 400:
        return None
    media_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if media_type != PROBLEM_JSON:
        raise AssertionError(
            f"a {response.status_code} answered with {media_type or 'no content type'}, "
            f"not {PROBLEM_JSON}"
        )
    body = _problem(response)
    if body is None:
        raise AssertionError(f"a {response.status_code} whose body is not a JSON object")
    if body.get("status") != response.status_code:
        raise AssertionError(
            f"the problem says status {body.get('status')!r}, the response is "
            f"{response.status_code}"
        )
    if not str(body.get("type", "")).startswith(PROBLEM_TYPE_PREFIX) or not body.get("code"):
        raise AssertionError(f"the problem has no openbill type and code: {body}")
    return None


@schemathesis.check
def valid_requests_pass_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = _problem(response) or {}
    errors = body.get("errors") or []
    if any(isinstance(error, dict) and "line" in error for error in errors):
        return None  # a file's rows refused (an upload): its content, not the request's shape
    if body.get("code") == "invalid_input" and errors:
        raise AssertionError(
            "the schema allows this request but request validation refused it: "
            f"{body.get('detail')}"
        )
    return None
