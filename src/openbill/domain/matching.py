"""Statement matching: what does a bank line pay, and how sure are we? (issue #5)

For every line of a bank statement the matcher proposes what it is, each proposal with a
confidence (0 to 100) and one line of explanation a billing specialist can check:

- a **payment** of a customer, allocated to the invoices it pays. The evidence, strongest
  first: a structured RF creditor reference or an invoice number in the remittance text (also
  when the payer split it with blanks or dashes, or mistyped one character); the payer's IBAN
  or name, known from master data or learned from earlier confirmed matches; the amount, equal
  to the open amount of one invoice or of a combination of the payer's open invoices (a
  bounded subset-sum search), or short by a typical bank fee, by the early-payment discount
  the invoice's terms allow, or by a small difference the tolerance closes; a payment in
  another currency within the exchange-rate tolerance of the day's rate;
- an entry already in the **book** (a payment or refund recorded by hand before the
  statement came): the line is linked to it and nothing is posted twice;
- a **return**: a debit that sends back an earlier payment (a returned direct debit), which
  reopens the invoices it paid;
- a **refund** of customer credit paid out;
- **other** money that is no customer's payment: bank charges, interest, transfers between the
  entity's own accounts.

`MatchIndex` holds what the lines are matched against (open invoices, payers, unmatched
entries of the book, earlier payments); `propose(index, line)` returns the candidates, best
first; `automatic(candidates, settings)` picks the one to post without asking, or None when a
person must decide. After a decision is posted, `index.settle(candidate)` takes what it used
out of the index, so that later lines of the same run cannot pay the same invoice twice.

The confidence of each kind of evidence is a named constant below; docs/bank.md has the
table. Pure: stdlib only, no I/O, no clock. The name comparison and the exchange rates are
passed in as functions (rapidfuzz and the rate table live outside the domain).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openbill.domain.currencies import EXPONENTS
from openbill.domain.fx import RATE_PLACES, convert_minor
from openbill.domain.money import format_minor
from openbill.domain.reference import referenced_keys
from openbill.domain.rejections import InvariantError

__all__ = [
    "Action",
    "Allocation",
    "BookItem",
    "Candidate",
    "Line",
    "MatchIndex",
    "MatchSettings",
    "OTHER_CATEGORIES",
    "OpenInvoice",
    "Payer",
    "PaymentSeen",
    "automatic",
    "check_candidate",
    "propose",
]


class Action(StrEnum):
    PAYMENT = "payment"
    BOOK = "book"
    RETURN = "return"
    REFUND = "refund"
    OTHER = "other"


# What a line that is no customer's payment can be; each has its own ledger account (the use
# case maps them: bank charges, interest, money in transit between own accounts, a refund that
# came back onto the customer's credit, or any account the user names).
OTHER_CATEGORIES = ("fee", "interest", "transfer", "refund_returned", "other")

# Confidences (0..100). A candidate at or above the entity's threshold (default 90) that leads
# the runner-up by MARGIN is posted without asking.
REF_EXACT_RF = 100  # a valid RF creditor reference, the amount is what is open
REF_EXACT_NUMBER = 99  # the invoice number in the text, the amount is what is open
REF_INSTRUCTED_FX = 98  # ... paid in another currency: the payer instructed exactly the amount
REF_SMALL = 97  # ... short by a small difference within the tolerance
REF_FEE = 96  # ... short by a typical bank fee
REF_DISCOUNT = 96  # ... short by exactly the early-payment discount the terms allow
REF_FX = 95  # ... in another currency, within the rate tolerance
REF_PARTIAL_PAYER = 92  # a partial payment of a referenced invoice, from its customer's account
REF_OVER_PAYER = 90  # more than is open, from its customer's account: the rest stays credit
REF_PARTIAL = 86
REF_OVER = 84
NEAR_PAYER = 93  # one character off, amount fits, paid from the customer's known account
NEAR = 86  # one character off, amount fits, payer unknown
NEAR_LOOSE = 60  # one character off, the amount does not fit
PAYER_IBAN_ONE = 92  # no reference; known IBAN; the amount is exactly one open invoice
PAYER_NAME_ONE = 86
PAYER_IBAN_ADJUSTED = 88  # ... one open invoice less a fee or a small difference
PAYER_NAME_ADJUSTED = 82
PAYER_IBAN_DISCOUNT = 91
PAYER_NAME_DISCOUNT = 85
PAYER_IBAN_ALL = 92  # ... the amount is all its open invoices together
PAYER_IBAN_COMBINATION = 90  # ... exactly one combination of its open invoices
PAYER_NAME_COMBINATION = 84
PAYER_IBAN_SEQUENCE = 93  # ... the text names an invoice by its running number only
PAYER_NAME_SEQUENCE = 88
PAYER_AMBIGUOUS = 70  # several open invoices of that amount
PAYER_COMBINATIONS = 62  # several combinations add up
PAYER_OLDEST = 50  # the amount fits nothing: oldest first would pay ...
PAYER_CREDIT = 45  # ... or keep it all as credit
UNIQUE_AMOUNT = 65  # unknown payer, no reference: the only open invoice of that amount
BOOK_CONFIRMED = 97  # the book has that amount from that customer, recorded within days
BOOK_AMOUNT = 75  # the book has that amount within days, nothing else says it is the same
BOOK_AMBIGUOUS = 60
RETURN_E2E = 98  # a return naming the end-to-end id of the payment it returns
RETURN_PAYER = 95
RETURN_AMOUNT = 85
RETURN_AMBIGUOUS = 60
OTHER_CODE = 95  # the bank's transaction code says charges or interest
OTHER_TEXT_BANK = 92  # ... a small debit, the bank or nobody the counterparty
OTHER_TEXT = 85  # the booking text says so and no customer is named
OTHER_TEXT_LOOSE = 70
OTHER_TEXT_SMALL_MINOR = 100_000  # "small": up to 1,000.00 in the line's currency
TRANSFER_OWN = 95  # the counterparty is one of the entity's own accounts
REFUND_CREDIT = 70  # money out to a customer who has that much credit
CONFLICT_PAYER = 55  # the reference names a customer, the money comes from another's account
CONFLICT_NAME = 60
CONFLICT_CUSTOMERS = 40  # the references name invoices of several customers
ALREADY_PAID = 50  # the reference names invoices that are paid already
TRAP = 60  # another open invoice one character away is for exactly this amount

MARGIN = 10
CANDIDATES_MAX = 5
# Bounds of the search (DESIGN.md principle 8).
SUBSET_INVOICES_MAX = 20  # open invoices of a payer looked at for combinations, oldest first
SUBSET_SIZE_MAX = 6  # invoices in one combination
SUBSET_NODES_MAX = 5_000  # steps of one subset-sum search
REFERENCES_MAX = 20  # invoice references taken from one line
TEXT_MAX = 2_000  # characters of a line's texts searched for references

_KEY_RUN = re.compile(r"([A-Z]+)(\d+)")
_SEQ_TOKEN = re.compile(r"(?<![\dA-Z])(\d{1,6})(?![\dA-Z])")
_FEE_TEXT = re.compile(
    r"entgelt|geb(?:ü|ue)hr|\bfees?\b|\bcharges?\b|kontof(?:ü|ue)hrung|account maintenance|"
    r"\bprovision\b|\bspesen\b|frais",
    re.IGNORECASE,
)
_INTEREST_TEXT = re.compile(r"\bzins|\binterest\b|\bintérêts?\b|\binteressi\b", re.IGNORECASE)
_FEE_CODES = ("NCHG", "NCOM", "NCMI", "CHRG", "COMM", "COMT", "FEES")
_INTEREST_CODES = ("NINT", "INTR", "INTC")
_DIRECT_DEBIT_CODES = ("DDT", "IDDT", "RDDT", "ESDD", "BBDD", "PMDD", "NDDT")


@dataclass(frozen=True, slots=True)
class Line:
    """A bank line as the matcher sees it. `amount_minor` is signed: + money in."""

    id: int
    amount_minor: int
    currency: str
    booked_on: date
    counterparty_name: str = ""
    counterparty_account: str = ""  # IBAN (compact, upper case) or account number
    remittance: str = ""
    creditor_reference: str = ""
    end_to_end_id: str = ""
    transaction_code: str = ""
    return_reason: str = ""
    instructed_minor: int | None = None
    instructed_currency: str = ""

    @property
    def is_direct_debit(self) -> bool:
        code = self.transaction_code.upper()
        return any(c in code for c in _DIRECT_DEBIT_CODES)


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    id: int
    number: str
    customer_id: int
    currency: str
    open_minor: int
    total_minor: int
    issued_on: date
    # The early-payment discount the terms allow on the whole invoice, and the last day it may
    # be taken (None: the terms allow none).
    discount_minor: int = 0
    discount_until: date | None = None

    @property
    def key(self) -> str:
        return _compact(self.number)


@dataclass(frozen=True, slots=True)
class Payer:
    """A customer as a payer: the IBANs and names their money comes with."""

    id: int
    code: str
    name: str
    ibans: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # names learned from confirmed matches


@dataclass(frozen=True, slots=True)
class BookItem:
    """An entry on the bank's ledger account that no bank line accounts for yet."""

    entry_id: int
    kind: str  # payment | refund | reversal | other
    amount_minor: int  # its effect on the bank account: + money in
    currency: str
    on: date
    customer_id: int | None = None
    payment_id: int | None = None
    text: str = ""  # its reference or description
    invoice_keys: tuple[str, ...] = ()  # the invoices a payment paid (compact numbers)


