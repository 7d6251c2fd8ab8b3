"""EN 16931 e-invoices of issued documents, and e-invoices read from outside.

- build_einvoice(uow, entity_code, number) -> EInvoice: the stored document, its legal entity
  and its customer as an EN 16931 invoice (380) or credit note (381).
- export_einvoice(uow, entity_code, number, syntax, writers) -> bytes: the same, written in
  one syntax ("ubl" or "cii").
- read_einvoice(data, reader) -> EInvoice: a file from outside (UBL, CII, Factur-X PDF), with
  its declared totals checked against its lines (BR-CO-10 to BR-CO-16).

Writers and the reader are a port: use cases do not import adapters, so the interface passes
them (`openbill.adapters.documents.einvoice_io.WRITERS` and `read_any`).

Totals come from the stored document as issued (EN 16931 arithmetic, `domain.invoice`), never
recomputed here, so the file says exactly what the ledger says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from openbill.domain.einvoice import (
    CREDIT_NOTE,
    INVOICE,
    NO_RATE_CATEGORIES,
    AllowanceCharge,
    EInvoice,
    InvoiceLine,
    MonetaryTotals,
    Party,
    PaymentMeans,
    VatBreakdown,
    split_address,
    total_mismatches,
)
from openbill.domain.invoice import DocumentKind, PaymentTerms
from openbill.domain.money import minor_to_decimal
from openbill.domain.reference import creditor_reference
from openbill.domain.rejections import InvalidInput, InvalidState, NotFound
from openbill.domain.units import unit_code
from openbill.ports import UnitOfWork
from openbill.usecases._support import document_by_number, entity_by_code

__all__ = [
    "SYNTAXES",
    "EInvoiceWriter",
    "EInvoiceReader",
    "build_einvoice",
    "export_einvoice",
    "read_einvoice",
]

SYNTAXES = ("ubl", "cii")
EInvoiceWriter = Callable[[EInvoice], bytes]
EInvoiceReader = Callable[[bytes], EInvoice]
# Net prices carry at most this many decimals (the precision openbill keeps unit prices at).
_PRICE_QUANTUM = Decimal("1e-10")
# UNTDID 4461: SEPA credit transfer for euro, plain credit transfer for other currencies.
_SEPA_CREDIT_TRANSFER = "58"
_CREDIT_TRANSFER = "30"
# The categories whose legal note is also printed as a document note (BT-22), so that a reader
# of the document sees why no VAT is charged (e.g. the reverse charge statement).
_NOTED_CATEGORIES = ("AE", "K", "G")


def build_einvoice(uow: UnitOfWork, entity_code: str, number: str) -> EInvoice:
    """The issued document `number` of the entity as an EN 16931 invoice or credit note."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        doc = document_by_number(uow, entity.id, number)
        if doc.status != "issued":
            raise InvalidState(f"{number} is not issued", record=number, field="status")
        customer = uow.customers.get(doc.customer_id)
        if customer is None:
            raise NotFound(f"the customer of {number} is missing", record=number)
        lines = list(uow.documents.lines(doc.id))
        taxes = list(uow.documents.taxes(doc.id))
        adjustments = list(uow.documents.adjustments(doc.id))
        credited = uow.documents.get(doc.credited_document_id) if doc.credited_document_id else None
    return _einvoice(doc, entity, customer, lines, taxes, credited, adjustments)


def export_einvoice(
    uow: UnitOfWork,
    entity_code: str,
    number: str,
    syntax: str,
    writers: Mapping[str, EInvoiceWriter],
) -> bytes:
    """The issued document `number` written in `syntax` by the writer given for it."""
    writer = writers.get(syntax)
    if writer is None:
        raise InvalidInput(
            f"unknown e-invoice syntax {syntax!r}; choose one of {', '.join(sorted(writers))}",
            field="syntax",
        )
    return writer(build_einvoice(uow, entity_code, number))


def read_einvoice(data: bytes, reader: EInvoiceReader) -> EInvoice:
    """The e-invoice in `data` read by `reader`, refused when its declared totals do not add
    up."""
    inv = reader(data)
    wrong = total_mismatches(inv)
    if wrong:
        raise InvalidInput(
            f"the totals of {inv.number} do not add up: {'; '.join(wrong)}",
            record=inv.number,
            field="totals",
        )
    return inv


