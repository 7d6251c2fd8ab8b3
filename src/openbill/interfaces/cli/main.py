"""`openbill`: the command line of a billing desk. Thin: every command calls one use case."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.columns import Columns
from rich.panel import Panel
from rich.table import Table

from openbill.interfaces.cli import (
    access_cmds,
    bank_cmds,
    disputes_cmds,
    documents_cmds,
    dunning_cmds,
    keys_cmds,
    metrics_cmds,
    payments_import_cmds,
    receivables_cmds,
    serve_cmds,
)
from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    UsageError,
    emit,
    entity_code,
    err,
    handle,
    money,
    opened,
    out,
    parse_date,
    parse_pairs,
)
from openbill.interfaces.cli.commercial_cmds import (
    billing_app,
    contracts_app,
    deliveries_app,
    po_app,
)
from openbill.interfaces.cli.einvoice_cmds import einvoice_app
from openbill.interfaces.cli.mail_cmds import invoices_send, mail_prefs, outbox_app
from openbill.interfaces.cli.verification_cmds import (
    discrepancies_app,
    drafts_app,
    verification_app,
)
from openbill.interfaces.cli.webhooks_cmds import webhooks_app
from openbill.usecases import client_records, disputes
from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as md
from openbill.usecases import payments as pay
from openbill.usecases import reports as rep
from openbill.usecases.verify import verify as run_verify

app = typer.Typer(
    name="openbill",
    help="openbill: invoices, payments and receivables, exact to the cent.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
entities_app = typer.Typer(help="Legal entities (the companies that bill).", no_args_is_help=True)
tax_app = typer.Typer(help="Tax rules per jurisdiction and tax class.", no_args_is_help=True)
customers_app = typer.Typer(help="Customers.", no_args_is_help=True)
charges_app = typer.Typer(help="Charge codes of the catalog.", no_args_is_help=True)
prices_app = typer.Typer(help="Effective-dated prices of charge codes.", no_args_is_help=True)
invoices_app = typer.Typer(help="Invoices and credit notes.", no_args_is_help=True)
payments_app = typer.Typer(
    help="Payments, allocations, customer credit, refunds.", no_args_is_help=True
)
writeoffs_app = typer.Typer(help="Write-offs of uncollectable invoices.", no_args_is_help=True)
ar_app = typer.Typer(help="Accounts receivable reports.", no_args_is_help=True)
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)

app.add_typer(entities_app, name="entities")
app.add_typer(tax_app, name="tax")
app.add_typer(customers_app, name="customers")
app.add_typer(charges_app, name="charges")
app.add_typer(prices_app, name="prices")
app.add_typer(invoices_app, name="invoices")
app.add_typer(payments_app, name="payments")
app.add_typer(writeoffs_app, name="writeoffs")
app.add_typer(ar_app, name="ar")
app.add_typer(ledger_app, name="ledger")
app.add_typer(discrepancies_app, name="discrepancies")
app.add_typer(drafts_app, name="drafts")
app.add_typer(verification_app, name="verification")
app.add_typer(contracts_app, name="contracts")
app.add_typer(po_app, name="po")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(billing_app, name="billing")
app.add_typer(outbox_app, name="outbox")
app.add_typer(einvoice_app, name="einvoice")
app.add_typer(documents_cmds.statements_app, name="statements")
app.add_typer(disputes_cmds.disputes_app, name="disputes")
app.add_typer(dunning_cmds.dunning_app, name="dunning")
app.add_typer(bank_cmds.bank_app, name="bank")
app.add_typer(access_cmds.users_app, name="users")
app.add_typer(access_cmds.apikeys_app, name="apikeys")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(keys_cmds.keys_app, name="keys")
app.command("serve")(serve_cmds.serve)
metrics_cmds.register(ar_app)
payments_app.command("import")(payments_import_cmds.payments_import)
receivables_cmds.register(app, payments_app)
invoices_app.command("export")(documents_cmds.export)
invoices_app.command("send")(invoices_send)
customers_app.command("mail-prefs")(mail_prefs)

LineOption = Annotated[
    list[str] | None,
    typer.Option("--line", help="CODE:QTY[:UNIT_PRICE], repeatable", show_default=False),
]
ToOption = Annotated[
    list[str] | None,
    typer.Option("--to", help="NUMBER:AMOUNT to allocate, repeatable", show_default=False),
]
DateOption = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD [default: today]")]
AllowanceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allowance",
        help="a document-level allowance AMOUNT:REASON[:TAX_CLASS], repeatable",
        show_default=False,
    ),
]
ChargeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--charge",
        help="a document-level charge AMOUNT:REASON[:TAX_CLASS], e.g. 25.00:freight",
        show_default=False,
    ),
]


def _created(what: str, result: md.Created) -> None:
    if result.created:
        out().print(f"created {what} (id {result.id})")
    else:
        out().print(f"{what} already exists (id {result.id}); nothing changed")


# --------------------------------------------------------------------------------------------
# entities and tax rules


@entities_app.command("create")
@handle
def entities_create(
    code: str,
    name: Annotated[str, typer.Option("--name")],
    country: Annotated[str, typer.Option("--country", help="ISO 3166 code, e.g. DE")],
    currency: Annotated[str, typer.Option("--currency", help="base currency, e.g. EUR")],
    rounding: Annotated[str, typer.Option("--rounding", help="half_up or half_even")] = "half_up",
    vat_id: Annotated[str, typer.Option("--vat-id")] = "",
    tax_number: Annotated[str, typer.Option("--tax-number")] = "",
    iban: Annotated[str, typer.Option("--iban")] = "",
    terms: Annotated[str, typer.Option("--terms", help="net30, eom+15, due_on_receipt")] = "net30",
    address: Annotated[str, typer.Option("--address")] = "",
    email: Annotated[str, typer.Option("--email")] = "",
    db: DbOption = None,
) -> None:
    """Create a legal entity."""
    cmd = md.CreateEntity(
        code, name, country, currency, rounding, vat_id, tax_number, iban, address, email, terms
    )
    with opened(db) as book:
        _created(f"legal entity {code}", md.create_entity(book.uow(), cmd))


@entities_app.command("list")
@handle
def entities_list(db: DbOption = None, as_json: JsonOption = False, as_csv: CsvOption = False):
    """List the legal entities of the book."""
    with opened(db) as book:
        entities = md.list_entities(book.uow(read_only=True))
        rows = [
            {
                "code": e.code,
                "name": e.name,
                "country": e.country,
                "currency": e.base_currency,
                "rounding": e.rounding,
                "vat_id": e.vat_id or "",
                "iban": e.iban or "",
                "terms": e.payment_terms,
            }
            for e in entities
        ]
    cols = (
        [Col(k, k.replace("_", " "), wrap=k == "name") for k in rows[0]]
        if rows
        else [Col("code", "code")]
    )
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Legal entities")


@tax_app.command("add-rule")
@handle
def tax_add_rule(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="country, e.g. DE")],
    tax_class: Annotated[str, typer.Option("--class", help="e.g. standard, reduced, medical")],
    category: Annotated[str, typer.Option("--category", help="S, Z, E, AE, K, G, O")],
    rate: Annotated[str, typer.Option("--rate", help="percent, e.g. 19")],
    valid_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    reason: Annotated[str, typer.Option("--reason", help="exemption reason text")] = "",
    code: Annotated[str, typer.Option("--code", help="VATEX code")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Add a tax rule: from a date, a tax class maps to a category and a rate."""
    on = parse_date(valid_from, "--from")
    with opened(db) as book:
        cmd = md.AddTaxRule(
            entity_code(book, entity), jurisdiction, tax_class, on, category, rate, reason, code
        )
        _created(
            f"tax rule {jurisdiction.upper()}/{tax_class} from {on}",
            md.add_tax_rule(book.uow(), cmd),
        )


