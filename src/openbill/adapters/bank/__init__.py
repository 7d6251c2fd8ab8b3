"""Bank statement files in, `openbill.domain.bank.Statement` values out.

`read_statement(data, filename)` finds the format by content, not by the file's name:

- an XML document in an ISO 20022 camt.052/053/054 namespace (versions 02 to 08): `camt`;
- a SWIFT MT940/MT942 message (a "{1:" envelope or a ":20:" line): `mt940`;
- an OFX file ("OFXHEADER" or "<OFX>"): `ofx`;
- CSV only when a column profile is named (a CSV file does not say what its columns mean).

Anything else, and any file that is broken, is refused with `InvalidInput` naming the file and
the line or XML element at fault; nothing of a refused file is returned.
"""

from __future__ import annotations

from openbill.adapters.bank._common import refuse
from openbill.adapters.bank.camt import detect as _is_camt
from openbill.adapters.bank.camt import parse_camt
from openbill.adapters.bank.csv_statement import (
    BUILTIN,
    StatementProfile,
    parse_csv,
    profile_by_name,
)
from openbill.adapters.bank.mt940 import detect as _is_mt940
from openbill.adapters.bank.mt940 import parse_mt940
from openbill.adapters.bank.ofx import detect as _is_ofx
from openbill.adapters.bank.ofx import parse_ofx
from openbill.domain.bank import Statement

__all__ = ["BUILTIN", "StatementProfile", "read_statement"]


def read_statement(
    data: bytes, filename: str, profile: str | StatementProfile | None = None
) -> list[Statement]:
    """The statements of one bank file, or InvalidInput naming where it is wrong."""
    if profile is not None:
        chosen = profile_by_name(profile) if isinstance(profile, str) else profile
        return parse_csv(data, filename, chosen)
    if _is_camt(data):
        return parse_camt(data, filename)
    if _is_ofx(data):
        return parse_ofx(data, filename)
    if _is_mt940(data[:4096].decode("latin-1")):
        return parse_mt940(data, filename)
    if data.lstrip()[:1] == b"<":
        return parse_camt(data, filename)  # XML of some other kind: refused with its element
    raise refuse(
        filename,
        "line 1",
        "not a bank statement openbill reads (CAMT.052/053/054, MT940/MT942, OFX); "
        "for a CSV export name its column profile",
    )