@dataclass(frozen=True, slots=True)
class PaymentSeen:
    """An earlier payment into this bank account, which a return may send back."""

    payment_id: int
    customer_id: int
    amount_minor: int
    currency: str
    received_on: date
    end_to_end_id: str = ""
    payer_account: str = ""


@dataclass(frozen=True, slots=True)
class MatchSettings:
    auto_threshold: int = 90
    # Typical bank fees per currency, in minor units: a payment short by exactly one of these
    # paid the invoice in full and the bank kept the fee.
    fees_minor: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    # Small differences closed by the receivables tolerance, per currency (issue #4).
    small_minor: Mapping[str, int] = field(default_factory=dict)
    fx_tolerance_bps: int = 150  # a foreign payment within 1.5 % of the day's rate fits
    book_window_days: int = 10  # a book entry this many days from the line can be the same
    return_window_days: int = 120
    discount_grace_days: int = 3  # bank days between the payer's transfer and our booking
    name_score_min: int = 90  # rapidfuzz score (0..100) for a name to identify a payer


@dataclass(frozen=True, slots=True)
class Allocation:
    invoice_id: int
    number: str
    amount_minor: int  # paid onto the invoice, in the invoice's currency
    discount_minor: int = 0  # early-payment discount written off on the invoice


@dataclass(frozen=True, slots=True)
class Candidate:
    """One thing a line could be. For a payment: the customer, what goes onto which invoice,
    the bank fee the bank kept (the payment recorded is the line's amount plus the fee), the
    rate of a cross-currency settlement, and what stays as customer credit."""

    action: Action
    confidence: int
    rule: str
    explanation: str
    customer_id: int | None = None
    allocations: tuple[Allocation, ...] = ()
    fee_minor: int = 0
    rate: Decimal | None = None  # 1 invoice-currency unit = rate line-currency units
    credit_minor: int = 0
    book_entry_ids: tuple[int, ...] = ()
    payment_id: int | None = None  # the payment a return sends back
    category: str = ""  # of an "other" line

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 100:
            raise InvariantError(f"confidence {self.confidence} is not 0..100")
        if self.fee_minor < 0 or self.credit_minor < 0:
            raise InvariantError("fees and credit are never negative")
        if any(a.amount_minor < 0 or a.discount_minor < 0 for a in self.allocations):
            raise InvariantError("allocations and discounts are never negative")


def _money(minor: int, currency: str) -> str:
    """'1,190.00 EUR' for explanations."""
    text = format_minor(abs(minor), currency) if currency in EXPONENTS else str(abs(minor))
    whole, dot, cents = text.partition(".")
    grouped = f"{int(whole):,}"
    return f"{'-' if minor < 0 else ''}{grouped}{dot}{cents} {currency}"


def _prefix(key: str) -> str:
    """The letters a compact document number starts with: INV of INV2026000123."""
    end = 0
    while end < len(key) and key[end].isalpha():
        end += 1
    return key[:end]


