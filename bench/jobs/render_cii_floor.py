"""Issue #3, the floor of CII: serialise a fixed lxml tree of the same document
(bench.jobs.render_common)."""

from bench.jobs.render_common import xml_floor

DESCRIPTION = "lxml.etree.tostring of a fixed tree: the first invoice's CII document, parsed once"
run, check = xml_floor("cii")
