"""Issue #3: issued invoices as PDF through openbill (bench.jobs.render_common)."""

from bench.jobs.render_common import pdf_job

DESCRIPTION = (
    "openbill invoices export --format pdf, without the file: show_document, parties, "
    "Jinja2 templates, WeasyPrint"
)
run, check = pdf_job()