_NOT_COMPACT = re.compile(r"[^A-Z0-9]+")


def _compact(text: str) -> str:
    """The ASCII letters and digits of the upper-cased text: INV2026000123 of inv-2026-000123."""
    return _NOT_COMPACT.sub("", text.upper())


def _iban(text: str) -> str:
    return "".join(text.split()).upper()


# -- references ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Refs:
    exact: tuple[str, ...]  # compact invoice numbers named exactly
    rf: frozenset[str]  # ... of those, the ones a valid RF reference names
    near: tuple[str, ...]  # tokens that look like an invoice number but are none


def _references(line: Line, prefixes: frozenset[str]) -> _Refs:
    text = " ".join((line.creditor_reference, line.remittance, line.end_to_end_id))[:TEXT_MAX]
    rf_keys, number_keys = referenced_keys(text)
    exact: list[str] = [*rf_keys, *number_keys]
    near: list[str] = []
    # A payer's bank splits long texts anywhere and people type blanks and dashes where they
    # like: the numbers are read again from the text with everything but letters and digits
    # taken out ("INV-2026-00 0123" reads INV2026000123).
    for match in _KEY_RUN.finditer(_compact(text)):
        letters, digits = match.groups()
        found = ""
        for size in (3, 2, 4):
            prefix = letters[-size:]
            if len(prefix) == size and prefix in prefixes and len(digits) >= 10:
                found = prefix + digits[:10]
                break
        if found:
            if found not in exact:
                exact.append(found)
            near.append(found)  # when no such invoice is open, a typo of one may be
            if len(digits) == 11:
                near.append(prefix + digits)  # ... or the number with one digit too many
        elif 9 <= len(digits) <= 11:
            near.append(letters[-4:] + digits)
    return _Refs(tuple(exact[:REFERENCES_MAX]), frozenset(rf_keys), tuple(near[:REFERENCES_MAX]))


def _one_edit_variants(token: str, prefixes: frozenset[str]) -> set[str]:
    """Every invoice key one typing mistake away from `token` (letters then digits): one digit
    wrong, two neighbours swapped, one digit missing or one too many, or the prefix one letter
    off. Only keys of openbill's shape (prefix, 4-digit year, 6-digit number) are made."""
    match = re.fullmatch(r"([A-Z]*)(\d+)", token)
    if match is None:
        return set()
    letters, digits = match.groups()
    prefix = next((p for p in sorted(prefixes, key=len, reverse=True) if letters.endswith(p)), "")
    out: set[str] = set()
    if prefix:
        if len(digits) == 10:
            for i in range(10):
                for d in "0123456789":
                    if d != digits[i]:
                        out.add(prefix + digits[:i] + d + digits[i + 1 :])
            for i in range(9):
                out.add(prefix + digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :])
        elif len(digits) == 9:
            for i in range(10):
                for d in "0123456789":
                    out.add(prefix + digits[:i] + d + digits[i:])
        elif len(digits) == 11:
            for i in range(11):
                out.add(prefix + digits[:i] + digits[i + 1 :])
    elif len(digits) == 10:
        tail = letters[-3:]
        for p in prefixes:
            if len(p) == len(tail) and sum(a != b for a, b in zip(p, tail, strict=True)) == 1:
                out.add(p + digits)
            elif not letters:
                out.add(p + digits)  # the number without its prefix
    out.discard(token)
    return out


# -- the index ----------------------------------------------------------------------------------

RateOf = Callable[[str, str, date], Decimal | None]  # 1 from = rate to, on a day
NamesOf = Callable[[str], Sequence[tuple[int, int]]]  # name -> (payer id, score 0..100), best first
KnownOf = Callable[[str], tuple[str, int] | None]  # compact number -> (number, customer id)


