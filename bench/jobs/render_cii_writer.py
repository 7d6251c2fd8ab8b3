"""Issue #3: the CII writer alone on EInvoices built beforehand (bench.jobs.render_common)."""

from bench.jobs.render_common import xml_writer

DESCRIPTION = (
    "the CII writer (adapters.documents.cii.write) on EInvoices built beforehand, no database"
)
run, check = xml_writer("cii")
