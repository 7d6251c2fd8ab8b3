"""Import payments from a CSV file (`openbill payments import FILE`), all or nothing.

The file is read through a column profile (`openbill.domain.payment_import`). Then two passes:

1. **Check** every payment line in a unit of work that is rolled back: the customer (from the
   customer column, else the customer of the invoices the reference names, who must be one),
   the amount in the payment's currency, a reference that names another customer's invoice,
   an exchange rate where the named invoice is in another currency, and whether the line was
   imported before (its key, see `import_keys`, already stored with the same content). Every
   bad line is found, not only the first.
2. **Record** the good lines in one unit of work with `record_payment_in` (each wrapped in
   `idempotent` with the line's key, so a re-import of the same file adds nothing) and commit.

Any bad line refuses the whole file (`PaymentsImportRefused`, naming every bad line) unless
`keep_good`: then the good lines are recorded and the bad ones returned for a rejects file. A
dry run does everything and commits nothing: its result says what the import would do.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openbill.domain import chain
from openbill.domain.currencies import EXPONENTS
from openbill.domain.money import Rounding, format_minor, minor_to_decimal, round_to_minor
from openbill.domain.payment_import import (
    PaymentLine,
    Profile,
    RowError,
    decode,
    import_keys,
    parse_payments,
)
from openbill.domain.rejections import InvalidInput, InvalidState, Rejection
from openbill.ports import UnitOfWorkFactory
from openbill.usecases._support import MAX_IDEMPOTENCY_KEY, audit, entity_by_code, idempotent, plain
from openbill.usecases.fx import rate_between
from openbill.usecases.payments import (
    MAX_PAYMENT_MINOR,
    PaymentRecorded,
    RecordPayment,
    named_invoices,
    record_payment_in,
)

__all__ = [
    "ALLOCATE_IMPORT",
    "SCOPE",
    "CurrencyTotals",
    "ImportedPayment",
    "PaymentsImported",
    "PaymentsImportRefused",
    "import_payments",
]

SCOPE = "payments_import"  # the idempotency scope of imported payments
ALLOCATE_IMPORT = ("auto", "reference", "oldest", "none")  # how the lines of a file allocate
HOW = ("reference", "oldest", "explicit", "none")
# A line the check passed but recording refused (the book changed in between) is set aside
# and the recording starts again, at most this often.
RECORD_RESTARTS_MAX = 20

Progress = Callable[[str, int, int], None]  # (phase "check" | "record", done, total)


@dataclass(frozen=True, slots=True)
class ImportedPayment:
    line: int
    payment_id: int
    customer: str
    currency: str
    amount_minor: int
    allocated_minor: int
    how: str  # reference, oldest, explicit, none
    invoices: tuple[str, ...]
    written_off_minor: int
    written_off_currency: str
    payer: str = ""


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    payments: int
    amount_minor: int
    allocated_minor: int
    credit_minor: int  # of these payments, left as customer credit
    written_off_minor: int  # small differences closed, in this currency


@dataclass(frozen=True, slots=True)
class PaymentsImported:
    source: str
    profile: str
    rows_read: int
    recorded: int
    already_imported: int
    debits_skipped: int
    not_paid_skipped: int
    refunded_skipped: int
    rejected: tuple[RowError, ...]
    totals: tuple[CurrencyTotals, ...]
    allocation: tuple[tuple[str, int], ...]  # (how, payments) for each of HOW
    payments: tuple[ImportedPayment, ...]
    columns: tuple[str, ...]  # the file's header, for a rejects file
    dry_run: bool = False


class PaymentsImportRefused(InvalidInput):
    """A file with bad lines, refused as a whole: every bad line is in `errors`."""

    def __init__(self, errors: Sequence[RowError], columns: Sequence[str] = ()) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"{first.reason}{more}; nothing was imported",
            record=f"{first.source}:{first.line}" if first.line else first.source,
            field=first.field,
        )
        self.errors = tuple(errors)
        self.columns = tuple(columns)


@dataclass(frozen=True, slots=True)
class _Planned:
    line: PaymentLine
    key: str
    cmd: RecordPayment


class _RowBad(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


@dataclass
class _Check:
    """What the check pass looks up, once each."""

    uow: Any
    entity: Any
    allocate: str
    customers_by_id: dict[int, Any] = field(default_factory=dict)

    def customer_by_id(self, customer_id: int) -> Any:
        if customer_id not in self.customers_by_id:
            self.customers_by_id[customer_id] = self.uow.customers.get(customer_id)
        return self.customers_by_id[customer_id]


def _customer(check: _Check, line: PaymentLine, named: list[Any]) -> Any:
    uow, entity = check.uow, check.entity
    if line.customer:
        customer = uow.customers.by_code(entity.id, line.customer)
        if customer is None:
            raise _RowBad(
                "customer",
                f"no customer {line.customer!r}; create the customer or correct the file",
            )
        check.customers_by_id.setdefault(customer.id, customer)
        for doc in named:
            if doc.customer_id != customer.id:
                other = check.customer_by_id(doc.customer_id)
                raise _RowBad(
                    "reference",
                    f"the reference names {doc.number}, an invoice of {other.code}, not of "
                    f"{customer.code}; correct the customer or the reference",
                )
        return customer
    owners = sorted({doc.customer_id for doc in named})
    if not owners:
        raise _RowBad(
            "customer",
            "no customer and the reference names no invoice; add the customer code or the "
            "invoice number",
        )
    if len(owners) > 1:
        codes = ", ".join(check.customer_by_id(c).code for c in owners)
        raise _RowBad(
            "reference",
            f"the reference names invoices of several customers ({codes}); split the payment "
            "or record it by hand",
        )
    return check.customer_by_id(owners[0])


def _amount_minor(line: PaymentLine, currency: str, entity: Any) -> int:
    if currency not in EXPONENTS:
        raise _RowBad("currency", f"{currency!r} is not an ISO 4217 currency code")
    minor = round_to_minor(line.amount, currency, Rounding(entity.rounding))
    if minor_to_decimal(minor, currency) != line.amount:
        raise _RowBad(
            "amount",
            f"{line.amount} has more decimals than {currency} allows ({EXPONENTS[currency]})",
        )
    if minor > MAX_PAYMENT_MINOR:
        raise _RowBad("amount", "the amount is beyond any plausible payment")
    return minor


def _plan(check: _Check, line: PaymentLine, key: str) -> _Planned:
    """The payment a line records, checked as far as it can be without writing."""
    uow, entity = check.uow, check.entity
    named = named_invoices(uow, entity, line.reference)
    customer = _customer(check, line, named)
    currency = line.currency or customer.currency
    minor = _amount_minor(line, currency, entity)
    if check.allocate in ("auto", "reference"):
        for doc in named:
            if doc.currency != currency:
                try:
                    rate_between(uow, entity, doc.currency, currency, line.received_on)
                except Rejection as exc:
                    raise _RowBad(
                        "currency", f"{doc.number} is in {doc.currency}: {exc.reason}"
                    ) from None
    cmd = RecordPayment(
        entity=entity.code,
        customer=customer.code,
        amount=format_minor(minor, currency),
        currency=currency,
        received_on=line.received_on,
        method=line.method,
        reference=line.reference,
        allocate=check.allocate,
        idempotency_key=key,
    )
    return _Planned(line, key, cmd)


def _request_hash(cmd: RecordPayment) -> str:
    """The hash `idempotent` stores for a request: the command without its key."""
    data = plain(cmd)
    data.pop("idempotency_key", None)
    return hashlib.sha256(chain.canonical(data)).hexdigest()


def _full_key(entity_code: str, key: str) -> str:
    full = f"{entity_code}:{key}"
    if len(full) <= MAX_IDEMPOTENCY_KEY:
        return full
    return f"{entity_code}:h:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def _error(source: str, line: PaymentLine, field_name: str, reason: str) -> RowError:
    return RowError(source, line.line, field_name, reason, line.raw)


def _check_all(
    uow_factory: UnitOfWorkFactory,
    entity_code: str,
    source: str,
    lines: Sequence[PaymentLine],
    allocate: str,
    progress: Progress | None,
) -> tuple[list[_Planned], list[RowError], int]:
    """Pass 1, in a unit of work that is rolled back: the payments to record, the bad lines,
    and how many lines were imported before."""
    keys = [_full_key(entity_code, k) for k in import_keys(lines)]
    planned: list[_Planned] = []
    errors: list[RowError] = []
    already = 0
    first_line: dict[str, int] = {}
    with uow_factory(read_only=True) as uow:
        check = _Check(uow, entity_by_code(uow, entity_code), allocate)
        for index, (line, key) in enumerate(zip(lines, keys, strict=True)):
            if progress is not None and index % 100 == 0:
                progress("check", index, len(lines))
            if key in first_line:
                errors.append(
                    _error(
                        source,
                        line,
                        "transaction_id",
                        f"transaction {line.transaction_id} is also on line "
                        f"{first_line[key]} of this file",
                    )
                )
                continue
            first_line[key] = line.line
            try:
                plan = _plan(check, line, key)
            except _RowBad as bad:
                errors.append(_error(source, line, bad.field, bad.reason))
                continue
            seen = uow.idempotency.get(SCOPE, key)
            if seen is None:
                planned.append(plan)
            elif seen.request_hash == _request_hash(plan.cmd):
                already += 1
            else:
                errors.append(
                    _error(
                        source,
                        line,
                        "transaction_id" if line.transaction_id else "",
                        "this payment was imported before with other content (customer, "
                        "amount, currency, date, method, reference or --allocate); correct "
                        "the file, or record the difference by hand",
                    )
                )
        if progress is not None:
            progress("check", len(lines), len(lines))
        uow.rollback()
    return planned, errors, already


def _record_all(
    uow_factory: UnitOfWorkFactory,
    entity_code: str,
    source: str,
    planned: list[_Planned],
    keep_good: bool,
    dry_run: bool,
    errors: list[RowError],
    summary: dict[str, Any],
    columns: Sequence[str],
    progress: Progress | None,
) -> list[tuple[_Planned, PaymentRecorded]]:
    """Pass 2: every planned payment in one unit of work, committed unless a dry run. A line
    that recording refuses refuses the file, or with `keep_good` is set aside and the
    recording starts again without it."""
    for _ in range(RECORD_RESTARTS_MAX):
        done: list[tuple[_Planned, PaymentRecorded]] = []
        refused: _Planned | None = None
        with uow_factory() as uow:
            entity = entity_by_code(uow, entity_code)
            for index, plan in enumerate(planned):
                if progress is not None and index % 100 == 0:
                    progress("record", index, len(planned))
                try:
                    result = idempotent(
                        uow,
                        SCOPE,
                        plan.key,
                        plan.cmd,
                        PaymentRecorded,
                        functools.partial(record_payment_in, uow, entity, plan.cmd),
                    )
                except Rejection as exc:
                    error = _error(source, plan.line, exc.field, exc.reason)
                    if not keep_good:
                        raise PaymentsImportRefused([error], columns) from None
                    errors.append(error)
                    refused = plan
                    break
                done.append((plan, result))
            if refused is None:
                if progress is not None:
                    progress("record", len(planned), len(planned))
                if done and not dry_run:
                    summary.update(payments=len(done), rejected=len(errors))
                    audit(uow, entity.id, "payments.imported", "import", source[:64], None, summary)
                    uow.commit()
                return done
        planned = [p for p in planned if p is not refused]
    raise InvalidState(
        f"recording refused more than {RECORD_RESTARTS_MAX} lines the check had passed (the "
        "book changed meanwhile?); nothing was imported, run the import again",
        record=source,
    )


def _totals(recorded: list[tuple[_Planned, PaymentRecorded]]) -> tuple[CurrencyTotals, ...]:
    per: dict[str, list[int]] = {}
    for _plan, r in recorded:
        row = per.setdefault(r.currency, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += r.amount_minor
        row[2] += r.allocated_minor
        row[3] += r.amount_minor - r.allocated_minor
        if r.written_off_minor:
            per.setdefault(r.written_off_currency, [0, 0, 0, 0, 0])[4] += r.written_off_minor
    return tuple(CurrencyTotals(c, *v) for c, v in sorted(per.items()))


def import_payments(
    uow_factory: UnitOfWorkFactory,
    entity_code: str,
    text: str | bytes,
    filename: str,
    profile: Profile,
    keep_good: bool = False,
    dry_run: bool = False,
    *,
    allocate: str = "auto",
    progress: Progress | None = None,
) -> PaymentsImported:
    """Import the payments of a file read through `profile` for legal entity `entity_code`:
    `uow_factory(read_only=...)` gives the units of work (Book.uow). Allocation: "auto" pays the
    invoices a line's reference names, else the customer's oldest; "reference" only named
    invoices; "oldest"; "none" keeps every payment as customer credit."""
    if allocate not in ALLOCATE_IMPORT:
        raise InvalidInput(
            f"allocate is one of {', '.join(ALLOCATE_IMPORT)}", record="import", field="allocate"
        )
    if isinstance(text, bytes):
        text = decode(text, profile.encoding, filename)
    parsed = parse_payments(text, filename, profile)
    planned, found, already = _check_all(
        uow_factory, entity_code, filename, parsed.lines, allocate, progress
    )
    errors = [*parsed.errors, *found]
    errors.sort(key=lambda e: e.line)
    if errors and not keep_good:
        raise PaymentsImportRefused(errors, parsed.columns)
    summary: dict[str, Any] = {
        "source": filename,
        "profile": profile.name,
        "rows_read": parsed.rows_read,
        "payments": len(planned),
        "already_imported": already,
        "rejected": len(errors),
    }
    recorded = (
        _record_all(
            uow_factory,
            entity_code,
            filename,
            planned,
            keep_good,
            dry_run,
            errors,
            summary,
            parsed.columns,
            progress,
        )
        if planned
        else []
    )
    errors.sort(key=lambda e: e.line)
    how = {h: 0 for h in HOW}
    for _plan, r in recorded:
        how[r.how] = how.get(r.how, 0) + 1
    return PaymentsImported(
        source=filename,
        profile=profile.name,
        rows_read=parsed.rows_read,
        recorded=len(recorded),
        already_imported=already,
        debits_skipped=parsed.debits,
        not_paid_skipped=parsed.not_paid,
        refunded_skipped=parsed.refunded,
        rejected=tuple(errors),
        totals=_totals(recorded),
        allocation=tuple(how.items()),
        payments=tuple(
            ImportedPayment(
                p.line.line,
                r.id,
                p.cmd.customer,
                r.currency,
                r.amount_minor,
                r.allocated_minor,
                r.how,
                r.invoices,
                r.written_off_minor,
                r.written_off_currency,
                p.line.payer,
            )
            for p, r in recorded
        ),
        columns=parsed.columns,
        dry_run=dry_run,
    )
