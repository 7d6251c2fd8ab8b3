"""Importing payments files into a book (usecases.payment_import), on SQLite and PostgreSQL.

The book of fixtures_book: WIDGET costs 12.50 net, 19 % VAT. The invoices below:

    A  C1  2026-01-10  8 WIDGET  100.00 + 19.00 = 119.00   INV-2026-000001
    B  C1  2026-02-10  4 WIDGET   50.00 +  9.50 =  59.50   INV-2026-000002
    C  C3  2026-02-10  2 WIDGET   25.00 +  4.75 =  29.75   INV-2026-000003
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fixtures_book import (
    ENTITY,
    add_price,
    credit_of,
    invoice,
    open_of,
    row_counts,
    verify_clean,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from openbill.domain.payment_import import BUILTIN, profiles_from_toml
from openbill.domain.reference import creditor_reference, printable
from openbill.domain.rejections import InvalidInput
from openbill.usecases import fx
from openbill.usecases import masterdata as m
from openbill.usecases import payments as pay
from openbill.usecases.payment_import import PaymentsImportRefused, import_payments

HEADER = "customer,amount,currency,date,reference,method,id\n"


@pytest.fixture
def abc(book):
    a = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"))
    b = invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "4"))
    c = invoice(book, "C3", date(2026, 2, 10), ("WIDGET", "2"))
    assert (a.total_minor, b.total_minor, c.total_minor) == (11900, 5950, 2975)
    return a, b, c


def _import(book, text, profile="openbill", **kw):
    return import_payments(book.uow, ENTITY, text, "pay.csv", BUILTIN[profile], **kw)


def _column(book, sql):
    with book.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


# --- the profiles, end to end ----------------------------------------------------------------


def test_rf_reference_invoice_number_and_oldest_first(book, abc):
    a, b, c = abc
    rf = printable(creditor_reference(b.number))
    result = _import(
        book,
        HEADER
        + f"C1,59.50,EUR,2026-03-01,{rf},bank_transfer,T1\n"
        + f",120.00,EUR,2026-03-02,Rechnung {a.number} danke,,T2\n"
        + "C3,10.00,EUR,2026-03-03,,cheque,T3\n",
    )
    # T1 pays B by its RF reference although A is older; T2 names A in a sentence and has no
    # customer (found through A): 119.00 to A, 1.00 left as C1's credit; T3 names nothing:
    # C3's oldest invoice C, 29.75 - 10.00 = 19.75 open.
    assert (open_of(book, a.number), open_of(book, b.number), open_of(book, c.number)) == (
        0,
        0,
        1975,
    )
    assert credit_of(book, "C1") == 100
    assert dict(result.allocation) == {"reference": 2, "oldest": 1, "explicit": 0, "none": 0}
    (eur,) = result.totals
    # received 59.50 + 120.00 + 10.00 = 189.50; allocated 59.50 + 119.00 + 10.00 = 188.50.
    assert (
        eur.currency,
        eur.payments,
        eur.amount_minor,
        eur.allocated_minor,
        eur.credit_minor,
    ) == (
        "EUR",
        3,
        18950,
        18850,
        100,
    )
    assert [(p.line, p.customer, p.invoices) for p in result.payments] == [
        (2, "C1", (b.number,)),
        (3, "C1", (a.number,)),
        (4, "C3", (c.number,)),
    ]
    assert _column(book, "SELECT method FROM payments ORDER BY id") == [
        ("bank_transfer",),
        ("bank_transfer",),
        ("cheque",),
    ]
    verify_clean(book)


def test_de_bank_export_finds_the_customer_and_skips_debits(book, abc):
    a, b, _ = abc
    rf = printable(creditor_reference(b.number))
    data = (
        "Kontoinhaber;Acme GmbH\n\n"
        "Buchungstag;Wertstellung;Betrag;Währung;Verwendungszweck;Auftraggeber/Empfänger;IBAN\n"
        f"05.03.2026;05.03.2026;119,00;EUR;Rechnung {a.number};Alpha GmbH;DE02120300000000202051\n"
        "06.03.2026;06.03.2026;-1.850,00;EUR;Miete;Vermieter KG;DE02500105170137075030\n"
        f"07.03.2026;09.03.2026;59,50;EUR;{rf};Alpha GmbH;DE02120300000000202051\n"
    ).encode("cp1252")
    profile = profiles_from_toml(
        '[profiles.spk]\nextends = "de-bank"\nencoding = "cp1252"\n', "p.toml"
    )["spk"]
    result = import_payments(book.uow, ENTITY, data, "umsatz.csv", profile)
    # 119,00 and 59,50 received for C1's two invoices; the rent (-1.850,00) is skipped.
    assert (result.rows_read, result.recorded, result.debits_skipped) == (3, 2, 1)
    assert (open_of(book, a.number), open_of(book, b.number)) == (0, 0)
    assert _column(book, "SELECT received_on FROM payments ORDER BY id") in (
        [(date(2026, 3, 5),), (date(2026, 3, 7),)],
        [("2026-03-05",), ("2026-03-07",)],
    )
    verify_clean(book)


def test_lockbox_file_in_usd(book):
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "CUS", "Gamma Inc", "DE", "USD"))
    add_price(book, "WIDGET", "USD", date(2020, 1, 1), "10.00")
    # 3 x 10.00 = 30.00 + 19 % = 5.70 -> 35.70; 1 x 10.00 + 1.90 = 11.90.
    d = invoice(book, "CUS", date(2026, 2, 1), ("WIDGET", "3"))
    e = invoice(book, "CUS", date(2026, 2, 2), ("WIDGET", "1"))
    assert (d.total_minor, e.total_minor) == (3570, 1190)
    result = _import(
        book,
        "date,amount,reference,payer\n"
        f'03/05/2026,"35.70",{d.number},Gamma Inc\n'
        f"03/06/2026,5.00,{e.number},Gamma Inc\n",
        "lockbox",
    )
    # D paid in full; E 11.90 - 5.00 = 6.90 still open.
    assert (open_of(book, d.number), open_of(book, e.number)) == (0, 690)
    (usd,) = result.totals
    assert (usd.currency, usd.amount_minor, usd.allocated_minor) == ("USD", 4070, 4070)
    assert _column(book, "SELECT DISTINCT method FROM payments") == [("cheque",)]


def test_stripe_export_records_paid_charges_less_refunds(book, abc):
    a, b, _ = abc
    data = (
        "id,Description,Seller Message,Created (UTC),Amount,Amount Refunded,Currency,Fee,"
        "Status,Customer ID,Customer Email\n"
        f"ch_1,Invoice {a.number},Payment complete.,2026-03-05 14:30,119.00,0.00,eur,3.75,"
        "Paid,cus_A,ap@alpha.example\n"
        f"ch_2,Invoice {b.number},Payment complete.,2026-03-05 15:00,59.50,10.00,eur,2.00,"
        "Paid,cus_A,ap@alpha.example\n"
        f"ch_3,Invoice {b.number},Your card was declined.,2026-03-06 09:00,10.00,0.00,eur,0.00,"
        "Failed,cus_A,ap@alpha.example\n"
    )
    result = _import(book, data, "stripe")
    # A paid; B paid 59.50 less 10.00 refunded = 49.50, so 10.00 open; the failed charge
    # is not a payment.
    assert (open_of(book, a.number), open_of(book, b.number)) == (0, 1000)
    assert (result.recorded, result.not_paid_skipped) == (2, 1)
    assert [p.payer for p in result.payments] == ["ap@alpha.example"] * 2
    assert _column(book, "SELECT DISTINCT method FROM payments") == [("card",)]
    verify_clean(book)


# --- all or nothing --------------------------------------------------------------------------

MIXED = (
    "C1,59.50,EUR,2026-03-01,{b},,T1\n"  # good
    "C9,10.00,EUR,2026-03-01,,,T2\n"  # no such customer
    "C1,29.75,EUR,2026-03-01,{c},,T3\n"  # C's invoice is C3's, not C1's
    ",5.00,EUR,2026-03-01,thanks,,T4\n"  # no customer and no invoice named
    "C1,1.005,EUR,2026-03-01,,,T5\n"  # three decimals
    "C3,29.75,EUR,2026-03-01,{c},,T6\n"  # good
)


def _mixed(abc):
    _, b, c = abc
    return HEADER + MIXED.format(b=b.number, c=c.number)


def test_one_bad_row_records_nothing_and_every_bad_row_is_named(book, abc):
    before = row_counts(book)
    with pytest.raises(PaymentsImportRefused) as refused:
        _import(book, _mixed(abc))
    assert row_counts(book) == before
    errors = refused.value.errors
    assert [(e.line, e.field) for e in errors] == [
        (3, "customer"),
        (4, "reference"),
        (5, "customer"),
        (6, "amount"),
    ]
    assert "an invoice of C3, not of C1" in errors[1].reason
    assert "no customer and the reference names no invoice" in errors[2].reason
    assert all(e.source == "pay.csv" for e in errors)
    assert dict(errors[0].raw)["customer"] == "C9"
    assert "nothing was imported" in refused.value.reason


def test_keep_good_records_the_good_rows_and_returns_the_bad(book, abc):
    _, b, c = abc
    result = _import(book, _mixed(abc), keep_good=True)
    assert result.recorded == 2
    assert [e.line for e in result.rejected] == [3, 4, 5, 6]
    assert (open_of(book, b.number), open_of(book, c.number)) == (0, 0)
    verify_clean(book)


def test_a_reference_to_another_customers_invoice_is_refused_and_the_own_is_not(book, abc):
    _, _, c = abc
    with pytest.raises(PaymentsImportRefused) as refused:
        _import(book, HEADER + f"C1,29.75,EUR,2026-03-01,{c.number},,T1\n")
    assert refused.value.errors[0].field == "reference"
    # Near miss: the same line for C3, whose invoice it is.
    result = _import(book, HEADER + f"C3,29.75,EUR,2026-03-01,{c.number},,T1\n")
    assert (result.recorded, open_of(book, c.number)) == (1, 0)


def test_without_a_customer_the_named_invoices_must_be_one_customers(book, abc):
    a, b, c = abc
    with pytest.raises(PaymentsImportRefused) as refused:
        _import(book, HEADER + f",148.75,EUR,2026-03-01,{a.number} {c.number},,T1\n")
    assert refused.value.errors[0].field == "reference"
    assert "C1, C3" in refused.value.errors[0].reason
    # Near miss: two invoices of C1 in one reference: 119.00 + 59.50 = 178.50 pays both.
    result = _import(book, HEADER + f",178.50,EUR,2026-03-01,{a.number} {b.number},,T2\n")
    assert result.payments[0].invoices == (a.number, b.number)
    assert (open_of(book, a.number), open_of(book, b.number)) == (0, 0)


def test_a_transaction_twice_in_one_file_is_refused(book, abc):
    _, b, _ = abc
    with pytest.raises(PaymentsImportRefused) as refused:
        _import(
            book,
            HEADER
            + f"C1,10.00,EUR,2026-03-01,{b.number},,T1\n"
            + f"C1,20.00,EUR,2026-03-02,{b.number},,T1\n",
        )
    assert [(e.line, e.field) for e in refused.value.errors] == [(3, "transaction_id")]
    assert "also on line 2" in refused.value.errors[0].reason


def test_a_payment_in_another_currency_needs_a_rate(book, abc):
    a, _, _ = abc
    line = HEADER + f"C1,130.00,USD,2026-03-02,{a.number},,T1\n"
    with pytest.raises(PaymentsImportRefused) as refused:
        _import(book, line)
    assert refused.value.errors[0].field == "currency"
    assert "exchange rate" in refused.value.errors[0].reason
    # Near miss: with the rate of the day stored (1 EUR = 1.10 USD), 119.00 EUR cost
    # 130.90 USD; 130.00 USD pay 130.00 / 1.10 = 118.18 EUR of A, 0.82 EUR stay open.
    fx.set_rate(book.uow(), fx.SetRate(ENTITY, date(2026, 3, 2), "EUR", "USD", "1.10"))
    result = _import(book, line)
    assert result.recorded == 1
    assert open_of(book, a.number) == 82
    verify_clean(book)


# --- re-import -------------------------------------------------------------------------------


def test_importing_the_same_file_again_adds_nothing(book, abc):
    a, b, _ = abc
    file = (
        HEADER
        + f"C1,59.50,EUR,2026-03-01,{b.number},,T1\n"
        + f"C1,100.00,EUR,2026-03-02,{a.number},,T2\n"
    )
    first = _import(book, file)
    after_first = row_counts(book)
    again = _import(book, file)
    assert (first.recorded, again.recorded, again.already_imported) == (2, 0, 2)
    assert row_counts(book) == after_first
    # One more line in the file: only it is new. A: 119.00 - 100.00 - 19.00 = 0.
    grown = _import(book, file + f"C1,19.00,EUR,2026-03-03,{a.number},,T3\n")
    assert (grown.recorded, grown.already_imported) == (1, 2)
    assert open_of(book, a.number) == 0


def test_reimport_without_transaction_ids_counts_identical_lines(book, abc):
    a, _, _ = abc
    line = f"02/03/2026,10.00,{a.number},Alpha\n"
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "CUS", "Gamma Inc", "DE", "USD"))
    eur_lockbox = profiles_from_toml(
        '[profiles.eurbox]\nextends = "lockbox"\ncurrency = "EUR"\n', "p.toml"
    )["eurbox"]

    def run(body):
        return import_payments(
            book.uow, ENTITY, "date,amount,reference,payer\n" + body, "box.csv", eur_lockbox
        )

    # Two equal cheques on one day are two payments ...
    assert run(line * 2).recorded == 2
    # ... the same file again adds nothing, and a third equal line adds one.
    again = run(line * 2)
    assert (again.recorded, again.already_imported) == (0, 2)
    third = run(line * 3)
    assert (third.recorded, third.already_imported) == (1, 2)
    assert open_of(book, a.number) == 11900 - 3 * 1000


def test_the_same_transaction_with_other_content_is_refused(book, abc):
    _, b, _ = abc
    _import(book, HEADER + f"C1,59.50,EUR,2026-03-01,{b.number},,T1\n")
    with pytest.raises(PaymentsImportRefused) as refused:
        _import(book, HEADER + f"C1,59.00,EUR,2026-03-01,{b.number},,T1\n")
    assert refused.value.errors[0].field == "transaction_id"
    assert "imported before with other content" in refused.value.errors[0].reason


# --- allocation ------------------------------------------------------------------------------


def test_short_payments_within_the_tolerance_are_closed(book, abc):
    a, b, _ = abc
    pay.set_tolerance(book.uow(), pay.SetTolerance(ENTITY, "EUR", "0.50"))
    result = _import(
        book,
        HEADER
        + f"C1,118.70,EUR,2026-03-01,{a.number},,T1\n"  # 0.30 short: within 0.50
        + f"C1,58.90,EUR,2026-03-01,{b.number},,T2\n",  # 0.60 short: beyond it
    )
    assert (open_of(book, a.number), open_of(book, b.number)) == (0, 60)
    assert result.totals[0].written_off_minor == 30
    assert [p.written_off_minor for p in result.payments] == [30, 0]
    verify_clean(book)


def test_allocate_none_keeps_every_payment_as_credit(book, abc):
    a, _, _ = abc
    result = _import(book, HEADER + f"C1,119.00,EUR,2026-03-01,{a.number},,T1\n", allocate="none")
    assert dict(result.allocation)["none"] == 1
    assert (open_of(book, a.number), credit_of(book, "C1")) == (11900, 11900)
    with pytest.raises(InvalidInput):
        _import(book, HEADER, allocate="explicit")


def test_a_dry_run_says_what_would_happen_and_records_nothing(book, abc):
    a, _, _ = abc
    before = row_counts(book)
    result = _import(book, HEADER + f"C1,119.00,EUR,2026-03-01,{a.number},,T1\n", dry_run=True)
    assert (result.dry_run, result.recorded, result.payments[0].invoices) == (True, 1, (a.number,))
    assert row_counts(book) == before
    # And the real import afterwards is not taken for a re-import.
    assert _import(book, HEADER + f"C1,119.00,EUR,2026-03-01,{a.number},,T1\n").recorded == 1


def test_the_import_is_audited(book, abc):
    a, _, _ = abc
    _import(book, HEADER + f"C1,119.00,EUR,2026-03-01,{a.number},,T1\n")
    actions = [r[0] for r in _column(book, "SELECT action FROM audit_events ORDER BY id")]
    assert actions[-2:] == ["payment.recorded", "payments.imported"]


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amounts=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300"), places=2),
        min_size=1,
        max_size=3,
    )
)
def test_money_is_conserved(book, amounts):
    """Whatever is paid on an invoice: received = allocated + credit left, and the invoice's
    open amount falls by what was allocated to it, never below zero."""
    inv = invoice(book, "C3", date(2026, 2, 1), ("WIDGET", "8"))  # 119.00
    before = credit_of(book, "C3")
    seen = len(_column(book, "SELECT id FROM payments"))
    body = "".join(
        f"C3,{a},EUR,2026-03-01,{inv.number},,X{seen}-{i}\n" for i, a in enumerate(amounts)
    )
    result = _import(book, HEADER + body)
    received = sum(int(a * 100) for a in amounts)
    (eur,) = result.totals
    assert eur.amount_minor == received
    assert eur.allocated_minor + eur.credit_minor == received
    assert eur.allocated_minor == min(received, 11900)
    assert open_of(book, inv.number) == 11900 - eur.allocated_minor
    assert credit_of(book, "C3") - before == eur.credit_minor
