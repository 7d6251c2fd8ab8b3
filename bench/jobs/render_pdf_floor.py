"""Issue #3, the floor of PDF rendering: an empty page through Jinja2 + WeasyPrint
(bench.jobs.render_common)."""

from bench.jobs.render_common import pdf_floor

DESCRIPTION = "an empty template (a minimal HTML page) through the same Jinja2 + WeasyPrint engine"
run, check = pdf_floor()
