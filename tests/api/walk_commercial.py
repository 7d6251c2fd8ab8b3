"""The hand-written walk table of the commercial routes: (method, path) -> the action each needs
(None: public). test_walk.py merges it into EXPECTED.

Written from the brief and docs/access.md, not from the code: reads need `read`; contracts,
purchase orders, deliveries, drafts, billing, verification runs and resolving a finding after
fixing its source need `invoices.prepare`; tax rules, charge codes and prices
`catalog.write`; issuing, credit notes, voids and sending `invoices.issue`; approving a draft
and overriding a finding a manager's `invoices.approve`; legal entities and the verification
settings `settings.admin`; mail preferences `customers.write`."""

from __future__ import annotations

E = "/v1/entities/{entity}"

EXPECTED: dict[tuple[str, str], str | None] = {
    # legal entities
    ("POST", "/v1/entities"): "settings.admin",
    ("GET", E): "read",
    # catalog
    ("GET", f"{E}/tax-rules"): "read",
    ("GET", f"{E}/tax-rules/{{rule_id}}"): "read",
    ("POST", f"{E}/tax-rules"): "catalog.write",
    ("GET", f"{E}/charge-codes"): "read",
    ("GET", f"{E}/charge-codes/{{code}}"): "read",
    ("POST", f"{E}/charge-codes"): "catalog.write",
    ("GET", f"{E}/prices"): "read",
    ("GET", f"{E}/prices/{{price_id}}"): "read",
    ("POST", f"{E}/prices"): "catalog.write",
    # contracts and purchase orders
    ("GET", f"{E}/contracts"): "read",
    ("GET", f"{E}/contracts/{{number}}"): "read",
    ("POST", f"{E}/contracts"): "invoices.prepare",
    ("POST", f"{E}/contracts/{{number}}/prices"): "invoices.prepare",
    ("GET", f"{E}/purchase-orders"): "read",
    ("GET", f"{E}/purchase-orders/{{customer}}/{{number}}"): "read",
    ("POST", f"{E}/purchase-orders"): "invoices.prepare",
    ("POST", f"{E}/purchase-orders/{{customer}}/{{number}}/lines"): "invoices.prepare",
    # deliveries and billing
    ("POST", f"{E}/deliveries/import"): "invoices.prepare",
    ("GET", f"{E}/deliveries"): "read",
    ("GET", f"{E}/deliveries/{{ref}}"): "read",
    ("POST", f"{E}/billing/prepare"): "invoices.prepare",
    # drafts, the discrepancy queue, verification settings
    ("GET", f"{E}/drafts"): "read",
    ("POST", f"{E}/drafts"): "invoices.prepare",
    ("GET", f"{E}/drafts/{{draft_id}}"): "read",
    ("POST", f"{E}/drafts/{{draft_id}}/lines"): "invoices.prepare",
    ("POST", f"{E}/drafts/{{draft_id}}/verify"): "invoices.prepare",
    ("POST", f"{E}/drafts/{{draft_id}}/approve"): "invoices.approve",
    ("POST", f"{E}/drafts/{{draft_id}}/issue"): "invoices.issue",
    ("GET", f"{E}/discrepancies"): "read",
    ("GET", f"{E}/discrepancies/{{discrepancy_id}}"): "read",
    ("POST", f"{E}/discrepancies/{{discrepancy_id}}/resolve"): "invoices.prepare",
    ("POST", f"{E}/discrepancies/{{discrepancy_id}}/override"): "invoices.approve",
    ("GET", f"{E}/verification/settings"): "settings.admin",
    ("PATCH", f"{E}/verification/settings"): "settings.admin",
    # issued documents: credit notes, files, e-invoices, e-mail
    ("POST", f"{E}/invoices/{{number}}/credit-notes"): "invoices.issue",
    ("POST", f"{E}/invoices/{{number}}/void"): "invoices.issue",
    ("GET", f"{E}/invoices/{{number}}/pdf"): "read",
    ("GET", f"{E}/invoices/{{number}}/ubl"): "read",
    ("GET", f"{E}/invoices/{{number}}/cii"): "read",
    ("GET", f"{E}/invoices/{{number}}/facturx"): "read",
    ("POST", f"{E}/einvoices/read"): "read",
    ("POST", f"{E}/invoices/{{number}}/send"): "invoices.issue",
    ("GET", f"{E}/outbox"): "read",
    ("GET", f"{E}/outbox/{{message_id}}"): "read",
    ("POST", f"{E}/outbox/{{message_id}}/retry"): "invoices.issue",
    ("GET", f"{E}/mail-preferences"): "read",
    ("GET", f"{E}/customers/{{code}}/mail-preferences"): "read",
    ("PATCH", f"{E}/customers/{{code}}/mail-preferences"): "customers.write",
}
