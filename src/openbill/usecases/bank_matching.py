"""Matching bank lines to what they pay, automatically and in review (`openbill bank match`,
`bank review`, `bank undo`).

`match_lines` runs over the lines of a bank account that are new or waiting for review: it
builds the `domain.matching.MatchIndex` from the book (open invoices with their discount terms,
customers with their known and learned IBANs and names, entries on the bank's ledger account
that no line accounts for yet, earlier payments a return may send back, customer credit), asks
`propose` for each line, and posts what `automatic` picks; the rest waits for review with its
candidates stored. One transaction for the whole run: a line whose posting is refused (the book
changed meanwhile) goes to review with the reason and the run starts again without it.

Posting a decision (automatic or by hand) writes, in the same transaction:

- for a payment: the early-payment discounts first (a write-off to 4910 with its VAT part),
  then the payment through `payments.record_payment_in` on the bank account's ledger account,
  allocated explicitly to the invoices (small differences within the tolerance are closed
  there), then the bank fee the bank kept (Dr 6930 / Cr bank);
- for a return: `payments.reverse_payment_in`, which reopens the invoices;
- for a refund: `payments.refund_in`; for other money: one entry against the category's account;
- for a line that is in the book already: only the link;
- the decision (`bank_matches`), the journal entries it accounts for on the bank's ledger
  account (`bank_match_entries`), the line's state, the payer learned, and the audit event.

The entries a decision accounts for always add up to the line's amount: that is what makes the
reconciliation report exact. An undo posts the mirror of everything the decision posted (the
payment reversed, write-offs taken back, fees and other bookings mirrored; a return undone
records the payment again) and puts the line back to be matched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openbill.domain.invoice import PaymentTerms, discount_until, early_payment_discount
from openbill.domain.ledger import (
    Account,
    Posting,
    bank_booked,
    discount_granted,
    mirrored,
)
from openbill.domain.matching import (
    OTHER_CATEGORIES,
    Action,
    Allocation,
    BookItem,
    Candidate,
    Line,
    MatchIndex,
    MatchSettings,
    OpenInvoice,
    Payer,
    PaymentSeen,
    automatic,
    check_candidate,
    propose,
)
from openbill.domain.money import Rounding, allocate, format_minor, round_to_minor, to_decimal
from openbill.domain.rejections import (
    InvalidAmount,
    InvalidInput,
    InvalidState,
    InvariantError,
    NotFound,
    PreconditionFailed,
    Rejection,
)
from openbill.names import NameIndex
from openbill.ports import UnitOfWork, UnitOfWorkFactory
from openbill.usecases import webhooks
from openbill.usecases._support import audit, customer_by_code, entity_by_code, post
from openbill.usecases.bank import account_by_ref
from openbill.usecases.fx import rate_between
from openbill.usecases.payments import (
    RecordPayment,
    Refund,
    ReversePayment,
    record_payment_in,
    refund_in,
    reverse_payment_in,
)

__all__ = [
    "CATEGORY_ACCOUNTS",
    "DEFAULT_FEES",
    "BankSettings",
    "Confirm",
    "Decided",
    "LineOutcome",
    "MarkOther",
    "MatchLines",
    "MatchReport",
    "SetBankSettings",
    "Split",
    "Undo",
    "bank_settings",
    "confirm",
    "line_detail",
    "mark_other",
    "match_lines",
    "review_queue",
    "set_bank_settings",
    "settings_revision",
    "split",
    "undo",
]

# What a matching run's postings insert, held back and sent together on PostgreSQL (one round
# trip for many rows; see adapters/sql/raw.py): append-only rows whose ids come from their
# sequences, sent before any other statement reads the database.
HELD_BACK = ("payments", "allocations", "write_offs", "journal_entries", "journal_lines")

# Bounds (DESIGN.md principle 8).
RESTARTS_MAX = 20  # lines set aside during one run because their posting was refused
SPLIT_PARTS_MAX = 50
FEES_PER_CURRENCY_MAX = 30

# Typical fees a bank keeps from an incoming payment (SEPA and SWIFT, in minor units).
DEFAULT_FEES: dict[str, tuple[int, ...]] = {
    cur: (100, 150, 200, 250, 300, 350, 400, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000)
    for cur in ("EUR", "USD", "GBP", "CHF")
}
DEFAULT_THRESHOLD = 90
DEFAULT_FX_TOLERANCE_BPS = 150

# The ledger account of each kind of money that is no customer's payment.
CATEGORY_ACCOUNTS = {
    "fee": Account.BANK_CHARGES.value,
    "interest": Account.INTEREST_INCOME.value,  # money out: INTEREST_EXPENSE
    "transfer": Account.BANK_TRANSFERS.value,
    "refund_returned": Account.CUSTOMER_CREDIT.value,
}

Progress = Callable[[int, int], None]


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BankSettings:
    auto_threshold: int
    fees_minor: dict[str, tuple[int, ...]]
    fx_tolerance_bps: int


@dataclass(frozen=True, slots=True)
class SetBankSettings:
    entity: str
    auto_threshold: int | None = None
    fees: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (currency, amounts) to replace
    fx_tolerance_bps: int | None = None
    if_match: str = ""  # the settings_revision the change is based on (API If-Match)


def settings_revision(s: BankSettings) -> str:
    """A digest of the settings: changes whenever they do (the API's ETag)."""
    return hashlib.sha256(json.dumps(_settings_dict(s), sort_keys=True).encode()).hexdigest()[:32]


def _settings_of(uow: UnitOfWork, entity_id: int) -> BankSettings:
    row = uow.bank.settings(entity_id)
    if row is None:
        return BankSettings(DEFAULT_THRESHOLD, dict(DEFAULT_FEES), DEFAULT_FX_TOLERANCE_BPS)
    fees = {cur: tuple(int(v) for v in values) for cur, values in json.loads(row.fees).items()}
    return BankSettings(int(row.auto_threshold), fees, int(row.fx_tolerance_bps))


def bank_settings(uow: UnitOfWork, entity_code: str) -> BankSettings:
    with uow:
        return _settings_of(uow, entity_by_code(uow, entity_code).id)


def set_bank_settings(uow: UnitOfWork, cmd: SetBankSettings) -> BankSettings:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        before = _settings_of(uow, entity.id)
        if cmd.if_match and cmd.if_match != settings_revision(before):
            raise PreconditionFailed(
                "the bank settings were changed by someone else since you read them; read them "
                "again and repeat your change",
                record="bank settings",
            )
        threshold = before.auto_threshold if cmd.auto_threshold is None else cmd.auto_threshold
        if not 50 <= threshold <= 101:
            raise InvalidInput(
                "the confidence for automatic posting is 50 to 100 (101: never automatic)",
                record="bank settings",
                field="threshold",
            )
        tolerance = (
            before.fx_tolerance_bps if cmd.fx_tolerance_bps is None else cmd.fx_tolerance_bps
        )
        if not 0 <= tolerance <= 1000:
            raise InvalidInput(
                "the exchange-rate tolerance is 0 to 1000 basis points (10 %)",
                record="bank settings",
                field="fx_tolerance_bps",
            )
        fees = dict(before.fees_minor)
        for currency, amounts in cmd.fees:
            fees[currency.upper()] = _fee_list(currency.upper(), amounts, entity)
        after = BankSettings(threshold, fees, tolerance)
        if after != before:
            uow.bank.set_settings(
                {
                    "entity_id": entity.id,
                    "auto_threshold": threshold,
                    "fees": json.dumps({k: list(v) for k, v in sorted(fees.items())}),
                    "fx_tolerance_bps": tolerance,
                    "updated_at": uow.clock.now(),
                }
            )
            audit(
                uow,
                entity.id,
                "bank.settings_changed",
                "legal_entity",
                entity.id,
                _settings_dict(before),
                _settings_dict(after),
            )
            uow.commit()
        return after


def _settings_dict(s: BankSettings) -> dict[str, Any]:
    return {
        "auto_threshold": s.auto_threshold,
        "fees": {k: list(v) for k, v in sorted(s.fees_minor.items())},
        "fx_tolerance_bps": s.fx_tolerance_bps,
    }


def _fee_list(currency: str, amounts: Sequence[str], entity: Any) -> tuple[int, ...]:
    if len(amounts) > FEES_PER_CURRENCY_MAX:
        raise InvalidInput(
            f"at most {FEES_PER_CURRENCY_MAX} typical fees per currency",
            record="bank settings",
            field="fees",
        )
    out = sorted({_positive_minor(a, currency, entity, "bank settings", "fees") for a in amounts})
    return tuple(out)


def _positive_minor(text: str, currency: str, entity: Any, record: str, field_name: str) -> int:
    try:
        amount = to_decimal(text, field=field_name)
    except InvalidAmount as exc:
        raise InvalidAmount(exc.reason, record=record, field=field_name) from None
    minor = round_to_minor(amount, currency, Rounding(entity.rounding))
    if minor <= 0 or to_decimal(format_minor(minor, currency)) != amount:
        raise InvalidAmount(
            f"{text} is not a {currency} amount above zero", record=record, field=field_name
        )
    return minor


# -- building the index -----------------------------------------------------------------------


def _line(row: Any) -> Line:
    # Accounts reach the matcher as their blind indexes (equal exactly when the accounts are
    # equal): the customers', the payers' and our own too, so none is decrypted to be compared.
    return Line(
        id=row.id,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        booked_on=row.booking_date,
        counterparty_name=row.counterparty_name,
        counterparty_account=row.counterparty_account_bidx or "",
        remittance=row.remittance,
        creditor_reference=row.creditor_reference,
        end_to_end_id=row.end_to_end_id,
        transaction_code=row.transaction_code,
        return_reason=row.return_reason,
        instructed_minor=None if row.instructed_minor is None else int(row.instructed_minor),
        instructed_currency=row.instructed_currency,
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _invoices(uow: UnitOfWork, entity: Any) -> list[OpenInvoice]:
    terms_cache: dict[str, PaymentTerms | None] = {}
    rounding = Rounding(entity.rounding)
    out: list[OpenInvoice] = []
    for (
        inv_id,
        number,
        customer_id,
        currency,
        open_minor,
        total,
        _tax,
        day,
        terms,
    ) in uow.bank.open_invoices(entity.id):
        issued = _as_date(day)
        if terms not in terms_cache:
            try:
                parsed = PaymentTerms.parse(terms or "")
                terms_cache[terms] = parsed if parsed.discount_percent is not None else None
            except Rejection:
                terms_cache[terms] = None
        parsed_terms = terms_cache[terms]
        discount, until = 0, None
        if parsed_terms is not None:
            until = discount_until(issued, parsed_terms)
            discount = early_payment_discount(
                int(total), parsed_terms, issued, issued, currency, rounding
            )
        out.append(
            OpenInvoice(
                int(inv_id),
                str(number),
                int(customer_id),
                str(currency),
                int(open_minor),
                int(total),
                issued,
                discount,
                until,
            )
        )
    return out


def _payers(uow: UnitOfWork, entity: Any) -> tuple[list[Payer], NameIndex]:
    customers, learned = uow.bank.payers(entity.id)
    ibans: dict[int, list[str]] = {}
    names: dict[int, list[str]] = {}
    for row in learned:
        if row.iban_bidx:
            ibans.setdefault(row.customer_id, []).append(row.iban_bidx)
        if row.name:
            names.setdefault(row.customer_id, []).append(row.name)
    payers = [
        Payer(
            c.id,
            c.code,
            c.name,
            tuple(([c.iban_bidx] if c.iban_bidx else []) + ibans.get(c.id, [])),
            tuple(names.get(c.id, [])),
        )
        for c in customers
    ]
    index = NameIndex(
        [(p.id, p.name) for p in payers] + [(p.id, n) for p in payers for n in p.names]
    )
    return payers, index


def _book_items(uow: UnitOfWork, entity: Any, account: Any) -> list[BookItem]:
    """Entries on the bank's ledger account that no bank line accounts for, and that a line
    could be (payments, refunds and returns recorded by hand; not opening balances)."""
    rows = [
        r
        for r in uow.bank.book_entries(entity.id, account.ledger_account, account.currency)
        if r[7] is None and r[8] is None and r[3] in ("payments", "refunds", "payment_reversals")
    ]
    invoices = uow.bank.payment_invoices([int(r[4]) for r in rows if r[3] == "payments"])
    out: list[BookItem] = []
    for entry_id, day, _kind, source, source_id, description, amount, _, _ in rows:
        customer_id, payment_id, text = None, None, description
        keys: tuple[str, ...] = ()
        if source == "payments":
            payment = uow.money.payment(source_id)
            customer_id, payment_id, text = payment.customer_id, payment.id, payment.reference
            keys = tuple(_compact(n) for n in invoices.get(int(source_id), []))
            kind = "payment"
        elif source == "refunds":
            kind = "refund"
            customer_id = uow.bank.refund_customer(int(source_id))
        else:
            kind = "reversal"
        out.append(
            BookItem(
                int(entry_id),
                kind,
                int(amount),
                account.currency,
                _as_date(day),
                customer_id,
                payment_id,
                text or "",
                keys,
            )
        )
    return out


def _compact(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def _index(
    uow: UnitOfWork,
    entity: Any,
    account: Any,
    since: date,
    settings: BankSettings,
    prime: bool = False,
) -> MatchIndex:
    """What matching looks lines up in. `prime`: also hand the open invoices' briefs and
    receivable sums and the customers' credit to the repositories, which posting the run's
    payments then reads instead of the database."""
    payers, names = _payers(uow, entity)
    invoices = _invoices(uow, entity)
    if prime:
        uow.customers.prime(entity.id)
        uow.ledger.prime(
            {i.id: i.open_minor for i in invoices},
            {**{(p.id, account.currency): 0 for p in payers}, **uow.bank.credit_sums(entity.id)},
        )
        uow.documents.prime_briefs(
            entity.id,
            (
                (i.id, i.number, "invoice", "issued", i.customer_id, i.currency, i.issued_on)
                for i in invoices
            ),
        )
    small = {}
    for currency in {account.currency, *settings.fees_minor}:
        small[currency] = uow.fx.tolerance(entity.id, currency)
    rates: dict[tuple[str, str, date], Decimal | None] = {}

    def rate(from_currency: str, to_currency: str, on: date) -> Decimal | None:
        key = (from_currency, to_currency, on)
        if key not in rates:
            try:
                rates[key] = rate_between(uow, entity, from_currency, to_currency, on).rate
            except Rejection:
                rates[key] = None
        return rates[key]

    def known(key: str) -> tuple[str, int] | None:
        number = f"{key[:-10]}-{key[-10:-6]}-{key[-6:]}"
        doc = uow.documents.brief_by_number(entity.id, number)
        if doc is None or doc.kind != "invoice" or doc.status != "issued":
            return None
        return doc.number, doc.customer_id

    seen = [
        PaymentSeen(int(p), int(c), int(a), account.currency, _as_date(d), e2e or "", acct or "")
        for p, c, a, d, e2e, acct in uow.bank.payments_into(
            entity.id, account.ledger_account, account.currency, since
        )
    ]
    own = [
        a.iban_bidx or a.number_bidx or ""
        for a in uow.bank.accounts(entity.id)
        if a.id != account.id
    ]
    return MatchIndex(
        invoices,
        payers,
        MatchSettings(
            auto_threshold=settings.auto_threshold,
            fees_minor=settings.fees_minor,
            small_minor=small,
            fx_tolerance_bps=settings.fx_tolerance_bps,
        ),
        book=_book_items(uow, entity, account),
        payments=seen,
        credits_minor=uow.bank.credits(entity.id),
        own_accounts=own,
        rate=rate,
        names=names,
        known=known,
    )


# -- candidates as stored proposals -------------------------------------------------------------


def to_payload(c: Candidate) -> dict[str, Any]:
    data = asdict(c)
    data["action"] = c.action.value
    data["rate"] = None if c.rate is None else str(c.rate)
    return data


def from_payload(data: dict[str, Any]) -> Candidate:
    return Candidate(
        action=Action(data["action"]),
        confidence=int(data["confidence"]),
        rule=data["rule"],
        explanation=data["explanation"],
        customer_id=data.get("customer_id"),
        allocations=tuple(Allocation(**a) for a in data.get("allocations", ())),
        fee_minor=int(data.get("fee_minor", 0)),
        rate=None if data.get("rate") is None else Decimal(data["rate"]),
        credit_minor=int(data.get("credit_minor", 0)),
        book_entry_ids=tuple(data.get("book_entry_ids", ())),
        payment_id=data.get("payment_id"),
        category=data.get("category", ""),
    )


# -- posting a decision -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    candidate: Candidate
    amount_minor: int  # its effect on the bank account
    ledger_account: str = ""  # an "other" part's counter account
    customer_id: int | None = None  # an "other" part's customer (refund returned)


@dataclass
class _Posted:
    created: list[tuple[int, int]] = field(default_factory=list)  # (journal entry, effect)
    linked: list[tuple[int, int]] = field(default_factory=list)
    detail: dict[str, list[int]] = field(
        default_factory=lambda: {
            "payments": [],
            "write_offs": [],
            "reversals": [],
            "refunds": [],
            "entries": [],
        }
    )


class _Batch:
    """A matching run's own bookkeeping (its decisions, the lines' states, proposals and the
    payers it learns), kept in memory and written together by `flush` before the run commits:
    one statement per table instead of several per line. The money itself (payments,
    allocations, journal, audit) goes through the same use cases as everywhere else; on
    PostgreSQL its inserts are held back too (`HELD_BACK`, sent before any statement that
    could read them). Nothing in the run reads what waits here, except a decision that links
    book entries, returns or refunds, before which the run flushes."""

    BLOCK = 512  # decision ids reserved at a time

    def __init__(self) -> None:
        self._ids: list[int] = []
        self.matches: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.payers: list[dict[str, Any]] = []
        self.claims: list[dict[str, Any]] = []  # lines decided: taken if still new or review
        self.states: list[dict[str, Any]] = []  # lines left for review
        self.cleared: list[int] = []  # lines whose earlier proposals go
        self.proposals: list[dict[str, Any]] = []

    def match_id(self, uow: UnitOfWork) -> int:
        if not self._ids:
            self._ids = uow.bank.reserve_match_ids(self.BLOCK)[::-1]
        return self._ids.pop()

    def flush(self, uow: UnitOfWork) -> None:
        uow.bank.add_matches(self.matches)
        uow.bank.add_match_entries(self.entries)
        uow.bank.add_payers(self.payers)
        taken = uow.bank.claim_many(self.claims) if self.claims else 0
        if taken != len(self.claims):
            raise InvalidState(
                f"{len(self.claims) - taken} of the lines were decided by someone else during "
                "this run; nothing was posted, run the matching again",
                record="bank match",
            )
        uow.bank.set_states(self.states)
        uow.bank.clear_proposals(self.cleared)
        uow.bank.add_proposals(self.proposals)
        for kept in (
            self.matches,
            self.entries,
            self.payers,
            self.claims,
            self.states,
            self.cleared,
            self.proposals,
        ):
            kept.clear()


def _effect(uow: UnitOfWork, entry_id: int, ledger: str) -> int:
    found = uow.bank.entry_effect(entry_id, ledger)
    return 0 if found is None else found[1]


def _gross(c: Candidate, currency: str, docs: dict[int, Any]) -> int:
    """What the customer paid: onto the invoices (in the line's currency) plus credit."""
    from openbill.domain.fx import convert_minor

    total = c.credit_minor
    for a in c.allocations:
        doc = docs[a.invoice_id]
        if doc.currency == currency:
            total += a.amount_minor
        else:
            if c.rate is None:
                raise InvariantError(f"{a.number} is in {doc.currency} and no rate was given")
            total += convert_minor(a.amount_minor, doc.currency, currency, c.rate)
    return total


def _discount(uow: UnitOfWork, entity: Any, customer: Any, row: Any, a: Allocation) -> int:
    doc = uow.documents.get(a.invoice_id)
    open_minor = uow.ledger.document_open(doc.id)
    if a.discount_minor > open_minor:
        raise InvalidAmount(
            f"{doc.number} has only {format_minor(open_minor, doc.currency)} open",
            record=f"bank line {row.id}",
            field="discount",
        )
    net_tax = (max(int(doc.total_minor) - int(doc.tax_minor), 0), max(int(doc.tax_minor), 0))
    tax_part = allocate(a.discount_minor, net_tax)[1] if sum(net_tax) else 0
    values = {
        "entity_id": entity.id,
        "invoice_id": doc.id,
        "amount_minor": a.discount_minor,
        "reason": f"early-payment discount ({doc.payment_terms}), bank line {row.id}"[:300],
        "written_off_on": row.booking_date,
        "created_at": uow.clock.now(),
    }
    write_off_id = uow.money.add_write_off(values)
    entry = discount_granted(
        row.booking_date,
        f"early-payment discount {doc.number} (bank line {row.id})",
        customer.id,
        doc.currency,
        doc.id,
        a.discount_minor,
        tax_part,
    )
    post(uow, entity.id, entry, "write_offs", write_off_id)
    audit(uow, entity.id, "invoice.discount_taken", "document", doc.id, None, values)
    webhooks.invoice_settled(uow, entity.id, doc.id, f"write_off:{write_off_id}")
    return int(write_off_id)


def _post_payment(
    uow: UnitOfWork, entity: Any, account: Any, row: Any, part: _Part, done: _Posted
) -> None:
    c = part.candidate
    customer = uow.customers.get(c.customer_id)
    if customer is None or customer.entity_id != entity.id:
        raise NotFound("the payer is not a customer of this entity", record=f"bank line {row.id}")
    for a in c.allocations:
        if a.discount_minor:
            done.detail["write_offs"].append(_discount(uow, entity, customer, row, a))
    docs = {a.invoice_id: uow.documents.brief(a.invoice_id) for a in c.allocations}
    gross = _gross(c, row.currency, docs)
    if gross - c.fee_minor != part.amount_minor or gross <= 0:
        raise InvariantError(
            f"the payment of bank line {row.id} adds up to {gross - c.fee_minor}, "
            f"not {part.amount_minor}"
        )
    to = []
    for a in c.allocations:
        doc = docs[a.invoice_id]
        if a.amount_minor:
            to.append((doc.number, format_minor(a.amount_minor, doc.currency)))
    line = _line(row)
    cmd = RecordPayment(
        entity=entity.code,
        customer=customer.code,
        amount=format_minor(gross, row.currency),
        currency=row.currency,
        received_on=row.booking_date,
        method="direct_debit" if line.is_direct_debit else "bank_transfer",
        reference=(row.creditor_reference or row.remittance or row.end_to_end_id)[:140],
        allocate="explicit" if to else "none",
        to=tuple(to),
        rate="" if c.rate is None else str(c.rate),
    )
    recorded = record_payment_in(uow, entity, cmd, account.ledger_account)
    done.detail["payments"].append(recorded.id)
    done.detail["write_offs"].extend(recorded.write_off_ids)
    done.created.append((recorded.entry_id, gross))
    if c.fee_minor:
        entry = bank_booked(
            row.booking_date,
            f"bank fee kept from the payment of {customer.code} (bank line {row.id})",
            account.ledger_account,
            Account.BANK_CHARGES,
            row.currency,
            -c.fee_minor,
        )
        entry_id = post(uow, entity.id, entry, "bank_lines", row.id)
        done.detail["entries"].append(entry_id)
        done.created.append((entry_id, -c.fee_minor))


def _post_part(
    uow: UnitOfWork,
    entity: Any,
    account: Any,
    row: Any,
    part: _Part,
    done: _Posted,
    batch: _Batch | None = None,
) -> None:
    c = part.candidate
    ledger = account.ledger_account
    if batch is not None and c.action in (Action.BOOK, Action.RETURN, Action.REFUND):
        batch.flush(uow)  # these read which entries and payments earlier lines took
    if c.action == Action.PAYMENT:
        _post_payment(uow, entity, account, row, part, done)
    elif c.action == Action.BOOK:
        live = uow.bank.linked_live(list(c.book_entry_ids))
        if live:
            raise InvalidState(
                "that book entry is accounted for by another bank line already",
                record=f"bank line {row.id}",
            )
        for entry_id in c.book_entry_ids:
            done.linked.append((entry_id, _effect(uow, entry_id, ledger)))
    elif c.action == Action.RETURN:
        if c.payment_id is None:
            raise InvariantError("a return names the payment it sends back")
        reason = row.return_reason if row.return_reason != "RETURN" else "returned"
        _, entry_id = reverse_payment_in(
            uow,
            entity,
            ReversePayment(
                entity.code,
                c.payment_id,
                f"returned by the bank ({reason}), bank line {row.id}",
                row.booking_date,
            ),
        )
        done.detail["reversals"].append(c.payment_id)
        done.created.append((entry_id, _effect(uow, entry_id, ledger)))
    elif c.action == Action.REFUND:
        customer = uow.customers.get(c.customer_id)
        result, entry_id = refund_in(
            uow,
            entity,
            Refund(
                entity.code,
                customer.code,
                format_minor(-part.amount_minor, row.currency),
                row.currency,
                row.booking_date,
                "bank_transfer",
                (row.remittance or row.end_to_end_id)[:140],
            ),
            ledger,
        )
        done.detail["refunds"].append(result.id)
        done.created.append((entry_id, _effect(uow, entry_id, ledger)))
    else:
        counter = part.ledger_account or _category_account(c.category, part.amount_minor)
        text = f"bank line {row.id}: {c.category.replace('_', ' ')}"
        if row.remittance:
            text += f" ({row.remittance})"
        entry = bank_booked(
            row.booking_date,
            text[:300],
            ledger,
            counter,
            row.currency,
            part.amount_minor,
            part.customer_id,
        )
        entry_id = post(uow, entity.id, entry, "bank_lines", row.id)
        done.detail["entries"].append(entry_id)
        done.created.append((entry_id, part.amount_minor))


def _category_account(category: str, amount_minor: int) -> str:
    if category == "interest" and amount_minor < 0:
        return Account.INTEREST_EXPENSE.value
    account = CATEGORY_ACCOUNTS.get(category)
    if account is None:
        raise InvalidInput(
            f"say which ledger account {category!r} money is booked on (--ledger-account)",
            record="bank line",
            field="ledger_account",
        )
    return account


def _decide(
    uow: UnitOfWork,
    entity: Any,
    account: Any,
    row: Any,
    parts: Sequence[_Part],
    *,
    action: str,
    automatic_: bool,
    confidence: int,
    rule: str,
    explanation: str,
    learned: set[tuple[int, str, str]] | None = None,
    batch: _Batch | None = None,
) -> tuple[int, dict[str, list[int]]]:
    """Post a decision on a line; returns the decision's id and what it posted. `learned`:
    the payers known already, kept by a matching run (else looked up); `batch`: a matching
    run's bookkeeping, written when the run flushes it (else at once)."""
    now = uow.clock.now()
    if batch is None:
        claimed = uow.bank.claim(
            row.id,
            {"status": "matched", "confidence": confidence, "rule": rule[:40], "updated_at": now},
        )
        if not claimed:
            raise InvalidState(
                f"it was decided meanwhile; see `openbill bank show {row.id}`",
                record=f"bank line {row.id}",
            )
    done = _Posted()
    for part in parts:
        _post_part(uow, entity, account, row, part, done, batch)
    total = sum(effect for _, effect in done.created + done.linked)
    if total != int(row.amount_minor):
        raise InvariantError(
            f"the decision on bank line {row.id} accounts for {total}, the line is "
            f"{row.amount_minor}"
        )
    decision = {
        "entity_id": entity.id,
        "line_id": row.id,
        "action": action,
        "automatic": automatic_,
        "confidence": confidence,
        "rule": rule[:40],
        "explanation": explanation[:300],
        "detail": json.dumps(done.detail),
        "undoes_id": None,
        "reason": "",
        "actor": uow.actor[:100],
        "created_at": now,
    }
    if batch is None:
        match_id = int(uow.bank.add_match(decision))
    else:
        match_id = batch.match_id(uow)
        batch.matches.append({"id": match_id, **decision})
    entries = [
        {"match_id": match_id, "journal_entry_id": e, "created": True, "amount_minor": a}
        for e, a in done.created
    ] + [
        {"match_id": match_id, "journal_entry_id": e, "created": False, "amount_minor": a}
        for e, a in done.linked
    ]
    state = {
        "status": "matched",
        "match_id": match_id,
        "confidence": confidence,
        "rule": rule[:40],
        "explanation": explanation[:300],
        "updated_at": now,
        "line_id": row.id,
    }
    if batch is None:
        uow.bank.add_match_entries(entries)
        uow.bank.set_state(row.id, state)
        uow.bank.replace_proposals(row.id, [])
    else:
        batch.entries.extend(entries)
        batch.claims.append(state)
        batch.cleared.append(row.id)
    for part in parts:
        if part.candidate.action == Action.PAYMENT and (
            not automatic_ or part.candidate.rule.startswith("reference")
        ):
            _learn(uow, entity, row, part.candidate.customer_id, match_id, learned, batch)
    audit(
        uow,
        entity.id,
        "bank.line_matched",
        "bank_line",
        row.id,
        None,
        {
            "match_id": match_id,
            "action": action,
            "automatic": automatic_,
            "confidence": confidence,
            "rule": rule,
            **done.detail,
        },
    )
    return int(match_id), done.detail


def _learn(
    uow: UnitOfWork,
    entity: Any,
    row: Any,
    customer_id: int | None,
    match_id: int,
    learned: set[tuple[int, str, str]] | None = None,
    batch: _Batch | None = None,
) -> None:
    """Remember who pays from this account and under this name (from confirmed decisions and
    from automatic ones that rest on a reference, never from guesses about the payer)."""
    if customer_id is None or not (row.counterparty_account or row.counterparty_name):
        return
    customer = uow.customers.get(customer_id)
    iban = row.counterparty_account if row.counterparty_account != (customer.iban or "") else ""
    name = row.counterparty_name[:200]
    # The run's set of learned payers holds accounts by their blind indexes (bank.payers).
    key = (int(customer_id), (row.counterparty_account_bidx or "") if iban else "", name)
    if learned is None:
        if uow.bank.knows_payer(entity.id, int(customer_id), iban, name):
            return
    elif key in learned:
        return
    else:
        learned.add(key)
    payer = {
        "entity_id": entity.id,
        "customer_id": customer_id,
        "iban": iban,
        "name": name,
        "match_id": match_id,
        "created_at": uow.clock.now(),
    }
    if batch is None:
        uow.bank.add_payer(payer)
    else:
        batch.payers.append(payer)


# -- the matching run -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchLines:
    entity: str
    account: str = ""  # name, IBAN or number; empty: every bank account
    line_ids: tuple[int, ...] = ()  # empty: every line that is new or waiting for review
    threshold: int | None = None  # this run only; empty: the entity's setting
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class LineOutcome:
    line_id: int
    account: str
    booked_on: date
    amount_minor: int
    currency: str
    counterparty: str
    status: str  # matched | review
    automatic: bool
    action: str
    rule: str
    confidence: int
    explanation: str
    customer: str = ""
    candidates: int = 0


@dataclass(frozen=True, slots=True)
class MatchReport:
    considered: int
    automatic: int
    review: int
    outcomes: tuple[LineOutcome, ...]
    dry_run: bool = False
    set_aside: tuple[tuple[int, str], ...] = ()  # lines whose posting was refused, and why

    def by_rule(self) -> list[tuple[str, str, int, int]]:
        """(status, rule, lines, amount) per rule, automatic first."""
        groups: dict[tuple[str, str], list[int]] = {}
        for o in self.outcomes:
            key = ("automatic" if o.automatic else "review", o.rule or "no candidate")
            groups.setdefault(key, []).append(o.amount_minor)
        return [(s, r, len(v), sum(v)) for (s, r), v in sorted(groups.items())]


def match_lines(
    uow_factory: UnitOfWorkFactory, cmd: MatchLines, progress: Progress | None = None
) -> MatchReport:
    set_aside: dict[int, str] = {}
    for _ in range(RESTARTS_MAX + 1):
        with uow_factory() as uow:
            entity = entity_by_code(uow, cmd.entity)
            accounts = _accounts(uow, entity, cmd.account)
            settings = _settings_of(uow, entity.id)
            if cmd.threshold is not None:
                settings = BankSettings(
                    cmd.threshold, settings.fees_minor, settings.fx_tolerance_bps
                )
            outcomes: list[LineOutcome] = []
            learned = {
                (int(p.customer_id), str(p.iban_bidx or ""), str(p.name))
                for p in uow.bank.payers(entity.id)[1]
            }
            refused = False
            batch = _Batch()
            if not cmd.dry_run:
                uow.defer_inserts(HELD_BACK)
            rows_by_account = [(a, uow.bank.lines_to_match(a.id, cmd.line_ids)) for a in accounts]
            total = sum(len(rows) for _, rows in rows_by_account)
            done = 0
            for account, rows in rows_by_account:
                if not rows:
                    continue
                since = min(r.booking_date for r in rows) - timedelta(days=130)
                index = _index(uow, entity, account, since, settings, prime=not cmd.dry_run)
                for row in rows:
                    try:
                        outcomes.append(
                            _match_one(
                                uow, entity, account, index, row, cmd, set_aside, learned, batch
                            )
                        )
                    except Rejection as exc:
                        set_aside[row.id] = exc.reason
                        refused = True
                        break
                    done += 1
                    if progress is not None and (done % 50 == 0 or done == total):
                        progress(done, total)
                if refused:
                    break
            if refused:
                continue  # the unit of work rolls back; start again without that line
            report = MatchReport(
                len(outcomes),
                sum(1 for o in outcomes if o.automatic),
                sum(1 for o in outcomes if not o.automatic),
                tuple(outcomes),
                cmd.dry_run,
                tuple(sorted(set_aside.items())),
            )
            if not cmd.dry_run and outcomes:
                batch.flush(uow)
                audit(
                    uow,
                    entity.id,
                    "bank.matching_run",
                    "legal_entity",
                    entity.id,
                    None,
                    {
                        "lines": report.considered,
                        "automatic": report.automatic,
                        "review": report.review,
                        "threshold": settings.auto_threshold,
                    },
                )
                uow.commit()
            return report
    raise InvalidState(
        f"posting was refused for more than {RESTARTS_MAX} lines (the book changed meanwhile?); "
        "nothing was posted, run the matching again",
        record="bank match",
    )


def _accounts(uow: UnitOfWork, entity: Any, ref: str) -> list[Any]:
    if not ref:
        return list(uow.bank.accounts(entity.id))
    found = account_by_ref(uow, entity.id, ref)
    if found is None:
        raise NotFound(
            f"no bank account {ref!r}; see `openbill bank accounts list`",
            record="bank account",
            field="account",
        )
    return [found]


def _match_one(
    uow: UnitOfWork,
    entity: Any,
    account: Any,
    index: MatchIndex,
    row: Any,
    cmd: MatchLines,
    set_aside: dict[int, str],
    learned: set[tuple[int, str, str]],
    batch: _Batch,
) -> LineOutcome:
    line = _line(row)
    candidates = propose(index, line)
    for c in candidates:
        check_candidate(line, c, index.invoices)
    best = None if row.id in set_aside else automatic(candidates, index.settings)
    now = uow.clock.now()
    customer = ""
    if best is not None:
        if best.customer_id is not None and best.customer_id in index.payers:
            customer = index.payers[best.customer_id].code
        posted: dict[str, list[int]] = {}
        if not cmd.dry_run:
            _, posted = _decide(
                uow,
                entity,
                account,
                row,
                [_Part(best, line.amount_minor)],
                action=best.action.value,
                automatic_=True,
                confidence=best.confidence,
                rule=best.rule,
                explanation=best.explanation,
                learned=learned,
                batch=batch,
            )
            if best.action == Action.PAYMENT and best.rule.startswith("reference"):
                index.learn(best.customer_id or 0, line.counterparty_account)
            for payment_id in posted.get("payments", []):
                index.add_payment(
                    PaymentSeen(
                        payment_id,
                        best.customer_id or 0,
                        line.amount_minor + best.fee_minor,
                        line.currency,
                        line.booked_on,
                        line.end_to_end_id,
                        line.counterparty_account,
                    )
                )
        index.settle(best, line)
        return _outcome(row, account, "matched", True, best, customer, len(candidates))
    top = candidates[0] if candidates else None
    note = set_aside.get(row.id, "")
    explanation = (top.explanation if top else "no candidate: nothing in the book fits") + (
        f" (posting was refused: {note})" if note else ""
    )
    if not cmd.dry_run:
        batch.cleared.append(row.id)
        batch.proposals.extend(
            {
                "line_id": row.id,
                "rank": rank,
                "confidence": c.confidence,
                "rule": c.rule[:40],
                "explanation": c.explanation[:300],
                "payload": json.dumps(to_payload(c)),
                "created_at": now,
            }
            for rank, c in enumerate(candidates, start=1)
        )
        batch.states.append(
            {
                "status": "review",
                "match_id": None,
                "confidence": top.confidence if top else 0,
                "rule": (top.rule if top else "")[:40],
                "explanation": explanation[:300],
                "updated_at": now,
                "line_id": row.id,
            }
        )
    if top is not None and top.customer_id is not None and top.customer_id in index.payers:
        customer = index.payers[top.customer_id].code
    return LineOutcome(
        row.id,
        account.name,
        row.booking_date,
        int(row.amount_minor),
        row.currency,
        row.counterparty_name,
        "review",
        False,
        top.action.value if top else "",
        top.rule if top else "",
        top.confidence if top else 0,
        explanation,
        customer,
        len(candidates),
    )


def _outcome(
    row: Any, account: Any, status: str, auto: bool, c: Candidate, customer: str, n: int
) -> LineOutcome:
    return LineOutcome(
        row.id,
        account.name,
        row.booking_date,
        int(row.amount_minor),
        row.currency,
        row.counterparty_name,
        status,
        auto,
        c.action.value,
        c.rule,
        c.confidence,
        c.explanation,
        customer,
        n,
    )


# -- review ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decided:
    line_id: int
    match_id: int
    action: str
    detail: dict[str, list[int]]


def _open_line(uow: UnitOfWork, entity: Any, line_id: int) -> tuple[Any, Any]:
    row = uow.bank.line(line_id)
    if row is None or row.entity_id != entity.id:
        raise NotFound(f"no bank line {line_id}", record="bank line", field="id")
    if row.status == "matched":
        raise InvalidState(
            f"it is matched already; undo that first (`openbill bank undo {line_id} --reason ...`)",
            record=f"bank line {line_id}",
        )
    return row, uow.bank.account(row.bank_account_id)


@dataclass(frozen=True, slots=True)
class Confirm:
    entity: str
    line_id: int
    candidate: int = 1  # its rank in `openbill bank show LINE`


def confirm(uow: UnitOfWork, cmd: Confirm) -> Decided:
    """Post one of the candidates proposed for a line, after checking it still holds."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row, account = _open_line(uow, entity, cmd.line_id)
        proposals = {p.rank: p for p in uow.bank.proposals(row.id)}
        if cmd.candidate not in proposals:
            raise NotFound(
                f"it has no candidate {cmd.candidate} "
                f"({len(proposals)} proposed); run `openbill bank match` to refresh them",
                record=f"bank line {row.id}",
                field="candidate",
            )
        chosen = from_payload(json.loads(proposals[cmd.candidate].payload))
        if chosen.action == Action.OTHER and chosen.category not in CATEGORY_ACCOUNTS:
            raise InvalidInput(
                "mark it with `openbill bank review other` and name its ledger account",
                record=f"bank line {row.id}",
            )
        _still_holds(uow, entity, row, chosen)
        match_id, detail = _decide(
            uow,
            entity,
            account,
            row,
            [_Part(chosen, int(row.amount_minor))],
            action=chosen.action.value,
            automatic_=False,
            confidence=chosen.confidence,
            rule=chosen.rule,
            explanation=chosen.explanation,
        )
        uow.commit()
        return Decided(row.id, match_id, chosen.action.value, detail)


def _still_holds(uow: UnitOfWork, entity: Any, row: Any, c: Candidate) -> None:
    """A stored proposal may be stale: the book may have moved on since it was made."""

    def stale(reason: str) -> InvalidState:
        return InvalidState(
            f"{reason} since this was proposed; run `openbill bank match` to refresh the proposals",
            record=f"bank line {row.id}",
        )

    if c.action == Action.PAYMENT:
        for a in c.allocations:
            open_minor = uow.ledger.document_open(a.invoice_id)
            if a.amount_minor + a.discount_minor > open_minor:
                raise stale(f"{a.number} has only {open_minor} minor units open")
    elif c.action == Action.BOOK:
        if uow.bank.linked_live(list(c.book_entry_ids)):
            raise stale("that book entry was matched to another line")
    elif c.action == Action.RETURN and c.payment_id is not None:
        if uow.bank.is_reversed(c.payment_id):
            raise stale(f"payment {c.payment_id} was reversed")


@dataclass(frozen=True, slots=True)
class Split:
    """A line split by hand: onto invoices (of one or more customers, in the line's currency),
    as credit of customers, less a bank fee the bank kept, and other money by category. The
    parts add up to the line's amount exactly."""

    entity: str
    line_id: int
    to: tuple[tuple[str, str], ...] = ()  # (invoice number, amount)
    credit: tuple[tuple[str, str], ...] = ()  # (customer code, amount)
    fee: str = ""
    other: tuple[tuple[str, str], ...] = ()  # (category, amount: signed like the line)
    ledger_account: str = ""  # for an "other" part of category "other"


def split(uow: UnitOfWork, cmd: Split) -> Decided:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row, account = _open_line(uow, entity, cmd.line_id)
        parts = _split_parts(uow, entity, row, cmd)
        match_id, detail = _decide(
            uow,
            entity,
            account,
            row,
            parts,
            action="split" if len(parts) > 1 else parts[0].candidate.action.value,
            automatic_=False,
            confidence=100,
            rule="by hand",
            explanation=f"split by {uow.actor} into {len(parts)} part(s)",
        )
        uow.commit()
        return Decided(row.id, match_id, "split", detail)


def _split_parts(uow: UnitOfWork, entity: Any, row: Any, cmd: Split) -> list[_Part]:
    record = f"bank line {row.id}"
    currency = row.currency
    if len(cmd.to) + len(cmd.credit) + len(cmd.other) > SPLIT_PARTS_MAX:
        raise InvalidInput(f"at most {SPLIT_PARTS_MAX} parts", record=record)
    per_customer: dict[int, list[Allocation]] = {}
    credit: dict[int, int] = {}
    for number, amount in cmd.to:
        doc = uow.documents.by_number(entity.id, number)
        if doc is None or doc.kind != "invoice":
            raise NotFound(f"no issued invoice {number}", record=record, field="to")
        if doc.currency != currency:
            raise InvalidInput(
                f"{number} is in {doc.currency}, the line in {currency}; confirm a proposed "
                "conversion instead, or record the payment with `openbill payments record --rate`",
                record=record,
                field="to",
            )
        minor = _positive_minor(amount, currency, entity, record, "to")
        open_minor = uow.ledger.document_open(doc.id)
        if minor > open_minor:
            raise InvalidAmount(
                f"{format_minor(minor, currency)} is more than the "
                f"{format_minor(max(open_minor, 0), currency)} open on {number}",
                record=record,
                field="to",
            )
        per_customer.setdefault(doc.customer_id, []).append(Allocation(doc.id, doc.number, minor))
    for code, amount in cmd.credit:
        customer = customer_by_code(uow, entity.id, code)
        credit[customer.id] = credit.get(customer.id, 0) + _positive_minor(
            amount, currency, entity, record, "credit"
        )
    fee = _positive_minor(cmd.fee, currency, entity, record, "fee") if cmd.fee else 0
    parts: list[_Part] = []
    for customer_id in list(dict.fromkeys([*per_customer, *credit])):
        allocations = tuple(per_customer.get(customer_id, ()))
        gross = sum(a.amount_minor for a in allocations) + credit.get(customer_id, 0)
        this_fee = fee if not parts else 0
        if this_fee >= gross:
            raise InvalidAmount("the fee is more than the payment", record=record, field="fee")
        candidate = Candidate(
            Action.PAYMENT,
            100,
            "by hand",
            "split by hand",
            customer_id=customer_id,
            allocations=allocations,
            fee_minor=this_fee,
            credit_minor=credit.get(customer_id, 0),
        )
        parts.append(_Part(candidate, gross - this_fee))
    if fee and not parts:
        raise InvalidInput(
            "a fee is kept from a payment: name the invoices or the credit",
            record=record,
            field="fee",
        )
    for category, amount in cmd.other:
        if category not in OTHER_CATEGORIES or category == "refund_returned":
            raise InvalidInput(
                f"{category!r} is not one of: fee, interest, transfer, other",
                record=record,
                field="other",
            )
        sign = 1 if int(row.amount_minor) > 0 else -1
        text = amount.strip()
        minor = _positive_minor(text.lstrip("-"), currency, entity, record, "other")
        ledger = cmd.ledger_account if category == "other" else ""
        if category == "other" and not ledger:
            raise InvalidInput(
                "name the ledger account of the other part", record=record, field="ledger_account"
            )
        parts.append(
            _Part(
                Candidate(Action.OTHER, 100, category, "by hand", category=category),
                sign * minor,
                ledger,
            )
        )
    if not parts:
        raise InvalidInput("say what the line pays: --to, --credit or --other", record=record)
    total = sum(p.amount_minor for p in parts)
    if total != int(row.amount_minor):
        raise InvalidAmount(
            f"the parts add up to {format_minor(total, currency)}, the line is "
            f"{format_minor(int(row.amount_minor), currency)} {currency}",
            record=record,
            field="amount",
        )
    if int(row.amount_minor) < 0 and any(p.candidate.action == Action.PAYMENT for p in parts):
        raise InvalidInput("money out pays no invoice; use a refund or --other", record=record)
    return parts


@dataclass(frozen=True, slots=True)
class MarkOther:
    entity: str
    line_id: int
    category: str  # fee | interest | transfer | refund_returned | other
    ledger_account: str = ""  # required for "other"; overrides the category's account
    customer: str = ""  # for refund_returned: whose credit it becomes again
    note: str = ""


def mark_other(uow: UnitOfWork, cmd: MarkOther) -> Decided:
    """Book a line that is no customer's payment on the ledger account of its category."""
    if cmd.category not in OTHER_CATEGORIES:
        raise InvalidInput(
            f"{cmd.category!r} is not one of: {', '.join(OTHER_CATEGORIES)}",
            record="bank line",
            field="category",
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row, account = _open_line(uow, entity, cmd.line_id)
        ledger = cmd.ledger_account.strip()
        if cmd.category == "other" and not ledger:
            raise InvalidInput(
                "say which ledger account this money is booked on (--ledger-account)",
                record=f"bank line {row.id}",
                field="ledger_account",
            )
        if ledger and ledger in (account.ledger_account, Account.RECEIVABLE.value):
            raise InvalidInput(
                f"{ledger} cannot take the other side of a bank line",
                record=f"bank line {row.id}",
                field="ledger_account",
            )
        customer_id = None
        if cmd.category == "refund_returned":
            if not cmd.customer:
                raise InvalidInput(
                    "say whose refund came back (--customer)",
                    record=f"bank line {row.id}",
                    field="customer",
                )
            if int(row.amount_minor) <= 0:
                raise InvalidInput(
                    "a refund that came back is money in", record=f"bank line {row.id}"
                )
            customer_id = customer_by_code(uow, entity.id, cmd.customer).id
        explanation = f"marked {cmd.category.replace('_', ' ')} by {uow.actor}"
        if cmd.note:
            explanation += f": {cmd.note}"
        candidate = Candidate(
            Action.OTHER, 100, cmd.category, explanation[:300], category=cmd.category
        )
        match_id, detail = _decide(
            uow,
            entity,
            account,
            row,
            [_Part(candidate, int(row.amount_minor), ledger, customer_id)],
            action="other",
            automatic_=False,
            confidence=100,
            rule=cmd.category,
            explanation=explanation,
        )
        uow.commit()
        return Decided(row.id, match_id, "other", detail)


# -- undo -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Undo:
    entity: str
    line_id: int
    reason: str


def undo(uow: UnitOfWork, cmd: Undo) -> Decided:
    """Take back the decision on a line: everything it posted is reversed by new entries
    dated like the line, and the line waits to be matched again."""
    if not cmd.reason.strip():
        raise InvalidInput("say why the decision is undone", record="bank undo", field="reason")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row = uow.bank.line(cmd.line_id)
        if row is None or row.entity_id != entity.id:
            raise NotFound(f"no bank line {cmd.line_id}", record="bank line", field="id")
        if row.status != "matched" or row.match_id is None:
            raise InvalidState(
                "it has no decision to undo ("
                + {"new": "it waits to be matched", "review": "it waits for review"}.get(
                    row.status, f"it is {row.status}"
                )
                + ")",
                record=f"bank line {row.id}",
            )
        account = uow.bank.account(row.bank_account_id)
        match = uow.bank.match(row.match_id)
        detail = json.loads(match.detail)
        if detail.get("refunds"):
            raise InvalidState(
                "a refund that was paid out is not undone here: if it came back, mark the "
                "line that brought it back as refund_returned",
                record=f"bank line {row.id}",
            )
        on = row.booking_date
        why = f"bank line {row.id}: decision {match.id} undone: {cmd.reason}"[:300]
        created: list[int] = []
        for payment_id in detail.get("payments", []):
            _, entry_id = reverse_payment_in(
                uow, entity, ReversePayment(entity.code, payment_id, why, on)
            )
            created.append(entry_id)
        for write_off_id in detail.get("write_offs", []):
            created.append(_take_back_write_off(uow, entity, write_off_id, on, why))
        for entry_id in detail.get("entries", []):
            created.append(_mirror(uow, entity, row, entry_id, why))
        for payment_id in detail.get("reversals", []):
            created.append(_record_again(uow, entity, account, payment_id, on, why))
        ledger = account.ledger_account
        effects = [(e, _effect(uow, e, ledger)) for e in created]
        linked_total = sum(int(e.amount_minor) for e in uow.bank.match_entries(match.id))
        if sum(a for _, a in effects) != -sum(
            int(e.amount_minor) for e in uow.bank.match_entries(match.id) if e.created
        ):
            raise InvariantError(f"undoing decision {match.id} does not mirror what it posted")
        now = uow.clock.now()
        undo_id = uow.bank.add_match(
            {
                "entity_id": entity.id,
                "line_id": row.id,
                "action": "undo",
                "automatic": False,
                "confidence": 0,
                "rule": "undo",
                "explanation": why,
                "detail": json.dumps({"entries": created, "linked_total": linked_total}),
                "undoes_id": match.id,
                "reason": cmd.reason[:300],
                "actor": uow.actor[:100],
                "created_at": now,
            }
        )
        uow.bank.add_match_entries(
            [
                {"match_id": undo_id, "journal_entry_id": e, "created": True, "amount_minor": a}
                for e, a in effects
            ]
        )
        uow.bank.set_state(
            row.id,
            {
                "status": "new",
                "match_id": None,
                "confidence": 0,
                "rule": "",
                "explanation": f"undone: {cmd.reason}"[:300],
                "updated_at": now,
            },
        )
        uow.bank.forget_payers_of(match.id)
        audit(
            uow,
            entity.id,
            "bank.match_undone",
            "bank_line",
            row.id,
            {"match_id": match.id, **detail},
            {"undo_id": undo_id, "entries": created, "reason": cmd.reason},
        )
        uow.commit()
        return Decided(row.id, undo_id, "undo", {"entries": created})


def _postings(uow: UnitOfWork, source_table: str, source_id: int) -> tuple[Posting, ...]:
    return tuple(
        Posting(str(acct), int(amount), str(cur), cust, doc)
        for _, _, _, acct, cur, amount, cust, doc in uow.ledger.lines_of_source(
            source_table, source_id
        )
    )


def _take_back_write_off(
    uow: UnitOfWork, entity: Any, write_off_id: int, on: date, why: str
) -> int:
    row = uow.bank.write_off(write_off_id)
    values = {
        "entity_id": entity.id,
        "write_off_id": write_off_id,
        "reversed_on": on,
        "reason": why,
        "created_at": uow.clock.now(),
    }
    reversal_id = uow.bank.add_write_off_reversal(values)
    entry = mirrored(on, "write_off_reversal", why, _postings(uow, "write_offs", write_off_id))
    entry_id = post(uow, entity.id, entry, "write_off_reversals", reversal_id)
    audit(uow, entity.id, "invoice.write_off_reversed", "document", row.invoice_id, None, values)
    return entry_id


def _mirror(uow: UnitOfWork, entity: Any, row: Any, entry_id: int, why: str) -> int:
    lines = [x for x in uow.ledger.lines_of_source("bank_lines", row.id) if int(x[0]) == entry_id]
    postings = tuple(Posting(str(a), int(m), str(c), cu, d) for _, _, _, a, c, m, cu, d in lines)
    entry = mirrored(row.booking_date, "bank_undo", why, postings)
    return post(uow, entity.id, entry, "bank_lines", row.id)


def _record_again(
    uow: UnitOfWork, entity: Any, account: Any, payment_id: int, on: date, why: str
) -> int:
    """Undoing a return: the payment stands after all, so it is recorded again, onto the
    invoices the returned one had paid as far as they are still open."""
    payment = uow.money.payment(payment_id)
    customer = uow.customers.get(payment.customer_id)
    to = []
    left = int(payment.amount_minor)
    for a in uow.fx.allocations_of_payment(payment_id):
        if a.currency != payment.currency or left <= 0:
            continue
        take = min(uow.ledger.document_open(a.invoice_id), int(a.amount_minor), left)
        if take > 0:
            to.append((a.number, format_minor(take, payment.currency)))
            left -= take
    cmd = RecordPayment(
        entity=entity.code,
        customer=customer.code,
        amount=format_minor(int(payment.amount_minor), payment.currency),
        currency=payment.currency,
        received_on=on,
        method=payment.method,
        reference=f"payment {payment_id} again: {why}"[:140],
        allocate="explicit" if to else "none",
        to=tuple(to),
    )
    return record_payment_in(uow, entity, cmd, account.ledger_account).entry_id


# -- what the review shows ------------------------------------------------------------------------


def review_queue(
    uow: UnitOfWork, entity_code: str, account: str = "", limit: int = 1000
) -> list[dict[str, Any]]:
    """The lines waiting for a person, each with its best candidate."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        account_id = None
        if account:
            found = _accounts(uow, entity, account)[0]
            account_id = found.id
        rows = uow.bank.lines(entity.id, account_id=account_id, status="review", limit=limit)
        return [_line_dict(r) for r in rows]


def _line_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "account": r.account_name,
        "booked_on": r.booking_date,
        "value_date": r.value_date,
        "amount_minor": int(r.amount_minor),
        "currency": r.currency,
        "counterparty": r.counterparty_name,
        "counterparty_account": r.counterparty_account,
        "remittance": r.remittance,
        "creditor_reference": r.creditor_reference,
        "end_to_end_id": r.end_to_end_id,
        "bank_reference": r.bank_reference,
        "transaction_code": r.transaction_code,
        "return_reason": r.return_reason,
        "status": r.status,
        "confidence": int(r.confidence),
        "rule": r.rule,
        "explanation": r.explanation,
        "match_id": r.match_id,
    }


def line_detail(uow: UnitOfWork, entity_code: str, line_id: int) -> dict[str, Any]:
    """A line with its candidates (numbered as `confirm` takes them) and its decisions."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        row = uow.bank.line(line_id)
        if row is None or row.entity_id != entity.id:
            raise NotFound(f"no bank line {line_id}", record="bank line", field="id")
        codes = {c.id: c.code for c in uow.customers.all(entity.id)}
        proposals = []
        for p in uow.bank.proposals(row.id):
            c = from_payload(json.loads(p.payload))
            proposals.append(
                {
                    "rank": p.rank,
                    "confidence": p.confidence,
                    "rule": p.rule,
                    "action": c.action.value,
                    "customer": codes.get(c.customer_id or 0, ""),
                    "explanation": p.explanation,
                    "allocations": [
                        (a.number, a.amount_minor, a.discount_minor) for a in c.allocations
                    ],
                    "fee_minor": c.fee_minor,
                    "credit_minor": c.credit_minor,
                }
            )
        decisions = [
            {
                "id": m.id,
                "action": m.action,
                "automatic": bool(m.automatic),
                "confidence": m.confidence,
                "rule": m.rule,
                "explanation": m.explanation,
                "actor": m.actor,
                "at": m.created_at,
                "undoes": m.undoes_id,
                "detail": json.loads(m.detail),
            }
            for m in uow.bank.matches_of_line(row.id)
        ]
        return {**_line_dict(row), "proposals": proposals, "decisions": decisions}
