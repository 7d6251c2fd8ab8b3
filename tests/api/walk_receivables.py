"""The hand-written walk table of the receivables routes: (method, path) -> the action each needs
(None: public). test_walk.py merges it into EXPECTED.

Written from the brief, not from the code: reads need `read`; money in and out (payments,
allocations, reversals, refunds, credit applied, payments files, exchange rates) needs
`payments.post`; write-offs and the small-difference tolerance (automatic write-offs decided in
advance) need `writeoffs.write`; opening a dispute, its notes, attachments and its owner, due
date and amount need `disputes.open`, its status and resolution `disputes.resolve`; runs,
promises, holds and a customer's policy need `dunning.run`; policies and the dunning settings
(the prices of paying late) need `catalog.write`."""

from __future__ import annotations

E = "/v1/entities/{entity}"

EXPECTED: dict[tuple[str, str], str | None] = {
    # payments
    ("GET", f"{E}/payments/{{payment_id}}"): "read",
    ("POST", f"{E}/payments/{{payment_id}}/allocations"): "payments.post",
    ("POST", f"{E}/payments/{{payment_id}}/reversal"): "payments.post",
    ("GET", f"{E}/payments/imports/profiles"): "read",
    ("POST", f"{E}/payments/imports"): "payments.post",
    # refunds, credit, write-offs, tolerance
    ("GET", f"{E}/refunds"): "read",
    ("GET", f"{E}/refunds/{{refund_id}}"): "read",
    ("POST", f"{E}/refunds"): "payments.post",
    ("POST", f"{E}/customers/{{code}}/apply-credit"): "payments.post",
    ("GET", f"{E}/writeoffs"): "read",
    ("GET", f"{E}/writeoffs/{{write_off_id}}"): "read",
    ("POST", f"{E}/writeoffs"): "writeoffs.write",
    ("GET", f"{E}/payment-tolerances"): "read",
    ("PUT", f"{E}/payment-tolerances/{{currency}}"): "writeoffs.write",
    # exchange rates
    ("GET", f"{E}/fx-rates"): "read",
    ("GET", f"{E}/fx-rates/{{on}}/{{from_currency}}/{{to_currency}}"): "read",
    ("POST", f"{E}/fx-rates"): "payments.post",
    ("POST", f"{E}/fx-rates/imports"): "payments.post",
    # disputes
    ("GET", f"{E}/disputes"): "read",
    ("GET", f"{E}/disputes/report"): "read",
    ("GET", f"{E}/disputes/{{case}}"): "read",
    ("POST", f"{E}/disputes"): "disputes.open",
    ("PATCH", f"{E}/disputes/{{case}}"): "disputes.open",
    ("POST", f"{E}/disputes/{{case}}/status"): "disputes.resolve",
    ("POST", f"{E}/disputes/{{case}}/notes"): "disputes.open",
    ("POST", f"{E}/disputes/{{case}}/attachments"): "disputes.open",
    ("POST", f"{E}/disputes/{{case}}/credit-note"): "disputes.resolve",
    ("POST", f"{E}/disputes/{{case}}/rebill"): "disputes.resolve",
    ("POST", f"{E}/disputes/{{case}}/rejection"): "disputes.resolve",
    # dunning
    ("GET", f"{E}/dunning/policies"): "read",
    ("GET", f"{E}/dunning/policies/{{code}}"): "read",
    ("POST", f"{E}/dunning/policies"): "catalog.write",
    ("GET", f"{E}/dunning/settings"): "read",
    ("PATCH", f"{E}/dunning/settings"): "catalog.write",
    ("GET", f"{E}/dunning/customers/{{code}}"): "read",
    ("PUT", f"{E}/dunning/customers/{{code}}"): "dunning.run",
    ("GET", f"{E}/dunning/runs"): "read",
    ("GET", f"{E}/dunning/runs/latest"): "read",
    ("GET", f"{E}/dunning/runs/{{run_id}}"): "read",
    ("POST", f"{E}/dunning/runs"): "dunning.run",
    ("GET", f"{E}/dunning/invoices/{{number}}"): "read",
    ("GET", f"{E}/dunning/promises"): "read",
    ("GET", f"{E}/dunning/promises/{{promise_id}}"): "read",
    ("POST", f"{E}/dunning/promises"): "dunning.run",
    ("GET", f"{E}/dunning/holds"): "read",
    ("GET", f"{E}/dunning/holds/{{hold_id}}"): "read",
    ("POST", f"{E}/dunning/holds"): "dunning.run",
    ("POST", f"{E}/dunning/holds/{{hold_id}}/release"): "dunning.run",
}
