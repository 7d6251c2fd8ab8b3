"""`openbill verify`: recompute every invariant and every hash chain from the stored rows.

Each check is a small function that yields violations; `verify` runs them all (it does not stop
at the first) so one run names everything that is wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from openbill.domain import chain
from openbill.domain.invoice import DocumentKind
from openbill.domain.ledger import Account, Posting
from openbill.domain.money import Rounding, minor_to_decimal, round_to_minor
from openbill.ports import UnitOfWork
from openbill.usecases._support import audit_payload, journal_payload
from openbill.usecases.invoices import NUMBER_PREFIX, document_payload
from openbill.usecases.payments import payment_payload

__all__ = ["Violation", "VerifyReport", "verify", "CHECKS"]


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    record: str
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checks: tuple[tuple[str, int], ...]  # (check, violations found)
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


class _Snapshot:
    """Every row the checks need, read once in one read-only transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.entities = {e.id: e for e in uow.entities.all()}
        self.documents = uow.documents.issued()
        self.lines = defaultdict(list)
        for line in uow.documents.all_lines():
            self.lines[line.document_id].append(line)
        self.taxes = defaultdict(list)
        for tax in uow.documents.all_taxes():
            self.taxes[tax.document_id].append(tax)
        self.adjustments = defaultdict(list)
        for adjustment in uow.documents.all_adjustments():
            self.adjustments[adjustment.document_id].append(adjustment)
        self.series_rows = uow.documents.series()
        self.counters = uow.documents.issued_counters()
        self.entries = uow.ledger.entries()
        self.journal_lines = defaultdict(list)
        for jl in uow.ledger.all_lines():
            self.journal_lines[jl.entry_id].append(jl)
        self.payments = uow.money.all_payments()
        self.allocations = uow.money.all_allocations()
        self.write_offs = uow.money.all_write_offs()
        self.refunds = uow.money.all_refunds()
        self.reversed_payments = {r.payment_id for r in uow.fx.all_reversals()}
        self.reversed_write_offs = {r.write_off_id for r in uow.bank.write_off_reversals()}
        self.fx_allocations = {x.allocation_id: x for x in uow.fx.all_fx_allocations()}
        self.audit = uow.audit.events()
        self.heads = uow.chains.heads()


def _ledger_balances(s: _Snapshot) -> Iterator[Violation]:
    totals: dict[str, int] = defaultdict(int)
    for entry in s.entries:
        per_entry: dict[str, int] = defaultdict(int)
        for jl in s.journal_lines.get(entry.id, []):
            per_entry[jl.currency] += int(jl.amount_minor)
            totals[jl.currency] += int(jl.amount_minor)
        for currency, diff in per_entry.items():
            if diff:
                yield Violation(
                    "ledger balances",
                    f"journal entry {entry.id}",
                    f"debits and credits differ by {diff} minor units of {currency}",
                )
    for currency, diff in totals.items():
        if diff:
            yield Violation(
                "ledger balances",
                "ledger",
                f"the ledger is off by {diff} minor units of {currency}",
            )


def _document_totals(s: _Snapshot) -> Iterator[Violation]:
    for doc in s.documents:
        record = doc.number or f"document {doc.id}"
        lines = s.lines.get(doc.id, [])
        taxes = s.taxes.get(doc.id, [])
        adjustments = s.adjustments.get(doc.id, [])
        net = sum(int(x.net_minor) for x in lines) + sum(_signed(a) for a in adjustments)
        if net != doc.net_minor:
            yield Violation(
                "document totals",
                record,
                f"lines, allowances and charges add up to {net}, header says {doc.net_minor}",
            )
        groups: dict[tuple[str, Any], int] = defaultdict(int)
        for line in lines:
            groups[(line.tax_category, line.tax_rate.normalize())] += int(line.net_minor)
        for a in adjustments:
            groups[(a.tax_category, a.tax_rate.normalize())] += _signed(a)
        tax_groups = {(x.category, x.rate.normalize()): x for x in taxes}
        if set(groups) != set(tax_groups):
            yield Violation(
                "document totals", record, "tax subtotals do not match the lines' tax categories"
            )
        rounding = Rounding(s.entities[doc.entity_id].rounding)
        for key, taxable in groups.items():
            sub = tax_groups.get(key)
            if sub is None:
                continue
            if int(sub.taxable_minor) != taxable:
                yield Violation(
                    "document totals",
                    record,
                    f"taxable amount of {key[0]} {key[1]}% is {sub.taxable_minor}, "
                    f"lines give {taxable}",
                )
            if not doc.prices_include_tax:
                expected = round_to_minor(
                    minor_to_decimal(taxable, doc.currency) * key[1] / 100, doc.currency, rounding
                )
                if expected != int(sub.tax_minor):
                    yield Violation(
                        "document totals",
                        record,
                        f"tax of {key[0]} {key[1]}% is {sub.tax_minor}, should be {expected}",
                    )
        tax = sum(int(x.tax_minor) for x in taxes)
        if tax != doc.tax_minor:
            yield Violation(
                "document totals",
                record,
                f"tax subtotals add up to {tax}, header says {doc.tax_minor}",
            )
        if doc.total_minor != doc.net_minor + doc.tax_minor:
            yield Violation("document totals", record, "total is not net plus tax")


