"""Invoices and credit notes: drafts, lines, issue (number, totals, ledger, audit), credit notes.

Issuing is one unit of work: price the lines on the document date, compute EN 16931 totals,
take the next number of the series, freeze the document into the hash chain, post the journal
entry and write the audit event. Any failure rolls all of it back, number included, which is
what keeps the series gap-free.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from openbill.domain.invoice import (
    DocumentKind,
    LineInput,
    PaymentTerms,
    compute_totals,
    due_date,
)
from openbill.domain.ledger import (
    Account,
    credit_note_applied,
    credit_note_issued,
    invoice_issued,
)
from openbill.domain.money import (
    UNIT_PRICE_PLACES,
    Rounding,
    format_minor,
    minor_to_decimal,
    round_to_minor,
    to_decimal,
)
from openbill.domain.pricing import (
    EffectivePrice,
    PriceModel,
    price_amount,
    select_price,
    spec_from_params,
)
from openbill.domain.rejections import InvalidInput, InvalidState, NotFound, Rejection
from openbill.domain.tax import CustomerRegime, TaxCategory, TaxRule, TaxTreatment, resolve_tax
from openbill.ports import UnitOfWork
from openbill.usecases import webhooks
from openbill.usecases._support import (
    MAX_LINES_PER_DOCUMENT,
    audit,
    chained_insert,
    customer_by_code,
    document_by_number,
    entity_by_code,
    idempotent,
    post,
)
from openbill.usecases.verification import (
    acknowledge_warnings,
    check_before_issue,
    refresh_findings,
)

__all__ = [
    "AdjustmentSpec",
    "LineSpec",
    "CreateDraft",
    "DraftCreated",
    "AddLines",
    "IssueDraft",
    "CreateInvoice",
    "Issued",
    "CreditInvoice",
    "create_draft",
    "add_lines",
    "issue_draft",
    "create_invoice",
    "credit_invoice",
    "credit_invoice_in",
    "create_invoice_in",
    "document_payload",
    "NUMBER_PREFIX",
]

MAX_ADJUSTMENTS_PER_DOCUMENT = 50  # document-level allowances and charges (DESIGN principle 8)
NUMBER_PREFIX = {DocumentKind.INVOICE.value: "INV", DocumentKind.CREDIT_NOTE.value: "CN"}
_QUANTUM = Decimal(1).scaleb(-UNIT_PRICE_PLACES)


@dataclass(frozen=True, slots=True)
class LineSpec:
    charge_code: str
    quantity: str = "1"
    description: str = ""
    unit_price: str = ""  # a manual per-unit price; empty: the catalog price in force


@dataclass(frozen=True, slots=True)
class AdjustmentSpec:
    """A document-level allowance (a discount on the whole document) or charge (freight,
    handling), EN 16931 BG-20 / BG-21, taxed in the category of `tax_class`."""

    kind: str  # "allowance" or "charge"
    amount: str  # positive, in the document currency, e.g. "25.00"
    reason: str
    tax_class: str = "standard"
    reason_code: str = ""  # UNCL5189 (allowances) or UNCL7161 (charges), optional


@dataclass(frozen=True, slots=True)
class CreateDraft:
    entity: str
    customer: str
    document_date: date | None = None
    currency: str = ""
    lines: tuple[LineSpec, ...] = ()
    buyer_reference: str = ""
    idempotency_key: str = ""
    adjustments: tuple[AdjustmentSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class DraftCreated:
    id: int
    lines: int
    net_minor: int
    tax_minor: int
    total_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class AddLines:
    entity: str
    draft_id: int
    lines: tuple[LineSpec, ...]


@dataclass(frozen=True, slots=True)
class IssueDraft:
    entity: str
    draft_id: int
    issue_date: date | None = None
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class CreateInvoice:
    """Create and issue in one unit of work (what a bill run does)."""

    entity: str
    customer: str
    lines: tuple[LineSpec, ...]
    issue_date: date | None = None
    currency: str = ""
    buyer_reference: str = ""
    idempotency_key: str = ""
    adjustments: tuple[AdjustmentSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Issued:
    id: int
    number: str
    kind: str
    currency: str
    net_minor: int
    tax_minor: int
    total_minor: int
    due_date: str


@dataclass(frozen=True, slots=True)
class CreditInvoice:
    entity: str
    invoice: str  # the invoice number
    reason: str
    credit_date: date | None = None
    lines: tuple[tuple[int, str], ...] = ()  # (line number, quantity to credit); empty: all
    idempotency_key: str = ""


# ---------------------------------------------------------------------------------------------
# pricing


class _Pricer:
    """Prices lines for one customer and date from the catalog and the tax rules."""

    def __init__(self, uow: UnitOfWork, entity: Any, customer: Any, currency: str, on: date):
        self.uow, self.entity, self.customer, self.currency, self.on = (
            uow,
            entity,
            customer,
            currency,
            on,
        )
        self.rules = tuple(
            TaxRule(
                r.jurisdiction,
                r.tax_class,
                r.valid_from,
                TaxCategory(r.category),
                r.rate,
                r.exemption_reason,
                r.exemption_code,
            )
            for r in uow.entities.tax_rules(entity.id)
        )
        self.codes: dict[str, Any] = {}
        self.prices: dict[int, list[EffectivePrice]] = {}

    def charge_code(self, code: str, record: str) -> Any:
        if code not in self.codes:
            row = self.uow.catalog.charge_code(self.entity.id, code)
            if row is None:
                raise InvalidInput(f"no charge code {code!r}", record=record, field="charge_code")
            self.codes[code] = row
        return self.codes[code]

    def tax(self, tax_class: str, record: str) -> TaxTreatment:
        try:
            return resolve_tax(
                tax_class,
                CustomerRegime(self.customer.regime),
                self.rules,
                self.entity.country,
                self.on,
            )
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, record=record, field=exc.field or "tax") from None

    def price(self, code_row: Any, record: str) -> EffectivePrice:
        prices = self.prices.get(code_row.id)
        if prices is None:
            prices = self.prices[code_row.id] = [
                _effective(p.id, p.currency, p.effective_from, p.model, p.params, p.includes_tax)
                for p in self.uow.catalog.prices_of(code_row.id)
            ]
        try:
            return select_price(prices, self.currency, self.on)
        except InvalidInput:
            raise InvalidInput(
                f"{code_row.code} has no {self.currency} price in force on {self.on}",
                record=record,
                field="price",
            ) from None

    def adjustment_rows(self, specs: Sequence[AdjustmentSpec]) -> list[dict[str, Any]]:
        if len(specs) > MAX_ADJUSTMENTS_PER_DOCUMENT:
            raise InvalidInput(
                f"at most {MAX_ADJUSTMENTS_PER_DOCUMENT} allowances and charges per document",
                field="adjustments",
            )
        rows: list[dict[str, Any]] = []
        for seq, spec in enumerate(specs, start=1):
            record = f"{spec.kind} {seq}"
            if spec.kind not in ("allowance", "charge"):
                raise InvalidInput("kind is allowance or charge", record=record, field="kind")
            if not spec.reason.strip():
                raise InvalidInput("say why (EN 16931 BR-33/BR-38)", record=record, field="reason")
            amount = _number(spec.amount, record, "amount")
            minor = round_to_minor(amount, self.currency, Rounding(self.entity.rounding))
            if minor <= 0 or minor_to_decimal(minor, self.currency) != amount:
                raise InvalidInput(
                    f"a positive amount with at most the decimals of {self.currency}",
                    record=record,
                    field="amount",
                )
            treatment = self.tax(spec.tax_class, record)
            is_charge = spec.kind == "charge"
            rows.append(
                {
                    "seq": seq,
                    "is_charge": is_charge,
                    "amount_minor": minor,
                    "reason": spec.reason.strip(),
                    "reason_code": spec.reason_code,
                    "revenue_account": (
                        Account.CHARGES_BILLED if is_charge else Account.ALLOWANCES_GRANTED
                    ).value,
                    "tax_category": treatment.category.value,
                    "tax_rate": treatment.rate,
                    "exemption_reason": treatment.exemption_reason,
                    "exemption_code": treatment.exemption_code,
                }
            )
        return rows

    def rows(self, specs: Sequence[LineSpec], first_line_no: int) -> list[dict[str, Any]]:
        """Line rows (net_minor still 0) with the exact priced amount of each line."""
        if len(specs) > MAX_LINES_PER_DOCUMENT:
            raise InvalidInput(
                f"at most {MAX_LINES_PER_DOCUMENT} lines per document", field="lines"
            )
        rows: list[dict[str, Any]] = []
        percentage: list[tuple[dict[str, Any], Any]] = []
        for offset, spec in enumerate(specs):
            line_no = first_line_no + offset
            record = f"line {line_no}"
            code = self.charge_code(spec.charge_code, record)
            quantity = _number(spec.quantity, record, "quantity")
            row: dict[str, Any] = {
                "line_no": line_no,
                "charge_code_id": code.id,
                "description": spec.description or code.name,
                "quantity": quantity,
                "unit": code.unit,
                "revenue_account": code.revenue_account,
                "net_minor": 0,
                "includes_tax": False,
            }
            treatment = self.tax(code.tax_class, record)
            row.update(
                tax_category=treatment.category.value,
                tax_rate=treatment.rate,
                exemption_reason=treatment.exemption_reason,
                exemption_code=treatment.exemption_code,
            )
            if spec.unit_price:
                unit_price = _number(spec.unit_price, record, "unit_price")
                row.update(price_id=None, unit_price=unit_price, amount=quantity * unit_price)
            else:
                price = self.price(code, record)
                row.update(price_id=price.price_id, includes_tax=price.includes_tax)
                if price.spec.model is PriceModel.PERCENTAGE:
                    percentage.append((row, price))
                else:
                    amount = price_amount(price.spec, quantity)
                    row.update(amount=amount, unit_price=_unit_price(amount, quantity))
            rows.append(row)
        base = sum((r["amount"] for r in rows if "amount" in r), Decimal(0))
        for row, price in percentage:
            amount = price_amount(price.spec, row["quantity"], base)
            row.update(amount=amount, unit_price=_unit_price(amount, row["quantity"]))
        return rows


def _number(text: str, record: str, field: str) -> Decimal:
    try:
        return to_decimal(text, field=field)
    except Rejection as exc:
        raise InvalidInput(exc.reason, record=record, field=field) from None


@lru_cache(maxsize=4096)
def _effective(
    price_id: int, currency: str, effective_from: date, model: str, params: str, includes_tax: bool
) -> EffectivePrice:
    """A stored price, parsed once: prices are never edited, so the row's values are its key."""
    spec = spec_from_params(model, json.loads(params))
    return EffectivePrice(currency, effective_from, spec, bool(includes_tax), price_id)


