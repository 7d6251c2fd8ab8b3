"""EN 16931 in UN/CEFACT Cross Industry Invoice (CII) D16B.

Standard: UN/CEFACT CII D16B with the syntax binding of CEN/TS 16931-3-3
(https://unece.org/trade/uncefact/e-invoice); the XML inside a Factur-X / ZUGFeRD PDF is this
syntax. Invoices and credit notes are the same document with a different type code (BT-3);
credit notes keep positive amounts.

    write(inv) -> bytes      read(data) -> EInvoice      detect(data) -> bool

Elements are written in the order of the D16B schema. Amounts keep the decimals of the model,
so write(read(write(inv))) == write(inv).
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

__all__ = ["write", "read", "detect", "GUIDELINE_ID"]

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
# BT-24: the specification identifier of plain EN 16931.
GUIDELINE_ID = "urn:cen.eu:en16931:2017"
RECORD = "CII invoice"
# Scheme of the VAT identifier (BT-31, BT-48) and of the local tax number (BT-32).
VAT_SCHEME = "VA"
TAX_NUMBER_SCHEME = "FC"


# ---------------------------------------------------------------------------------------------
# write


def write(inv: EInvoice) -> bytes:
    """The CII document of `inv`, UTF-8 with an XML declaration."""
    root = etree.Element(
        f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
    )
    context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE_ID)
    document = etree.SubElement(root, f"{{{RSM}}}ExchangedDocument")
    _ram(document, "ID", inv.number)
    _ram(document, "TypeCode", inv.type_code)
    _date(_ram(document, "IssueDateTime"), inv.issue_date)
    for note in inv.notes:
        _ram(_ram(document, "IncludedNote"), "Content", note)
    transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for line in inv.lines:
        _line(transaction, line)
    _agreement(transaction, inv)
    _delivery(transaction, inv)
    _settlement(transaction, inv)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _ram(
    parent: etree._Element, name: str, text: str | None = None, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _date(parent: etree._Element, value: date) -> None:
    element = etree.SubElement(parent, f"{{{UDT}}}DateTimeString", format="102")
    element.text = value.strftime("%Y%m%d")


def _amount(parent: etree._Element, name: str, value: Decimal, currency: str = "") -> None:
    if currency:
        _ram(parent, name, format(value, "f"), currencyID=currency)
    else:
        _ram(parent, name, format(value, "f"))


def _tax(parent: etree._Element, name: str, category: str, rate: Decimal | None) -> None:
    node = _ram(parent, name)
    _ram(node, "TypeCode", "VAT")
    _ram(node, "CategoryCode", category)
    if rate is not None:
        _ram(node, "RateApplicablePercent", plain(rate))


def _line(transaction: etree._Element, line: InvoiceLine) -> None:
    node = _ram(transaction, "IncludedSupplyChainTradeLineItem")
    _ram(_ram(node, "AssociatedDocumentLineDocument"), "LineID", line.id)
    _ram(_ram(node, "SpecifiedTradeProduct"), "Name", line.item_name)
    price = _ram(_ram(node, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
    _ram(price, "ChargeAmount", plain(line.net_price))
    if line.base_quantity is not None:
        _ram(price, "BasisQuantity", plain(line.base_quantity), unitCode=line.unit_code)
    delivery = _ram(node, "SpecifiedLineTradeDelivery")
    _ram(delivery, "BilledQuantity", plain(line.quantity), unitCode=line.unit_code)
    settlement = _ram(node, "SpecifiedLineTradeSettlement")
    _tax(settlement, "ApplicableTradeTax", line.tax_category, line.tax_rate)
    summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _amount(summation, "LineTotalAmount", line.net_amount)


def _party(parent: etree._Element, name: str, party: Party) -> None:
    node = _ram(parent, name)
    _ram(node, "Name", party.name)
    if party.legal_id:
        _ram(_ram(node, "SpecifiedLegalOrganization"), "ID", party.legal_id)
    address = _ram(node, "PostalTradeAddress")
    if party.address.postcode:
        _ram(address, "PostcodeCode", party.address.postcode)
    if party.address.line:
        _ram(address, "LineOne", party.address.line)
    if party.address.city:
        _ram(address, "CityName", party.address.city)
    _ram(address, "CountryID", party.address.country)
    if party.electronic_address:
        _ram(
            _ram(node, "URIUniversalCommunication"),
            "URIID",
            party.electronic_address,
            schemeID=party.electronic_address_scheme or "EM",
        )
    for company_id, scheme in ((party.vat_id, VAT_SCHEME), (party.tax_number, TAX_NUMBER_SCHEME)):
        if company_id:
            _ram(_ram(node, "SpecifiedTaxRegistration"), "ID", company_id, schemeID=scheme)


def _agreement(transaction: etree._Element, inv: EInvoice) -> None:
    node = _ram(transaction, "ApplicableHeaderTradeAgreement")
    if inv.buyer_reference:
        _ram(node, "BuyerReference", inv.buyer_reference)
    _party(node, "SellerTradeParty", inv.seller)
    _party(node, "BuyerTradeParty", inv.buyer)
    if inv.order_reference:
        _ram(_ram(node, "BuyerOrderReferencedDocument"), "IssuerAssignedID", inv.order_reference)


def _delivery(transaction: etree._Element, inv: EInvoice) -> None:
    node = _ram(transaction, "ApplicableHeaderTradeDelivery")
    if inv.delivery_country:
        ship_to = _ram(node, "ShipToTradeParty")
        _ram(_ram(ship_to, "PostalTradeAddress"), "CountryID", inv.delivery_country)
    if inv.delivery_date:
        event = _ram(node, "ActualDeliverySupplyChainEvent")
        _date(_ram(event, "OccurrenceDateTime"), inv.delivery_date)


def _settlement(transaction: etree._Element, inv: EInvoice) -> None:
    node = _ram(transaction, "ApplicableHeaderTradeSettlement")
    means = inv.payment_means
    if means and means.remittance:
        _ram(node, "PaymentReference", means.remittance)
    if inv.tax_currency:
        _ram(node, "TaxCurrencyCode", inv.tax_currency)
    _ram(node, "InvoiceCurrencyCode", inv.currency)
    if means:
        means_node = _ram(node, "SpecifiedTradeSettlementPaymentMeans")
        _ram(means_node, "TypeCode", means.type_code)
        if means.iban:
            _ram(_ram(means_node, "PayeePartyCreditorFinancialAccount"), "IBANID", means.iban)
    for vat in inv.vat_breakdown:
        _breakdown(node, vat, inv.currency)
    for item in inv.allowances_charges:
        _allowance_charge(node, item)
    if inv.payment_terms or inv.due_date:
        terms = _ram(node, "SpecifiedTradePaymentTerms")
        if inv.payment_terms:
            _ram(terms, "Description", inv.payment_terms)
        if inv.due_date:
            _date(_ram(terms, "DueDateDateTime"), inv.due_date)
    _summation(node, inv)
    if inv.preceding_invoice:
        ref = _ram(node, "InvoiceReferencedDocument")
        _ram(ref, "IssuerAssignedID", inv.preceding_invoice)
        if inv.preceding_invoice_date:
            formatted = _ram(ref, "FormattedIssueDateTime")
            element = etree.SubElement(formatted, f"{{{QDT}}}DateTimeString", format="102")
            element.text = inv.preceding_invoice_date.strftime("%Y%m%d")


def _breakdown(parent: etree._Element, vat: VatBreakdown, currency: str) -> None:
    node = _ram(parent, "ApplicableTradeTax")
    _amount(node, "CalculatedAmount", vat.tax_amount)
    _ram(node, "TypeCode", "VAT")
    if vat.exemption_reason:
        _ram(node, "ExemptionReason", vat.exemption_reason)
    _amount(node, "BasisAmount", vat.taxable_amount)
    _ram(node, "CategoryCode", vat.category)
    if vat.exemption_code:
        _ram(node, "ExemptionReasonCode", vat.exemption_code)
    if vat.rate is not None:
        _ram(node, "RateApplicablePercent", plain(vat.rate))


def _allowance_charge(parent: etree._Element, item: AllowanceCharge) -> None:
    node = _ram(parent, "SpecifiedTradeAllowanceCharge")
    indicator = etree.SubElement(_ram(node, "ChargeIndicator"), f"{{{UDT}}}Indicator")
    indicator.text = "true" if item.is_charge else "false"
    if item.percentage is not None:
        _ram(node, "CalculationPercent", plain(item.percentage))
    if item.base_amount is not None:
        _amount(node, "BasisAmount", item.base_amount)
    _amount(node, "ActualAmount", item.amount)
    if item.reason_code:
        _ram(node, "ReasonCode", item.reason_code)
    if item.reason:
        _ram(node, "Reason", item.reason)
    _tax(node, "CategoryTradeTax", item.tax_category, item.tax_rate)


def _summation(parent: etree._Element, inv: EInvoice) -> None:
    node = _ram(parent, "SpecifiedTradeSettlementHeaderMonetarySummation")
    totals = inv.totals
    if totals.line_total is not None:
        _amount(node, "LineTotalAmount", totals.line_total)
    if totals.charge_total is not None:
        _amount(node, "ChargeTotalAmount", totals.charge_total)
    if totals.allowance_total is not None:
        _amount(node, "AllowanceTotalAmount", totals.allowance_total)
    _amount(node, "TaxBasisTotalAmount", totals.tax_exclusive)
    _amount(node, "TaxTotalAmount", inv.tax_total, inv.currency)
    if inv.tax_currency and inv.tax_total_tax_currency is not None:
        _amount(node, "TaxTotalAmount", inv.tax_total_tax_currency, inv.tax_currency)
    if totals.rounding is not None:
        _amount(node, "RoundingAmount", totals.rounding)
    _amount(node, "GrandTotalAmount", totals.tax_inclusive)
    if totals.prepaid is not None:
        _amount(node, "TotalPrepaidAmount", totals.prepaid)
    _amount(node, "DuePayableAmount", totals.payable)


# ---------------------------------------------------------------------------------------------
# detect and read


def detect(data: bytes) -> bool:
    """True when `data` is a CII CrossIndustryInvoice."""
    return root_name(data) == (RSM, "CrossIndustryInvoice")


_X = XmlReader(NS, RECORD)
_TRANSACTION = "rsm:SupplyChainTradeTransaction"
_AGREEMENT = f"{_TRANSACTION}/ram:ApplicableHeaderTradeAgreement"
_DELIVERY = f"{_TRANSACTION}/ram:ApplicableHeaderTradeDelivery"
_SETTLEMENT = f"{_TRANSACTION}/ram:ApplicableHeaderTradeSettlement"


def read(data: bytes) -> EInvoice:
    """The EInvoice in a CII CrossIndustryInvoice; InvalidInput names the element at fault."""
    root = parse_xml(data, RECORD)
    qname = etree.QName(root)
    if (qname.namespace, qname.localname) != (RSM, "CrossIndustryInvoice"):
        raise InvalidInput(
            f"not a CII CrossIndustryInvoice: the root element is {qname.localname} "
            f"in namespace {qname.namespace or '(none)'}",
            record=RECORD,
            field=qname.localname,
        )
    top = "rsm:CrossIndustryInvoice"
    document = _X.node(root, "rsm:ExchangedDocument", top)
    doc_at = f"{top}/rsm:ExchangedDocument"
    agreement = _X.node(root, _AGREEMENT, top)
    settlement = _X.node(root, _SETTLEMENT, top)
    set_at = f"{top}/{_SETTLEMENT}"
    agr_at = f"{top}/{_AGREEMENT}"
    currency = _X.text(settlement, "ram:InvoiceCurrencyCode", set_at, required=True)
    tax_currency = _X.text(settlement, "ram:TaxCurrencyCode", set_at)
    summation = _X.node(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation", set_at)
    tax_total, tax_total_tax_currency = _read_tax_totals(summation, currency, tax_currency)
    means = settlement.find("ram:SpecifiedTradeSettlementPaymentMeans", NS)
    remittance = _X.text(settlement, "ram:PaymentReference", set_at)
    delivery = root.find(_DELIVERY, NS)
    del_at = f"{top}/{_DELIVERY}"
    return EInvoice(
        type_code=_X.text(document, "ram:TypeCode", doc_at, required=True),
        number=_X.text(document, "ram:ID", doc_at, required=True),
        issue_date=_required_date(document, "ram:IssueDateTime/udt:DateTimeString", doc_at),
        currency=currency,
        seller=_read_party(agreement, "ram:SellerTradeParty", agr_at),
        buyer=_read_party(agreement, "ram:BuyerTradeParty", agr_at),
        vat_breakdown=tuple(
            _read_breakdown(node) for node in _X.all(settlement, "ram:ApplicableTradeTax")
        ),
        totals=_read_totals(summation),
        tax_total=tax_total,
        lines=tuple(
            _read_line(node)
            for node in _X.all(root, f"{_TRANSACTION}/ram:IncludedSupplyChainTradeLineItem")
        ),
        allowances_charges=tuple(
            _read_allowance_charge(node)
            for node in _X.all(settlement, "ram:SpecifiedTradeAllowanceCharge")
        ),
        due_date=_X.date(
            settlement,
            "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
            set_at,
            fmt="102",
        ),
        buyer_reference=_X.text(agreement, "ram:BuyerReference", agr_at),
        order_reference=_X.text(
            agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", agr_at
        ),
        preceding_invoice=_X.text(
            settlement, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID", set_at
        ),
        preceding_invoice_date=_X.date(
            settlement,
            "ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString",
            set_at,
            fmt="102",
        ),
        notes=tuple(
            (n.text or "").strip() for n in _X.all(document, "ram:IncludedNote/ram:Content")
        ),
        payment_means=(
            PaymentMeans(
                type_code=_X.text(means, "ram:TypeCode", set_at, required=True),
                iban=_X.text(means, "ram:PayeePartyCreditorFinancialAccount/ram:IBANID", set_at),
                remittance=remittance,
            )
            if means is not None
            else None
        ),
        payment_terms=_X.text(settlement, "ram:SpecifiedTradePaymentTerms/ram:Description", set_at),
        delivery_date=(
            _X.date(
                delivery,
                "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString",
                del_at,
                fmt="102",
            )
            if delivery is not None
            else None
        ),
        delivery_country=(
            _X.text(delivery, "ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID", del_at)
            if delivery is not None
            else ""
        ),
        tax_currency=tax_currency,
        tax_total_tax_currency=tax_total_tax_currency,
    )


def _required_date(node: etree._Element, path: str, where: str) -> date:
    value = _X.date(node, path, where, required=True, fmt="102")
    assert value is not None
    return value


def _read_party(agreement: etree._Element, path: str, where: str) -> Party:
    node = _X.node(agreement, path, where)
    here = f"{where}/{path}"
    vat_id = tax_number = ""
    for registration in _X.all(node, "ram:SpecifiedTaxRegistration/ram:ID"):
        scheme = (registration.get("schemeID") or "").upper()
        value = (registration.text or "").strip()
        if scheme == VAT_SCHEME:
            vat_id = vat_id or value
        elif scheme == TAX_NUMBER_SCHEME:
            tax_number = tax_number or value
    address = _X.node(node, "ram:PostalTradeAddress", here)
    at = f"{here}/ram:PostalTradeAddress"
    uri = _X.text(node, "ram:URIUniversalCommunication/ram:URIID", here)
    return Party(
        name=_X.text(node, "ram:Name", here, required=True),
        address=Address(
            country=_X.text(address, "ram:CountryID", at, required=True),
            line=_X.text(address, "ram:LineOne", at),
            city=_X.text(address, "ram:CityName", at),
            postcode=_X.text(address, "ram:PostcodeCode", at),
        ),
        vat_id=vat_id,
        tax_number=tax_number,
        legal_id=_X.text(node, "ram:SpecifiedLegalOrganization/ram:ID", here),
        electronic_address=uri,
        electronic_address_scheme=(
            _X.attr(node, "ram:URIUniversalCommunication/ram:URIID", "schemeID") if uri else ""
        ),
    )


def _read_tax_totals(
    summation: etree._Element, currency: str, tax_currency: str
) -> tuple[Decimal, Decimal | None]:
    where = "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount"
    in_document: Decimal | None = None
    in_tax_currency: Decimal | None = None
    for node in _X.all(summation, "ram:TaxTotalAmount"):
        unit = (node.get("currencyID") or "").strip()
        value = _X.amount(node, ".", where)
        if unit in ("", currency) and in_document is None:
            in_document = value
        elif tax_currency and unit == tax_currency:
            in_tax_currency = value
    if in_document is None:
        # BT-110 may be left out when there is no VAT at all (a document of category O only).
        in_document = Decimal(0)
    return in_document, in_tax_currency


def _read_totals(node: etree._Element) -> MonetaryTotals:
    where = "ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    return MonetaryTotals(
        line_total=_X.decimal(node, "ram:LineTotalAmount", where),
        tax_exclusive=_X.amount(node, "ram:TaxBasisTotalAmount", where),
        tax_inclusive=_X.amount(node, "ram:GrandTotalAmount", where),
        payable=_X.amount(node, "ram:DuePayableAmount", where),
        allowance_total=_X.decimal(node, "ram:AllowanceTotalAmount", where),
        charge_total=_X.decimal(node, "ram:ChargeTotalAmount", where),
        prepaid=_X.decimal(node, "ram:TotalPrepaidAmount", where),
        rounding=_X.decimal(node, "ram:RoundingAmount", where),
    )


def _read_breakdown(node: etree._Element) -> VatBreakdown:
    where = "ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    return VatBreakdown(
        category=_X.text(node, "ram:CategoryCode", where, required=True),
        rate=_X.decimal(node, "ram:RateApplicablePercent", where),
        taxable_amount=_X.amount(node, "ram:BasisAmount", where),
        tax_amount=_X.amount(node, "ram:CalculatedAmount", where),
        exemption_reason=_X.text(node, "ram:ExemptionReason", where),
        exemption_code=_X.text(node, "ram:ExemptionReasonCode", where),
    )


def _read_allowance_charge(node: etree._Element) -> AllowanceCharge:
    where = "ram:SpecifiedTradeAllowanceCharge"
    indicator = _X.text(node, "ram:ChargeIndicator/udt:Indicator", where, required=True).lower()
    if indicator not in ("true", "false", "1", "0"):
        raise InvalidInput(
            f"{indicator!r} in {where}/ram:ChargeIndicator is not true or false",
            record=RECORD,
            field=f"{where}/ram:ChargeIndicator",
        )
    tax = _X.node(node, "ram:CategoryTradeTax", where)
    at = f"{where}/ram:CategoryTradeTax"
    return AllowanceCharge(
        is_charge=indicator in ("true", "1"),
        amount=_X.amount(node, "ram:ActualAmount", where),
        tax_category=_X.text(tax, "ram:CategoryCode", at, required=True),
        tax_rate=_X.decimal(tax, "ram:RateApplicablePercent", at),
        reason=_X.text(node, "ram:Reason", where),
        reason_code=_X.text(node, "ram:ReasonCode", where),
        base_amount=_X.decimal(node, "ram:BasisAmount", where),
        percentage=_X.decimal(node, "ram:CalculationPercent", where),
    )


def _read_line(node: etree._Element) -> InvoiceLine:
    where = "ram:IncludedSupplyChainTradeLineItem"
    settlement = _X.node(node, "ram:SpecifiedLineTradeSettlement", where)
    set_at = f"{where}/ram:SpecifiedLineTradeSettlement"
    tax = _X.node(settlement, "ram:ApplicableTradeTax", set_at)
    tax_at = f"{set_at}/ram:ApplicableTradeTax"
    quantity = "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"
    price = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice"
    return InvoiceLine(
        id=_X.text(node, "ram:AssociatedDocumentLineDocument/ram:LineID", where, required=True),
        quantity=_X.amount(node, quantity, where),
        unit_code=_X.attr(node, quantity, "unitCode"),
        net_amount=_X.amount(
            settlement,
            "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
            set_at,
        ),
        item_name=_X.text(node, "ram:SpecifiedTradeProduct/ram:Name", where, required=True),
        net_price=_X.amount(node, f"{price}/ram:ChargeAmount", where),
        tax_category=_X.text(tax, "ram:CategoryCode", tax_at, required=True),
        tax_rate=_X.decimal(tax, "ram:RateApplicablePercent", tax_at),
        base_quantity=_X.decimal(node, f"{price}/ram:BasisQuantity", where),
    )
