"""Issue #5, openbill: bank statement entries imported per second (`openbill bank import FILE
--no-match`), beside its floor (`bench.jobs.bank_import_floor`: one lxml pass and a plain
INSERT).

Set-up, untimed: one legal entity (``BNK``, EUR) with one bank account (IBAN
DE89 3704 0044 0532 0130 00) made through openbill's use cases, and one camt.053.001.08 file
of N entries written by `openbill.adapters.bank.write.write_camt053` into the job's work
folder: one statement for July 2026 (opening and closing balances, the transaction summary),
the entries spread over its days, each with a unique bank reference (AcctSvcrRef), a value
date and a bank transaction code:

- 90 % credits from 2,000 payers (company names, German IBANs with valid check digits) of
  14.88 to 5,950.00, naming an invoice: a structured RF creditor reference (a third), the RF
  reference printed in groups of four in the text (a third), or the invoice number in a
  sentence ("Rechnung INV-2026-004711 vom 12.06.2026"); most with an end-to-end id;
- 10 % debits: supplier payments and salaries to named accounts, bank charges without one.

Timed: what the command does, less opening the database: read the file's bytes,
`read_statement` (lxml), sha256 of the bytes, `import_statements` (one transaction: the
account found by IBAN, every entry's identity, duplicates looked up, balances checked, the
statement, its lines and their states stored) and its commit.

Checked afterwards (untimed): N lines in ``bank_lines``, one statement; importing the same
file again adds no line (the statement is recognised as imported before).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

DESCRIPTION = (
    "what `openbill bank import FILE --no-match` does: read the camt.053 bytes, read_statement "
    "(lxml), sha256, import_statements (identities, duplicate look-up, balance checks, the "
    "statement, its lines and line states) in one transaction; N entries in one statement"
)

ENTITY = "BNK"
CURRENCY = "EUR"
ACCOUNT_NAME = "Hausbank"
ACCOUNT_IBAN = "DE89370400440532013000"
SEED = 5
PAYERS = 2_000
MONTH_FIRST = date(2026, 7, 1)
MONTH_DAYS = 31
OPENING_MINOR = 25_000_000
CREATED = datetime(2026, 8, 1, 6, 0, tzinfo=UTC)
WORK = Path(__file__).resolve().parent.parent / ".work"

_COMPANIES = (
    "Bergmann Logistik",
    "Hoffmann Bau",
    "Keller Maschinenbau",
    "Nordlicht Handel",
    "Sonnenhof Gastronomie",
    "Weber Elektrotechnik",
    "Fischer & Söhne",
    "Alpen Medien",
    "Rheinwerk Druck",
    "Lindner Software",
)
_FORMS = ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "UG")
_SUPPLIERS = ("Stadtwerke Musterstadt", "Bürobedarf Schulz GmbH", "Kraftstoff Nord AG")


def iban_de(bank_code: int, account: int) -> str:
    """A German IBAN with valid ISO 7064 MOD 97-10 check digits (DE = 13 14)."""
    bban = f"{bank_code:08d}{account:010d}"
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def payer(i: int) -> tuple[str, str]:
    """Payer i: a company name and its IBAN."""
    name = f"{_COMPANIES[i % len(_COMPANIES)]} {i // len(_COMPANIES) + 1} {_FORMS[i % 6]}"
    return name, iban_de(10_000_000 + (i * 7919) % 89_999_999, 1_000_000 + i)


def entries_for(n: int) -> list[Any]:
    """N realistic statement entries (see the module docstring), in booking-date order."""
    from openbill.domain.bank import Entry
    from openbill.domain.reference import creditor_reference, printable

    rng = random.Random(SEED)
    out: list[Entry] = []
    for j in range(n):
        booked = MONTH_FIRST + timedelta(days=j * MONTH_DAYS // n)
        valued = booked + timedelta(days=rng.choice((0, 0, 0, 1)))
        reference = f"{booked:%Y%m%d}{j + 1:010d}"
        if j % 10 != 9:  # a customer's payment
            number = f"INV-2026-{rng.randint(1, 120_000):06d}"
            name, account = payer(rng.randrange(PAYERS))
            amount = rng.choice((1488, 2975, 4463, 5950, 11900, 59500)) * rng.randint(1, 10)
            rf = creditor_reference(number)
            form = j % 3
            out.append(
                Entry(
                    booked,
                    valued,
                    amount,
                    CURRENCY,
                    bank_reference=reference,
                    end_to_end_id=f"E2E{j + 1:09d}" if j % 4 else "",
                    counterparty_name=name,
                    counterparty_account=account,
                    remittance=(
                        f"Rechnung {number} vom {booked - timedelta(days=30):%d.%m.%Y}"
                        if form == 2
                        else (printable(rf) if form == 1 else "")
                    ),
                    creditor_reference=rf if form == 0 else "",
                    transaction_code="PMNT/RCDT/ESCT",
                )
            )
        elif j % 30 == 29:  # bank charges
            out.append(
                Entry(
                    booked,
                    booked,
                    -rng.choice((250, 490, 1250, 1990)),
                    CURRENCY,
                    bank_reference=reference,
                    remittance=f"Kontoführungsentgelt {booked:%m/%Y}",
                    transaction_code="ACMT/MDOP/CHRG",
                )
            )
        else:  # a supplier's invoice or a salary paid
            supplier = j % 3 != 0
            name = _SUPPLIERS[j % 3] if supplier else f"Mitarbeiter {j % 97:02d}"
            out.append(
                Entry(
                    booked,
                    valued,
                    -rng.randint(5_000, 450_000),
                    CURRENCY,
                    bank_reference=reference,
                    end_to_end_id=f"OUT{j + 1:09d}",
                    counterparty_name=name,
                    counterparty_account=iban_de(20_050_550, 300_000 + j % 97),
                    remittance=(
                        f"Lieferantenrechnung R{j:07d}" if supplier else f"Gehalt {booked:%m/%Y}"
                    ),
                    transaction_code="PMNT/ICDT/ESCT" if supplier else "PMNT/ICDT/SALA",
                )
            )
    return out


def statement_for(n: int) -> Any:
    from openbill.domain.bank import Balance, Statement

    entries = tuple(entries_for(n))
    last = MONTH_FIRST + timedelta(days=MONTH_DAYS - 1)
    closing = OPENING_MINOR + sum(e.amount_minor for e in entries)
    return Statement(
        "camt.053",
        ACCOUNT_IBAN,
        CURRENCY,
        statement_id="STMT-2026-07",
        sequence="7",
        created=CREATED.date(),
        period_from=MONTH_FIRST,
        period_to=last,
        opening=Balance(OPENING_MINOR, CURRENCY, MONTH_FIRST - timedelta(days=1)),
        closing=Balance(closing, CURRENCY, last),
        entries=entries,
    )


def write_file(folder: Path, n: int) -> Path:
    from openbill.adapters.bank.write import write_camt053

    path = folder / "camt053-2026-07.xml"
    path.write_bytes(write_camt053([statement_for(n)], message_id="BENCH-2026-07", created=CREATED))
    return path


def setup(url: str) -> None:
    """The entity and its bank account (untimed)."""
    from openbill.bootstrap import open_book
    from openbill.usecases import masterdata as m
    from openbill.usecases.bank import AddBankAccount, add_bank_account

    book = open_book(url, actor="bench")
    try:
        m.create_entity(book.uow(), m.CreateEntity(ENTITY, "Bank Bench GmbH", "DE", CURRENCY))
        add_bank_account(
            book.uow(), AddBankAccount(ENTITY, ACCOUNT_NAME, CURRENCY, iban=ACCOUNT_IBAN)
        )
    finally:
        book.close()


def count(url: str, sql: str) -> int:
    from sqlalchemy import text

    from openbill.adapters.sql.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one() or 0)
    finally:
        engine.dispose()


class WorkFolder:
    """A folder of the job's own under bench/.work/ for the statement file, removed after."""

    def __init__(self) -> None:
        WORK.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="bank-", dir=WORK))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# --- the job ---------------------------------------------------------------------------------