class MatchIndex:
    """What lines are matched against, kept current during one matching run."""

    def __init__(
        self,
        invoices: Iterable[OpenInvoice],
        payers: Iterable[Payer],
        settings: MatchSettings,
        *,
        book: Iterable[BookItem] = (),
        payments: Iterable[PaymentSeen] = (),
        credits_minor: Mapping[tuple[int, str], int] | None = None,
        own_accounts: Iterable[str] = (),
        rate: RateOf | None = None,
        names: NamesOf | None = None,
        known: KnownOf | None = None,
    ) -> None:
        self.settings = settings
        self.invoices: dict[int, OpenInvoice] = {}
        self.by_key: dict[str, int] = {}
        self.by_customer: dict[int, list[int]] = defaultdict(list)
        self.by_amount: dict[tuple[str, int], set[int]] = defaultdict(set)
        for inv in sorted(invoices, key=lambda i: (i.issued_on, i.id)):
            if inv.open_minor <= 0:
                continue
            self.invoices[inv.id] = inv
            self.by_key[inv.key] = inv.id
            self.by_customer[inv.customer_id].append(inv.id)
            self.by_amount[(inv.currency, inv.open_minor)].add(inv.id)
        self.prefixes = frozenset(_prefix(k) for k in self.by_key) - {""}
        self.payers = {p.id: p for p in payers}
        self.by_iban: dict[str, set[int]] = defaultdict(set)
        for p in self.payers.values():
            for iban in p.ibans:
                if iban:
                    self.by_iban[_iban(iban)].add(p.id)
        self.book: dict[int, BookItem] = {b.entry_id: b for b in book}
        self.book_by_amount: dict[tuple[str, int], list[int]] = defaultdict(list)
        for b in self.book.values():
            self.book_by_amount[(b.currency, b.amount_minor)].append(b.entry_id)
        self.payments: dict[int, PaymentSeen] = {s.payment_id: s for s in payments}
        self.payments_by_amount: dict[tuple[str, int], list[int]] = defaultdict(list)
        for seen in self.payments.values():
            self.payments_by_amount[(seen.currency, seen.amount_minor)].append(seen.payment_id)
        self.credits: dict[tuple[int, str], int] = dict(credits_minor or {})
        self.own_accounts = frozenset(_iban(a) for a in own_accounts if a)
        self._rate = rate
        self._names = names
        self._known = known

    # what the run uses up

    def settle(self, candidate: Candidate, line: Line) -> None:
        """Take out what a candidate posted for `line` used: open amounts, book entries, a
        payment that was returned; customer credit kept or refunded."""
        currency = line.currency
        for a in candidate.allocations:
            inv = self.invoices.get(a.invoice_id)
            if inv is None:
                continue
            left = inv.open_minor - a.amount_minor - a.discount_minor
            self.by_amount[(inv.currency, inv.open_minor)].discard(inv.id)
            if left > 0:
                self.invoices[inv.id] = replace(inv, open_minor=left)
                self.by_amount[(inv.currency, left)].add(inv.id)
            else:
                del self.invoices[inv.id]
                self.by_key.pop(inv.key, None)
                self.by_customer[inv.customer_id].remove(inv.id)
        if candidate.customer_id is not None and candidate.credit_minor:
            key = (candidate.customer_id, currency)
            self.credits[key] = self.credits.get(key, 0) + candidate.credit_minor
        for entry_id in candidate.book_entry_ids:
            item = self.book.pop(entry_id, None)
            if item is not None:
                self.book_by_amount[(item.currency, item.amount_minor)].remove(entry_id)
        if candidate.action == Action.RETURN and candidate.payment_id is not None:
            returned = self.payments.pop(candidate.payment_id, None)
            if returned is not None:
                amount_key = (returned.currency, returned.amount_minor)
                self.payments_by_amount[amount_key].remove(returned.payment_id)
        if candidate.action == Action.REFUND and candidate.customer_id is not None:
            key = (candidate.customer_id, currency)
            self.credits[key] = self.credits.get(key, 0) + line.amount_minor  # money out

    def learn(self, payer_id: int, iban: str) -> None:
        """A payer's account learned from a decision during the run (as the book records it)."""
        if iban and payer_id in self.payers:
            payer = self.payers[payer_id]
            if _iban(iban) not in {_iban(i) for i in payer.ibans}:
                self.payers[payer_id] = replace(payer, ibans=(*payer.ibans, iban))
            self.by_iban[_iban(iban)].add(payer_id)

    def add_payment(self, seen: PaymentSeen) -> None:
        """A payment posted during the run, which a later line may return."""
        self.payments[seen.payment_id] = seen
        self.payments_by_amount[(seen.currency, seen.amount_minor)].append(seen.payment_id)

    # lookups

    def open_of(self, customer_id: int) -> list[OpenInvoice]:
        return [self.invoices[i] for i in self.by_customer.get(customer_id, ())]

    def rate(self, from_currency: str, to_currency: str, on: date) -> Decimal | None:
        if from_currency == to_currency:
            return Decimal(1)
        return self._rate(from_currency, to_currency, on) if self._rate else None

    def payer_of(self, line: Line) -> tuple[Payer | None, str]:
        """The customer the money comes from and how we know: "iban", "name" or ""."""
        account = _iban(line.counterparty_account)
        if account:
            ids = self.by_iban.get(account, set())
            if len(ids) == 1:
                return self.payers[next(iter(ids))], "iban"
        if line.counterparty_name and self._names is not None:
            scored = list(self._names(line.counterparty_name))
            if scored and scored[0][1] >= self.settings.name_score_min:
                runner_up = scored[1][1] if len(scored) > 1 else 0
                if scored[0][1] - runner_up >= 5 and scored[0][0] in self.payers:
                    return self.payers[scored[0][0]], "name"
        return None, ""

    def shared_account(self, line: Line) -> frozenset[int]:
        """The customers who share the line's account (a parent paying for its subsidiaries)."""
        return frozenset(self.by_iban.get(_iban(line.counterparty_account), set()))

    def known(self, key: str) -> tuple[str, int] | None:
        return self._known(key) if self._known else None


# -- amount fits --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fit:
    kind: str  # exact | small | fee | discount | fx | instructed | partial | over
    allocations: tuple[Allocation, ...]
    fee_minor: int = 0
    credit_minor: int = 0
    rate: Decimal | None = None
    note: str = ""

    @property
    def full(self) -> bool:
        """The amount settles the invoices (possibly less a fee, discount or small difference)."""
        return self.kind not in ("partial", "over")


def _in_order(invoices: Sequence[OpenInvoice], amount: int) -> tuple[Allocation, ...]:
    out: list[Allocation] = []
    left = amount
    for inv in invoices:
        if left <= 0:
            break
        take = min(left, inv.open_minor)
        out.append(Allocation(inv.id, inv.number, take))
        left -= take
    return tuple(out)


def _full(invoices: Sequence[OpenInvoice]) -> tuple[Allocation, ...]:
    return tuple(Allocation(i.id, i.number, i.open_minor) for i in invoices)


def _discount_of(inv: OpenInvoice, on: date, grace_days: int) -> int:
    """The discount still allowed on `inv` for a payment booked on `on` (the invoice unpaid)."""
    if not inv.discount_minor or inv.discount_until is None or inv.open_minor != inv.total_minor:
        return 0
    return inv.discount_minor if (on - inv.discount_until).days <= grace_days else 0


def _fit(index: MatchIndex, invoices: Sequence[OpenInvoice], line: Line) -> _Fit | None:
    """How the line's amount settles `invoices` (all of one customer, in the order named)."""
    amount, currency = line.amount_minor, line.currency
    currencies = {i.currency for i in invoices}
    if len(currencies) != 1 or amount <= 0:
        return None
    inv_currency = next(iter(currencies))
    if inv_currency != currency:
        return _fit_fx(index, invoices, line, inv_currency)
    total = sum(i.open_minor for i in invoices)
    s = index.settings
    if amount == total:
        return _Fit("exact", _full(invoices))
    if amount > total:
        over = amount - total
        return _Fit(
            "over",
            _full(invoices),
            credit_minor=over,
            note=f"{_money(over, currency)} left as credit",
        )
    short = total - amount
    small = s.small_minor.get(currency, 0)
    if short <= small:
        return _Fit(
            "small",
            _in_order(invoices, amount),
            note=f"short by {_money(short, currency)}, closed as a small difference",
        )
    if short in s.fees_minor.get(currency, ()):
        return _Fit(
            "fee",
            _full(invoices),
            fee_minor=short,
            note=f"short by {_money(short, currency)}: a bank fee",
        )
    discounts = [_discount_of(i, line.booked_on, s.discount_grace_days) for i in invoices]
    if any(discounts) and sum(discounts) == short:
        allocations = tuple(
            Allocation(i.id, i.number, i.open_minor - d, d)
            for i, d in zip(invoices, discounts, strict=True)
        )
        return _Fit(
            "discount",
            allocations,
            note=f"less the early-payment discount of {_money(short, currency)} the terms allow",
        )
    return _Fit(
        "partial",
        _in_order(invoices, amount),
        note=f"a part payment: {_money(short, currency)} stays open",
    )