def _signed(adjustment: Any) -> int:
    minor = int(adjustment.amount_minor)
    return minor if adjustment.is_charge else -minor


def _document_postings(s: _Snapshot) -> Iterator[Violation]:
    issue_ar: dict[int, int] = {}
    for entry in s.entries:
        if entry.source_table == "documents":
            issue_ar[entry.source_id] = sum(
                int(jl.amount_minor)
                for jl in s.journal_lines.get(entry.id, [])
                if jl.account == Account.RECEIVABLE.value
            )
    for doc in s.documents:
        sign = 1 if doc.kind == DocumentKind.INVOICE else -1
        posted = issue_ar.get(doc.id)
        if posted is None:
            yield Violation("postings", doc.number, "issued document has no journal entry")
        elif posted != sign * doc.total_minor:
            yield Violation(
                "postings",
                doc.number,
                f"receivable posted {posted}, document total {doc.total_minor}",
            )


def _allocations(s: _Snapshot) -> Iterator[Violation]:
    docs = {d.id: d for d in s.documents}
    used_invoice: dict[int, int] = defaultdict(int)
    used_payment: dict[int, int] = defaultdict(int)
    used_credit: dict[int, int] = defaultdict(int)
    for a in s.allocations:
        if a.amount_minor <= 0:
            yield Violation("allocations", f"allocation {a.id}", "amount is not above zero")
        if a.payment_id in s.reversed_payments:
            continue  # the payment bounced: its allocations were undone in the ledger
        used_invoice[a.invoice_id] += int(a.amount_minor)
        if a.payment_id is not None:
            fx = s.fx_allocations.get(a.id)
            used_payment[a.payment_id] += int(fx.payment_minor if fx else a.amount_minor)
            if fx is not None and fx.difference_minor != (
                fx.received_base_minor - fx.carried_base_minor
            ):
                yield Violation(
                    "allocations",
                    f"allocation {a.id}",
                    "realised exchange difference is not received minus carried",
                )
        if a.credit_note_id is not None:
            used_credit[a.credit_note_id] += int(a.amount_minor)
    for w in s.write_offs:
        if w.id in s.reversed_write_offs:
            continue  # taken back (an undone bank match): its mirror entry reopened the invoice
        used_invoice[w.invoice_id] += int(w.amount_minor)
    ar_by_doc: dict[int, int] = defaultdict(int)
    for lines in s.journal_lines.values():
        for jl in lines:
            if jl.account == Account.RECEIVABLE.value and jl.document_id is not None:
                ar_by_doc[jl.document_id] += int(jl.amount_minor)
    for doc_id, used in used_invoice.items():
        doc = docs.get(doc_id)
        if doc is None or doc.kind != DocumentKind.INVOICE:
            yield Violation(
                "allocations", f"document {doc_id}", "settled document is not an issued invoice"
            )
        elif used > doc.total_minor:
            yield Violation(
                "allocations", doc.number, f"settled {used}, more than its total {doc.total_minor}"
            )
    for doc in s.documents:
        if doc.kind == DocumentKind.INVOICE:
            expected = doc.total_minor - used_invoice.get(doc.id, 0)
        else:
            expected = -doc.total_minor + used_credit.get(doc.id, 0)
        if ar_by_doc.get(doc.id, 0) != expected:
            yield Violation(
                "allocations",
                doc.number,
                f"open amount in the ledger is {ar_by_doc.get(doc.id, 0)}, "
                f"allocations give {expected}",
            )
    for doc_id, used in used_credit.items():
        doc = docs.get(doc_id)
        if doc is not None and used > doc.total_minor:
            yield Violation(
                "allocations", doc.number, "credit note applied for more than its total"
            )
    credit: dict[tuple[int, str], int] = defaultdict(int)
    for p in s.payments:
        if used_payment.get(p.id, 0) > p.amount_minor:
            yield Violation("allocations", f"payment {p.id}", "allocated for more than its amount")
        if p.id in s.reversed_payments:
            continue  # the money left the bank again
        credit[(p.customer_id, p.currency)] += int(p.amount_minor) - used_payment.get(p.id, 0)
    for r in s.refunds:
        credit[(r.customer_id, r.currency)] -= int(r.amount_minor)
    for (customer_id, currency), left in credit.items():
        if left < 0:
            yield Violation(
                "allocations",
                f"customer {customer_id}",
                f"refunded and allocated more {currency} than was paid",
            )