_CHECK: dict[str, Any] = {}


def _import(book: Any, path: Path) -> Any:
    """What `openbill bank import FILE --no-match` does once the database is open."""
    from openbill.adapters.bank import read_statement
    from openbill.usecases.bank import ImportStatements, import_statements

    data = path.read_bytes()
    statements = read_statement(data, path.name)
    digest = hashlib.sha256(data).hexdigest()
    return import_statements(
        book.uow(), ImportStatements(ENTITY, path.name, digest, tuple(statements))
    )


def run(url: str, n: int) -> float:
    from openbill.bootstrap import open_book

    setup(url)
    with WorkFolder() as folder:
        path = write_file(folder, n)
        _CHECK["file_mb"] = round(path.stat().st_size / 1e6, 1)
        book = open_book(url, actor="bench")
        try:
            start = time.perf_counter()
            result = _import(book, path)
            seconds = time.perf_counter() - start
            lines = count(url, "SELECT COUNT(*) FROM bank_lines")
            again = _import(book, path)
        finally:
            book.close()
    added = count(url, "SELECT COUNT(*) FROM bank_lines") - lines
    if result.new_entries != n or lines != n:
        raise RuntimeError(
            f"{n} entries in the file, {result.new_entries} imported, {lines} stored"
        )
    if again.new_entries or added:
        raise RuntimeError(f"importing the same file again added {added} lines")
    _CHECK.update(
        done=lines,
        lines_in_db=lines,
        statements=count(url, "SELECT COUNT(*) FROM bank_statements"),
        reimport_new_lines=added,
        reimport_duplicate_of=again.statements[0].duplicate_of,
        problems=list(result.statements[0].problems),
    )
    return seconds


def check(url: str, n: int) -> dict[str, Any]:
    return dict(_CHECK)