def _effective_rate(
    amount: int, currency: str, opens: Sequence[int], inv_currency: str
) -> Decimal | None:
    """The rate at which the open amounts of the invoice currency, each converted on its own
    (as the allocations will be), add up to exactly `amount`; None when rounding prevents it."""
    value = Decimal(amount).scaleb(-EXPONENTS.get(currency, 2))
    owed = Decimal(sum(opens)).scaleb(-EXPONENTS.get(inv_currency, 2))
    if owed <= 0:
        return None
    rate = (value / owed).quantize(Decimal(1).scaleb(-RATE_PLACES))
    converted = sum(convert_minor(o, inv_currency, currency, rate) for o in opens)
    if rate <= 0 or converted != amount:
        return None
    return rate


def _fit_fx(
    index: MatchIndex, invoices: Sequence[OpenInvoice], line: Line, inv_currency: str
) -> _Fit | None:
    amount, currency = line.amount_minor, line.currency
    total = sum(i.open_minor for i in invoices)
    owed = _money(total, inv_currency)
    if line.instructed_currency == inv_currency and line.instructed_minor == total:
        rate = _effective_rate(amount, currency, [i.open_minor for i in invoices], inv_currency)
        if rate is not None:
            return _Fit(
                "instructed",
                _full(invoices),
                rate=rate,
                note=(
                    f"the payer sent {owed}, booked as {_money(amount, currency)} "
                    f"(1 {inv_currency} = {rate.normalize()} {currency})"
                ),
            )
    day_rate = index.rate(inv_currency, currency, line.booked_on)
    if day_rate is None:
        return None
    expected = convert_minor(total, inv_currency, currency, day_rate)
    off = abs(amount - expected)
    if expected > 0 and off * 10_000 <= expected * index.settings.fx_tolerance_bps:
        rate = _effective_rate(amount, currency, [i.open_minor for i in invoices], inv_currency)
        if rate is not None:
            percent = Decimal(off * 100) / Decimal(expected)
            return _Fit(
                "fx",
                _full(invoices),
                rate=rate,
                note=(
                    f"{owed} paid as {_money(amount, currency)}, {percent:.2f}% from the day's "
                    f"rate {day_rate.normalize()}"
                ),
            )
    return None


_FIT_CONFIDENCE = {
    "exact": REF_EXACT_NUMBER,
    "instructed": REF_INSTRUCTED_FX,
    "small": REF_SMALL,
    "fee": REF_FEE,
    "discount": REF_DISCOUNT,
    "fx": REF_FX,
}


def _payment(
    confidence: int, rule: str, explanation: str, customer_id: int, fit: _Fit
) -> Candidate:
    return Candidate(
        Action.PAYMENT,
        max(0, min(100, confidence)),
        rule,
        explanation[:300],
        customer_id=customer_id,
        allocations=fit.allocations,
        fee_minor=fit.fee_minor,
        rate=fit.rate,
        credit_minor=fit.credit_minor,
    )


def _numbers(invoices: Sequence[OpenInvoice]) -> str:
    names = [i.number for i in invoices[:4]]
    more = f" and {len(invoices) - 4} more" if len(invoices) > 4 else ""
    return ", ".join(names) + more


# -- the rules ----------------------------------------------------------------------------------


def _by_reference(
    index: MatchIndex, line: Line, refs: _Refs, payer: Payer | None, how: str
) -> list[Candidate]:
    named = [index.invoices[index.by_key[k]] for k in refs.exact if k in index.by_key]
    closed = [k for k in refs.exact if k not in index.by_key]
    out: list[Candidate] = []
    if not named:
        for key in closed[:2]:
            known = index.known(key)
            if known is not None:
                number, customer_id = known
                out.append(
                    Candidate(
                        Action.PAYMENT,
                        ALREADY_PAID,
                        "reference, paid already",
                        f"the text names {number}, which is paid already: a second payment? "
                        "kept as credit",
                        customer_id=customer_id,
                        credit_minor=max(0, line.amount_minor),
                    )
                )
        return out
    groups: dict[int, list[OpenInvoice]] = defaultdict(list)
    for inv in named:
        groups[inv.customer_id].append(inv)
    several = len(groups) > 1
    for customer_id, invoices in groups.items():
        fit = _fit(index, invoices, line)
        if fit is None:
            continue
        code = index.payers[customer_id].code if customer_id in index.payers else str(customer_id)
        rf = all(i.key in refs.rf for i in invoices)
        what = f"{'RF reference' if rf else 'the text'} names {_numbers(invoices)} of {code}"
        if fit.kind == "exact":
            confidence = REF_EXACT_RF if rf else REF_EXACT_NUMBER
            detail = "the amount is what is open"
        elif fit.full:
            confidence = _FIT_CONFIDENCE[fit.kind]
            detail = fit.note
        else:
            from_payer = payer is not None and payer.id == customer_id
            if fit.kind == "partial":
                confidence = REF_PARTIAL_PAYER if from_payer else REF_PARTIAL
            else:
                confidence = REF_OVER_PAYER if from_payer else REF_OVER
            detail = fit.note
            if _trap(index, invoices, line):
                confidence = min(confidence, TRAP)
                detail += "; another open invoice one character away is for exactly this amount"
        rule = "reference"
        if several:
            confidence = min(confidence, CONFLICT_CUSTOMERS)
            detail += "; the text names invoices of several customers"
            rule = "reference, several customers"
        elif (
            payer is not None
            and payer.id != customer_id
            and customer_id not in index.shared_account(line)
        ):
            cap = CONFLICT_PAYER if how == "iban" else CONFLICT_NAME
            confidence = min(confidence, cap)
            source = "account" if how == "iban" else "name"
            detail += f"; but the money comes from {payer.code}'s {source}"
            rule = "reference, other payer"
        out.append(_payment(confidence, rule, f"{what}; {detail}", customer_id, fit))
    return out


