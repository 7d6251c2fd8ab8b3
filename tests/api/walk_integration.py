"""The hand-written walk table of the integration routes: (method, path) -> the action each needs
(None: public). test_walk.py merges it into EXPECTED.

Webhooks are settings: managing endpoints and reading deliveries both need settings.admin
(docs/access.md), so an auditor, who reads every billing record, does not see them, and an
administrator, who sees them, reads no billing record through them (a delivery is shown
without its body)."""

from __future__ import annotations

_W = "/v1/entities/{entity}/webhooks"
ADMIN = "settings.admin"

EXPECTED: dict[tuple[str, str], str | None] = {
    ("GET", f"{_W}/endpoints"): ADMIN,
    ("POST", f"{_W}/endpoints"): ADMIN,
    ("GET", f"{_W}/endpoints/{{endpoint_id}}"): ADMIN,
    ("PATCH", f"{_W}/endpoints/{{endpoint_id}}"): ADMIN,
    ("POST", f"{_W}/endpoints/{{endpoint_id}}/rotate-secret"): ADMIN,
    ("POST", f"{_W}/endpoints/{{endpoint_id}}/test"): ADMIN,
    ("GET", f"{_W}/deliveries"): ADMIN,
    ("GET", f"{_W}/deliveries/{{delivery_id}}"): ADMIN,
    ("POST", f"{_W}/deliveries/{{delivery_id}}/retry"): ADMIN,
}
