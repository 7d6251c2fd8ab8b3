"""Peer job: issue N client invoices with python-accounting (run inside bench/.peers/venv).

Usage: python python_accounting_job.py --url sqlite:////tmp/x.db --n 300

Set-up (untimed): the reporting Entity (which opens its Reporting Period), its Currency, the
chart of accounts a billing desk needs (the customer as a Receivable account, three Operating
Revenue accounts, a Control account for VAT) and an output VAT Tax of 20 %.

Timed: for each invoice, the library's own idiom from its README: a ``ClientInvoice`` is added
and flushed, three ``LineItem`` rows (quantity x amount, tax_id = VAT) are added and flushed,
attached with ``invoice.line_items.add(...)``, then ``invoice.post(session)`` writes the
Ledger rows (receivable debit, revenue credits, VAT credits), each hash-chained by the
library. The library assigns the serial ``transaction_no`` and commits inside ``post``.

SQLite runs with the same durability settings as openbill and the floor (WAL journal,
synchronous=NORMAL, set on connect), so that the comparison is about code, not fsyncs;
``--sqlite-library-defaults`` keeps SQLite's defaults instead.

Prints one JSON line: {"invoices": n, "seconds": s, ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for bench.jobs

from python_accounting.config import config  # noqa: E402
from python_accounting.database.session import get_session  # noqa: E402
from python_accounting.models import (  # noqa: E402
    Account,
    Base,
    Currency,
    Entity,
    Ledger,
    LineItem,
    Tax,
)
from python_accounting.transactions import ClientInvoice  # noqa: E402
from sqlalchemy import create_engine, event, func, select  # noqa: E402

from bench.jobs import LINES, VAT_RATE  # noqa: E402  (stdlib-only job definition)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL, e.g. sqlite:////tmp/x.db")
    parser.add_argument("--n", type=int, required=True, help="invoices to issue")
    parser.add_argument(
        "--sqlite-library-defaults",
        action="store_true",
        help="keep SQLite's default rollback journal and synchronous=FULL instead of "
        "WAL + synchronous=NORMAL (what openbill and the floor use)",
    )
    args = parser.parse_args()

    config.configure_database(url=args.url)
    engine = create_engine(args.url)
    if engine.dialect.name == "sqlite" and not args.sqlite_library_defaults:

        @event.listens_for(engine, "connect")
        def _durability(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    Base.metadata.create_all(engine)

    with get_session(engine) as session:
        # --- untimed set-up ---------------------------------------------------------------
        entity = Entity(name="Bench Trading Ltd")
        session.add(entity)
        session.commit()  # also opens the entity's Reporting Period

        currency = Currency(name="Euro", code="EUR", entity_id=entity.id)
        session.add(currency)
        session.commit()

        def account(name: str, account_type: Account.AccountType) -> Account:
            return Account(
                name=name,
                account_type=account_type,
                currency_id=currency.id,
                entity_id=entity.id,
            )

        customer = account("Acme Customer GmbH", Account.AccountType.RECEIVABLE)
        vat_account = account("VAT payable", Account.AccountType.CONTROL)
        revenue = [
            account(f"Revenue: {description}", Account.AccountType.OPERATING_REVENUE)
            for description, _, _ in LINES
        ]
        session.add_all([customer, vat_account, *revenue])
        session.commit()

        vat = Tax(
            name="Output VAT 20%",
            code="VAT20",
            account_id=vat_account.id,
            rate=VAT_RATE * 100,  # the library takes a percentage
            entity_id=entity.id,
        )
        session.add(vat)
        session.commit()

        customer_id, entity_id, vat_id = customer.id, entity.id, vat.id
        revenue_ids = [a.id for a in revenue]

        # --- timed: issue and post N invoices ----------------------------------------------
        started = time.perf_counter()
        for i in range(args.n):
            invoice = ClientInvoice(
                narration=f"Invoice {i + 1}",
                transaction_date=datetime.now(),
                account_id=customer_id,
                entity_id=entity_id,
            )
            session.add(invoice)
            session.flush()
            items = []
            for (description, quantity, price), revenue_id in zip(LINES, revenue_ids, strict=True):
                item = LineItem(
                    narration=description,
                    account_id=revenue_id,
                    quantity=quantity,
                    amount=price,
                    tax_id=vat_id,
                    entity_id=entity_id,
                )
                session.add(item)
                items.append(item)
            session.flush()
            for item in items:
                invoice.line_items.add(item)
            session.add(invoice)
            invoice.post(session)  # ledger rows + commit, by the library
        seconds = time.perf_counter() - started

        # --- untimed check: the work really happened ----------------------------------------
        invoices = session.scalar(
            select(func.count())
            .select_from(ClientInvoice)
            .where(ClientInvoice.transaction_type == ClientInvoice.TransactionType.CLIENT_INVOICE)
        )
        ledgers = session.scalar(select(func.count()).select_from(Ledger))
        last = session.scalar(select(ClientInvoice).order_by(ClientInvoice.id.desc()).limit(1))
        result = {
            "invoices": args.n,
            "seconds": seconds,
            "check": {
                "invoices_in_db": invoices,
                "last_number": last.transaction_no if last else None,
                "last_gross": str(last.amount) if last else None,
                "last_vat": str(last.tax["total"]) if last else None,
                "ledger_rows": ledgers,
            },
        }
    engine.dispose()
    print(json.dumps(result))
    return 0 if invoices == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
