"""Issue #3, the floor of UBL: serialise a fixed lxml tree of the same document
(bench.jobs.render_common)."""

from bench.jobs.render_common import xml_floor

DESCRIPTION = "lxml.etree.tostring of a fixed tree: the first invoice's UBL document, parsed once"
run, check = xml_floor("ubl")