def _trap(index: MatchIndex, invoices: Sequence[OpenInvoice], line: Line) -> bool:
    """Whether an invoice one typing mistake away from a named one is open for exactly the
    line's amount: then the payer may have mistyped the number, and the part payment of the
    named invoice may be wrong."""
    for inv in invoices:
        for key in _one_edit_variants(inv.key, index.prefixes):
            other = index.by_key.get(key)
            if other is not None and index.invoices[other].open_minor == line.amount_minor:
                return True
    return False


def _by_near_reference(
    index: MatchIndex, line: Line, refs: _Refs, payer: Payer | None, how: str
) -> list[Candidate]:
    hits: dict[int, str] = {}
    for token in refs.near:
        if token in index.by_key:
            continue  # an open invoice's number, exactly: not a typo
        for key in _one_edit_variants(token, index.prefixes):
            inv_id = index.by_key.get(key)
            if inv_id is not None:
                hits.setdefault(inv_id, token)
    fitting: list[tuple[OpenInvoice, _Fit, str]] = []
    loose: list[tuple[OpenInvoice, _Fit, str]] = []
    for inv_id, token in hits.items():
        inv = index.invoices[inv_id]
        fit = _fit(index, [inv], line)
        if fit is None:
            continue
        (fitting if fit.full else loose).append((inv, fit, token))
    out: list[Candidate] = []
    for inv, fit, token in fitting:
        code = index.payers[inv.customer_id].code if inv.customer_id in index.payers else ""
        written = f"{token} written for {inv.number} of {code} (one character off)"
        if len(fitting) > 1:
            confidence, detail = NEAR_LOOSE, "several invoices are one character away"
        elif payer is not None and payer.id == inv.customer_id:
            confidence, detail = (
                NEAR_PAYER,
                f"paid from {code}'s known {'account' if how == 'iban' else 'name'}",
            )
        elif payer is not None:
            confidence, detail = CONFLICT_PAYER, f"but the money comes from {payer.code}"
        else:
            confidence, detail = NEAR, "the payer is not known"
        amount = "the amount is what is open" if fit.kind == "exact" else fit.note
        out.append(
            _payment(
                confidence, "reference~", f"{written}; {amount}; {detail}", inv.customer_id, fit
            )
        )
    for inv, fit, token in loose:
        out.append(
            _payment(
                NEAR_LOOSE,
                "reference~",
                f"{token} written for {inv.number} (one character off); {fit.note}",
                inv.customer_id,
                fit,
            )
        )
    return out


