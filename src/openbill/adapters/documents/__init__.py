"""Documents in the formats others read: EN 16931 e-invoices in UBL 2.1 (`ubl`) and UN/CEFACT
CII (`cii`), and any of them inside a Factur-X PDF (`einvoice_io`).

Every syntax module has the same small interface, python-stdnum style:

- `write(inv: EInvoice) -> bytes`
- `read(data: bytes) -> EInvoice`, raising `InvalidInput` that names the element at fault
- `detect(data: bytes) -> bool`

This file holds what the syntax modules share: a safe XML parser and the reading helpers that
turn a missing or malformed element into a rejection naming it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from openbill.domain.rejections import InvalidInput

__all__ = ["XmlReader", "parse_xml", "root_name"]

# An e-invoice larger than this is refused before parsing; the largest real ones are a few MB.
XML_BYTES_MAX = 50_000_000


def _parser() -> etree.XMLParser:
    # No entities, no DTDs, no network: an invoice from outside must not reach anything else.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(data: bytes, record: str) -> etree._Element:
    """The root element of `data`, or InvalidInput saying it is not XML."""
    if len(data) > XML_BYTES_MAX:
        raise InvalidInput(f"the file is larger than {XML_BYTES_MAX} bytes", record=record)
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"not well-formed XML: {exc}", record=record) from None


def root_name(data: bytes) -> tuple[str, str] | None:
    """(namespace, local name) of the root element, or None when `data` is not XML."""
    head = data.lstrip()[:1]
    if head != b"<":
        return None
    try:
        for _event, element in etree.iterparse(
            io.BytesIO(data), events=("start",), resolve_entities=False, no_network=True
        ):
            qname = etree.QName(element)
            return (qname.namespace or "", qname.localname)
    except etree.XMLSyntaxError:
        return None
    return None


class XmlReader:
    """Reads values under one element; every refusal names the element path."""

    def __init__(self, namespaces: Mapping[str, str], record: str) -> None:
        self.ns = dict(namespaces)
        self.record = record

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        return list(node.iterfind(path, self.ns))

    def node(self, node: etree._Element, path: str, where: str) -> etree._Element:
        found = node.find(path, self.ns)
        if found is None:
            raise InvalidInput(
                f"the required element {where}/{path} is missing",
                record=self.record,
                field=f"{where}/{path}",
            )
        return found

    def text(self, node: etree._Element, path: str, where: str, required: bool = False) -> str:
        found = node.find(path, self.ns)
        value = (found.text or "").strip() if found is not None else ""
        if required and not value:
            raise InvalidInput(
                f"the required element {where}/{path} is missing or empty",
                record=self.record,
                field=f"{where}/{path}",
            )
        return value

    def attr(self, node: etree._Element, path: str, name: str) -> str:
        found = node.find(path, self.ns)
        return (found.get(name) or "").strip() if found is not None else ""

    def decimal(
        self, node: etree._Element, path: str, where: str, required: bool = False
    ) -> Decimal | None:
        value = self.text(node, path, where, required)
        if not value:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise InvalidInput(
                f"{value!r} in {where}/{path} is not a decimal number",
                record=self.record,
                field=f"{where}/{path}",
            )
        return number

    def amount(self, node: etree._Element, path: str, where: str) -> Decimal:
        value = self.decimal(node, path, where, required=True)
        assert value is not None
        return value

    def date(
        self, node: etree._Element, path: str, where: str, required: bool = False, fmt: str = "iso"
    ) -> date | None:
        value = self.text(node, path, where, required)
        if not value:
            return None
        try:
            if fmt == "102":
                if len(value) != 8 or not value.isdigit():
                    raise ValueError(value)
                return date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{value!r} in {where}/{path} is not a date",
                record=self.record,
                field=f"{where}/{path}",
            ) from None
