"""Factur-X / ZUGFeRD: the printed invoice as PDF/A-3 with its EN 16931 CII embedded.

The PDF is rendered by WeasyPrint as PDF/A-3b (fonts embedded, sRGB output intent); the
factur-x library (akretion/factur-x) checks the CII against the Factur-X XSD, attaches it as
`factur-x.xml` with AFRelationship "Data", and writes the XMP metadata that names the profile.
openbill writes the EN 16931 profile (level "en16931"): the CII carries every field the
standard asks for, so a reader that ignores the PDF gets the whole invoice from the XML.

Specification: Factur-X 1.07 / ZUGFeRD 2.3, https://fnfe-mpe.org/factur-x/.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FACTURX_LEVEL", "PDF_VARIANT", "embed_cii"]

FACTURX_LEVEL = "en16931"
PDF_VARIANT = "pdf/a-3b"


def embed_cii(
    pdf_bytes: bytes,
    cii_xml: bytes,
    *,
    number: str,
    seller_name: str,
    title: str = "",
    lang: str = "en",
) -> bytes:
    """A Factur-X PDF: `pdf_bytes` (ideally rendered as PDF/A-3b) with `cii_xml` embedded.

    The factur-x library refuses XML that does not pass the Factur-X EN 16931 XSD
    (check_xsd=True) with an exception: a malformed e-invoice is a bug, never sent.
    """
    from facturx import generate_from_binary

    metadata: dict[str, Any] = {
        "author": seller_name,
        "keywords": "Factur-X, EN 16931, invoice",
        "title": title or f"{seller_name}: {number}",
        "subject": title or f"Invoice {number}",
    }
    result = generate_from_binary(
        pdf_bytes,
        cii_xml,
        flavor="factur-x",
        level=FACTURX_LEVEL,
        check_xsd=True,
        pdf_metadata=metadata,
        lang=lang,
    )
    return bytes(result)