def _series(s: _Snapshot) -> Iterator[Violation]:
    seen: dict[tuple[int, str, int], list[int]] = defaultdict(list)
    for row in s.series_rows:
        seen[(row.entity_id, row.kind, row.series_year)].append(int(row.seq))
        expected = f"{NUMBER_PREFIX[row.kind]}-{row.series_year}-{int(row.seq):06d}"
        if row.number != expected:
            yield Violation("number series", row.number, f"number should read {expected}")
    counters = {(c.entity_id, c.kind, c.year): int(c.next_seq) for c in s.counters}
    for key, seqs in seen.items():
        name = f"{NUMBER_PREFIX[key[1]]}-{key[2]}"
        if len(seqs) != len(set(seqs)):
            yield Violation("number series", name, "a number is used twice")
        missing = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
        if missing:
            yield Violation(
                "number series", name, f"gap: {len(missing)} number(s) missing, first {missing[0]}"
            )
        if counters.get(key, 0) != max(seqs) + 1:
            yield Violation(
                "number series",
                name,
                f"counter is at {counters.get(key)}, last issued is {max(seqs)}",
            )


def _walk(
    name: str,
    rows: Any,
    payload: Callable[[Any], dict[str, Any]],
    heads: dict[str, tuple[int, str]],
) -> Iterator[Violation]:
    prev = chain.GENESIS
    seq = 0
    for row in rows:
        if row.chain_seq is None:
            continue
        seq += 1
        record = f"{name} #{row.chain_seq}"
        if getattr(row, "number", None):  # name the document people know it by
            record += f" ({row.number})"
        if int(row.chain_seq) != seq:
            yield Violation("hash chains", record, f"link {seq} is missing (deleted or reordered)")
            seq = int(row.chain_seq)
        if row.prev_hash != prev:
            yield Violation("hash chains", record, "does not continue the previous link")
        expected = chain.link(row.prev_hash or "", payload(row))
        if expected != row.hash:
            yield Violation("hash chains", record, "content changed after it was written")
        prev = row.hash
    head = heads.get(name)
    if head is not None and (head[0], head[1]) != (seq, prev):
        yield Violation("hash chains", name, f"chain head says {head[0]} links, found {seq}")


def _chains(s: _Snapshot) -> Iterator[Violation]:
    def doc_payload(doc: Any) -> dict[str, Any]:
        return document_payload(
            doc._mapping,
            [ln._mapping for ln in s.lines.get(doc.id, [])],
            [x._mapping for x in s.taxes.get(doc.id, [])],
            [a._mapping for a in s.adjustments.get(doc.id, [])],
        )

    def entry_payload(e: Any) -> dict[str, Any]:
        postings = tuple(
            Posting(jl.account, int(jl.amount_minor), jl.currency, jl.customer_id, jl.document_id)
            for jl in s.journal_lines.get(e.id, [])
        )
        fake = _EntryView(e.entry_date, e.kind, e.description, postings)
        return journal_payload(e.entity_id, fake, e.source_table, e.source_id)  # type: ignore[arg-type]

    yield from _walk("documents", s.documents, doc_payload, s.heads)
    yield from _walk("payments", s.payments, lambda p: payment_payload(dict(p._mapping)), s.heads)
    yield from _walk("journal", s.entries, entry_payload, s.heads)
    yield from _walk("audit", s.audit, lambda a: audit_payload(a._mapping), s.heads)


@dataclass(frozen=True, slots=True)
class _EntryView:
    """A journal entry as stored, even when it no longer balances (JournalEntry would refuse)."""

    entry_date: Any
    kind: str
    description: str
    postings: tuple[Posting, ...]


CHECKS: tuple[tuple[str, Callable[[_Snapshot], Iterator[Violation]]], ...] = (
    ("ledger balances per currency", _ledger_balances),
    ("document totals equal lines plus tax", _document_totals),
    ("every issued document posted", _document_postings),
    ("allocations within totals", _allocations),
    ("number series without gaps or duplicates", _series),
    ("hash chains intact", _chains),
)


def verify(uow: UnitOfWork) -> VerifyReport:
    with uow:
        snapshot = _Snapshot(uow)
    results: list[tuple[str, int]] = []
    violations: list[Violation] = []
    for name, check in CHECKS:
        found = list(check(snapshot))
        results.append((name, len(found)))
        violations.extend(found)
    return VerifyReport(tuple(results), tuple(violations))