@tax_app.command("list")
@handle
def tax_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List the tax rules of a legal entity."""
    with opened(db) as book:
        code = entity_code(book, entity)
        rules = md.list_tax_rules(book.uow(read_only=True), code)
        rows = [
            {
                "jurisdiction": r.jurisdiction,
                "class": r.tax_class,
                "from": r.valid_from.isoformat(),
                "category": r.category,
                "rate": format(r.rate.normalize(), "f"),
                "reason": r.exemption_reason,
                "code": r.exemption_code,
            }
            for r in rules
        ]
    cols = [
        Col(k, k, k == "rate", wrap=k == "reason")
        for k in ("jurisdiction", "class", "from", "category", "rate", "reason", "code")
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Tax rules")


# --------------------------------------------------------------------------------------------
# customers


@customers_app.command("create")
@handle
def customers_create(
    code: str,
    name: Annotated[str, typer.Option("--name")],
    country: Annotated[str, typer.Option("--country")],
    currency: Annotated[str, typer.Option("--currency")],
    regime: Annotated[
        str,
        typer.Option("--regime", help="domestic, reverse_charge, intra_community, export, exempt"),
    ] = "domestic",
    segment: Annotated[str, typer.Option("--segment")] = "",
    terms: Annotated[str, typer.Option("--terms", help="default: the entity's")] = "",
    vat_id: Annotated[str, typer.Option("--vat-id")] = "",
    tax_number: Annotated[str, typer.Option("--tax-number")] = "",
    iban: Annotated[str, typer.Option("--iban")] = "",
    email: Annotated[str, typer.Option("--email")] = "",
    address: Annotated[str, typer.Option("--address")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Create a customer."""
    with opened(db) as book:
        cmd = md.CreateCustomer(
            entity_code(book, entity),
            code,
            name,
            country,
            currency,
            regime,
            segment,
            terms,
            vat_id,
            tax_number,
            iban,
            email,
            address,
        )
        _created(f"customer {code}", md.create_customer(book.uow(), cmd))


