"""Double-entry journal entries for every financial event, as pure functions.

Sign convention: a posting's `amount_minor` is positive for a debit and negative for a credit.
An entry balances when its postings sum to zero in every currency. Receivable postings carry
the customer and the document they concern, so the open amount of a document is the sum of
the receivable postings that name it, and a customer's balance is the sum of theirs: both are
derived from the journal, never stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from openbill.domain.rejections import InvariantError

__all__ = [
    "Account",
    "ACCOUNT_NAMES",
    "Posting",
    "JournalEntry",
    "unbalanced_currencies",
    "invoice_issued",
    "credit_note_issued",
    "payment_received",
    "payment_allocated",
    "credit_note_applied",
    "refund_paid",
    "written_off",
    "fx_payment_allocated",
    "payment_reversed",
    "bank_booked",
    "discount_granted",
    "mirrored",
]


class Account(StrEnum):
    """The fixed accounts of the receivables ledger. Revenue accounts come from charge codes."""

    RECEIVABLE = "1100"
    BANK = "1200"  # the default bank account; each bank account may have its own 12xx
    BANK_TRANSFERS = "1280"  # money on its way between the entity's own bank accounts
    FX_CONVERSION = "1290"  # currency trading: keeps each currency balanced in a conversion
    CUSTOMER_CREDIT = "2100"  # money received and not yet applied, owed back to the customer
    VAT_PAYABLE = "2200"
    BAD_DEBT = "6900"
    CHARGES_BILLED = "4800"  # document-level charges (EN 16931 BG-21), e.g. freight
    ALLOWANCES_GRANTED = "4900"  # document-level allowances (BG-20): a contra-revenue account
    PAYMENT_DIFFERENCES = "6910"  # small short payments closed on purpose (within tolerance)
    FX_REALISED = "7900"  # realised exchange differences (credit: gain, debit: loss)
    OPENING_BALANCE = "3900"  # opening balances brought into the book (equity)
    CASH_DISCOUNTS = "4910"  # early-payment discounts granted (contra revenue)
    BANK_CHARGES = "6930"  # fees the bank charged or kept from a payment
    INTEREST_INCOME = "7100"
    INTEREST_EXPENSE = "7500"


ACCOUNT_NAMES: dict[str, str] = {
    Account.RECEIVABLE: "Accounts receivable",
    Account.BANK: "Bank",
    Account.CUSTOMER_CREDIT: "Customer credit (unapplied cash)",
    Account.VAT_PAYABLE: "Output VAT payable",
    Account.BAD_DEBT: "Bad debt expense",
    Account.CHARGES_BILLED: "Charges billed (document level)",
    Account.ALLOWANCES_GRANTED: "Allowances granted (document level)",
    Account.FX_CONVERSION: "Currency conversion",
    Account.PAYMENT_DIFFERENCES: "Small payment differences written off",
    Account.FX_REALISED: "Realised exchange differences",
    Account.BANK_TRANSFERS: "Transfers between own bank accounts",
    Account.OPENING_BALANCE: "Opening balances",
    Account.CASH_DISCOUNTS: "Early-payment discounts granted",
    Account.BANK_CHARGES: "Bank charges",
    Account.INTEREST_INCOME: "Interest income",
    Account.INTEREST_EXPENSE: "Interest expense",
}


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount_minor: int  # debit > 0, credit < 0
    currency: str
    customer_id: int | None = None
    document_id: int | None = None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    entry_date: date
    kind: str
    description: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if not self.postings:
            raise InvariantError(f"journal entry {self.kind!r} has no postings")
        bad = unbalanced_currencies(self.postings)
        if bad:
            raise InvariantError(f"journal entry {self.kind!r} does not balance in {bad}")


def unbalanced_currencies(postings: tuple[Posting, ...] | list[Posting]) -> dict[str, int]:
    """Currencies whose postings do not sum to zero, with the difference."""
    sums: dict[str, int] = defaultdict(int)
    for posting in postings:
        sums[posting.currency] += posting.amount_minor
    return {currency: total for currency, total in sums.items() if total != 0}


def _entry(on: date, kind: str, text: str, postings: list[Posting]) -> JournalEntry:
    return JournalEntry(on, kind, text, tuple(p for p in postings if p.amount_minor != 0))


def _document_entry(
    sign: int,
    kind: str,
    on: date,
    number: str,
    document_id: int,
    customer_id: int,
    currency: str,
    revenue_by_account: Mapping[str, int],
    tax_minor: int,
) -> JournalEntry:
    total = sum(revenue_by_account.values()) + tax_minor
    postings = [Posting(Account.RECEIVABLE, sign * total, currency, customer_id, document_id)]
    for account in sorted(revenue_by_account):
        postings.append(Posting(account, -sign * revenue_by_account[account], currency))
    postings.append(Posting(Account.VAT_PAYABLE, -sign * tax_minor, currency))
    if total == 0:
        # A zero document still leaves a trace in the journal: one zero receivable line.
        return JournalEntry(on, kind, number, (postings[0],))
    return _entry(on, kind, number, postings)


def invoice_issued(
    on: date,
    number: str,
    document_id: int,
    customer_id: int,
    currency: str,
    revenue_by_account: Mapping[str, int],
    tax_minor: int,
) -> JournalEntry:
    """Dr receivable (total) / Cr revenue per account (net) / Cr output VAT (tax)."""
    return _document_entry(
        1, "invoice", on, number, document_id, customer_id, currency, revenue_by_account, tax_minor
    )


def credit_note_issued(
    on: date,
    number: str,
    document_id: int,
    customer_id: int,
    currency: str,
    revenue_by_account: Mapping[str, int],
    tax_minor: int,
) -> JournalEntry:
    """The mirror of an invoice: Dr revenue and VAT / Cr receivable."""
    return _document_entry(
        -1,
        "credit_note",
        on,
        number,
        document_id,
        customer_id,
        currency,
        revenue_by_account,
        tax_minor,
    )


def payment_received(
    on: date,
    text: str,
    customer_id: int,
    currency: str,
    amount_minor: int,
    bank_account: str = Account.BANK,
) -> JournalEntry:
    """Cash in: Dr bank / Cr customer credit until it is applied to invoices."""
    return _entry(
        on,
        "payment",
        text,
        [
            Posting(bank_account, amount_minor, currency),
            Posting(Account.CUSTOMER_CREDIT, -amount_minor, currency, customer_id),
        ],
    )


def payment_allocated(
    on: date, text: str, customer_id: int, currency: str, invoice_id: int, amount_minor: int
) -> JournalEntry:
    """Applying customer credit to an invoice: Dr customer credit / Cr receivable (invoice)."""
    return _entry(
        on,
        "allocation",
        text,
        [
            Posting(Account.CUSTOMER_CREDIT, amount_minor, currency, customer_id),
            Posting(Account.RECEIVABLE, -amount_minor, currency, customer_id, invoice_id),
        ],
    )


def credit_note_applied(
    on: date,
    text: str,
    customer_id: int,
    currency: str,
    credit_note_id: int,
    invoice_id: int,
    amount_minor: int,
) -> JournalEntry:
    """Using a credit note against an invoice moves receivable between the two documents."""
    return _entry(
        on,
        "credit_application",
        text,
        [
            Posting(Account.RECEIVABLE, amount_minor, currency, customer_id, credit_note_id),
            Posting(Account.RECEIVABLE, -amount_minor, currency, customer_id, invoice_id),
        ],
    )


def refund_paid(
    on: date,
    text: str,
    customer_id: int,
    currency: str,
    amount_minor: int,
    bank_account: str = Account.BANK,
) -> JournalEntry:
    """Paying customer credit back: Dr customer credit / Cr bank."""
    return _entry(
        on,
        "refund",
        text,
        [
            Posting(Account.CUSTOMER_CREDIT, amount_minor, currency, customer_id),
            Posting(bank_account, -amount_minor, currency),
        ],
    )


def written_off(
    on: date,
    text: str,
    customer_id: int,
    currency: str,
    invoice_id: int,
    amount_minor: int,
    account: str = Account.BAD_DEBT,
) -> JournalEntry:
    """Giving up on an open amount: Dr bad debt (or payment differences, for a small short
    payment closed on purpose) / Cr receivable (invoice)."""
    return _entry(
        on,
        "write_off",
        text,
        [
            Posting(account, amount_minor, currency),
            Posting(Account.RECEIVABLE, -amount_minor, currency, customer_id, invoice_id),
        ],
    )


def fx_payment_allocated(
    on: date,
    text: str,
    customer_id: int,
    invoice_id: int,
    paid: tuple[str, int],
    settled: tuple[str, int],
    base_currency: str,
    difference_minor: int,
) -> JournalEntry:
    """A payment in one currency settling an invoice in another.

    Dr customer credit / Cr conversion in the payment currency (`paid`), Dr conversion / Cr
    receivable in the invoice currency (`settled`), and the realised difference in the base
    currency: Dr conversion / Cr realised exchange differences for a gain (the reverse for a
    loss). Each currency balances on its own."""
    pay_currency, pay_minor = paid
    inv_currency, inv_minor = settled
    return _entry(
        on,
        "fx_allocation",
        text,
        [
            Posting(Account.CUSTOMER_CREDIT, pay_minor, pay_currency, customer_id),
            Posting(Account.FX_CONVERSION, -pay_minor, pay_currency),
            Posting(Account.FX_CONVERSION, inv_minor, inv_currency),
            Posting(Account.RECEIVABLE, -inv_minor, inv_currency, customer_id, invoice_id),
            Posting(Account.FX_CONVERSION, difference_minor, base_currency),
            Posting(Account.FX_REALISED, -difference_minor, base_currency),
        ],
    )


def payment_reversed(
    on: date,
    text: str,
    customer_id: int,
    currency: str,
    amount_minor: int,
    reopened: tuple[tuple[int, str, int], ...],
    fx_reopened: tuple[tuple[int, str, int, int, str, int], ...] = (),
    bank_account: str = Account.BANK,
) -> JournalEntry:
    """A payment that bounced (a returned direct debit, a recalled transfer): every invoice it
    settled is open again and the money leaves the bank.

    `reopened` holds (invoice id, currency, amount) settled in the payment's currency: Dr
    receivable / Cr customer credit. `fx_reopened` holds cross-currency settlements as
    (invoice id, invoice currency, amount, payment minor, base currency, realised difference),
    each undone by the mirror of its `fx_payment_allocated`. Then Dr customer credit / Cr bank
    for the whole payment."""
    postings: list[Posting] = []
    for invoice_id, inv_currency, minor in reopened:
        postings.append(Posting(Account.RECEIVABLE, minor, inv_currency, customer_id, invoice_id))
        postings.append(Posting(Account.CUSTOMER_CREDIT, -minor, inv_currency, customer_id))
    for invoice_id, inv_currency, minor, pay_minor, base, diff in fx_reopened:
        postings += [
            Posting(Account.RECEIVABLE, minor, inv_currency, customer_id, invoice_id),
            Posting(Account.FX_CONVERSION, -minor, inv_currency),
            Posting(Account.FX_CONVERSION, pay_minor, currency),
            Posting(Account.CUSTOMER_CREDIT, -pay_minor, currency, customer_id),
            Posting(Account.FX_CONVERSION, -diff, base),
            Posting(Account.FX_REALISED, diff, base),
        ]
    postings.append(Posting(Account.CUSTOMER_CREDIT, amount_minor, currency, customer_id))
    postings.append(Posting(bank_account, -amount_minor, currency))
    return _entry(on, "payment_reversal", text, postings)


def bank_booked(
    on: date,
    text: str,
    bank_account: str,
    counter_account: str,
    currency: str,
    amount_minor: int,
    customer_id: int | None = None,
) -> JournalEntry:
    """Money on a bank statement that is no customer's payment (charges, interest, a transfer
    between own accounts, an opening balance): Dr bank / Cr the counter account for money in
    (`amount_minor` > 0), the reverse for money out. `customer_id` names the customer when the
    counter account is their credit (a refund that came back)."""
    return _entry(
        on,
        "bank",
        text,
        [
            Posting(bank_account, amount_minor, currency),
            Posting(counter_account, -amount_minor, currency, customer_id),
        ],
    )


def discount_granted(
    on: date,
    text: str,
    customer_id: int,
    currency: str,
    invoice_id: int,
    amount_minor: int,
    tax_minor: int,
) -> JournalEntry:
    """An early-payment discount the customer took: the invoice is settled for less, and the
    tax it carried is reduced with it (the discount lowers the taxable amount). Dr discounts
    granted (net part) and Dr output VAT (`tax_minor`) / Cr receivable (invoice)."""
    if not 0 <= tax_minor <= amount_minor:
        raise InvariantError("the tax part of a discount lies between zero and the discount")
    return _entry(
        on,
        "write_off",
        text,
        [
            Posting(Account.CASH_DISCOUNTS, amount_minor - tax_minor, currency),
            Posting(Account.VAT_PAYABLE, tax_minor, currency),
            Posting(Account.RECEIVABLE, -amount_minor, currency, customer_id, invoice_id),
        ],
    )


def mirrored(on: date, kind: str, text: str, postings: tuple[Posting, ...]) -> JournalEntry:
    """The entry that takes back `postings` (posted entries are never changed: an undo is the
    same postings with the signs turned)."""
    return _entry(
        on,
        kind,
        text,
        [
            Posting(p.account, -p.amount_minor, p.currency, p.customer_id, p.document_id)
            for p in postings
        ],
    )
