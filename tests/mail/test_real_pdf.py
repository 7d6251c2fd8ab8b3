"""One message with the real PDF (openbill.adapters.documents.pdf, WeasyPrint), read back with
pypdf after it went through a real SMTP server. Skipped, saying why, while that module is not
installed; once it exists the test runs everywhere, CI included."""

from __future__ import annotations

import importlib.util
import io
from datetime import date

import pytest
from fixtures_book import ENTITY, invoice
from pypdf import PdfReader

from openbill.adapters.mail import DocumentsRenderer
from openbill.usecases import mailing as ml

from .conftest import SENDER, parts

PDF_MODULE = "openbill.adapters.documents.pdf"


def _pdf_module_present() -> bool:
    try:
        return importlib.util.find_spec(PDF_MODULE) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(
    not _pdf_module_present(),
    reason=f"{PDF_MODULE} is not installed yet: the PDF attachment is tested with a fake renderer",
)
def test_the_real_pdf_arrives_and_reads_back(mail_book, uows, smtp):
    number = invoice(mail_book, "C1", date(2026, 1, 5), ("WIDGET", "3")).number
    renderer = DocumentsRenderer(lambda: mail_book.uow(read_only=True))
    ml.queue_document(uows(), ml.QueueDocument(ENTITY, number, sender=SENDER), renderer)
    assert ml.deliver_due(uows, smtp.mailer()).sent

    [got] = smtp.handler.arrived
    content_type, data = parts(got.message)[f"{number}.pdf"]
    assert content_type == "application/pdf" and data.startswith(b"%PDF-")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert number in text and "Alpha GmbH" in text
