"""Issue #3: issued invoices as UBL through openbill (bench.jobs.render_common)."""

from bench.jobs.render_common import xml_job

DESCRIPTION = (
    "openbill invoices export --format ubl, without the file: read the document, build the "
    "EN 16931 EInvoice, write UBL"
)
run, check = xml_job("ubl")
