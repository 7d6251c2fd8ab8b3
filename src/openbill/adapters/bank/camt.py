"""ISO 20022 CAMT.052 (account report), CAMT.053 (statement) and CAMT.054 (debit/credit
notification), message versions 02 to 08, read with lxml.

Elements are matched by local name, so every version's namespace reads the same way; the
namespace only tells the message and version (urn:iso:std:iso:20022:tech:xsd:camt.053.001.04).

Mapping (per Stmt, Rpt or Ntfctn):
- account: Acct/Id/IBAN, else Acct/Id/Othr/Id; currency: Acct/Ccy, else the first amount's.
- opening balance: the Bal whose Tp/CdOrPrtry/Cd is OPBD or PRCD; closing: CLBD.
- each booked Ntry (Sts BOOK; pending and information-only entries are left out, since they
  are not in the balances): Amt@Ccy signed by CdtDbtInd, BookgDt and ValDt (Dt or DtTm),
  AcctSvcrRef (else NtryRef), BkTxCd (Domn/Cd/Fmly/Cd/SubFmlyCd, else Prtry/Cd).
- NtryDtls/TxDtls: the counterparty is the debtor of a credit and the creditor of a debit
  (RltdPties Dbtr/Cdtr Nm, DbtrAcct/CdtrAcct Id/IBAN or Othr/Id), Refs/EndToEndId
  (NOTPROVIDED counts as none), RmtInf/Ustrd (all joined), RmtInf/Strd/CdtrRefInf/Ref.

A batch (several TxDtls under one Ntry) is split into one entry per transaction when every
TxDtls gives its own amount (TxDtls/Amt, or AmtDtls/TxAmt/Amt) in the entry's currency and those
amounts add up to the entry's amount: each part keeps its own counterparty, end-to-end id,
remittance text and creditor reference (what matching a payment to an invoice needs), the
booking data of the entry, `batch_size` = the number of parts, and as bank reference the
TxDtls/Refs/AcctSvcrRef, else the entry's AcctSvcrRef with "#n" (n = its place in the batch).
Otherwise the batch stays ONE entry with the total the bank booked: its remittance texts joined
with " | ", and counterparty, end-to-end id and creditor reference kept only when every
transaction has the same one. Either way the entries still add up to the balances. With no
remittance text at all, the entry's AddtlNtryInf stands in.

Returns (`Entry.return_reason`), per TxDtls: RtrInf/Rsn/Cd (the ISO 20022 return reason, AM04,
MD06 ...), else RtrInf/Rsn/Prtry, else "RETURN" for an RtrInf that names no reason. Without an
RtrInf the entry reads "RETURN" when a bank transaction code says return: a SubFmlyCd of
`RETURN_SUBFAMILIES` (UPDD unpaid direct debit, RRTN reversal due to a return, ARET, RPCR), or
a Prtry/Cd whose text says so (Rücklastschrift, Retoure, RETURN) or that is a German code
"NRTI+..." or "xxxx+GVC+..." with a GVC of `mt940.RETURN_GVC` (the TxDtls' own BkTxCd or the
Ntry's), or when the Ntry's AddtlNtryInf says so.

Instructed amounts (`Entry.instructed_minor`/`instructed_currency`): TxDtls/AmtDtls/InstdAmt/Amt
with its Ccy, kept only when that currency differs from the entry's (the bank converted), in
minor units of that currency and signed like the entry; for an entry whose transactions give
none, Ntry/AmtDtls/InstdAmt. A split batch keeps the return reason and instructed amount of
each transaction; an unsplit one keeps them when all its transactions share them (a batch
whose transactions are all returns, with different reasons, reads "RETURN").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from lxml import etree  # type: ignore[import-untyped]

from openbill.adapters.bank._common import FILE_BYTES_MAX, check_counts, clean, refuse
from openbill.adapters.bank.mt940 import RETURN_GVC, says_return
from openbill.domain.bank import Balance, Entry, Statement, amount_to_minor
from openbill.domain.rejections import Rejection

__all__ = ["RETURN_SUBFAMILIES", "detect", "parse_camt"]

_T = TypeVar("_T")

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(0[2-8])$")
_CONTAINERS = {
    "053": ("BkToCstmrStmt", "Stmt"),
    "052": ("BkToCstmrAcctRpt", "Rpt"),
    "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
_AMOUNT = re.compile(r"\d{1,18}(\.\d{1,5})?")
_OPENING = ("OPBD", "PRCD")
# Elements that may repeat: always numbered in a refusal's path, so the path reads the same
# whether the file has one of them or many.
_REPEATING = frozenset({"Stmt", "Rpt", "Ntfctn", "Bal", "Ntry", "NtryDtls", "TxDtls"})
_CLOSING = ("CLBD",)
# ISO bank transaction sub-families of a returned payment: UPDD unpaid direct debit, RRTN
# reversal due to a payment return, ARET ACH return, RPCR reversal due to a cancellation
# request.
RETURN_SUBFAMILIES = frozenset({"UPDD", "RRTN", "ARET", "RPCR"})


def _parser() -> etree.XMLParser:
    # No entities, no network, no DTD: a bank file is data, never instructions.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def detect(data: bytes) -> bool:
    """Whether the bytes look like an XML document in a CAMT namespace."""
    head = data[:4096]
    return b"urn:iso:std:iso:20022:tech:xsd:camt.05" in head


def _local(el: etree._Element) -> str:
    tag = el.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _kids(el: etree._Element, name: str) -> Iterator[etree._Element]:
    return (c for c in el if _local(c) == name)


def _kid(el: etree._Element | None, *names: str) -> etree._Element | None:
    for name in names:
        if el is None:
            return None
        el = next(_kids(el, name), None)
    return el


def _text(el: etree._Element | None, *names: str) -> str:
    found = _kid(el, *names)
    return clean(found.text) if found is not None else ""


class _Reader:
    """One CAMT document: keeps the file name and builds element paths for refusals."""

    def __init__(self, source: str, root: etree._Element) -> None:
        self.source = source
        self.root = root

    def path(self, el: etree._Element) -> str:
        steps: list[str] = []
        node: etree._Element | None = el
        while node is not None:
            parent = node.getparent()
            name = _local(node)
            if parent is None:
                steps.append(name)
            else:
                same = [c for c in parent if _local(c) == name]
                indexed = len(same) > 1 or name in _REPEATING
                steps.append(f"{name}[{same.index(node) + 1}]" if indexed else name)
            node = parent
        return "/" + "/".join(reversed(steps))

    def fail(self, el: etree._Element, reason: str) -> Rejection:
        return refuse(self.source, f"element {self.path(el)}", reason)

    def need(self, el: etree._Element, name: str) -> etree._Element:
        found = _kid(el, name)
        if found is None:
            raise self.fail(el, f"has no {name}; the file is not a complete CAMT message")
        return found

    def date_of(self, el: etree._Element | None) -> date | None:
        """Dt or DtTm under `el` (BookgDt, ValDt, Bal/Dt), as a date."""
        if el is None:
            return None
        for name in ("Dt", "DtTm"):
            inner = _kid(el, name)
            if inner is not None:
                text = (inner.text or "").strip()
                try:
                    return date.fromisoformat(text[:10])
                except ValueError:
                    raise self.fail(inner, f"{text[:40]!r} is not a date") from None
        return None

    def amount(self, el: etree._Element, sign: int) -> tuple[int, str]:
        """Amt with its Ccy attribute: signed minor units and the currency."""
        text = (el.text or "").strip()
        currency = (el.get("Ccy") or "").strip()
        if not _AMOUNT.fullmatch(text):
            raise self.fail(el, f"{text[:40]!r} is not an amount")
        try:
            return sign * amount_to_minor(text, currency), currency
        except Rejection as exc:
            raise self.fail(el, exc.reason) from None

    def sign(self, el: etree._Element) -> int:
        ind = self.need(el, "CdtDbtInd")
        value = (ind.text or "").strip()
        if value not in ("CRDT", "DBIT"):
            raise self.fail(ind, f"{value[:20]!r} is neither CRDT nor DBIT")
        return 1 if value == "CRDT" else -1


def parse_camt(data: bytes, source: str) -> list[Statement]:
    """Every statement, report or notification of a CAMT file, or InvalidInput."""
    if len(data) > FILE_BYTES_MAX:
        raise refuse(source, "", "the file is larger than a statement import takes")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise refuse(source, f"line {line}", f"not well-formed XML ({exc.msg})") from None
    except ValueError as exc:  # lxml refuses e.g. unicode strings with an encoding declaration
        raise refuse(source, "line 1", f"not XML: {exc}") from None
    namespace = etree.QName(root.tag).namespace if isinstance(root.tag, str) else None
    match = _NAMESPACE.fullmatch(namespace or "")
    if _local(root) != "Document" or match is None:
        raise refuse(
            source,
            f"element /{_local(root)}",
            f"namespace {namespace!r} is not CAMT.052, .053 or .054 version 02 to 08",
        )
    message, version = match[1], match[2]
    reader = _Reader(source, root)
    group, item = _CONTAINERS[message]
    container = _kid(root, group)
    if container is None:
        raise reader.fail(root, f"has no {group}; a camt.{message} message holds one")
    found = list(_kids(container, item))
    check_counts(source, len(found), sum(len(list(_kids(s, "Ntry"))) for s in found))
    return [_statement(reader, s, f"camt.{message}", version) for s in found]


def _statement(reader: _Reader, el: etree._Element, fmt: str, version: str) -> Statement:
    acct = reader.need(el, "Acct")
    account = _text(acct, "Id", "IBAN") or _text(acct, "Id", "Othr", "Id")
    if not account:
        raise reader.fail(acct, "names no account (Id/IBAN or Id/Othr/Id)")
    opening = closing = None
    for bal in _kids(el, "Bal"):
        code = _text(bal, "Tp", "CdOrPrtry", "Cd")
        if code in _OPENING or code in _CLOSING:
            minor, ccy = reader.amount(reader.need(bal, "Amt"), reader.sign(bal))
            balance = Balance(minor, ccy, reader.date_of(_kid(bal, "Dt")))
            if code in _OPENING:
                opening = balance
            else:
                closing = balance
    entries: list[Entry] = []
    for ntry in _kids(el, "Ntry"):
        status = _text(ntry, "Sts") or _text(ntry, "Sts", "Cd")  # a code element from v08 on
        if status in ("", "BOOK"):
            entries.extend(_entries(reader, ntry))
    currency = _text(acct, "Ccy") or (
        closing.currency if closing else entries[0].currency if entries else ""
    )
    period = _kid(el, "FrToDt")
    created = _text(el, "CreDtTm")
    return Statement(
        format=fmt,
        account=account,
        currency=currency,
        statement_id=_text(el, "Id"),
        sequence=_text(el, "ElctrncSeqNb") or _text(el, "LglSeqNb"),
        created=_iso_date(created),
        period_from=_iso_date(_text(period, "FrDtTm")),
        period_to=_iso_date(_text(period, "ToDtTm")),
        opening=opening,
        closing=closing,
        entries=tuple(entries),
    )


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _bank_code(el: etree._Element | None) -> str:
    domain = _kid(el, "Domn")
    if domain is not None:
        parts = (
            _text(domain, "Cd"),
            _text(domain, "Fmly", "Cd"),
            _text(domain, "Fmly", "SubFmlyCd"),
        )
        return "/".join(p for p in parts if p)
    return _text(el, "Prtry", "Cd")


def _code_says_return(el: etree._Element | None) -> bool:
    """Whether a BkTxCd marks a returned payment (see the module docstring)."""
    if el is None:
        return False
    if _text(el, "Domn", "Fmly", "SubFmlyCd") in RETURN_SUBFAMILIES:
        return True
    proprietary = _text(el, "Prtry", "Cd")
    if not proprietary:
        return False
    # German banks write the SWIFT type and the GVC: "NDDT+109+..." or "NRTI+...".
    parts = proprietary.split("+")
    german = parts[0][-3:] == "RTI" or (len(parts) > 1 and parts[1] in RETURN_GVC)
    return german or says_return(proprietary)


def _instructed(
    reader: _Reader, el: etree._Element, sign: int, currency: str
) -> tuple[int | None, str]:
    """AmtDtls/InstdAmt/Amt under `el` when it is in a currency other than `currency`."""
    amt = _kid(el, "AmtDtls", "InstdAmt", "Amt")
    if amt is None:
        return None, ""
    minor, instructed_currency = reader.amount(amt, sign)
    return (None, "") if instructed_currency == currency else (minor, instructed_currency)


@dataclass(frozen=True, slots=True)
class _Detail:
    """What one TxDtls says; `amount_minor` None when it gives no amount of its own."""

    name: str
    account: str
    end_to_end: str
    remittance: str
    reference: str
    bank_reference: str
    amount_minor: int | None
    currency: str
    return_reason: str
    instructed_minor: int | None
    instructed_currency: str


def _detail(reader: _Reader, tx: etree._Element, sign: int, entry_currency: str) -> _Detail:
    parties = _kid(tx, "RltdPties")
    role, account_role = ("Dbtr", "DbtrAcct") if sign > 0 else ("Cdtr", "CdtrAcct")
    acct = _kid(parties, account_role, "Id")
    end_to_end = _text(tx, "Refs", "EndToEndId")
    remittance = _kid(tx, "RmtInf")
    texts = [_text(u) for u in _kids(remittance, "Ustrd")] if remittance is not None else []
    strd = (
        [_text(x, "CdtrRefInf", "Ref") for x in _kids(remittance, "Strd")]
        if (remittance is not None)
        else []
    )
    amt = _kid(tx, "Amt")
    if amt is None:
        amt = _kid(tx, "AmtDtls", "TxAmt", "Amt")
    amount_minor, currency = None, ""
    # The transaction's own CdtDbtInd signs its amounts; read only when it has one to sign.
    own = amt is not None or _kid(tx, "AmtDtls", "InstdAmt") is not None
    tx_sign = reader.sign(tx) if own and _kid(tx, "CdtDbtInd") is not None else sign
    if amt is not None:
        amount_minor, currency = reader.amount(amt, tx_sign)
    returned = _kid(tx, "RtrInf")
    if returned is not None:
        reason = _text(returned, "Rsn", "Cd") or _text(returned, "Rsn", "Prtry") or "RETURN"
    else:
        reason = "RETURN" if _code_says_return(_kid(tx, "BkTxCd")) else ""
    instructed_minor, instructed_currency = _instructed(reader, tx, tx_sign, entry_currency)
    return _Detail(
        name=_text(parties, role, "Nm") or _text(parties, role, "Pty", "Nm"),
        account=_text(acct, "IBAN") or _text(acct, "Othr", "Id"),
        end_to_end="" if end_to_end == "NOTPROVIDED" else end_to_end,
        remittance=clean(" ".join(t for t in texts if t)),
        reference=next((r for r in strd if r), ""),
        bank_reference=_text(tx, "Refs", "AcctSvcrRef"),
        amount_minor=amount_minor,
        currency=currency,
        return_reason=reason,
        instructed_minor=instructed_minor,
        instructed_currency=instructed_currency,
    )


def _entries(reader: _Reader, ntry: etree._Element) -> list[Entry]:
    sign = reader.sign(ntry)
    amount_minor, currency = reader.amount(reader.need(ntry, "Amt"), sign)
    txs = [tx for d in _kids(ntry, "NtryDtls") for tx in _kids(d, "TxDtls")]
    details = [_detail(reader, tx, sign, currency) for tx in txs]
    code = _bank_code(_kid(ntry, "BkTxCd"))
    if not code and txs:
        code = _bank_code(_kid(txs[0], "BkTxCd"))
    reference = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
    # What the entry as a whole says of a return: its own code, or its booking text.
    entry_returned = _code_says_return(_kid(ntry, "BkTxCd")) or says_return(
        _text(ntry, "AddtlNtryInf")
    )
    reasons = {d.return_reason for d in details}
    reason = _one(reasons) or ("RETURN" if reasons and "" not in reasons else "")
    if not reason and entry_returned:
        reason = "RETURN"
    instructed = _shared({(d.instructed_minor, d.instructed_currency) for d in details}, (None, ""))
    if instructed == (None, ""):
        instructed = _instructed(reader, ntry, sign, currency)
    whole = Entry(
        booking_date=reader.date_of(_kid(ntry, "BookgDt")),
        value_date=reader.date_of(_kid(ntry, "ValDt")),
        amount_minor=amount_minor,
        currency=currency,
        bank_reference=reference,
        end_to_end_id=_one({d.end_to_end for d in details}),
        counterparty_name=_one({d.name for d in details}),
        counterparty_account=_one({d.account for d in details}),
        remittance=clean(" | ".join(d.remittance for d in details if d.remittance))
        or _text(ntry, "AddtlNtryInf"),
        creditor_reference=_one({d.reference for d in details}),
        transaction_code=code,
        batch_size=max(1, len(details)),
        return_reason=reason,
        instructed_minor=instructed[0],
        instructed_currency=instructed[1],
    )
    splittable = len(details) > 1 and all(
        d.amount_minor is not None and d.currency == currency for d in details
    )
    if not splittable or sum(d.amount_minor or 0 for d in details) != amount_minor:
        return [whole]
    return [
        replace(
            whole,
            amount_minor=d.amount_minor or 0,
            bank_reference=d.bank_reference or f"{reference}#{i}",
            end_to_end_id=d.end_to_end,
            counterparty_name=d.name,
            counterparty_account=d.account,
            remittance=d.remittance,
            creditor_reference=d.reference,
            return_reason=d.return_reason or ("RETURN" if entry_returned else ""),
            instructed_minor=d.instructed_minor,
            instructed_currency=d.instructed_currency,
        )
        for i, d in enumerate(details, start=1)
    ]


def _shared(values: set[_T], none: _T) -> _T:
    """The value every transaction of the entry shares, or `none` when they differ."""
    return next(iter(values)) if len(values) == 1 else none


def _one(values: set[str]) -> str:
    """The text every transaction of the entry shares, or "" when they differ."""
    return _shared(values, "")