@customers_app.command("list")
@handle
def customers_list(
    segment: Annotated[str, typer.Option("--segment")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List customers."""
    with opened(db) as book:
        code = entity_code(book, entity)
        customers = md.list_customers(book.uow(read_only=True), code)
        rows = [
            {
                "code": c.code,
                "name": c.name,
                "segment": c.segment,
                "country": c.country,
                "currency": c.currency,
                "regime": c.regime,
                "terms": c.payment_terms or "",
                "vat_id": c.vat_id or "",
                "email": c.email,
            }
            for c in customers
            if not segment or c.segment == segment
        ]
    keys = ("code", "name", "segment", "country", "currency", "regime", "terms", "vat_id", "email")
    emit(
        rows,
        [
            Col(k, k.replace("_", " "), wrap=k in ("name", "email", "params", "reason"))
            for k in keys
        ],
        as_json=as_json,
        as_csv=as_csv,
        title="Customers",
    )


@customers_app.command("reconcile")
@handle
def customers_reconcile(
    customer: str,
    file: Annotated[Path, typer.Argument(help="the customer's CSV: po, invoice, amount")],
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Compare a customer's own list of what they owe with our records, each difference
    explained (missing on their side or ours, amount differs, already paid)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    with opened(db) as book:
        code = entity_code(book, entity)
        result = client_records.reconcile_client_records(
            book.uow(read_only=True),
            client_records.ReconcileClientRecords(code, customer, text, str(file)),
        )
    rows = [
        {
            "outcome": d.outcome.value,
            "invoice": d.invoice,
            "po": d.po,
            "theirs": "" if d.their_minor is None else money(d.their_minor, result.currency),
            "ours_open": ""
            if d.our_open_minor is None
            else money(d.our_open_minor, result.currency),
            "explanation": d.explanation,
        }
        for d in result.differences
    ]
    cols = [
        Col("outcome", "outcome"),
        Col("invoice", "invoice"),
        Col("po", "po"),
        Col("theirs", "theirs", True),
        Col("ours_open", "ours open", True),
        Col("explanation", "explanation", wrap=True),
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title=f"{customer}: their records and ours")


# The names the list shows and the options of `create` also work with --set.
_FIELD_ALIASES = {"terms": "payment_terms"}


@customers_app.command("update")
@handle
def customers_update(
    code: str,
    sets: Annotated[
        list[str], typer.Option("--set", help="field=value, repeatable", show_default=False)
    ],
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Change fields of a customer (name, segment, payment_terms, vat_id, tax_number, iban,
    email, address, regime)."""
    changes = []
    for text in sets:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{text!r} is not field=value", param_hint="--set")
        key = key.strip()
        changes.append((_FIELD_ALIASES.get(key, key), value))
    with opened(db) as book:
        cmd = md.UpdateCustomer(entity_code(book, entity), code, tuple(changes))
        md.update_customer(book.uow(), cmd)
    out().print(f"updated customer {code}: {', '.join(k for k, _ in changes)}")


@customers_app.command("balances")
@handle
def customers_balances(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Receivable, unapplied credit and net balance per customer and currency."""
    with opened(db) as book:
        result = rep.customer_balances(book.uow(read_only=True), entity_code(book, entity))
    rows = [
        {
            "customer": b.customer,
            "name": b.name,
            "currency": b.currency,
            "receivable": money(b.receivable_minor, b.currency),
            "credit": money(b.credit_minor, b.currency),
            "balance": money(b.balance_minor, b.currency),
        }
        for b in result
    ]
    cols = [
        Col("customer", "customer"),
        Col("name", "name", wrap=True),
        Col("currency", "cur"),
        Col("receivable", "receivable", True),
        Col("credit", "credit", True),
        Col("balance", "balance", True),
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Customer balances")


# --------------------------------------------------------------------------------------------
# catalog


@charges_app.command("create")
@handle
def charges_create(
    code: str,
    name: Annotated[str, typer.Option("--name")],
    unit: Annotated[str, typer.Option("--unit", help="e.g. hour, piece, GB, month")],
    account: Annotated[str, typer.Option("--account", help="revenue account, e.g. 4000")],
    tax_class: Annotated[str, typer.Option("--tax-class")] = "standard",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Create a charge code."""
    with opened(db) as book:
        cmd = md.CreateChargeCode(entity_code(book, entity), code, name, unit, account, tax_class)
        _created(f"charge code {code}", md.create_charge_code(book.uow(), cmd))


@charges_app.command("list")
@handle
def charges_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List charge codes."""
    with opened(db) as book:
        code = entity_code(book, entity)
        charges = md.list_charge_codes(book.uow(read_only=True), code)
        rows = [
            {
                "code": c.code,
                "name": c.name,
                "unit": c.unit,
                "account": c.revenue_account,
                "tax_class": c.tax_class,
            }
            for c in charges
        ]
    keys = ("code", "name", "unit", "account", "tax_class")
    emit(
        rows,
        [
            Col(k, k.replace("_", " "), wrap=k in ("name", "email", "params", "reason"))
            for k in keys
        ],
        as_json=as_json,
        as_csv=as_csv,
        title="Charge codes",
    )


@prices_app.command("add")
@handle
def prices_add(
    charge: str,
    currency: Annotated[str, typer.Option("--currency")],
    valid_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    model: Annotated[
        str,
        typer.Option(
            "--model", help="flat, per_unit, graduated, volume, package, percentage, minimum"
        ),
    ],
    params: Annotated[str, typer.Option("--params", help='JSON, e.g. {"unit_price":"12.50"}')],
    includes_tax: Annotated[bool, typer.Option("--includes-tax")] = False,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Add a price of a charge code in a currency, in force from a date."""
    on = parse_date(valid_from, "--from")
    with opened(db) as book:
        cmd = md.AddPrice(
            entity_code(book, entity), charge, currency, on, model, params, includes_tax
        )
        _created(
            f"price of {charge} in {currency.upper()} from {on}", md.add_price(book.uow(), cmd)
        )


@prices_app.command("list")
@handle
def prices_list(
    charge: Annotated[str, typer.Option("--charge", help="only this charge code")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List prices of the catalog."""
    with opened(db) as book:
        code = entity_code(book, entity)
        prices = md.list_prices(book.uow(read_only=True), code)
        rows = [
            {
                "charge_code": p.charge_code,
                "currency": p.currency,
                "from": p.effective_from.isoformat(),
                "model": p.model,
                "params": p.params,
                "includes_tax": "yes" if p.includes_tax else "no",
            }
            for p in prices
            if not charge or p.charge_code == charge
        ]
    keys = ("charge_code", "currency", "from", "model", "params", "includes_tax")
    emit(
        rows,
        [
            Col(k, k.replace("_", " "), wrap=k in ("name", "email", "params", "reason"))
            for k in keys
        ],
        as_json=as_json,
        as_csv=as_csv,
        title="Prices",
    )


# --------------------------------------------------------------------------------------------
# invoices


def _lines(values: list[str] | None) -> tuple[inv.LineSpec, ...]:
    specs = []
    for text in values or ():
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise typer.BadParameter(f"{text!r} is not CODE:QTY[:UNIT_PRICE]", param_hint="--line")
        specs.append(
            inv.LineSpec(parts[0], parts[1], unit_price=parts[2] if len(parts) == 3 else "")
        )
    return tuple(specs)


def _adjustments(
    allowances: list[str] | None, charges: list[str] | None
) -> tuple[inv.AdjustmentSpec, ...]:
    specs = []
    for kind, values in (("allowance", allowances), ("charge", charges)):
        for text in values or ():
            parts = text.split(":")
            if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
                raise typer.BadParameter(
                    f"{text!r} is not AMOUNT:REASON[:TAX_CLASS]", param_hint=f"--{kind}"
                )
            tax_class = parts[2] if len(parts) == 3 else "standard"
            specs.append(inv.AdjustmentSpec(kind, parts[0], parts[1], tax_class))
    return tuple(specs)


def _issued_line(result: inv.Issued) -> str:
    what = "credit note" if result.kind == "credit_note" else "invoice"
    due = f", due {result.due_date}" if result.kind == "invoice" else ""
    return (
        f"issued {what} {result.number}: net {money(result.net_minor, result.currency)} "
        f"+ tax {money(result.tax_minor, result.currency)} "
        f"= {money(result.total_minor, result.currency)} {result.currency}{due}"
    )


@invoices_app.command("draft")
@handle
def invoices_draft(
    customer: str,
    line: LineOption = None,
    date_: DateOption = None,
    currency: Annotated[str, typer.Option("--currency")] = "",
    reference: Annotated[str, typer.Option("--reference", help="buyer reference")] = "",
    idempotency_key: Annotated[str, typer.Option("--idempotency-key")] = "",
    allowance: AllowanceOption = None,
    charge: ChargeOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Start a draft invoice (no number yet)."""
    with opened(db) as book:
        cmd = inv.CreateDraft(
            entity_code(book, entity),
            customer,
            parse_date(date_),
            currency,
            _lines(line),
            reference,
            idempotency_key,
            _adjustments(allowance, charge),
        )
        r = inv.create_draft(book.uow(), cmd)
    out().print(
        f"draft {r.id} for {customer}: {r.lines} line(s), total "
        f"{money(r.total_minor, r.currency)} {r.currency}"
    )


@invoices_app.command("add-line")
@handle
def invoices_add_line(
    draft_id: int,
    line: LineOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Add lines to a draft."""
    specs = _lines(line)
    if not specs:
        raise UsageError("give at least one --line CODE:QTY[:UNIT_PRICE]")
    with opened(db) as book:
        r = inv.add_lines(book.uow(), inv.AddLines(entity_code(book, entity), draft_id, specs))
    out().print(
        f"draft {r.id}: {r.lines} line(s), net {money(r.net_minor, r.currency)} + tax "
        f"{money(r.tax_minor, r.currency)} = {money(r.total_minor, r.currency)} {r.currency}"
    )


@invoices_app.command("issue")
@handle
def invoices_issue(
    draft_id: int,
    date_: DateOption = None,
    idempotency_key: Annotated[str, typer.Option("--idempotency-key")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Issue a draft: it gets the next number and can no longer change."""
    with opened(db) as book:
        cmd = inv.IssueDraft(
            entity_code(book, entity), draft_id, parse_date(date_), idempotency_key
        )
        out().print(_issued_line(inv.issue_draft(book.uow(), cmd)))


@invoices_app.command("create")
@handle
def invoices_create(
    customer: str,
    line: LineOption = None,
    date_: DateOption = None,
    currency: Annotated[str, typer.Option("--currency")] = "",
    reference: Annotated[str, typer.Option("--reference", help="buyer reference")] = "",
    idempotency_key: Annotated[str, typer.Option("--idempotency-key")] = "",
    allowance: AllowanceOption = None,
    charge: ChargeOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Create and issue an invoice in one step."""
    specs = _lines(line)
    if not specs:
        raise UsageError("give at least one --line CODE:QTY[:UNIT_PRICE]")
    with opened(db) as book:
        cmd = inv.CreateInvoice(
            entity_code(book, entity),
            customer,
            specs,
            parse_date(date_),
            currency,
            reference,
            idempotency_key,
            _adjustments(allowance, charge),
        )
        out().print(_issued_line(inv.create_invoice(book.uow(), cmd)))


@invoices_app.command("void")
@handle
def invoices_void(
    number: str,
    reason: Annotated[str, typer.Option("--reason")],
    date_: DateOption = None,
    idempotency_key: Annotated[str, typer.Option("--idempotency-key")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Void an invoice by a credit note for all of it."""
    with opened(db) as book:
        cmd = inv.CreditInvoice(
            entity_code(book, entity), number, reason, parse_date(date_), (), idempotency_key
        )
        out().print(_issued_line(inv.credit_invoice(book.uow(), cmd)) + f" (voids {number})")


@invoices_app.command("credit")
@handle
def invoices_credit(
    number: str,
    reason: Annotated[str, typer.Option("--reason")],
    line: Annotated[
        list[str] | None,
        typer.Option("--line", help="LINE_NO:QTY to credit, repeatable; default: all"),
    ] = None,
    date_: DateOption = None,
    idempotency_key: Annotated[str, typer.Option("--idempotency-key")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Issue a credit note for an invoice, or for quantities of some of its lines."""
    pairs = []
    for no, qty in parse_pairs(line, "LINE_NO:QTY", "--line"):
        if not no.isdigit():
            raise typer.BadParameter(f"{no!r} is not a line number", param_hint="--line")
        pairs.append((int(no), qty))
    with opened(db) as book:
        cmd = inv.CreditInvoice(
            entity_code(book, entity),
            number,
            reason,
            parse_date(date_),
            tuple(pairs),
            idempotency_key,
        )
        out().print(_issued_line(inv.credit_invoice(book.uow(), cmd)) + f" (credits {number})")


@invoices_app.command("list")
@handle
def invoices_list(
    customer: Annotated[str, typer.Option("--customer")] = "",
    status: Annotated[
        str,
        typer.Option(
            "--status", help="draft, issued, partially_paid, paid, overdue, void, applied"
        ),
    ] = "",
    kind: Annotated[str, typer.Option("--kind", help="invoice or credit_note")] = "",
    as_of: Annotated[str | None, typer.Option("--as-of", help="status as of this date")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 1000,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List invoices and credit notes with their derived status and open amount."""
    with opened(db) as book:
        docs = rep.list_documents(
            book.uow(read_only=True),
            entity_code(book, entity),
            customer=customer,
            kind=kind,
            status=status,
            as_of=parse_date(as_of, "--as-of"),
            limit=limit,
        )
    rows = [
        {
            "number": d.number,
            "kind": d.kind,
            "status": d.status,
            "customer": d.customer,
            "date": d.document_date,
            "due": d.due_date,
            "currency": d.currency,
            "total": money(d.total_minor, d.currency),
            "open": money(d.open_minor, d.currency),
        }
        for d in docs
    ]
    cols = [
        Col(k, "cur" if k == "currency" else k, k in ("total", "open"))
        for k in (
            "number",
            "kind",
            "status",
            "customer",
            "date",
            "due",
            "currency",
            "total",
            "open",
        )
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Documents")


def _price(value: Any) -> str:
    """A unit price with at least two places (85.00, 0.68125)."""
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _rate(value: Any) -> str:
    return format(value.normalize(), "f") if value is not None else ""


@invoices_app.command("show")
@handle
def invoices_show(
    number: str,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one document whole: header, lines, tax subtotals, settlements and status."""
    with opened(db) as book:
        view = rep.show_document(
            book.uow(read_only=True),
            entity_code(book, entity),
            number,
            parse_date(as_of, "--as-of"),
        )
        rebill = (
            disputes.resolution_of_document(
                book.uow(read_only=True), entity_code(book, entity), view.header["number"]
            )
            if view.header["number"]
            else None
        )
    h = view.header
    settlements = (
        [(str(s["allocated_on"]), _source(s), s["amount_minor"]) for s in view.settlements]
        + [
            (
                str(s["reversed_on"]),
                f"payment {s['payment_id']} returned: {s['reversal_reason']}",
                -s["amount_minor"],
            )
            for s in view.settlements
            if s.get("reversed_on") is not None
        ]
        + [
            (str(w["written_off_on"]), f"write-off: {w['reason']}", w["amount_minor"])
            for w in view.write_offs
        ]
        + [
            (
                str(w["reversed_on"]),
                f"write-off taken back: {w['reversal_reason']}",
                -w["amount_minor"],
            )
            for w in view.write_offs
            if w.get("reversed_on") is not None
        ]
    )
    cur = h["currency"]
    if as_json:
        data = {
            "number": h["number"],
            "kind": h["kind"],
            "status": h["derived_status"],
            "customer": h["customer_code"],
            "date": str(h["document_date"]),
            "due": str(h["due_date"] or ""),
            "payment_reference": h.get("payment_reference", ""),
            "currency": cur,
            "net": money(h["net_minor"], cur),
            "tax": money(h["tax_minor"], cur),
            "total": money(h["total_minor"], cur),
            "open": money(h["open_minor"], cur),
            "lines": [
                {
                    "line": ln["line_no"],
                    "description": ln["description"],
                    "quantity": format(ln["quantity"].normalize(), "f"),
                    "unit_price": _price(ln["unit_price"]),
                    "net": money(ln["net_minor"], cur),
                    "category": ln["tax_category"],
                    "rate": _rate(ln["tax_rate"]),
                }
                for ln in view.lines
            ],
            "taxes": [
                {
                    "category": x["category"],
                    "rate": _rate(x["rate"]),
                    "taxable": money(x["taxable_minor"], cur),
                    "tax": money(x["tax_minor"], cur),
                    "note": " ".join(p for p in (x["exemption_code"], x["exemption_reason"]) if p),
                }
                for x in view.taxes
            ],
            "allowances_charges": [
                {
                    "kind": "charge" if a["is_charge"] else "allowance",
                    "reason": a["reason"],
                    "amount": money(a["amount_minor"], cur),
                    "category": a["tax_category"],
                    "rate": _rate(a["tax_rate"]),
                }
                for a in view.adjustments
            ],
            "settlements": [
                {"date": on, "source": source, "amount": money(amount, cur)}
                for on, source, amount in settlements
            ],
        }
        typer.echo(json.dumps(data))
        return
    title = "Credit note" if h["kind"] == "credit_note" else "Invoice"
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("number", h["number"] or f"draft {h['id']}")
    head.add_row("customer", f"{h['customer_code']}  {h['customer_name']}")
    head.add_row("date", str(h["document_date"]))
    if h["kind"] == "invoice":
        head.add_row("due", str(h["due_date"] or ""))
        head.add_row("terms", h["payment_terms"])
        if h.get("payment_reference"):
            head.add_row("pay with ref.", h["payment_reference"])
    if h["reason"]:
        head.add_row("reason", h["reason"])
    head.add_row("status", h["derived_status"])
    if rebill is not None:
        head.add_row(
            "dispute",
            f"{rebill['case_no']}: credit note {rebill['credit_note_number']}, corrected "
            f"invoice {rebill['rebill_number'] or '-'}",
        )
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column(justify="right")
    totals.add_row("net", f"{money(h['net_minor'], cur)} {cur}")
    totals.add_row("tax", f"{money(h['tax_minor'], cur)} {cur}")
    totals.add_row("total", f"{money(h['total_minor'], cur)} {cur}")
    totals.add_row(
        "open" if h["kind"] == "invoice" else "credit left", f"{money(h['open_minor'], cur)} {cur}"
    )
    console = out()
    console.print(Columns([Panel(head, title=title), Panel(totals, title="Totals")]))
    lines = Table(title="Lines")
    for name, right in (
        ("#", True),
        ("description", False),
        ("qty", True),
        ("unit", False),
        ("unit price", True),
        ("net", True),
        ("VAT", False),
    ):
        lines.add_column(name, justify="right" if right else "left")
    for ln in view.lines:
        lines.add_row(
            str(ln["line_no"]),
            ln["description"],
            format(ln["quantity"].normalize(), "f"),
            ln["unit"],
            _price(ln["unit_price"]),
            money(ln["net_minor"], cur),
            f"{ln['tax_category']} {_rate(ln['tax_rate'])}%",
        )
    console.print(lines)
    if view.adjustments:
        adjustments = Table(title="Allowances and charges (document level)")
        for name, right in (("kind", False), ("reason", False), ("amount", True), ("VAT", False)):
            adjustments.add_column(name, justify="right" if right else "left")
        for a in view.adjustments:
            sign = "" if a["is_charge"] else "-"
            adjustments.add_row(
                "charge" if a["is_charge"] else "allowance",
                a["reason"],
                sign + money(a["amount_minor"], cur),
                f"{a['tax_category']} {_rate(a['tax_rate'])}%",
            )
        console.print(adjustments)
    taxes = Table(title="Tax subtotals")
    for name, right in (
        ("category", False),
        ("rate", True),
        ("taxable", True),
        ("tax", True),
        ("legal note", False),
    ):
        taxes.add_column(name, justify="right" if right else "left")
    for x in view.taxes:
        taxes.add_row(
            x["category"],
            f"{_rate(x['rate'])}%",
            money(x["taxable_minor"], cur),
            money(x["tax_minor"], cur),
            " ".join(
                p
                for p in (
                    x["exemption_reason"],
                    f"({x['exemption_code']})" if x["exemption_code"] else "",
                )
                if p
            ),
        )
    console.print(taxes)
    if settlements:
        settled = Table(title="Settlements")
        settled.add_column("date")
        settled.add_column("source")
        settled.add_column("amount", justify="right")
        for on, source, amount in settlements:
            settled.add_row(on, source, money(amount, cur))
        console.print(settled)


def _source(s: Any) -> str:
    if s["payment_id"] is not None:
        return f"payment {s['payment_id']}"
    return f"credit note (document {s['credit_note_id']}) to document {s['invoice_id']}"


# --------------------------------------------------------------------------------------------
# payments and write-offs


@payments_app.command("record")
@handle
def payments_record(
    customer: str,
    amount: str,
    currency: Annotated[str, typer.Option("--currency")] = "",
    date_: DateOption = None,
    method: Annotated[str, typer.Option("--method", help=", ".join(pay.METHODS))] = (
        "bank_transfer"
    ),
    reference: Annotated[str, typer.Option("--reference")] = "",
    allocate: Annotated[
        str,
        typer.Option(
            "--allocate",
            help="auto (the invoices the reference names, else oldest first), reference, "
            "oldest or none",
        ),
    ] = "auto",
    to: ToOption = None,
    rate: Annotated[
        str,
        typer.Option(
            "--rate",
            help="paying invoices in another currency: 1 unit of the invoice currency = RATE "
            "units of the payment currency [default: the stored rate of the day]",
        ),
    ] = "",
    invoice_currency: Annotated[
        str, typer.Option("--invoice-currency", help="pay the oldest invoices in this currency")
    ] = "",
    keep_difference: Annotated[
        bool,
        typer.Option(
            "--keep-difference",
            help="leave a small short payment open instead of writing it off",
        ),
    ] = False,
    idempotency_key: Annotated[str, typer.Option("--idempotency-key")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Record a payment received and allocate it: to the invoices its reference names (an
    invoice number or the RF creditor reference printed on the invoice), else oldest first."""
    pairs = parse_pairs(to, "NUMBER:AMOUNT", "--to")
    with opened(db) as book:
        cmd = pay.RecordPayment(
            entity_code(book, entity),
            customer,
            amount,
            currency,
            parse_date(date_),
            method,
            reference,
            "explicit" if pairs else allocate,
            pairs,
            idempotency_key,
            rate=rate,
            invoice_currency=invoice_currency,
            close_small_difference=not keep_difference,
        )
        r = pay.record_payment(book.uow(), cmd)
    paid = f" to {', '.join(r.invoices)} ({r.how})" if r.invoices else ""
    out().print(
        f"recorded payment {r.id}: {money(r.amount_minor, r.currency)} {r.currency} from "
        f"{customer}; allocated {money(r.allocated_minor, r.currency)}{paid}; customer credit "
        f"now {money(r.credit_minor, r.currency)}"
    )
    if r.written_off_minor:
        out().print(
            f"small difference written off: {money(r.written_off_minor, r.written_off_currency)} "
            f"{r.written_off_currency}"
        )
    if r.fx_difference_minor:
        word = "gain" if r.fx_difference_minor > 0 else "loss"
        out().print(
            f"realised exchange {word}: {money(abs(r.fx_difference_minor), r.base_currency)} "
            f"{r.base_currency}"
        )


@payments_app.command("allocate")
@handle
def payments_allocate(
    payment_id: int,
    to: ToOption = None,
    date_: DateOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Allocate what is left of a payment (oldest invoices first, or --to)."""
    pairs = parse_pairs(to, "NUMBER:AMOUNT", "--to")
    with opened(db) as book:
        cmd = pay.AllocatePayment(entity_code(book, entity), payment_id, pairs, parse_date(date_))
        r = pay.allocate_payment(book.uow(), cmd)
    out().print(
        f"allocated {money(r.amount_minor, r.currency)} {r.currency} of payment {r.id} "
        f"to {r.detail}"
    )


@payments_app.command("apply-credit")
@handle
def payments_apply_credit(
    customer: str,
    currency: Annotated[str, typer.Option("--currency")] = "",
    date_: DateOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Use a customer's unapplied payments on their open invoices, oldest first."""
    with opened(db) as book:
        cmd = pay.ApplyCredit(entity_code(book, entity), customer, currency, parse_date(date_))
        r = pay.apply_credit(book.uow(), cmd)
    out().print(f"applied {money(r.amount_minor, r.currency)} {r.currency} of credit of {customer}")


@payments_app.command("refund")
@handle
def payments_refund(
    customer: str,
    amount: str,
    currency: Annotated[str, typer.Option("--currency")] = "",
    date_: DateOption = None,
    method: Annotated[str, typer.Option("--method")] = "bank_transfer",
    reference: Annotated[str, typer.Option("--reference")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Pay back customer credit."""
    with opened(db) as book:
        cmd = pay.Refund(
            entity_code(book, entity),
            customer,
            amount,
            currency,
            parse_date(date_),
            method,
            reference,
        )
        r = pay.refund(book.uow(), cmd)
    out().print(
        f"refund {r.id}: paid {money(r.amount_minor, r.currency)} {r.currency} to {customer}"
    )


@payments_app.command("list")
@handle
def payments_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List payments with what is allocated and what is left."""
    with opened(db) as book:
        result = rep.list_payments(book.uow(read_only=True), entity_code(book, entity))
    rows = [
        {
            "id": p["id"],
            "customer": p["customer"],
            "received_on": p["received_on"],
            "method": p["method"],
            "reference": p["reference"],
            "currency": p["currency"],
            "amount": money(p["amount_minor"], p["currency"]),
            "allocated": money(p["allocated_minor"], p["currency"]),
            "unallocated": money(p["unallocated_minor"], p["currency"]),
            "status": p["status"],
        }
        for p in result
    ]
    keys = (
        "id",
        "customer",
        "received_on",
        "method",
        "reference",
        "currency",
        "amount",
        "allocated",
        "unallocated",
        "status",
    )
    emit(
        rows,
        [Col(k, "cur" if k == "currency" else k.replace("_", " "), k in keys[-4:-1]) for k in keys],
        as_json=as_json,
        as_csv=as_csv,
        title="Payments",
    )


@writeoffs_app.command("create")
@handle
def writeoffs_create(
    number: str,
    reason: Annotated[str, typer.Option("--reason")],
    amount: Annotated[str, typer.Option("--amount", help="default: everything open")] = "",
    date_: DateOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Write off what is open on an invoice (or part of it)."""
    with opened(db) as book:
        cmd = pay.WriteOff(entity_code(book, entity), number, reason, amount, parse_date(date_))
        r = pay.write_off(book.uow(), cmd)
    out().print(f"write-off {r.id}: {money(r.amount_minor, r.currency)} {r.currency} of {number}")


# --------------------------------------------------------------------------------------------
# reports


def _buckets(text: str) -> tuple[int, ...]:
    try:
        bounds = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a list of days like 30,60,90", param_hint="--buckets"
        ) from None
    if any(b <= 0 for b in bounds) or list(bounds) != sorted(set(bounds)):
        raise typer.BadParameter(
            "bucket bounds are increasing positive days", param_hint="--buckets"
        )
    return bounds


def aging_rows(
    labels: list[str], result: list[rep.AgingRow]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows per customer and currency, then a TOTAL row per currency and one in base currency
    over all currencies (left empty when a currency has no rate)."""
    rows: list[dict[str, Any]] = []
    sums: dict[str, list[int]] = defaultdict(lambda: [0] * (len(labels) + 2))
    base = result[0].base_currency if result else ""
    base_sums = [0] * (len(labels) + 1)
    base_complete = True
    for r in result:
        row: dict[str, Any] = {"customer": r.customer, "name": r.name, "currency": r.currency}
        for label, value in zip(labels, r.buckets, strict=True):
            row[label] = money(value, r.currency)
        row["total"] = money(r.total_minor, r.currency)
        row["credit"] = money(r.credit_minor, r.currency)
        row[f"total {base}"] = (
            money(r.base_total_minor, base) if r.base_total_minor is not None else "no rate"
        )
        rows.append(row)
        acc = sums[r.currency]
        for i, value in enumerate((*r.buckets, r.total_minor, r.credit_minor)):
            acc[i] += value
        if r.base_buckets is None or r.base_total_minor is None:
            base_complete = False
        else:
            for i, value in enumerate((*r.base_buckets, r.base_total_minor)):
                base_sums[i] += value
    footer = []
    for cur in sorted(sums):
        values = sums[cur]
        row = {"customer": "TOTAL", "name": "", "currency": cur}
        for label, value in zip([*labels, "total", "credit"], values, strict=True):
            row[label] = money(value, cur)
        row[f"total {base}"] = ""
        footer.append(row)
    if result and (len(sums) > 1 or base not in sums):
        row = {"customer": f"TOTAL in {base}", "name": "", "currency": base}
        for label, value in zip([*labels, "total"], base_sums, strict=True):
            row[label] = money(value, base) if base_complete else "incomplete"
        row["credit"] = ""
        row[f"total {base}"] = money(base_sums[-1], base) if base_complete else "incomplete"
        footer.append(row)
    return rows, footer


@ar_app.command("aging")
@handle
def ar_aging(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD")],
    buckets: Annotated[
        str, typer.Option("--buckets", help="upper bounds in days past due, e.g. 30,60,90")
    ] = "30,60,90",
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Open receivables by customer in days-past-due buckets, with a total per currency and,
    at the rate of the day (`openbill fx`), in the base currency."""
    on = parse_date(as_of, "--as-of")
    assert on is not None
    bounds = _buckets(buckets)
    with opened(db) as book:
        labels, result, rates = rep.aging_in_base(
            book.uow(read_only=True), entity_code(book, entity), on, bounds
        )
    rows, footer = aging_rows(labels, result)
    base = result[0].base_currency if result else ""
    cols = [Col("customer", "customer"), Col("name", "name", wrap=True), Col("currency", "cur")]
    cols += [Col(label, label, True) for label in labels]
    cols += [Col("total", "total", True), Col("credit", "credit", True)]
    cols += [Col(f"total {base}", f"in {base}", True)] if base else []
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title=f"AR aging as of {on}", footer=footer)
    if not (as_json or as_csv):
        for r in rates:
            if r.currency == base:
                continue
            if r.rate is None:
                err().print(
                    f"no {r.currency}/{base} rate on {on} or in the week before: its rows have "
                    f"no {base} value; add one with `openbill fx add`"
                )
            else:
                rate = format(r.rate.normalize(), "f")
                out().print(f"1 {r.currency} = {rate} {base} (rate of {r.rate_date})")


@ledger_app.command("balances")
@handle
def ledger_balances(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Debits, credits and balance per account and currency; each currency must sum to zero."""
    with opened(db) as book:
        result = rep.ledger_balances(book.uow(read_only=True), entity_code(book, entity))
    rows = [
        {
            "account": b.account,
            "name": b.name,
            "currency": b.currency,
            "debit": money(b.debit_minor, b.currency),
            "credit": money(b.credit_minor, b.currency),
            "balance": money(b.balance_minor, b.currency),
        }
        for b in result
    ]
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for b in result:
        per[b.currency][0] += b.debit_minor
        per[b.currency][1] += b.credit_minor
        per[b.currency][2] += b.balance_minor
    footer = [
        {
            "account": "CHECK",
            "name": "balanced" if v[2] == 0 else "NOT BALANCED",
            "currency": cur,
            "debit": money(v[0], cur),
            "credit": money(v[1], cur),
            "balance": money(v[2], cur),
        }
        for cur, v in sorted(per.items())
    ]
    cols = [
        Col("account", "account"),
        Col("name", "name", wrap=True),
        Col("currency", "cur"),
        Col("debit", "debit", True),
        Col("credit", "credit", True),
        Col("balance", "balance", True),
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Ledger balances", footer=footer)
    if any(v[2] for v in per.values()):
        raise typer.Exit(1)


@app.command("verify")
@handle
def verify_cmd(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Recompute every invariant and every hash chain; exit 1 on any violation."""
    with opened(db) as book:
        report = run_verify(book.uow(read_only=True))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "checks": [{"check": c, "violations": n} for c, n in report.checks],
                    "violations": [
                        {"check": v.check, "record": v.record, "message": v.message}
                        for v in report.violations
                    ],
                }
            )
        )
    else:
        print_verify(report)
    if not report.ok:
        raise typer.Exit(1)


def print_verify(report: Any) -> None:
    console = out()
    table = Table(title="verify")
    table.add_column("check")
    table.add_column("result")
    table.add_column("violations", justify="right")
    for name, found in report.checks:
        table.add_row(name, "[green]pass[/]" if not found else "[red]FAIL[/]", str(found))
    console.print(table)
    for v in report.violations:
        console.print(f"[red]{v.check}[/]: {v.record}: {v.message}", markup=True)
    if report.ok:
        console.print("[green]all checks passed[/]")


@app.command("demo")
@handle
def demo_cmd(
    db: DbOption = None,
    date_: Annotated[
        str, typer.Option("--date", help="a day of the demo month (a book holds one demo month)")
    ] = "2026-11-01",
    out_dir: Annotated[
        str, typer.Option("--out", help="folder for the PDFs, e-invoices and delivery files")
    ] = "demo-output",
) -> None:
    """Create (or complete) a demo book: one billing month of a small German company, from
    deliveries to invoices; documents into --out, e-mails into the outbox (not sent)."""
    from openbill.interfaces.cli.demo import run_demo

    start = parse_date(date_)
    assert start is not None
    if not run_demo(db, start, out_dir=out_dir):
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app()
