"""Peer job: issue N customer invoices with django-ledger (run inside bench/.peers/venv).

Usage: python django_ledger_job.py --url sqlite:////tmp/x.db --n 300
       python django_ledger_job.py --url postgresql+psycopg://postgres@127.0.0.1:5432/db --n 300

Set-up (untimed): Django is configured in-process (auth, contenttypes, django_ledger), the
library's migrations are applied, then, as in django-ledger's own sample-data generator
(``django_ledger.io.io_generator``): an admin user, an accrual-method ``EntityModel`` made with
``EntityModel.create_entity``, its default chart of accounts (``create_chart_of_accounts`` +
``populate_default_coa``), two more operating-income accounts and a "VAT payable" account
(role ``lia_cl_taxes_payable``) with ``entity.create_account``, a customer with
``entity.create_customer``, a unit of measure, three service items (each earning to its own
income account) and one "VAT 20 %" item earning to the VAT account.

django-ledger has no tax engine (only an unused ``sales_tax_rate`` on customers), so VAT is
charged the way a user of the library has to: as a fourth item transaction whose earnings
account is the VAT liability, its amount computed by the caller (20 % of the net lines).

Timed, per invoice: ``entity.create_invoice(customer, terms, commit=True)`` makes the draft,
its ledger and its number from the entity's sequence (``EntityStateModel``, row locked with
SELECT ... FOR UPDATE). The library takes that number in its own ``atomic(durable=True)``
block, which cannot be nested, so this step runs in Django's default autocommit mode. Then,
inside one ``django.db.transaction.atomic()`` block: four ``ItemTransactionModel`` rows
bulk-created on ``invoice.itemtransactionmodel_set`` (after ``full_clean``, which computes each
line total), ``update_amount_due`` + ``save``, ``mark_as_review(commit=True)`` and
``mark_as_approved(..., commit=True)``, which on an accrual entity migrates the invoice into a
posted journal entry (receivable debit, income credits, VAT credit) and posts the invoice's
ledger.

SQLite runs with the same durability settings as openbill and the floor (WAL journal,
synchronous=NORMAL, through the ``init_command`` option), so that the comparison is about code,
not fsyncs; ``--sqlite-library-defaults`` keeps SQLite's defaults instead.

Prints one JSON line: {"invoices": n, "seconds": s, ...}.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for bench.jobs

from bench.jobs import LINES, VAT, VAT_RATE  # noqa: E402  (stdlib-only job definition)


def database_settings(url: str, sqlite_library_defaults: bool = False) -> dict:
    """SQLAlchemy-style URL -> Django DATABASES['default']."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        settings = {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:])}
        if not sqlite_library_defaults:
            # Django >= 5.1 runs this on every new SQLite connection.
            settings["OPTIONS"] = {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            }
        return settings
    if parts.scheme.startswith("postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or "postgres"),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "127.0.0.1",
            "PORT": str(parts.port or 5432),
        }
    raise SystemExit(f"unsupported database URL: {url}")


