"""One message with the real PDF (openbill.adapters.documents.pdf, WeasyPrint) and the real
UBL XML (openbill.usecases.einvoicing), read back after they went through a real SMTP server.
Skipped, saying why, while those modules are not installed; once they exist the test runs
everywhere, CI included."""

from __future__ import annotations

import importlib.util
import io
from datetime import date

import pytest
from fixtures_book import ENTITY, invoice
from lxml import etree
from pypdf import PdfReader

from openbill.adapters.mail import DocumentsRenderer
from openbill.usecases import mailing as ml

from .conftest import SENDER, parts

MODULES = ("openbill.adapters.documents.pdf", "openbill.usecases.einvoicing")


def _missing() -> list[str]:
    missing = []
    for name in MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


@pytest.mark.skipif(
    bool(_missing()),
    reason=f"{', '.join(_missing())} not installed yet (attachments tested with a fake)",
)
def test_the_real_pdf_and_xml_arrive_and_read_back(mail_book, uows, smtp):
    ml.set_mail_preferences(uows(), ml.SetMailPreferences(ENTITY, "C1", attach_xml="ubl"))
    number = invoice(mail_book, "C1", date(2026, 1, 5), ("WIDGET", "3")).number
    renderer = DocumentsRenderer(lambda: mail_book.uow(read_only=True))
    ml.queue_document(uows(), ml.QueueDocument(ENTITY, number, sender=SENDER), renderer)
    assert ml.deliver_due(uows, smtp.mailer()).sent

    [got] = smtp.handler.arrived
    content_type, data = parts(got.message)[f"{number}.pdf"]
    assert content_type == "application/pdf" and data.startswith(b"%PDF-")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert number in text and "Alpha GmbH" in text
    content_type, xml = parts(got.message)[f"{number}-ubl.xml"]
    root = etree.fromstring(xml)
    assert content_type == "application/xml"
    assert etree.QName(root).localname == "Invoice"
    assert root.findtext("{*}ID") == number