def _subsets(invoices: Sequence[OpenInvoice], amount: int) -> list[tuple[OpenInvoice, ...]]:
    """Combinations of 2..SUBSET_SIZE_MAX invoices whose open amounts add up to `amount`, at
    most two (one is an answer, two an ambiguity), within SUBSET_NODES_MAX steps."""
    items = sorted(invoices[:SUBSET_INVOICES_MAX], key=lambda i: -i.open_minor)
    suffix = [0] * (len(items) + 1)
    for i in range(len(items) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + items[i].open_minor
    found: list[tuple[OpenInvoice, ...]] = []
    steps = 0
    chosen: list[OpenInvoice] = []

    def walk(start: int, left: int) -> bool:
        nonlocal steps
        if left == 0:
            if len(chosen) >= 2:
                found.append(tuple(sorted(chosen, key=lambda i: (i.issued_on, i.id))))
            return len(found) >= 2
        if len(chosen) >= SUBSET_SIZE_MAX:
            return False
        for i in range(start, len(items)):
            steps += 1
            if steps > SUBSET_NODES_MAX or suffix[i] < left:
                return steps > SUBSET_NODES_MAX
            value = items[i].open_minor
            if value > left:
                continue
            chosen.append(items[i])
            stop = walk(i + 1, left - value)
            chosen.pop()
            if stop:
                return True
        return False

    walk(0, amount)
    return found


def _by_payer(index: MatchIndex, line: Line, payer: Payer, how: str) -> list[Candidate]:
    strong = how == "iban"
    known = f"{payer.code}'s known {'account' if strong else 'name'}"
    invoices = [i for i in index.open_of(payer.id) if i.currency == line.currency]
    out: list[Candidate] = []
    amount = line.amount_minor
    # The running number alone ("invoice 123"), when the payer is known.
    digits = {int(t) for t in _SEQ_TOKEN.findall(line.remittance.upper())}
    for inv in invoices:
        if digits and int(inv.key[-6:]) in digits:
            fit = _fit(index, [inv], line)
            if fit is not None and fit.full:
                conf = PAYER_IBAN_SEQUENCE if strong else PAYER_NAME_SEQUENCE
                text = (
                    f"from {known}; the text gives {int(inv.key[-6:])}, the number of {inv.number}"
                )
                out.append(
                    _payment(conf, "payer+number", f"{text}; {_fit_text(fit)}", payer.id, fit)
                )
    if out:
        return out
    equal = [i for i in invoices if i.open_minor == amount]
    if len(equal) == 1:
        conf = PAYER_IBAN_ONE if strong else PAYER_NAME_ONE
        fit = _Fit("exact", _full(equal))
        text = f"no reference; from {known}; the amount is what is open on {equal[0].number}"
        combos = _subsets([i for i in invoices if i.id != equal[0].id], amount)
        if not combos:
            return [_payment(conf, "payer+amount", text, payer.id, fit)]
        # Two of its other invoices add up to the same amount: one invoice or several?
        out.append(_payment(PAYER_AMBIGUOUS, "payer+amount", text, payer.id, fit))
        for combo in combos:
            text = f"from {known}; or {len(combo)} open invoices together: {_numbers(combo)}?"
            out.append(
                _payment(
                    PAYER_COMBINATIONS,
                    "payer+combination",
                    text,
                    payer.id,
                    _Fit("exact", _full(combo)),
                )
            )
        return out
    if len(equal) > 1:
        for inv in equal[:3]:
            text = f"from {known}; {len(equal)} open invoices are for this amount; {inv.number}?"
            out.append(
                _payment(
                    PAYER_AMBIGUOUS, "payer+amount", text, payer.id, _Fit("exact", _full([inv]))
                )
            )
        return out
    for inv in invoices:
        fit = _fit(index, [inv], line)
        if fit is not None and fit.kind in ("small", "fee", "discount"):
            if fit.kind == "discount":
                conf = PAYER_IBAN_DISCOUNT if strong else PAYER_NAME_DISCOUNT
            else:
                conf = PAYER_IBAN_ADJUSTED if strong else PAYER_NAME_ADJUSTED
            text = f"no reference; from {known}; {inv.number} {fit.note}"
            out.append(_payment(conf, "payer+" + fit.kind, text, payer.id, fit))
    if len(out) > 1:
        out = [replace(c, confidence=min(c.confidence, PAYER_AMBIGUOUS)) for c in out]
    if out:
        return out
    combos = _subsets(invoices, amount)
    if len(combos) == 1:
        combo = combos[0]
        every = len(combo) == len(invoices)
        if strong:
            conf = PAYER_IBAN_ALL if every else PAYER_IBAN_COMBINATION
        else:
            conf = PAYER_NAME_COMBINATION
        which = "all its open invoices" if every else f"{len(combo)} of its open invoices"
        text = f"no reference; from {known}; the amount is {which} together: {_numbers(combo)}"
        return [_payment(conf, "payer+combination", text, payer.id, _Fit("exact", _full(combo)))]
    for combo in combos:
        text = f"from {known}; several combinations of open invoices add up: {_numbers(combo)}?"
        out.append(
            _payment(
                PAYER_COMBINATIONS, "payer+combination", text, payer.id, _Fit("exact", _full(combo))
            )
        )
    if out:
        return out
    if invoices:
        allocations = _in_order(invoices, amount)
        left = amount - sum(a.amount_minor for a in allocations)
        fit = _Fit("partial", allocations, credit_minor=left)
        paid = _numbers(invoices[: len(allocations)])
        text = f"from {known}; the amount fits no open invoice; oldest first would pay {paid}"
        out.append(_payment(PAYER_OLDEST, "payer, oldest first", text, payer.id, fit))
    out.append(
        _payment(
            PAYER_CREDIT,
            "payer, credit",
            f"from {known}; keep the {_money(amount, line.currency)} as credit of {payer.code}",
            payer.id,
            _Fit("over", (), credit_minor=amount),
        )
    )
    return out


def _fit_text(fit: _Fit) -> str:
    return "the amount is what is open" if fit.kind == "exact" else fit.note


def _by_unique_amount(index: MatchIndex, line: Line) -> list[Candidate]:
    ids = index.by_amount.get((line.currency, line.amount_minor), set())
    if len(ids) != 1:
        return []
    inv = index.invoices[next(iter(ids))]
    code = index.payers[inv.customer_id].code if inv.customer_id in index.payers else ""
    text = (
        f"no reference, payer not known; {inv.number} of {code} is the only open invoice of "
        f"{_money(line.amount_minor, line.currency)}"
    )
    return [
        _payment(UNIQUE_AMOUNT, "amount only", text, inv.customer_id, _Fit("exact", _full([inv])))
    ]


def _by_book(index: MatchIndex, line: Line, payer: Payer | None, refs: _Refs) -> list[Candidate]:
    window = index.settings.book_window_days
    items = [
        index.book[e]
        for e in index.book_by_amount.get((line.currency, line.amount_minor), ())
        if abs((index.book[e].on - line.booked_on).days) <= window
    ]
    out: list[Candidate] = []
    text = _compact(" ".join((line.remittance, line.creditor_reference, line.end_to_end_id)))
    referenced = {
        index.invoices[index.by_key[k]].customer_id for k in refs.exact if k in index.by_key
    }
    for item in items:
        same_payer = payer is not None and item.customer_id == payer.id
        named = any(k in refs.exact for k in item.invoice_keys) or item.customer_id in referenced
        quoted = len(_compact(item.text)) >= 6 and _compact(item.text) in text
        what = (
            f"{item.kind} {item.payment_id or item.entry_id} of {item.on.isoformat()} in the book"
        )
        if same_payer or named or quoted:
            conf, why = BOOK_CONFIRMED, "same payer" if same_payer else "same reference"
        elif len(items) == 1:
            conf, why = BOOK_AMOUNT, "same amount within days"
        else:
            conf, why = BOOK_AMBIGUOUS, f"{len(items)} book entries of this amount"
        out.append(
            Candidate(
                Action.BOOK,
                conf,
                "already in the book",
                f"already recorded: {what} ({why})",
                customer_id=item.customer_id,
                book_entry_ids=(item.entry_id,),
            )
        )
    return out


def _by_return(index: MatchIndex, line: Line, payer: Payer | None) -> list[Candidate]:
    window = index.settings.return_window_days
    seen = [
        index.payments[p]
        for p in index.payments_by_amount.get((line.currency, -line.amount_minor), ())
        if 0 <= (line.booked_on - index.payments[p].received_on).days <= window
    ]
    reason = line.return_reason if line.return_reason != "RETURN" else "no reason code"
    out: list[Candidate] = []
    for p in seen:
        code = index.payers[p.customer_id].code if p.customer_id in index.payers else ""
        what = (
            f"returned ({reason}): payment {p.payment_id} of {code} of {p.received_on.isoformat()}"
        )
        if line.end_to_end_id and line.end_to_end_id == p.end_to_end_id:
            conf, why = RETURN_E2E, "same end-to-end id"
        elif payer is not None and payer.id == p.customer_id:
            conf, why = RETURN_PAYER, "same payer"
        elif p.payer_account and p.payer_account == _iban(line.counterparty_account):
            conf, why = RETURN_PAYER, "same account"
        elif len(seen) == 1:
            conf, why = RETURN_AMOUNT, "the only payment of this amount"
        else:
            conf, why = RETURN_AMBIGUOUS, f"{len(seen)} payments of this amount"
        out.append(
            Candidate(
                Action.RETURN,
                conf,
                "returned payment",
                f"{what} ({why}); its invoices open again",
                customer_id=p.customer_id,
                payment_id=p.payment_id,
            )
        )
    return out


def _by_kind(index: MatchIndex, line: Line, payer: Payer | None) -> list[Candidate]:
    """Charges, interest, transfers between own accounts: money that is no customer's."""
    code = line.transaction_code.upper()
    text = " ".join((line.remittance, line.counterparty_name))
    account = _iban(line.counterparty_account)
    if account and account in index.own_accounts:
        return [_other(TRANSFER_OWN, "transfer", "the counterparty is one of our own accounts")]
    parts = set(re.split(r"[/ ]", code))
    if parts & set(_FEE_CODES) and line.amount_minor < 0:
        return [
            _other(OTHER_CODE, "fee", f"bank charges (transaction code {line.transaction_code})")
        ]
    if parts & set(_INTEREST_CODES):
        return [
            _other(OTHER_CODE, "interest", f"interest (transaction code {line.transaction_code})")
        ]
    bankish = not line.counterparty_name or "bank" in line.counterparty_name.lower()
    if payer is None and _FEE_TEXT.search(text) and line.amount_minor < 0:
        conf = OTHER_TEXT if bankish else OTHER_TEXT_LOOSE
        if bankish and -line.amount_minor <= OTHER_TEXT_SMALL_MINOR:
            conf = OTHER_TEXT_BANK
        return [_other(conf, "fee", "bank charges (the booking text says so)")]
    if payer is None and _INTEREST_TEXT.search(text):
        conf = OTHER_TEXT if bankish else OTHER_TEXT_LOOSE
        return [_other(conf, "interest", "interest (the booking text says so)")]
    return []


def _other(confidence: int, category: str, explanation: str) -> Candidate:
    return Candidate(Action.OTHER, confidence, category, explanation, category=category)


def _by_refund(index: MatchIndex, line: Line, payer: Payer | None) -> list[Candidate]:
    if payer is None:
        return []
    credit = index.credits.get((payer.id, line.currency), 0)
    if credit < -line.amount_minor:
        return []
    return [
        Candidate(
            Action.REFUND,
            REFUND_CREDIT,
            "refund",
            f"money out to {payer.code}, who has {_money(credit, line.currency)} of credit: "
            "a refund?",
            customer_id=payer.id,
        )
    ]


def _names_others(index: MatchIndex, refs: _Refs, payer: Payer) -> bool:
    return any(
        index.invoices[index.by_key[k]].customer_id != payer.id
        for k in refs.exact
        if k in index.by_key
    )


def propose(index: MatchIndex, line: Line) -> tuple[Candidate, ...]:
    """The candidates for one line, best first (at most CANDIDATES_MAX)."""
    if line.amount_minor == 0:
        return ()
    payer, how = index.payer_of(line)
    refs = _references(line, index.prefixes)
    found: list[Candidate] = []
    if line.amount_minor > 0:
        found += _by_book(index, line, payer, refs)
        found += _by_reference(index, line, refs, payer, how)
        if not any(c.rule == "reference" for c in found):
            near = _by_near_reference(index, line, refs, payer, how)
            if payer is not None and _names_others(index, refs, payer):
                # As for the payer's own matches below: when the text names another
                # customer's open invoice, a mistyped number does not decide either.
                near = [replace(c, confidence=min(c.confidence, CONFLICT_NAME)) for c in near]
            found += near
        if not any(c.action == Action.PAYMENT and c.confidence >= NEAR for c in found):
            if payer is not None:
                by_payer = _by_payer(index, line, payer, how)
                if _names_others(index, refs, payer):
                    # The text names another customer's open invoice: whatever the payer owes,
                    # a person decides which debt this money settles.
                    by_payer = [
                        replace(c, confidence=min(c.confidence, CONFLICT_NAME)) for c in by_payer
                    ]
                else:
                    # The text names one of the payer's open invoices, the amount fits another:
                    # a guess from the amount never overrides what the payer wrote.
                    named = {index.by_key[k] for k in refs.exact if k in index.by_key}
                    by_payer = [
                        c
                        if not named or named <= {a.invoice_id for a in c.allocations}
                        else replace(c, confidence=min(c.confidence, PAYER_AMBIGUOUS))
                        for c in by_payer
                    ]
                found += by_payer
            elif not refs.exact:
                found += _by_unique_amount(index, line)
        found += _by_kind(index, line, payer)
    else:
        if line.return_reason:
            found += _by_return(index, line, payer)
        found += _by_book(index, line, payer, refs)
        found += _by_kind(index, line, payer)
        if not found:
            found += _by_refund(index, line, payer)
    order = {a: i for i, a in enumerate(Action)}
    found.sort(key=lambda c: (-c.confidence, order[c.action]))
    return tuple(found[:CANDIDATES_MAX])


def automatic(candidates: Sequence[Candidate], settings: MatchSettings) -> Candidate | None:
    """The candidate to post without asking: at or above the threshold, ahead of the next by
    MARGIN, and not a refund (money paid out on a guess is never automatic)."""
    if not candidates:
        return None
    best = candidates[0]
    if best.confidence < settings.auto_threshold or best.action == Action.REFUND:
        return None
    if len(candidates) > 1 and best.confidence - candidates[1].confidence < MARGIN:
        return None
    return best


def check_candidate(line: Line, candidate: Candidate, invoices: Mapping[int, OpenInvoice]) -> None:
    """The invariants every payment candidate keeps, raised as InvariantError when broken:
    what goes onto invoices (converted at the candidate's rate) plus what stays credit is the
    money received plus the fee the bank kept; no invoice gets more than is open; all invoices
    are the candidate's customer's."""
    if candidate.action != Action.PAYMENT:
        return
    received = line.amount_minor + candidate.fee_minor
    used = 0
    for a in candidate.allocations:
        inv = invoices.get(a.invoice_id)
        if inv is None or inv.customer_id != candidate.customer_id:
            raise InvariantError(f"{a.number} is not an open invoice of the payer")
        if a.amount_minor + a.discount_minor > inv.open_minor:
            raise InvariantError(f"{a.number} would get more than is open")
        if inv.currency == line.currency:
            used += a.amount_minor
        elif candidate.rate is None:
            raise InvariantError(f"{a.number} is in {inv.currency} and no rate was given")
        else:
            used += convert_minor(a.amount_minor, inv.currency, line.currency, candidate.rate)
    if used + candidate.credit_minor != received:
        raise InvariantError(
            f"allocations {used} + credit {candidate.credit_minor} != received {received}"
        )
