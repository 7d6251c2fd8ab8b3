"""Payments in another currency than the invoice: the rate used is recorded and the realised
exchange difference is posted, each currency balancing on its own. Worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fixtures_book import (
    ENTITY,
    START,
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

from openbill.domain.rejections import InvalidAmount, NotFound
from openbill.usecases import fx
from openbill.usecases import masterdata as m
from openbill.usecases import payments as pay


def _usd_customer(book):
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "CUS", "Yankee Inc", "DE", "USD"))
    add_price(book, "WIDGET", "USD", START, "10.00")


def _rate(book, on, source, target, rate):
    fx.set_rate(book.uow(), fx.SetRate(ENTITY, on, source, target, rate))


def _postings(book, kind):
    """{(account, currency): sum} of all journal entries of `kind`."""
    sql = text(
        "SELECT l.account, l.currency, SUM(l.amount_minor) FROM journal_lines l "
        "JOIN journal_entries e ON e.id = l.entry_id WHERE e.kind = :k "
        "GROUP BY l.account, l.currency"
    )
    with book.engine.connect() as conn:
        return {(a, c): int(s) for a, c, s in conn.execute(sql, {"k": kind}) if int(s)}


def _usd_invoice(book):
    # 10 x 10.00 USD = 100.00 + 19 % = 119.00 USD, dated 2026-03-01.
    doc = invoice(book, "CUS", date(2026, 3, 1), ("WIDGET", "10"))
    assert (doc.currency, doc.total_minor) == ("USD", 11900)
    return doc


def test_usd_invoice_paid_in_eur_posts_a_realised_gain(book):
    _usd_customer(book)
    doc = _usd_invoice(book)
    _rate(book, date(2026, 3, 1), "USD", "EUR", "0.90")  # the invoice date's rate
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "CUS",
            "110.00",
            "EUR",
            date(2026, 3, 20),
            reference=doc.number,
            allocate="auto",
            rate="0.92",
        ),
    )
    # 119.00 USD x 0.92 = 109.48 EUR used; 110.00 - 109.48 = 0.52 EUR stays credit.
    # Carried: 119.00 x 0.90 = 107.10 EUR; received 109.48 EUR: a gain of 2.38 EUR.
    assert (paid.allocated_minor, paid.credit_minor) == (10948, 52)
    assert (paid.fx_difference_minor, paid.base_currency) == (238, "EUR")
    assert open_of(book, doc.number) == 0
    assert _postings(book, "fx_allocation") == {
        ("2100", "EUR"): 10948,
        ("1290", "EUR"): -10948 + 238,
        ("7900", "EUR"): -238,
        ("1290", "USD"): 11900,
        ("1100", "USD"): -11900,
    }
    with book.uow(read_only=True) as uow:
        (row,) = uow.fx.all_fx_allocations()
    assert (row.rate, row.received_base_minor, row.carried_base_minor) == (
        Decimal("0.92"),
        10948,
        10710,
    )
    verify_clean(book)


def test_stored_rate_of_the_payment_date_is_used_when_none_is_given(book):
    _usd_customer(book)
    doc = _usd_invoice(book)
    _rate(book, date(2026, 3, 1), "USD", "EUR", "0.90")
    # Stored the other way round: 1 EUR = 1.0869565217 USD, i.e. 1 USD = 0.9200000000 EUR
    # after inversion to 10 places (1 / 1.0869565217 = 0.92000000003...).
    _rate(book, date(2026, 3, 18), "EUR", "USD", "1.0869565217")
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY, "CUS", "109.48", "EUR", date(2026, 3, 20), reference=doc.number, allocate="auto"
        ),
    )
    # 119.00 x 0.9200000000 = 109.48 exactly: the payment is used up, gain 2.38 as above.
    assert (paid.allocated_minor, paid.credit_minor, paid.fx_difference_minor) == (10948, 0, 238)


def test_missing_rate_is_refused_and_writes_nothing(book):
    _usd_customer(book)
    doc = _usd_invoice(book)
    before = row_counts(book)
    with pytest.raises(NotFound) as refused:
        pay.record_payment(
            book.uow(),
            pay.RecordPayment(
                ENTITY,
                "CUS",
                "110.00",
                "EUR",
                date(2026, 3, 20),
                reference=doc.number,
                allocate="auto",
            ),
        )
    assert "USD/EUR" in refused.value.reason and "openbill fx add" in refused.value.reason
    assert row_counts(book) == before


def test_a_rate_older_than_a_week_is_not_used(book):
    _usd_customer(book)
    doc = _usd_invoice(book)
    _rate(book, date(2026, 3, 12), "USD", "EUR", "0.92")  # 8 days before the payment
    with pytest.raises(NotFound):
        pay.record_payment(
            book.uow(),
            pay.RecordPayment(
                ENTITY,
                "CUS",
                "110.00",
                "EUR",
                date(2026, 3, 20),
                reference=doc.number,
                allocate="auto",
            ),
        )


def test_eur_invoice_paid_in_usd_has_no_difference(book):
    doc = invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "8"))  # 119.00 EUR
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "130.00",
            "USD",
            date(2026, 3, 20),
            reference=doc.number,
            allocate="auto",
            rate="1.08",
        ),
    )
    # 119.00 EUR x 1.08 = 128.52 USD used, 1.48 USD credit; settled in base currency at the
    # rate used, so received = carried = 119.00 EUR and nothing is realised.
    assert (paid.allocated_minor, paid.credit_minor, paid.fx_difference_minor) == (12852, 148, 0)
    assert credit_of(book, "C1", "USD") == 148
    assert open_of(book, doc.number) == 0
    verify_clean(book)


def test_partial_cross_currency_payment(book):
    _usd_customer(book)
    doc = _usd_invoice(book)
    _rate(book, date(2026, 3, 1), "USD", "EUR", "0.90")
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "CUS",
            "46.00",
            "EUR",
            date(2026, 3, 20),
            reference=doc.number,
            allocate="auto",
            rate="0.92",
        ),
    )
    # 46.00 EUR / 0.92 = 50.00 USD settled; 69.00 USD stays open.
    # Carried 50.00 x 0.90 = 45.00 EUR, received 46.00 EUR: gain 1.00 EUR.
    assert (paid.allocated_minor, paid.fx_difference_minor) == (4600, 100)
    assert open_of(book, doc.number) == 6900
    verify_clean(book)


def test_reversing_a_cross_currency_payment_undoes_the_difference(book):
    _usd_customer(book)
    doc = _usd_invoice(book)
    _rate(book, date(2026, 3, 1), "USD", "EUR", "0.90")
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "CUS",
            "110.00",
            "EUR",
            date(2026, 3, 20),
            reference=doc.number,
            allocate="auto",
            rate="0.92",
        ),
    )
    pay.reverse_payment(
        book.uow(), pay.ReversePayment(ENTITY, paid.id, "recalled", date(2026, 3, 22))
    )
    assert open_of(book, doc.number) == 11900
    assert credit_of(book, "CUS", "EUR") == 0
    # Allocation and reversal together leave nothing on 1290, 7900 or 2100.
    both = _postings(book, "fx_allocation")
    for key, value in _postings(book, "payment_reversal").items():
        both[key] = both.get(key, 0) + value
    assert {k: v for k, v in both.items() if v and k[0] != "1200" and k[0] != "2100"} == {}
    verify_clean(book)


def test_rates_refuse_floats_and_nonsense(book):
    for bad in ("0", "-1", "abc", "1.12345678901"):
        with pytest.raises(InvalidAmount):
            fx.set_rate(book.uow(), fx.SetRate(ENTITY, date(2026, 3, 1), "USD", "EUR", bad))


def test_ecb_layout_import(book):
    csv_text = "Date,USD,JPY,\n2026-03-02,1.0842,162.51,\n2026-03-03,1.0851,N/A,\n"
    assert fx.import_rates(book.uow(), ENTITY, csv_text, "eurofxref.csv") == 3
    with book.uow(read_only=True) as uow:
        entity = uow.entities.by_code(ENTITY)
        got = fx.rate_between(uow, entity, "USD", "EUR", date(2026, 3, 4))
    # 1 EUR = 1.0851 USD on 2026-03-03, so 1 USD = 1 / 1.0851 = 0.9215740485 EUR (10 places).
    assert (got.rate, got.rate_date) == (Decimal("0.9215740485"), date(2026, 3, 3))


def test_rate_import_is_all_or_nothing(book):
    csv_text = "date,from,to,rate\n2026-03-02,USD,EUR,0.92\n2026-03-03,USD,EUR,zero\n"
    with pytest.raises(InvalidAmount) as refused:
        fx.import_rates(book.uow(), ENTITY, csv_text, "rates.csv")
    assert "rates.csv" in refused.value.reason and "rate 2" in refused.value.reason
    assert fx.list_rates(book.uow(read_only=True), ENTITY) == []


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    paid=st.integers(min_value=1, max_value=30000),
    rate=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2"), places=4),
)
def test_property_cross_currency_never_uses_more_than_paid(book, paid, rate):
    """Whatever the amount and rate: the payment-currency cost of the allocations never
    exceeds the payment, cost + credit = payment, and every currency balances (verify)."""
    _usd_customer_once(book)
    doc = _usd_invoice(book)
    amount = f"{paid // 100}.{paid % 100:02d}"
    result = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "CUS",
            amount,
            "EUR",
            date(2026, 3, 20),
            reference=doc.number,
            allocate="auto",
            rate=str(rate),
        ),
    )
    assert 0 <= result.allocated_minor <= paid
    with book.uow(read_only=True) as uow:
        used = uow.money.payment_used(result.id)
    assert used == result.allocated_minor
    assert open_of(book, doc.number) >= 0
    verify_clean(book)


def _usd_customer_once(book):
    with book.uow(read_only=True) as uow:
        entity = uow.entities.by_code(ENTITY)
        if uow.customers.by_code(entity.id, "CUS") is not None:
            return
    _usd_customer(book)
    _rate(book, date(2026, 3, 1), "USD", "EUR", "0.90")


def test_statement_shows_the_conversion_and_a_returned_payment(book):
    from openbill.adapters.sql.statement_queries import for_uow
    from openbill.usecases.statements import customer_statement

    _usd_customer(book)
    doc = _usd_invoice(book)
    _rate(book, date(2026, 3, 1), "USD", "EUR", "0.90")
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "CUS",
            "110.00",
            "EUR",
            date(2026, 3, 20),
            reference=doc.number,
            allocate="auto",
            rate="0.92",
        ),
    )
    pay.reverse_payment(
        book.uow(), pay.ReversePayment(ENTITY, paid.id, "recalled by the payer", date(2026, 3, 22))
    )
    statement = customer_statement(
        book.uow(read_only=True),
        ENTITY,
        "CUS",
        date(2026, 3, 1),
        date(2026, 3, 31),
        queries=for_uow,
    )
    sections = {s.currency: s for s in statement.sections}
    usd = [
        (ln.kind, ln.description, ln.debit_minor, ln.credit_minor) for ln in sections["USD"].lines
    ]
    # USD: the invoice 119.00, converted away on 03-20, back on 03-22 by the return.
    assert usd == [
        ("invoice", "Invoice", 11900, 0),
        ("fx_allocation", "Payment converted at 1 USD = 0.92 EUR", 0, 11900),
        ("payment_reversal", "Payment returned: recalled by the payer", 11900, 0),
    ]
    assert sections["USD"].closing_minor == 11900
    # EUR: 110.00 received, 109.48 of it converted, and all of it returned: nothing left.
    assert sections["EUR"].closing_minor == 0