def _unit_price(amount: Decimal, quantity: Decimal) -> Decimal:
    if quantity == 0:
        return Decimal(0)
    return (amount / quantity).quantize(_QUANTUM)


def _include_tax(rows: Sequence[Mapping[str, Any]]) -> bool:
    flags = {bool(r["includes_tax"]) for r in rows if r.get("price_id") is not None}
    if len(flags) > 1:
        raise InvalidInput(
            "lines mix prices with and without tax included; bill them on separate documents",
            field="lines",
        )
    return flags == {True}


def _stored(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "includes_tax"}


# ---------------------------------------------------------------------------------------------
# hash payload


_DOC_FIELDS = (
    "entity_id",
    "customer_id",
    "kind",
    "number",
    "series_year",
    "seq",
    "document_date",
    "due_date",
    "currency",
    "payment_terms",
    "prices_include_tax",
    "net_minor",
    "tax_minor",
    "total_minor",
    "credited_document_id",
    "reason",
    "buyer_reference",
)
_LINE_FIELDS = (
    "line_no",
    "charge_code_id",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "revenue_account",
    "tax_category",
    "tax_rate",
    "exemption_reason",
    "exemption_code",
    "net_minor",
)
_TAX_FIELDS = (
    "category",
    "rate",
    "taxable_minor",
    "tax_minor",
    "exemption_reason",
    "exemption_code",
)


