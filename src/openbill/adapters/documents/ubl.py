"""EN 16931 in UBL 2.1, following Peppol BIS Billing 3.0.

Standard: OASIS UBL 2.1 (http://docs.oasis-open.org/ubl/os-UBL-2.1/) with the syntax binding
of CEN/TS 16931-3-2 and the Peppol BIS Billing 3.0 rules
(https://docs.peppol.eu/poacc/billing/3.0/). Invoices are written as `Invoice`, credit notes
(type codes 381 and kin) as `CreditNote`; both are read.

    write(inv) -> bytes      read(data) -> EInvoice      detect(data) -> bool

Elements are written in the order of the UBL 2.1 schema. Amounts keep the decimals of the
model, so write(read(write(inv))) == write(inv).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from openbill.adapters.documents import XmlReader, parse_xml, root_name
from openbill.domain.einvoice import (
    Address,
    AllowanceCharge,
    EInvoice,
    InvoiceLine,
    MonetaryTotals,
    Party,
    PaymentMeans,
    VatBreakdown,
    plain,
)
from openbill.domain.rejections import InvalidInput

__all__ = ["write", "read", "detect", "CUSTOMIZATION_ID", "PROFILE_ID"]

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}
# BT-24 and BT-23 of Peppol BIS Billing 3.0.
CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
RECORD = "UBL invoice"


# ---------------------------------------------------------------------------------------------
# write


def write(inv: EInvoice) -> bytes:
    """The UBL 2.1 document of `inv`, UTF-8 with an XML declaration."""
    credit = inv.is_credit_note
    root_ns = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: root_ns, "cac": CAC, "cbc": CBC},
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", inv.number)
    _cbc(root, "IssueDate", inv.issue_date.isoformat())
    if inv.due_date and not credit:
        _cbc(root, "DueDate", inv.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", inv.type_code)
    for note in inv.notes:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", inv.currency)
    if inv.tax_currency:
        _cbc(root, "TaxCurrencyCode", inv.tax_currency)
    if inv.buyer_reference:
        _cbc(root, "BuyerReference", inv.buyer_reference)
    if inv.order_reference:
        _cbc(_cac(root, "OrderReference"), "ID", inv.order_reference)
    if inv.preceding_invoice:
        ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(ref, "ID", inv.preceding_invoice)
        if inv.preceding_invoice_date:
            _cbc(ref, "IssueDate", inv.preceding_invoice_date.isoformat())
    _party(_cac(root, "AccountingSupplierParty"), inv.seller)
    _party(_cac(root, "AccountingCustomerParty"), inv.buyer)
    if inv.delivery_date or inv.delivery_country:
        delivery = _cac(root, "Delivery")
        if inv.delivery_date:
            _cbc(delivery, "ActualDeliveryDate", inv.delivery_date.isoformat())
        if inv.delivery_country:
            address = _cac(_cac(delivery, "DeliveryLocation"), "Address")
            _cbc(_cac(address, "Country"), "IdentificationCode", inv.delivery_country)
    if inv.payment_means:
        _payment_means(root, inv.payment_means, inv.due_date if credit else None)
    if inv.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", inv.payment_terms)
    for item in inv.allowances_charges:
        _allowance_charge(root, item, inv.currency)
    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", inv.tax_total, inv.currency)
    for vat in inv.vat_breakdown:
        _subtotal(tax_total, vat, inv.currency)
    if inv.tax_currency and inv.tax_total_tax_currency is not None:
        _amount(_cac(root, "TaxTotal"), "TaxAmount", inv.tax_total_tax_currency, inv.tax_currency)
    _totals(root, inv.totals, inv.currency)
    for line in inv.lines:
        _line(root, line, inv.currency, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
    element.text = text
    return element


def _amount(parent: etree._Element, name: str, value: Decimal, currency: str) -> None:
    _cbc(parent, name, format(value, "f"), currencyID=currency)


def _party(role: etree._Element, party: Party) -> None:
    node = _cac(role, "Party")
    if party.electronic_address:
        _cbc(
            node,
            "EndpointID",
            party.electronic_address,
            schemeID=party.electronic_address_scheme or "EM",
        )
    address = _cac(node, "PostalAddress")
    if party.address.line:
        _cbc(address, "StreetName", party.address.line)
    if party.address.city:
        _cbc(address, "CityName", party.address.city)
    if party.address.postcode:
        _cbc(address, "PostalZone", party.address.postcode)
    _cbc(_cac(address, "Country"), "IdentificationCode", party.address.country)
    for company_id, scheme in ((party.vat_id, "VAT"), (party.tax_number, "FC")):
        if company_id:
            tax_scheme = _cac(node, "PartyTaxScheme")
            _cbc(tax_scheme, "CompanyID", company_id)
            _cbc(_cac(tax_scheme, "TaxScheme"), "ID", scheme)
    legal = _cac(node, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.legal_id:
        _cbc(legal, "CompanyID", party.legal_id)


def _payment_means(root: etree._Element, means: PaymentMeans, due: date | None) -> None:
    node = _cac(root, "PaymentMeans")
    _cbc(node, "PaymentMeansCode", means.type_code)
    if due is not None:
        # A UBL CreditNote has no DueDate; Peppol puts BT-9 here.
        _cbc(node, "PaymentDueDate", due.isoformat())
    if means.remittance:
        _cbc(node, "PaymentID", means.remittance)
    if means.iban:
        _cbc(_cac(node, "PayeeFinancialAccount"), "ID", means.iban)


def _tax_category(
    parent: etree._Element, name: str, category: str, rate: Decimal | None, *extra: tuple[str, str]
) -> None:
    node = _cac(parent, name)
    _cbc(node, "ID", category)
    if rate is not None:
        _cbc(node, "Percent", plain(rate))
    for element, text in extra:
        if text:
            _cbc(node, element, text)
    _cbc(_cac(node, "TaxScheme"), "ID", "VAT")


def _allowance_charge(root: etree._Element, item: AllowanceCharge, currency: str) -> None:
    node = _cac(root, "AllowanceCharge")
    _cbc(node, "ChargeIndicator", "true" if item.is_charge else "false")
    if item.reason_code:
        _cbc(node, "AllowanceChargeReasonCode", item.reason_code)
    if item.reason:
        _cbc(node, "AllowanceChargeReason", item.reason)
    if item.percentage is not None:
        _cbc(node, "MultiplierFactorNumeric", plain(item.percentage))
    _amount(node, "Amount", item.amount, currency)
    if item.base_amount is not None:
        _amount(node, "BaseAmount", item.base_amount, currency)
    _tax_category(node, "TaxCategory", item.tax_category, item.tax_rate)


def _subtotal(tax_total: etree._Element, vat: VatBreakdown, currency: str) -> None:
    node = _cac(tax_total, "TaxSubtotal")
    _amount(node, "TaxableAmount", vat.taxable_amount, currency)
    _amount(node, "TaxAmount", vat.tax_amount, currency)
    _tax_category(
        node,
        "TaxCategory",
        vat.category,
        vat.rate,
        ("TaxExemptionReasonCode", vat.exemption_code),
        ("TaxExemptionReason", vat.exemption_reason),
    )


def _totals(root: etree._Element, totals: MonetaryTotals, currency: str) -> None:
    node = _cac(root, "LegalMonetaryTotal")
    # BT-106 is mandatory in UBL; a document read from a profile without it gets zero.
    _amount(node, "LineExtensionAmount", totals.line_total or Decimal(0), currency)
    _amount(node, "TaxExclusiveAmount", totals.tax_exclusive, currency)
    _amount(node, "TaxInclusiveAmount", totals.tax_inclusive, currency)
    for name, value in (
        ("AllowanceTotalAmount", totals.allowance_total),
        ("ChargeTotalAmount", totals.charge_total),
        ("PrepaidAmount", totals.prepaid),
        ("PayableRoundingAmount", totals.rounding),
    ):
        if value is not None:
            _amount(node, name, value, currency)
    _amount(node, "PayableAmount", totals.payable, currency)


def _line(root: etree._Element, line: InvoiceLine, currency: str, credit: bool) -> None:
    node = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(node, "ID", line.id)
    _cbc(
        node,
        "CreditedQuantity" if credit else "InvoicedQuantity",
        plain(line.quantity),
        unitCode=line.unit_code,
    )
    _amount(node, "LineExtensionAmount", line.net_amount, currency)
    item = _cac(node, "Item")
    _cbc(item, "Name", line.item_name)
    _tax_category(item, "ClassifiedTaxCategory", line.tax_category, line.tax_rate)
    price = _cac(node, "Price")
    _cbc(price, "PriceAmount", plain(line.net_price), currencyID=currency)
    if line.base_quantity is not None:
        _cbc(price, "BaseQuantity", plain(line.base_quantity), unitCode=line.unit_code)


# ---------------------------------------------------------------------------------------------
# detect and read


def detect(data: bytes) -> bool:
    """True when `data` is a UBL Invoice or CreditNote."""
    return root_name(data) in ((NS_INVOICE, "Invoice"), (NS_CREDIT_NOTE, "CreditNote"))


_X = XmlReader(NS, RECORD)


def read(data: bytes) -> EInvoice:
    """The EInvoice in a UBL Invoice or CreditNote; InvalidInput names the element at fault."""
    root = parse_xml(data, RECORD)
    qname = etree.QName(root)
    kinds = {NS_INVOICE: "Invoice", NS_CREDIT_NOTE: "CreditNote"}
    if kinds.get(qname.namespace or "") != qname.localname:
        raise InvalidInput(
            f"not a UBL Invoice or CreditNote: the root element is {qname.localname} "
            f"in namespace {qname.namespace or '(none)'}",
            record=RECORD,
            field=qname.localname,
        )
    credit = qname.localname == "CreditNote"
    top = qname.localname
    currency = _X.text(root, "cbc:DocumentCurrencyCode", top, required=True)
    tax_currency = _X.text(root, "cbc:TaxCurrencyCode", top)
    tax_total, tax_total_tax_currency, breakdown = _read_tax_totals(root, currency, tax_currency)
    means_node = root.find("cac:PaymentMeans", NS)
    due = (
        _X.date(root, "cac:PaymentMeans/cbc:PaymentDueDate", top)
        if credit
        else _X.date(root, "cbc:DueDate", top)
    )
    line_name = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    return EInvoice(
        type_code=_X.text(
            root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", top, required=True
        ),
        number=_X.text(root, "cbc:ID", top, required=True),
        issue_date=_required_date(root, "cbc:IssueDate", top),
        currency=currency,
        seller=_read_party(root, "cac:AccountingSupplierParty/cac:Party", top),
        buyer=_read_party(root, "cac:AccountingCustomerParty/cac:Party", top),
        vat_breakdown=breakdown,
        totals=_read_totals(_X.node(root, "cac:LegalMonetaryTotal", top)),
        tax_total=tax_total,
        lines=tuple(_read_line(node, credit) for node in _X.all(root, line_name)),
        allowances_charges=tuple(
            _read_allowance_charge(node) for node in _X.all(root, "cac:AllowanceCharge")
        ),
        due_date=due,
        buyer_reference=_X.text(root, "cbc:BuyerReference", top),
        order_reference=_X.text(root, "cac:OrderReference/cbc:ID", top),
        preceding_invoice=_X.text(
            root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", top
        ),
        preceding_invoice_date=_X.date(
            root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate", top
        ),
        notes=tuple((n.text or "").strip() for n in _X.all(root, "cbc:Note")),
        payment_means=_read_payment_means(means_node) if means_node is not None else None,
        payment_terms=_X.text(root, "cac:PaymentTerms/cbc:Note", top),
        delivery_date=_X.date(root, "cac:Delivery/cbc:ActualDeliveryDate", top),
        delivery_country=_X.text(
            root,
            "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode",
            top,
        ),
        tax_currency=tax_currency,
        tax_total_tax_currency=tax_total_tax_currency,
    )


def _required_date(node: etree._Element, path: str, where: str) -> date:
    value = _X.date(node, path, where, required=True)
    assert value is not None
    return value


def _read_party(root: etree._Element, path: str, where: str) -> Party:
    node = _X.node(root, path, where)
    here = f"{where}/{path}"
    vat_id = tax_number = ""
    for scheme in _X.all(node, "cac:PartyTaxScheme"):
        company_id = _X.text(scheme, "cbc:CompanyID", here)
        if _X.text(scheme, "cac:TaxScheme/cbc:ID", here).upper() == "VAT":
            vat_id = vat_id or company_id
        else:
            tax_number = tax_number or company_id
    address = _X.node(node, "cac:PostalAddress", here)
    at = f"{here}/cac:PostalAddress"
    endpoint = _X.text(node, "cbc:EndpointID", here)
    return Party(
        name=_X.text(node, "cac:PartyLegalEntity/cbc:RegistrationName", here, required=True),
        address=Address(
            country=_X.text(address, "cac:Country/cbc:IdentificationCode", at, required=True),
            line=_X.text(address, "cbc:StreetName", at),
            city=_X.text(address, "cbc:CityName", at),
            postcode=_X.text(address, "cbc:PostalZone", at),
        ),
        vat_id=vat_id,
        tax_number=tax_number,
        legal_id=_X.text(node, "cac:PartyLegalEntity/cbc:CompanyID", here),
        electronic_address=endpoint,
        electronic_address_scheme=_X.attr(node, "cbc:EndpointID", "schemeID") if endpoint else "",
    )


def _read_payment_means(node: etree._Element) -> PaymentMeans:
    where = "cac:PaymentMeans"
    return PaymentMeans(
        type_code=_X.text(node, "cbc:PaymentMeansCode", where, required=True),
        iban=_X.text(node, "cac:PayeeFinancialAccount/cbc:ID", where),
        remittance=_X.text(node, "cbc:PaymentID", where),
    )


def _rate(node: etree._Element, where: str) -> Decimal | None:
    return _X.decimal(node, "cbc:Percent", where)


def _read_allowance_charge(node: etree._Element) -> AllowanceCharge:
    where = "cac:AllowanceCharge"
    indicator = _X.text(node, "cbc:ChargeIndicator", where, required=True).lower()
    if indicator not in ("true", "false", "1", "0"):
        raise InvalidInput(
            f"{indicator!r} in {where}/cbc:ChargeIndicator is not true or false",
            record=RECORD,
            field=f"{where}/cbc:ChargeIndicator",
        )
    category = _X.node(node, "cac:TaxCategory", where)
    return AllowanceCharge(
        is_charge=indicator in ("true", "1"),
        amount=_X.amount(node, "cbc:Amount", where),
        tax_category=_X.text(category, "cbc:ID", f"{where}/cac:TaxCategory", required=True),
        tax_rate=_rate(category, f"{where}/cac:TaxCategory"),
        reason=_X.text(node, "cbc:AllowanceChargeReason", where),
        reason_code=_X.text(node, "cbc:AllowanceChargeReasonCode", where),
        base_amount=_X.decimal(node, "cbc:BaseAmount", where),
        percentage=_X.decimal(node, "cbc:MultiplierFactorNumeric", where),
    )


def _read_tax_totals(
    root: etree._Element, currency: str, tax_currency: str
) -> tuple[Decimal, Decimal | None, tuple[VatBreakdown, ...]]:
    where = "cac:TaxTotal"
    in_document: Decimal | None = None
    in_tax_currency: Decimal | None = None
    breakdown: list[VatBreakdown] = []
    for total in _X.all(root, where):
        amount = _X.amount(total, "cbc:TaxAmount", where)
        unit = _X.attr(total, "cbc:TaxAmount", "currencyID")
        if total.find("cac:TaxSubtotal", NS) is not None or unit == currency:
            in_document = amount
            breakdown.extend(_read_subtotal(sub) for sub in _X.all(total, "cac:TaxSubtotal"))
        elif tax_currency and unit == tax_currency:
            in_tax_currency = amount
    if in_document is None:
        raise InvalidInput(
            f"the required element {where}/cbc:TaxAmount in {currency} is missing",
            record=RECORD,
            field=f"{where}/cbc:TaxAmount",
        )
    return in_document, in_tax_currency, tuple(breakdown)


def _read_subtotal(node: etree._Element) -> VatBreakdown:
    where = "cac:TaxTotal/cac:TaxSubtotal"
    category = _X.node(node, "cac:TaxCategory", where)
    at = f"{where}/cac:TaxCategory"
    return VatBreakdown(
        category=_X.text(category, "cbc:ID", at, required=True),
        rate=_rate(category, at),
        taxable_amount=_X.amount(node, "cbc:TaxableAmount", where),
        tax_amount=_X.amount(node, "cbc:TaxAmount", where),
        exemption_reason=_X.text(category, "cbc:TaxExemptionReason", at),
        exemption_code=_X.text(category, "cbc:TaxExemptionReasonCode", at),
    )


def _read_totals(node: etree._Element) -> MonetaryTotals:
    where = "cac:LegalMonetaryTotal"
    return MonetaryTotals(
        line_total=_X.amount(node, "cbc:LineExtensionAmount", where),
        tax_exclusive=_X.amount(node, "cbc:TaxExclusiveAmount", where),
        tax_inclusive=_X.amount(node, "cbc:TaxInclusiveAmount", where),
        payable=_X.amount(node, "cbc:PayableAmount", where),
        allowance_total=_X.decimal(node, "cbc:AllowanceTotalAmount", where),
        charge_total=_X.decimal(node, "cbc:ChargeTotalAmount", where),
        prepaid=_X.decimal(node, "cbc:PrepaidAmount", where),
        rounding=_X.decimal(node, "cbc:PayableRoundingAmount", where),
    )


def _read_line(node: etree._Element, credit: bool) -> InvoiceLine:
    where = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    quantity = "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity"
    category = _X.node(node, "cac:Item/cac:ClassifiedTaxCategory", where)
    at = f"{where}/cac:Item/cac:ClassifiedTaxCategory"
    return InvoiceLine(
        id=_X.text(node, "cbc:ID", where, required=True),
        quantity=_X.amount(node, quantity, where),
        unit_code=_X.attr(node, quantity, "unitCode"),
        net_amount=_X.amount(node, "cbc:LineExtensionAmount", where),
        item_name=_X.text(node, "cac:Item/cbc:Name", where, required=True),
        net_price=_X.amount(node, "cac:Price/cbc:PriceAmount", where),
        tax_category=_X.text(category, "cbc:ID", at, required=True),
        tax_rate=_rate(category, at),
        base_quantity=_X.decimal(node, "cac:Price/cbc:BaseQuantity", where),
    )
