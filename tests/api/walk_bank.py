"""The hand-written walk table of the bank routes: (method, path) -> the action each needs
(None: public). test_walk.py merges it into EXPECTED.

Reads and reports: read. Everything that posts money or decides a bank line (import, matching
runs, confirm, split, other, undo, the matching settings, a new bank account with its opening
balance): payments.post. The reconciliation is a report: read. The audit trail and verify:
audit.read."""

from __future__ import annotations

E = "/v1/entities/{entity}"
B = f"{E}/bank"

EXPECTED: dict[tuple[str, str], str | None] = {
    ("GET", f"{B}/accounts"): "read",
    ("GET", f"{B}/accounts/{{account_id}}"): "read",
    ("POST", f"{B}/accounts"): "payments.post",
    ("POST", f"{B}/statements"): "payments.post",
    ("GET", f"{B}/statements"): "read",
    ("GET", f"{B}/statements/{{statement_id}}"): "read",
    ("GET", f"{B}/statements/{{statement_id}}/lines"): "read",
    ("GET", f"{B}/lines"): "read",
    ("GET", f"{B}/lines/{{line_id}}"): "read",
    ("GET", f"{B}/review"): "read",
    ("POST", f"{B}/lines/{{line_id}}/confirm"): "payments.post",
    ("POST", f"{B}/lines/{{line_id}}/split"): "payments.post",
    ("POST", f"{B}/lines/{{line_id}}/other"): "payments.post",
    ("POST", f"{B}/lines/{{line_id}}/undo"): "payments.post",
    ("POST", f"{B}/matching-runs"): "payments.post",
    ("GET", f"{B}/settings"): "read",
    ("PATCH", f"{B}/settings"): "payments.post",
    ("GET", f"{B}/reconciliation"): "read",
    ("GET", f"{E}/ar/aging"): "read",
    ("GET", f"{E}/ar/metrics"): "read",
    ("GET", f"{E}/ar/balances"): "read",
    ("GET", f"{E}/ledger/balances"): "read",
    ("GET", f"{E}/ledger/entries"): "read",
    ("GET", f"{E}/statements/{{customer}}"): "read",
    ("GET", f"{E}/statements/{{customer}}/pdf"): "read",
    ("GET", f"{E}/audit"): "audit.read",
    ("GET", "/v1/audit"): "audit.read",
    ("GET", "/v1/verify"): "audit.read",
}
