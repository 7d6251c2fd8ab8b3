"""Issue #3: one heading and one line of text with the built-in stylesheet through Jinja2 +
WeasyPrint: the per-PDF font cost (bench.jobs.render_common)."""

from bench.jobs.render_common import TEXT_PAGE, pdf_floor

DESCRIPTION = (
    "a heading and one line of text in the built-in base.css (its fonts embedded), same engine"
)
run, check = pdf_floor(TEXT_PAGE)