def _einvoice(
    doc: Any,
    entity: Any,
    customer: Any,
    lines: list[Any],
    taxes: list[Any],
    credited: Any,
    adjustments: list[Any] | None = None,
) -> EInvoice:
    currency = doc.currency
    credit = doc.kind == DocumentKind.CREDIT_NOTE

    def amount(minor: int) -> Decimal:
        return minor_to_decimal(int(minor), currency)

    categories = {line.tax_category for line in lines}
    notes = [doc.reason] if doc.reason else []
    notes += sorted(
        {
            t.exemption_reason
            for t in taxes
            if t.category in _NOTED_CATEGORIES and t.exemption_reason
        }
    )
    means = None
    if entity.iban and not credit:
        code = _SEPA_CREDIT_TRANSFER if currency == "EUR" else _CREDIT_TRANSFER
        # BT-83: the RF creditor reference, which payments quoting it are allocated by.
        means = PaymentMeans(code, entity.iban, creditor_reference(doc.number))
    intra_community = "K" in categories
    allowances = [a for a in adjustments or () if not a.is_charge]
    charges = [a for a in adjustments or () if a.is_charge]
    return EInvoice(
        type_code=CREDIT_NOTE if credit else INVOICE,
        number=doc.number,
        issue_date=doc.document_date,
        currency=currency,
        seller=_party(entity),
        buyer=_party(customer),
        vat_breakdown=tuple(
            VatBreakdown(
                t.category,
                None if t.category in NO_RATE_CATEGORIES else Decimal(t.rate),
                amount(t.taxable_minor),
                amount(t.tax_minor),
                t.exemption_reason,
                t.exemption_code,
            )
            for t in taxes
        ),
        totals=MonetaryTotals(
            line_total=amount(sum(int(line.net_minor) for line in lines)),
            tax_exclusive=amount(doc.net_minor),
            tax_inclusive=amount(doc.total_minor),
            payable=amount(doc.total_minor),
            allowance_total=amount(sum(int(a.amount_minor) for a in allowances))
            if allowances
            else None,
            charge_total=amount(sum(int(a.amount_minor) for a in charges)) if charges else None,
        ),
        allowances_charges=tuple(
            AllowanceCharge(
                is_charge=bool(a.is_charge),
                amount=amount(a.amount_minor),
                tax_category=a.tax_category,
                tax_rate=None if a.tax_category in NO_RATE_CATEGORIES else Decimal(a.tax_rate),
                reason=a.reason,
                reason_code=a.reason_code,
            )
            for a in adjustments or ()
        ),
        tax_total=amount(doc.tax_minor),
        lines=tuple(
            _line(line, amount(line.net_minor), bool(doc.prices_include_tax)) for line in lines
        ),
        due_date=None if credit else doc.due_date,
        buyer_reference=doc.buyer_reference,
        preceding_invoice=credited.number if credited is not None else "",
        preceding_invoice_date=credited.document_date if credited is not None else None,
        notes=tuple(notes),
        payment_means=means,
        payment_terms="" if credit else _terms_text(doc.payment_terms),
        # An intra-community supply names when and where the goods went (BR-IC-11, BR-IC-12).
        delivery_date=doc.document_date if intra_community else None,
        delivery_country=customer.country if intra_community else "",
    )


def _party(row: Any) -> Party:
    email = row.email or ""
    return Party(
        name=row.name,
        address=split_address(row.address or "", row.country),
        vat_id=row.vat_id or "",
        tax_number=row.tax_number or "",
        electronic_address=email,
        electronic_address_scheme="EM" if email else "",
    )


def _line(row: Any, net: Decimal, prices_include_tax: bool) -> InvoiceLine:
    quantity = Decimal(row.quantity)
    if prices_include_tax and quantity:
        # The net price of the line (BT-146): with prices that include tax, the stored unit
        # price is gross, so the net price is the line's net amount per unit.
        price = (net / quantity).quantize(_PRICE_QUANTUM)
    else:
        price = Decimal(row.unit_price)
    if price < 0:
        # BR-27: the net price is never negative; a credit line is a negative quantity.
        quantity, price = -quantity, -price
    return InvoiceLine(
        id=str(row.line_no),
        quantity=quantity,
        unit_code=_unit(row.unit),
        net_amount=net,
        item_name=row.description,
        net_price=price,
        tax_category=row.tax_category,
        tax_rate=None if row.tax_category in NO_RATE_CATEGORIES else Decimal(row.tax_rate),
    )


def _terms_text(terms: str) -> str:
    """BT-20 in words, from openbill's payment terms (net30, eom+15, due_on_receipt, each
    optionally after a cash discount such as "2/10 net30").

    EN 16931 has no structured cash discount, so the discount is said in BT-20's free text
    before the net terms: "2% discount if paid within 10 days; payable within 30 days net".
    (The German XRechnung CIUS wants its own coded form, "#SKONTO#TAGE=10#PROZENT=2.00#", which
    is not written here.)
    """
    if not terms:
        return ""
    parsed = PaymentTerms.parse(terms)
    if parsed.end_of_month and parsed.days:
        net = f"payable {parsed.days} days after the end of the month of the invoice"
    elif parsed.end_of_month:
        net = "payable at the end of the month of the invoice"
    elif parsed.days:
        net = f"payable within {parsed.days} days net"
    else:
        net = "payable on receipt"
    if parsed.discount_percent is None:
        return net.capitalize()
    days = parsed.discount_days
    within = f"{days} day" if days == 1 else f"{days} days"
    return f"{parsed.discount_percent.normalize():f}% discount if paid within {within}; {net}"


def _unit(stored: str) -> str:
    """The Rec 20 code of a stored unit; books made before units were checked may hold a plain
    name ("piece"), which is mapped, or something unknown, which is written as it is and left
    for the schematron to name."""
    try:
        return unit_code(stored)
    except InvalidInput:
        return stored
