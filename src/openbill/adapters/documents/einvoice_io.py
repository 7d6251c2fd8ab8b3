"""Read any e-invoice openbill understands, whatever its syntax: UBL 2.1, UN/CEFACT CII, or a
Factur-X / ZUGFeRD PDF carrying CII (or, for XRechnung, UBL) as an embedded file.

    detect_syntax(data) -> "ubl" | "cii" | "pdf" | None
    read_any(data) -> EInvoice
    WRITERS: {"ubl": ubl.write, "cii": cii.write}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from openbill.adapters.documents import cii, ubl
from openbill.domain.einvoice import EInvoice
from openbill.domain.rejections import InvalidInput

__all__ = ["WRITERS", "READERS", "detect_syntax", "read_any", "xml_of_pdf"]

WRITERS: Mapping[str, Callable[[EInvoice], bytes]] = MappingProxyType(
    {"ubl": ubl.write, "cii": cii.write}
)
READERS: Mapping[str, Callable[[bytes], EInvoice]] = MappingProxyType(
    {"ubl": ubl.read, "cii": cii.read}
)
RECORD = "e-invoice"


def detect_syntax(data: bytes) -> str | None:
    if data[:5] == b"%PDF-":
        return "pdf"
    if ubl.detect(data):
        return "ubl"
    if cii.detect(data):
        return "cii"
    return None


def xml_of_pdf(data: bytes) -> bytes:
    """The e-invoice XML embedded in a Factur-X / ZUGFeRD / XRechnung PDF."""
    from facturx import get_xml_from_pdf

    try:
        _name, xml = get_xml_from_pdf(data, check_xsd=False)
    except Exception as exc:  # factur-x raises plain Exceptions for unreadable PDFs
        raise InvalidInput(f"cannot read the PDF: {exc}", record="Factur-X PDF") from None
    if not xml:
        raise InvalidInput(
            "the PDF carries no embedded e-invoice (factur-x.xml, zugferd-invoice.xml or "
            "xrechnung.xml)",
            record="Factur-X PDF",
        )
    return bytes(xml)


def read_any(data: bytes) -> EInvoice:
    """The EInvoice in `data`: UBL, CII, or a PDF with one of them embedded."""
    syntax = detect_syntax(data)
    if syntax == "pdf":
        data = xml_of_pdf(data)
        syntax = detect_syntax(data)
    if syntax is None:
        raise InvalidInput(
            "not an e-invoice: expected a UBL Invoice or CreditNote, a CII "
            "CrossIndustryInvoice, or a Factur-X PDF",
            record=RECORD,
        )
    return READERS[syntax](data)
