"""Bank accounts and the import of their statements (`openbill bank accounts`, `bank import`).

A statement file is read by `openbill.adapters.bank.read_statement` (the interface does it) and
its `Statement` values come here. `import_statements` then, in one transaction:

1. finds the bank account of each statement (the one named, else the one whose IBAN or account
   number the statement gives; `add_accounts` registers the ones the book does not know);
2. gives every entry its identity on that account: the bank's own reference when it is unique in
   the statement, else the reference with the entry's fingerprint, else the fingerprint alone
   (numbered when the same fingerprint occurs twice: two identical fees on one day);
3. skips a statement whose content (account, period, balances, entry identities) was imported
   before, whatever file or format it came in, and every entry whose identity the account
   already has, so importing the same statement twice adds nothing;
4. checks the balances (opening + entries = closing) and that the statement continues the one
   before it on the same account (its opening balance is that statement's closing balance, its
   number the next); what does not agree is reported with the statement and kept with it;
5. stores the statements and the new lines (each line waiting to be matched).

A refusal (an unknown account, a currency that is not the account's) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from openbill.domain.bank import HISTORIC_EXPONENTS, Statement, check_balances, format_amount
from openbill.domain.currencies import EXPONENTS
from openbill.domain.ledger import Account, bank_booked
from openbill.domain.money import Rounding, format_minor, round_to_minor, to_decimal
from openbill.domain.rejections import InvalidAmount, InvalidInput, NotFound
from openbill.identifiers import validate_iban
from openbill.ports import UnitOfWork
from openbill.usecases._support import audit, entity_by_code, post

__all__ = [
    "AddBankAccount",
    "BankAccountView",
    "ImportStatements",
    "StatementImported",
    "StatementsImported",
    "account_by_ref",
    "add_bank_account",
    "import_statements",
    "list_bank_accounts",
    "list_statements",
]

NAME_MAX = 60
# Ledger accounts given to bank accounts: 1200 first, then 1201 ... 1279 (1280 holds transfers
# in transit and 1290 the currency conversion).
BANK_LEDGER_FIRST, BANK_LEDGER_LAST = 1200, 1279


@dataclass(frozen=True, slots=True)
class AddBankAccount:
    entity: str
    name: str
    currency: str
    iban: str = ""
    number: str = ""  # the bank's account number, for banks that give no IBAN
    ledger_account: str = ""  # empty: 1200 if free for this currency, else the next free 12xx
    # The balance the account had before the first statement openbill gets (posted against
    # opening balances, 3900, so the book's bank balance starts where the bank's does).
    opening_balance: str = ""
    opening_on: date | None = None


@dataclass(frozen=True, slots=True)
class BankAccountView:
    id: int
    name: str
    iban: str
    number: str
    currency: str
    ledger_account: str
    book_balance_minor: int
    statements: int
    last_closing_on: date | None
    last_closing_minor: int | None
    lines_new: int
    lines_review: int
    lines_matched: int


@dataclass(frozen=True, slots=True)
class ImportStatements:
    entity: str
    source_name: str
    source_sha256: str
    statements: tuple[Statement, ...]
    account: str = ""  # name, IBAN or number of the account to book the file onto
    add_accounts: bool = False  # register accounts the book does not know yet


@dataclass(frozen=True, slots=True)
class StatementImported:
    statement_id: int | None  # None: imported before (see duplicate_of)
    account: str
    format: str
    reference: str
    period_from: date | None
    period_to: date | None
    currency: str
    opening_minor: int | None
    closing_minor: int | None
    entries: int
    new_entries: int
    problems: tuple[str, ...]
    duplicate_of: int | None = None


@dataclass(frozen=True, slots=True)
class StatementsImported:
    source: str
    statements: tuple[StatementImported, ...]
    line_ids: tuple[int, ...]  # the new lines, to be matched
    accounts_added: tuple[str, ...]

    @property
    def new_entries(self) -> int:
        return sum(s.new_entries for s in self.statements)


def _compact(text: str) -> str:
    return "".join(text.split()).upper()


def _next_ledger(uow: UnitOfWork, entity_id: int, currency: str) -> str:
    used = {a.ledger_account for a in uow.bank.accounts(entity_id) if a.currency == currency}
    for code in range(BANK_LEDGER_FIRST, BANK_LEDGER_LAST + 1):
        if str(code) not in used:
            return str(code)
    raise InvalidInput(
        f"every bank ledger account {BANK_LEDGER_FIRST}..{BANK_LEDGER_LAST} is taken for "
        f"{currency}; name one with --ledger-account",
        record="bank account",
        field="ledger_account",
    )


def _add_account(uow: UnitOfWork, entity: Any, cmd: AddBankAccount) -> Any:
    name = " ".join(cmd.name.split())
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(
            f"a bank account needs a name of 1 to {NAME_MAX} characters",
            record="bank account",
            field="name",
        )
    currency = cmd.currency.strip().upper()
    # Old statements keep withdrawn currencies (a 2002 MT940 in DEM): such an account can hold
    # its statements, though nothing is billed in them.
    if currency not in EXPONENTS and currency not in HISTORIC_EXPONENTS:
        raise InvalidInput(
            f"{cmd.currency!r} is not an ISO 4217 currency code",
            record="bank account",
            field="currency",
        )
    iban = _valid_iban(cmd.iban) if cmd.iban.strip() else ""
    number = _compact(cmd.number)
    if not iban and not number:
        raise InvalidInput(
            "give the account's IBAN, or the account number the bank writes on its statements",
            record="bank account",
            field="iban",
        )
    for other in uow.bank.accounts(entity.id):
        if other.name == name:
            raise InvalidInput(
                f"there is a bank account named {name!r} already",
                record="bank account",
                field="name",
            )
        if (iban and other.iban == iban) or (number and other.number == number):
            raise InvalidInput(
                f"that account is registered already, as {other.name!r}",
                record="bank account",
                field="iban",
            )
    ledger = cmd.ledger_account.strip() or _next_ledger(uow, entity.id, currency)
    if not re.fullmatch(r"1[0-9]{3}", ledger) or ledger in (
        Account.RECEIVABLE,
        Account.BANK_TRANSFERS,
        Account.FX_CONVERSION,
    ):
        raise InvalidInput(
            f"{ledger!r} cannot be a bank's ledger account; use an asset account 1000..1999 "
            "other than 1100, 1280 and 1290",
            record="bank account",
            field="ledger_account",
        )
    if any(
        a.ledger_account == ledger and a.currency == currency for a in uow.bank.accounts(entity.id)
    ):
        raise InvalidInput(
            f"ledger account {ledger} already holds another {currency} bank account",
            record="bank account",
            field="ledger_account",
        )
    values = {
        "entity_id": entity.id,
        "name": name,
        "iban": iban,
        "number": number,
        "currency": currency,
        "ledger_account": ledger,
        "created_at": uow.clock.now(),
    }
    account_id = uow.bank.add_account(values)
    audit(uow, entity.id, "bank.account_added", "bank_account", account_id, None, values)
    if cmd.opening_balance:
        _opening(uow, entity, account_id, ledger, currency, cmd)
    return uow.bank.account(account_id)


def _opening(
    uow: UnitOfWork, entity: Any, account_id: int, ledger: str, currency: str, cmd: AddBankAccount
) -> None:
    try:
        amount = to_decimal(cmd.opening_balance, field="opening_balance")
    except InvalidAmount as exc:
        raise InvalidAmount(exc.reason, record="bank account", field="opening_balance") from None
    minor = round_to_minor(amount, currency, Rounding(entity.rounding))
    if to_decimal(format_minor(minor, currency)) != amount:
        raise InvalidAmount(
            f"{cmd.opening_balance} has more decimals than {currency} has",
            record="bank account",
            field="opening_balance",
        )
    if minor == 0:
        return
    on = cmd.opening_on or uow.clock.today()
    entry = bank_booked(
        on,
        f"opening balance of bank account {cmd.name}",
        ledger,
        Account.OPENING_BALANCE,
        currency,
        minor,
    )
    post(uow, entity.id, entry, "bank_accounts", account_id)


def add_bank_account(uow: UnitOfWork, cmd: AddBankAccount) -> BankAccountView:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row = _add_account(uow, entity, cmd)
        view = _view(uow, entity, row)
        uow.commit()
        return view


def _view(uow: UnitOfWork, entity: Any, row: Any) -> BankAccountView:
    statements = uow.bank.statements_of(row.id)
    closed = [s for s in statements if s.closing_minor is not None]
    last = max(closed, key=lambda s: (s.closing_on or date.min, s.id)) if closed else None
    counts = uow.bank.status_counts(row.id)
    entries = uow.bank.book_entries(entity.id, row.ledger_account, row.currency)
    return BankAccountView(
        row.id,
        row.name,
        row.iban,
        row.number,
        row.currency,
        row.ledger_account,
        sum(int(e[6]) for e in entries),
        len(statements),
        last.closing_on if last else None,
        int(last.closing_minor) if last else None,
        counts.get("new", 0),
        counts.get("review", 0),
        counts.get("matched", 0),
    )


def list_bank_accounts(uow: UnitOfWork, entity_code: str) -> list[BankAccountView]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        return [_view(uow, entity, row) for row in uow.bank.accounts(entity.id)]


def account_by_ref(uow: UnitOfWork, entity_id: int, ref: str) -> Any | None:
    """The bank account a user or a statement names: by name, IBAN or account number."""
    wanted = _compact(ref)
    for row in uow.bank.accounts(entity_id):
        if ref.strip() == row.name or (wanted and wanted in (row.iban, row.number)):
            return row
    return None


# -- import -----------------------------------------------------------------------------------


def identities(statement: Statement) -> list[str]:
    """The identity of each entry on its account (see the module docstring)."""
    refs = Counter(e.bank_reference for e in statement.entries if e.bank_reference)
    seen: Counter[str] = Counter()
    out: list[str] = []
    for entry in statement.entries:
        if entry.bank_reference and refs[entry.bank_reference] == 1:
            base = f"ref:{entry.bank_reference}"
        elif entry.bank_reference:
            base = f"ref:{entry.bank_reference}:fp:{entry.fingerprint()[:32]}"
        else:
            base = f"fp:{entry.fingerprint()}"
        seen[base] += 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return [i[:200] for i in out]


def content_key(account_id: int, statement: Statement, ids: list[str]) -> str:
    def balance(b: Any) -> str:
        return "" if b is None else f"{b.amount_minor}@{b.as_of}"

    parts = [
        str(account_id),
        statement.currency,
        str(statement.period_from or ""),
        str(statement.period_to or ""),
        balance(statement.opening),
        balance(statement.closing),
        *sorted(ids),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _resolve(uow: UnitOfWork, entity: Any, cmd: ImportStatements) -> tuple[list[Any], list[str]]:
    """The bank account of every statement, or a refusal naming what is unknown."""
    named = None
    if cmd.account:
        named = account_by_ref(uow, entity.id, cmd.account)
        if named is None:
            raise NotFound(
                f"no bank account {cmd.account!r}; see `openbill bank accounts list`",
                record="bank import",
                field="account",
            )
    rows: list[Any] = []
    added: list[str] = []
    unknown: list[str] = []
    for statement in cmd.statements:
        found = account_by_ref(uow, entity.id, statement.account) if statement.account else None
        if named is not None:
            if found is not None and found.id != named.id:
                raise InvalidInput(
                    f"the statement is for {found.name} ({statement.account}), not for "
                    f"{named.name}; leave out --account",
                    record=cmd.source_name,
                    field="account",
                )
            found = named
        if found is None and cmd.add_accounts and statement.account:
            iban = statement.account if _looks_like_iban(statement.account) else ""
            found = _add_account(
                uow,
                entity,
                AddBankAccount(
                    entity.code,
                    statement.account[:NAME_MAX],
                    statement.currency,
                    iban=iban,
                    number="" if iban else statement.account,
                ),
            )
            added.append(found.name)
        if found is None:
            unknown.append(f"{statement.account or '(no account given)'} ({statement.currency})")
            continue
        if found.currency != statement.currency:
            raise InvalidInput(
                f"the statement is in {statement.currency}, bank account {found.name} is kept "
                f"in {found.currency}",
                record=cmd.source_name,
                field="currency",
            )
        rows.append(found)
    if unknown:
        raise NotFound(
            f"the file is for bank account(s) the book does not know: {', '.join(unknown)}; "
            "register them with `openbill bank accounts add`, import with --account NAME to "
            "book the file onto a known account, or with --add-accounts",
            record=cmd.source_name,
            field="account",
        )
    return rows, added


def _valid_iban(text: str) -> str:
    try:
        return validate_iban(text)
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, record="bank account", field="iban") from None


def _looks_like_iban(text: str) -> bool:
    try:
        validate_iban(text)
    except InvalidInput:
        return False
    return True


def _sequence_number(text: str) -> tuple[int, int] | None:
    """'00004/00001' -> (4, 1), '85' -> (85, 0); None when it is no number."""
    match = re.fullmatch(r"0*(\d{1,9})(?:/0*(\d{1,9}))?", text.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2] or 0)


def _continuity(previous: Any, statement: Statement) -> list[str]:
    """Whether `statement` follows `previous` (the latest earlier one on the account)."""
    if previous is None:
        return []
    problems: list[str] = []
    opening = statement.opening
    currency = statement.currency
    if opening is not None and previous.closing_minor is not None:
        if int(previous.closing_minor) != opening.amount_minor:
            gap = opening.amount_minor - int(previous.closing_minor)
            problems.append(
                f"opens at {format_amount(opening.amount_minor, currency)} but the statement "
                f"before ({previous.statement_ref or previous.sequence}, closing "
                f"{previous.closing_on}) closed at "
                f"{format_amount(int(previous.closing_minor), currency)} {currency}: "
                f"{format_amount(gap, currency)} moved in between; a statement is missing?"
            )
    this_no = _sequence_number(statement.sequence)
    before_no = _sequence_number(previous.sequence or "")
    if this_no and before_no and this_no[0] > before_no[0] + 1 and this_no[1] <= 1:
        problems.append(
            f"statement number {this_no[0]} follows number {before_no[0]}: "
            f"{before_no[0] + 1}{'' if this_no[0] == before_no[0] + 2 else ' ...'} missing?"
        )
    return problems


def _previous(uow: UnitOfWork, account_id: int, statement: Statement) -> Any:
    start = statement.period_from or (statement.opening.as_of if statement.opening else None)
    if start is None:
        return None
    earlier = [
        s
        for s in uow.bank.statements_of(account_id)
        if s.closing_minor is not None and s.closing_on is not None and s.closing_on <= start
    ]
    return max(earlier, key=lambda s: (s.closing_on, s.id)) if earlier else None


def _booking_date(statement: Statement, entry: Any, source: str, n: int) -> date:
    day = entry.booking_date or entry.value_date or statement.period_to or statement.created
    if day is None:
        raise InvalidInput(
            f"entry {n} of statement {statement.statement_id or statement.sequence} has no "
            "booking date and the statement no date to take instead",
            record=source,
            field="booking_date",
        )
    return day


def import_statements(uow: UnitOfWork, cmd: ImportStatements) -> StatementsImported:
    if not cmd.statements:
        raise InvalidInput("the file holds no statement", record=cmd.source_name)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        accounts, added = _resolve(uow, entity, cmd)
        results: list[StatementImported] = []
        line_ids: list[int] = []
        for statement, account in zip(cmd.statements, accounts, strict=True):
            result, ids = _import_one(uow, entity, account, statement, cmd)
            results.append(result)
            line_ids += ids
        audit(
            uow,
            entity.id,
            "bank.statements_imported",
            "bank_file",
            cmd.source_sha256[:16],
            None,
            {
                "source": cmd.source_name,
                "sha256": cmd.source_sha256,
                "statements": len(results),
                "new_lines": len(line_ids),
                "accounts_added": added,
            },
        )
        uow.commit()
        return StatementsImported(cmd.source_name, tuple(results), tuple(line_ids), tuple(added))


def _import_one(
    uow: UnitOfWork, entity: Any, account: Any, statement: Statement, cmd: ImportStatements
) -> tuple[StatementImported, list[int]]:
    ids = identities(statement)
    key = content_key(account.id, statement, ids)
    opening, closing = statement.opening, statement.closing
    base = {
        "account": account.name,
        "format": statement.format,
        "reference": statement.statement_id or statement.sequence,
        "period_from": statement.period_from,
        "period_to": statement.period_to,
        "currency": statement.currency,
        "opening_minor": opening.amount_minor if opening else None,
        "closing_minor": closing.amount_minor if closing else None,
        "entries": len(statement.entries),
    }
    before = uow.bank.statement_by_key(account.id, key)
    if before is not None:
        return StatementImported(
            None, **base, new_entries=0, problems=(), duplicate_of=before.id
        ), []
    known = uow.bank.known_identities(account.id, ids)
    problems = [
        *check_balances(statement),
        *_continuity(_previous(uow, account.id, statement), statement),
    ]
    now = uow.clock.now()
    new = [
        (n, e, i)
        for n, (e, i) in enumerate(zip(statement.entries, ids, strict=True), 1)
        if i not in known
    ]
    statement_id = uow.bank.add_statement(
        {
            "entity_id": entity.id,
            "bank_account_id": account.id,
            "format": statement.format,
            "statement_ref": (statement.statement_id or "")[:140],
            "sequence": (statement.sequence or "")[:40],
            "created_on": statement.created,
            "period_from": statement.period_from,
            "period_to": statement.period_to,
            "currency": statement.currency,
            "opening_minor": opening.amount_minor if opening else None,
            "opening_on": opening.as_of if opening else None,
            "closing_minor": closing.amount_minor if closing else None,
            "closing_on": closing.as_of if closing else None,
            "entries": len(statement.entries),
            "new_entries": len(new),
            "content_key": key,
            "source_name": cmd.source_name[:300],
            "source_sha256": cmd.source_sha256,
            "problems": json.dumps(problems),
            "imported_by": uow.actor[:100],
            "imported_at": now,
        }
    )
    rows = [
        {
            "entity_id": entity.id,
            "bank_account_id": account.id,
            "statement_id": statement_id,
            "identity": identity,
            "booking_date": _booking_date(statement, e, cmd.source_name, n),
            "value_date": e.value_date,
            "amount_minor": e.amount_minor,
            "currency": e.currency,
            "bank_reference": e.bank_reference[:140],
            "end_to_end_id": e.end_to_end_id[:140],
            "counterparty_name": e.counterparty_name,
            "counterparty_account": _compact(e.counterparty_account)[:60],
            "remittance": e.remittance,
            "creditor_reference": e.creditor_reference[:60],
            "transaction_code": e.transaction_code[:60],
            "return_reason": e.return_reason[:20],
            "instructed_minor": e.instructed_minor,
            "instructed_currency": e.instructed_currency[:3],
            "batch_size": e.batch_size,
            "created_at": now,
        }
        for n, e, identity in new
    ]
    uow.bank.add_lines(rows)
    line_ids = uow.bank.line_ids_of_statement(statement_id) if rows else []
    uow.bank.add_states(
        [
            {
                "line_id": i,
                "status": "new",
                "match_id": None,
                "confidence": 0,
                "rule": "",
                "explanation": "",
                "updated_at": now,
            }
            for i in line_ids
        ]
    )
    return StatementImported(
        statement_id, **base, new_entries=len(new), problems=tuple(problems)
    ), line_ids


def list_statements(uow: UnitOfWork, entity_code: str, limit: int = 200) -> list[dict[str, Any]]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        return [
            {**dict(r._mapping), "problems": json.loads(r.problems or "[]")}
            for r in uow.bank.statements(entity.id, limit)
        ]