def configure_django(url: str, sqlite_library_defaults: bool) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django_ledger",
        ],
        DATABASES={"default": database_settings(url, sqlite_library_defaults)},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGIN_URL="/login/",
        LOGGING_CONFIG=None,
        DJANGO_LEDGER_USE_DEPRECATED_BEHAVIOR=False,
    )
    django.setup()
    logging.disable(logging.INFO)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="SQLAlchemy-style database URL")
    parser.add_argument("--n", type=int, required=True, help="invoices to issue")
    parser.add_argument(
        "--sqlite-library-defaults",
        action="store_true",
        help="keep SQLite's default rollback journal and synchronous=FULL instead of "
        "WAL + synchronous=NORMAL (what openbill and the floor use)",
    )
    args = parser.parse_args()

    configure_django(args.url, args.sqlite_library_defaults)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections, transaction
    from django_ledger.io import roles
    from django_ledger.models import (
        EntityModel,
        InvoiceModel,
        ItemModel,
        ItemTransactionModel,
        JournalEntryModel,
        TransactionModel,
    )

    # --- untimed set-up ---------------------------------------------------------------------
    call_command("migrate", verbosity=0, interactive=False)

    admin = get_user_model().objects.create_user(username="bench", password="bench-only")
    entity = EntityModel.create_entity(
        name="Bench Trading Ltd", use_accrual_method=True, admin=admin, fy_start_month=1
    )
    coa = entity.create_chart_of_accounts(assign_as_default=True, commit=True)
    entity.populate_default_coa(coa_model=coa, activate_accounts=True)

    accounts = entity.get_coa_accounts()
    income = [accounts.get(role=roles.INCOME_OPERATIONAL, role_default=True)]
    for code, name in (("4011", "Licence Income"), ("4012", "Recharged Expenses Income")):
        income.append(
            entity.create_account(
                code=code,
                role=roles.INCOME_OPERATIONAL,
                name=name,
                balance_type="credit",
                active=True,
            )
        )
    vat_account = entity.create_account(
        code="2080",
        role=roles.LIABILITY_CL_TAXES_PAYABLE,
        name="VAT payable",
        balance_type="credit",
        active=True,
    )
    cogs = accounts.filter(role__in=roles.GROUP_COGS, role_default=True).first()

    customer = entity.create_customer(
        customer_model_kwargs={
            "customer_name": "Acme Customer GmbH",
            "address_1": "Hauptstrasse 1",
            "city": "Berlin",
            "country": "DE",
            "email": "billing@acme.example",
            "active": True,
            "hidden": False,
        }
    )
    uom = entity.create_uom(name="Unit", unit_abbr="unit")

    def service(name: str, earnings_account) -> ItemModel:
        item = ItemModel(
            entity=entity,
            name=name,
            uom=uom,
            item_role=ItemModel.ITEM_ROLE_SERVICE,
            item_type=ItemModel.ITEM_TYPE_LABOR,
            earnings_account=earnings_account,
            cogs_account=cogs,
        )
        item.clean()
        item.clean_fields()
        item.save()
        return item

    items = [
        service(description, account)
        for (description, _, _), account in zip(LINES, income, strict=True)
    ]
    vat_item = service(f"VAT {VAT_RATE:.0%}", vat_account)

    # The caller computes VAT: the library has no tax engine (see the module docstring).
    vat = VAT
    # --- timed: issue and post N invoices ---------------------------------------------------
    started = time.perf_counter()
    for _ in range(args.n):
        # The library numbers an invoice inside its own durable atomic block (a nested one is
        # refused), so the draft is created and numbered first, in autocommit mode ...
        invoice = entity.create_invoice(
            customer_model=customer, terms=InvoiceModel.TERMS_NET_30, commit=True
        )
        # ... and everything else about the invoice is one database transaction.
        with transaction.atomic():
            lines = [
                ItemTransactionModel(
                    invoice_model=invoice, item_model=item, quantity=quantity, unit_cost=price
                )
                for item, (_, quantity, price) in zip(items, LINES, strict=True)
            ]
            lines.append(
                ItemTransactionModel(
                    invoice_model=invoice, item_model=vat_item, quantity=1, unit_cost=vat
                )
            )
            for line in lines:
                line.full_clean()  # computes total_amount, as the library's generator does
            lines = invoice.itemtransactionmodel_set.bulk_create(lines)
            invoice.update_amount_due(itemtxs_qs=lines)
            invoice.full_clean()
            invoice.save()
            invoice.mark_as_review(commit=True)
            invoice.mark_as_approved(entity_slug=entity.slug, user_model=admin, commit=True)
    seconds = time.perf_counter() - started

    # --- untimed check: the work really happened --------------------------------------------
    approved = InvoiceModel.objects.filter(
        entity_model=entity, invoice_status=InvoiceModel.INVOICE_STATUS_APPROVED
    )
    last = approved.order_by("-invoice_number").first()
    result = {
        "invoices": args.n,
        "seconds": seconds,
        "check": {
            "invoices_in_db": approved.count(),
            "last_number": last.invoice_number if last else None,
            "last_gross": str(last.amount_due) if last else None,
            "journal_entries_posted": JournalEntryModel.objects.filter(
                ledger__entity=entity, posted=True
            ).count(),
            "ledger_rows": TransactionModel.objects.filter(
                journal_entry__ledger__entity=entity
            ).count(),
        },
    }
    connections.close_all()
    print(json.dumps(result))
    return 0 if result["check"]["invoices_in_db"] == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