_ADJUSTMENT_FIELDS = (
    "seq",
    "is_charge",
    "amount_minor",
    "reason",
    "reason_code",
    "revenue_account",
    "tax_category",
    "tax_rate",
    "exemption_reason",
    "exemption_code",
)


def _adjustment_stored(adjustment: Mapping[str, Any]) -> dict[str, Any]:
    return {k: adjustment[k] for k in _ADJUSTMENT_FIELDS}


def document_payload(
    doc: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    taxes: Sequence[Mapping[str, Any]],
    adjustments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """What the documents chain hashes: the header, every line, every tax subtotal and, when
    there are any, the document-level allowances and charges."""
    payload = {
        **{k: doc[k] for k in _DOC_FIELDS},
        "prices_include_tax": bool(doc["prices_include_tax"]),
        "lines": [[line[k] for k in _LINE_FIELDS] for line in lines],
        "taxes": [[tax[k] for k in _TAX_FIELDS] for tax in taxes],
    }
    if adjustments:
        payload["adjustments"] = [
            [bool(a[k]) if k == "is_charge" else a[k] for k in _ADJUSTMENT_FIELDS]
            for a in adjustments
        ]
    return payload


# ---------------------------------------------------------------------------------------------
# use cases


def _terms_of(entity: Any, customer: Any) -> PaymentTerms:
    return PaymentTerms.parse(customer.payment_terms or entity.payment_terms)


def _new_draft_values(
    uow: UnitOfWork, entity: Any, customer: Any, on: date, currency: str, reference: str, kind: str
) -> dict[str, Any]:
    return {
        "entity_id": entity.id,
        "customer_id": customer.id,
        "kind": kind,
        "status": "draft",
        "document_date": on,
        "currency": currency,
        "payment_terms": str(_terms_of(entity, customer)),
        "prices_include_tax": False,
        "net_minor": 0,
        "tax_minor": 0,
        "total_minor": 0,
        "reason": "",
        "credited_document_id": None,
        "buyer_reference": reference,
        "created_at": uow.clock.now(),
    }


def _signed(adjustment: Mapping[str, Any]) -> int:
    minor = int(adjustment["amount_minor"])
    return minor if adjustment["is_charge"] else -minor


def _totals(
    entity: Any,
    currency: str,
    rows: Sequence[dict[str, Any]],
    include_tax: bool,
    adjustments: Sequence[Mapping[str, Any]] = (),
) -> Any:
    """EN 16931 totals. Document-level allowances and charges enter their tax group like lines
    of their own (BT-116 = line nets + charges - allowances, per category and rate)."""
    if adjustments and include_tax:
        raise InvalidInput(
            "document-level allowances and charges need prices without tax", field="adjustments"
        )

    def treatment(r: Mapping[str, Any]) -> TaxTreatment:
        return TaxTreatment(
            TaxCategory(r["tax_category"]),
            r["tax_rate"],
            r["exemption_reason"],
            r["exemption_code"],
        )

    inputs = [LineInput(r["amount"], treatment(r)) for r in rows]
    inputs += [LineInput(minor_to_decimal(_signed(a), currency), treatment(a)) for a in adjustments]
    totals = compute_totals(inputs, currency, Rounding(entity.rounding), include_tax)
    for row, line in zip(rows, totals.lines[: len(rows)], strict=True):
        row["net_minor"] = line.net_minor
    return totals


def create_draft(uow: UnitOfWork, cmd: CreateDraft) -> DraftCreated:
    with uow:
        entity = entity_by_code(uow, cmd.entity)

        def run() -> DraftCreated:
            customer = customer_by_code(uow, entity.id, cmd.customer)
            on = cmd.document_date or uow.clock.today()
            currency = (cmd.currency or customer.currency).upper()
            values = _new_draft_values(
                uow, entity, customer, on, currency, cmd.buyer_reference, "invoice"
            )
            pricer = _Pricer(uow, entity, customer, currency, on)
            rows = pricer.rows(cmd.lines, 1)
            adjustments = pricer.adjustment_rows(cmd.adjustments)
            include_tax = _include_tax(rows)
            totals = _totals(entity, currency, rows, include_tax, adjustments) if rows else None
            if totals is not None:
                values.update(
                    prices_include_tax=include_tax,
                    net_minor=totals.net_minor,
                    tax_minor=totals.tax_minor,
                    total_minor=totals.total_minor,
                )
            draft_id = uow.documents.add(values)
            uow.documents.add_lines([{**_stored(r), "document_id": draft_id} for r in rows])
            uow.documents.add_adjustments([{**a, "document_id": draft_id} for a in adjustments])
            audit(uow, entity.id, "invoice.draft_created", "document", draft_id, None, values)
            return DraftCreated(
                draft_id,
                len(rows),
                values["net_minor"],
                values["tax_minor"],
                values["total_minor"],
                currency,
            )

        result = idempotent(uow, "create_draft", cmd.idempotency_key, cmd, DraftCreated, run)
        uow.commit()
        return result


def _draft(uow: UnitOfWork, entity: Any, draft_id: int) -> Any:
    doc = uow.documents.get(draft_id)
    if doc is None or doc.entity_id != entity.id:
        raise NotFound(f"no draft with id {draft_id}", record="draft", field="id")
    if doc.status != "draft":
        raise InvalidState(
            f"draft {draft_id} was already issued as {doc.number}; issued documents cannot be "
            "changed, issue a credit note instead",
            record=f"document {doc.number}",
            field="status",
        )
    return doc


def add_lines(uow: UnitOfWork, cmd: AddLines) -> DraftCreated:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        doc = _draft(uow, entity, cmd.draft_id)
        customer = uow.customers.get(doc.customer_id)
        existing = [dict(r._mapping) for r in uow.documents.lines(doc.id)]
        pricer = _Pricer(uow, entity, customer, doc.currency, doc.document_date)
        specs = [_spec_of(r, pricer) for r in existing] + list(cmd.lines)
        rows = pricer.rows(specs, 1)
        include_tax = _include_tax(rows)
        adjustments = [dict(a._mapping) for a in uow.documents.adjustments(doc.id)]
        totals = _totals(entity, doc.currency, rows, include_tax, adjustments)
        uow.documents.replace_lines(doc.id, [{**_stored(r), "document_id": doc.id} for r in rows])
        values = {
            "prices_include_tax": include_tax,
            "net_minor": totals.net_minor,
            "tax_minor": totals.tax_minor,
            "total_minor": totals.total_minor,
        }
        uow.documents.update(doc.id, values)
        audit(
            uow,
            entity.id,
            "invoice.lines_added",
            "document",
            doc.id,
            {"lines": len(existing)},
            {"lines": len(rows), **values},
        )
        uow.commit()
        return DraftCreated(
            doc.id, len(rows), totals.net_minor, totals.tax_minor, totals.total_minor, doc.currency
        )


def _spec_of(row: Mapping[str, Any], pricer: _Pricer) -> LineSpec:
    code = pricer.uow.catalog.charge_code_by_id(row["charge_code_id"])
    manual = "" if row["price_id"] is not None else format(row["unit_price"], "f")
    return LineSpec(code.code, format(row["quantity"], "f"), row["description"], manual)


def _issue(
    uow: UnitOfWork,
    entity: Any,
    customer: Any,
    doc_id: int,
    draft: Mapping[str, Any],
    rows: list[dict[str, Any]],
    on: date,
    replace_lines: bool = True,
    adjustments: Sequence[Mapping[str, Any]] = (),
    new_adjustments: bool = False,
) -> Issued:
    """Freeze a draft: totals, number, chain link, journal entry, audit event. `adjustments`
    are the document's allowances and charges; `new_adjustments` says they still have to be
    written (a document created and issued in one go)."""
    kind = draft["kind"]
    if not rows:
        raise InvalidInput("a document needs at least one line", record="draft", field="lines")
    include_tax = bool(draft["prices_include_tax"])
    totals = _totals(entity, draft["currency"], rows, include_tax, adjustments)
    if kind == DocumentKind.INVOICE and totals.total_minor < 0:
        raise InvalidInput(
            "an invoice total cannot be negative; issue a credit note instead", field="lines"
        )
    if kind == DocumentKind.INVOICE:
        hold = uow.dunning.credit_hold(customer.id)
        if hold is not None:
            raise InvalidState(
                f"customer {customer.code} is on credit hold ({hold.reason}); no new invoice "
                "until it is released with `openbill dunning release`",
                record=f"customer {customer.code}",
                field="credit_hold",
            )
    seq = uow.documents.next_seq(entity.id, kind, on.year)
    number = f"{NUMBER_PREFIX[kind]}-{on.year}-{seq:06d}"
    terms = PaymentTerms.parse(draft["payment_terms"])
    taxes = [
        {
            "category": s.category.value,
            "rate": s.rate,
            "taxable_minor": s.taxable_minor,
            "tax_minor": s.tax_minor,
            "exemption_reason": s.exemption_reason,
            "exemption_code": s.exemption_code,
        }
        for s in totals.subtotals
    ]
    line_rows = [{**_stored(r), "document_id": doc_id} for r in rows]
    if replace_lines:
        uow.documents.replace_lines(doc_id, line_rows)
    else:
        uow.documents.add_lines(line_rows)
    uow.documents.add_taxes([{**x, "document_id": doc_id} for x in taxes])
    stored_adjustments = [_adjustment_stored(a) for a in adjustments]
    if new_adjustments:
        uow.documents.add_adjustments([{**a, "document_id": doc_id} for a in stored_adjustments])
    values = {
        **draft,
        "status": "issued",
        "number": number,
        "series_year": on.year,
        "seq": seq,
        "document_date": on,
        "due_date": due_date(on, terms) if kind == DocumentKind.INVOICE else on,
        "net_minor": totals.net_minor,
        "tax_minor": totals.tax_minor,
        "total_minor": totals.total_minor,
        "issued_at": uow.clock.now(),
    }
    payload = document_payload(values, [_stored(r) for r in rows], taxes, stored_adjustments)
    update = {k: v for k, v in values.items() if k not in ("id", "created_at")}
    chained_insert(
        uow, "documents", payload, lambda c: uow.documents.update(doc_id, {**update, **c})
    )
    revenue: dict[str, int] = {}
    for row in rows:
        revenue[row["revenue_account"]] = revenue.get(row["revenue_account"], 0) + row["net_minor"]
    for adjustment in adjustments:
        account = adjustment["revenue_account"]
        revenue[account] = revenue.get(account, 0) + _signed(adjustment)
    build = invoice_issued if kind == DocumentKind.INVOICE else credit_note_issued
    entry = build(on, number, doc_id, customer.id, draft["currency"], revenue, totals.tax_minor)
    post(uow, entity.id, entry, "documents", doc_id)
    audit(
        uow,
        entity.id,
        f"{kind}.issued",
        "document",
        doc_id,
        {"status": "draft"},
        {"status": "issued", "number": number, "total_minor": totals.total_minor},
    )
    webhooks.document_issued(uow, entity.id, customer, {**values, "id": doc_id})
    return Issued(
        doc_id,
        number,
        kind,
        draft["currency"],
        totals.net_minor,
        totals.tax_minor,
        totals.total_minor,
        values["due_date"].isoformat(),
    )


def issue_draft(uow: UnitOfWork, cmd: IssueDraft) -> Issued:
    """Verify the draft (its findings land in the discrepancy queue and stay there even when
    the issue is refused), then, in a unit of work of its own, issue it unless a blocking
    finding is open."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        doc = uow.documents.get(cmd.draft_id)
        if doc is not None and doc.entity_id == entity.id and doc.status == "draft":
            refresh_findings(uow, entity, doc)
            uow.commit()
    with uow:
        entity = entity_by_code(uow, cmd.entity)

        def run() -> Issued:
            doc = _draft(uow, entity, cmd.draft_id)
            check_before_issue(uow, entity, doc)
            customer = uow.customers.get(doc.customer_id)
            on = cmd.issue_date or uow.clock.today()
            existing = [dict(r._mapping) for r in uow.documents.lines(doc.id)]
            pricer = _Pricer(uow, entity, customer, doc.currency, on)
            rows = pricer.rows([_spec_of(r, pricer) for r in existing], 1)
            draft = dict(doc._mapping)
            draft["prices_include_tax"] = _include_tax(rows)
            adjustments = [dict(a._mapping) for a in uow.documents.adjustments(doc.id)]
            issued = _issue(uow, entity, customer, doc.id, draft, rows, on, True, adjustments)
            acknowledge_warnings(uow, doc.id)
            return issued

        result = idempotent(uow, "issue", cmd.idempotency_key, cmd, Issued, run)
        uow.commit()
        return result


def create_invoice_in(uow: UnitOfWork, entity: Any, cmd: CreateInvoice) -> Issued:
    """Create and issue an invoice inside the caller's (entered) unit of work; the caller
    commits. Dunning fees and dispute re-bills use it to stay in their own transaction."""
    customer = customer_by_code(uow, entity.id, cmd.customer)
    on = cmd.issue_date or uow.clock.today()
    currency = (cmd.currency or customer.currency).upper()
    pricer = _Pricer(uow, entity, customer, currency, on)
    rows = pricer.rows(cmd.lines, 1)
    adjustments = pricer.adjustment_rows(cmd.adjustments)
    draft = _new_draft_values(uow, entity, customer, on, currency, cmd.buyer_reference, "invoice")
    draft["prices_include_tax"] = _include_tax(rows)
    doc_id = uow.documents.add(draft)
    return _issue(
        uow,
        entity,
        customer,
        doc_id,
        draft,
        rows,
        on,
        replace_lines=False,
        adjustments=adjustments,
        new_adjustments=True,
    )


def create_invoice(uow: UnitOfWork, cmd: CreateInvoice) -> Issued:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        result = idempotent(
            uow,
            "create_invoice",
            cmd.idempotency_key,
            cmd,
            Issued,
            lambda: create_invoice_in(uow, entity, cmd),
        )
        uow.commit()
        return result


def credit_invoice_in(uow: UnitOfWork, entity: Any, cmd: CreditInvoice) -> Issued:
    """Issue a credit note for an invoice (all of it, or given quantities of given lines) and
    apply it to what is still open on that invoice. The rest stays as credit for the customer.
    Runs inside the caller's (entered) unit of work; the caller commits."""
    if not cmd.reason.strip():
        raise InvalidInput("say why the invoice is credited", record="credit note", field="reason")
    invoice = document_by_number(uow, entity.id, cmd.invoice)
    if invoice.kind != DocumentKind.INVOICE:
        raise InvalidState(
            f"{cmd.invoice} is a credit note; only invoices can be credited",
            record=cmd.invoice,
        )
    customer = uow.customers.get(invoice.customer_id)
    on = cmd.credit_date or uow.clock.today()
    if on < invoice.document_date:
        raise InvalidInput(
            f"a credit note cannot be dated before {cmd.invoice} ({invoice.document_date})",
            record="credit note",
            field="date",
        )
    rows = _credit_rows(uow, invoice, dict(cmd.lines))
    adjustments = [dict(a._mapping) for a in uow.documents.adjustments(invoice.id)]
    if adjustments and cmd.lines:
        raise InvalidInput(
            f"{invoice.number} has document-level allowances or charges; credit it in "
            "full (no --line), then invoice again what is still owed",
            record="credit note",
            field="lines",
        )
    draft = _new_draft_values(
        uow, entity, customer, on, invoice.currency, invoice.buyer_reference, "credit_note"
    )
    draft.update(
        payment_terms=invoice.payment_terms,
        prices_include_tax=invoice.prices_include_tax,
        credited_document_id=invoice.id,
        reason=cmd.reason,
    )
    already = uow.documents.credited_total(invoice.id)
    doc_id = uow.documents.add(draft)
    issued = _issue(
        uow,
        entity,
        customer,
        doc_id,
        draft,
        rows,
        on,
        replace_lines=False,
        adjustments=adjustments,
        new_adjustments=True,
    )
    if already + issued.total_minor > invoice.total_minor:
        left = format_minor(invoice.total_minor - already, invoice.currency)
        raise InvalidInput(
            f"{invoice.number} was already credited for "
            f"{format_minor(already, invoice.currency)} {invoice.currency}; at most "
            f"{left} {invoice.currency} can still be credited",
            record="credit note",
            field="lines",
        )
    open_minor = uow.ledger.document_open(invoice.id)
    apply_minor = min(open_minor, issued.total_minor)
    if apply_minor > 0:
        apply_credit_note(
            uow,
            entity.id,
            customer.id,
            invoice.currency,
            (issued.id, issued.number),
            (invoice.id, invoice.number),
            apply_minor,
            on,
        )
    return issued


def credit_invoice(uow: UnitOfWork, cmd: CreditInvoice) -> Issued:
    if not cmd.reason.strip():
        raise InvalidInput("say why the invoice is credited", record="credit note", field="reason")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        result = idempotent(
            uow,
            "credit_invoice",
            cmd.idempotency_key,
            cmd,
            Issued,
            lambda: credit_invoice_in(uow, entity, cmd),
        )
        uow.commit()
        return result


def _credit_rows(uow: UnitOfWork, invoice: Any, wanted: Mapping[int, str]) -> list[dict[str, Any]]:
    lines = uow.documents.lines(invoice.id)
    known = {line.line_no for line in lines}
    unknown = set(wanted) - known
    if unknown:
        raise InvalidInput(
            f"{invoice.number} has no line {sorted(unknown)[0]}",
            record="credit note",
            field="lines",
        )
    rows: list[dict[str, Any]] = []
    for line in lines:
        if wanted and line.line_no not in wanted:
            continue
        quantity = to_decimal(
            wanted.get(line.line_no, format(line.quantity, "f")), field="quantity"
        )
        if quantity <= 0 or quantity > line.quantity:
            raise InvalidInput(
                f"line {line.line_no} can be credited for 0 < quantity <= {line.quantity}",
                record="credit note",
                field="quantity",
            )
        row = {k: v for k, v in line._mapping.items() if k not in ("id", "document_id")}
        if quantity != line.quantity:
            row["amount"] = line.amount * quantity / line.quantity
        row.update(line_no=len(rows) + 1, quantity=quantity, net_minor=0, price_id=None)
        rows.append(row)
    return rows


def apply_credit_note(
    uow: UnitOfWork,
    entity_id: int,
    customer_id: int,
    currency: str,
    credit_note: tuple[int, str],
    invoice: tuple[int, str],
    amount_minor: int,
    on: date,
) -> None:
    """Use `amount_minor` of a credit note (id, number) against an invoice (id, number):
    an allocation row and the journal entry that moves receivable between the two."""
    allocation_id = uow.money.add_allocation(
        {
            "entity_id": entity_id,
            "customer_id": customer_id,
            "payment_id": None,
            "credit_note_id": credit_note[0],
            "invoice_id": invoice[0],
            "amount_minor": amount_minor,
            "allocated_on": on,
            "created_at": uow.clock.now(),
        }
    )
    entry = credit_note_applied(
        on,
        f"{credit_note[1]} applied to {invoice[1]}",
        customer_id,
        currency,
        credit_note[0],
        invoice[0],
        amount_minor,
    )
    post(uow, entity_id, entry, "allocations", allocation_id)
    webhooks.invoice_settled(uow, entity_id, invoice[0], f"allocation:{allocation_id}")
