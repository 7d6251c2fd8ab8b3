"""Issue #3: the UBL writer alone on EInvoices built beforehand (bench.jobs.render_common)."""

from bench.jobs.render_common import xml_writer

DESCRIPTION = (
    "the UBL writer (adapters.documents.ubl.write) on EInvoices built beforehand, no database"
)
run, check = xml_writer("ubl")
