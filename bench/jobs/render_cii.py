"""Issue #3: issued invoices as CII through openbill (bench.jobs.render_common)."""

from bench.jobs.render_common import xml_job

DESCRIPTION = (
    "openbill invoices export --format cii, without the file: read the document, build the "
    "EN 16931 EInvoice, write CII"
)
run, check = xml_job("cii")
