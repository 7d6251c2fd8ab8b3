"""A bounced payment paid nothing and a small difference is part of a payment: in the metrics,
in the document status, in the settlements shown, and for a promise to pay."""

from __future__ import annotations

from datetime import date

from fixtures_book import ENTITY, invoice

from openbill.domain.metrics import NotEnoughData
from openbill.usecases import dunning as dun
from openbill.usecases import metrics as met
from openbill.usecases import payments as pay
from openbill.usecases import reports


def _pay(book, amount, on, reference="", **kw):
    return pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY, "C1", amount, received_on=on, reference=reference, allocate="auto", **kw
        ),
    )


def _metrics(book):
    report = met.receivables_metrics(
        book.uow(read_only=True),
        met.ReceivablesMetrics(ENTITY, start=date(2026, 3, 1), end=date(2026, 3, 31)),
    )
    (eur,) = report.currencies
    return eur.payment


def test_a_bounced_payment_is_not_counted_as_paid(book):
    # 8 x 12.50 + 19 % = 119.00, dated 2026-02-10, due 2026-03-12.
    doc = invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "8"))
    paid = _pay(book, "119.00", date(2026, 3, 5), doc.number)
    assert _metrics(book).paid == 1
    pay.reverse_payment(
        book.uow(), pay.ReversePayment(ENTITY, paid.id, "returned (AM04)", date(2026, 3, 9))
    )
    times = _metrics(book)
    assert times.paid == 0
    assert isinstance(times.avg_days_to_pay, NotEnoughData)
    view = reports.show_document(book.uow(read_only=True), ENTITY, doc.number)
    (row,) = view.settlements
    assert (row["reversed_on"], row["reversal_reason"]) == (date(2026, 3, 9), "returned (AM04)")
    assert view.header["derived_status"] != "paid"


def test_a_small_difference_counts_as_paid_not_written_off(book):
    doc = invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "8"))  # 119.00, due 2026-03-12
    pay.set_tolerance(book.uow(), pay.SetTolerance(ENTITY, "EUR", "0.50"))
    _pay(book, "118.80", date(2026, 3, 15), doc.number)  # 0.20 short, 3 days late
    times = _metrics(book)
    # Paid 2026-03-15 for an invoice of 2026-02-10: 33 days to pay, 3 days late.
    assert (times.paid, times.written_off, times.late) == (1, 0, 1)
    assert times.avg_days_to_pay == 33 and times.avg_days_late == 3
    view = reports.show_document(
        book.uow(read_only=True), ENTITY, doc.number, as_of=date(2026, 3, 31)
    )
    assert view.header["derived_status"] == "paid"


def test_a_bounced_payment_does_not_keep_a_promise(book, clock):
    from datetime import UTC, datetime

    from openbill.usecases import masterdata as m

    m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, "C1", (("email", "ap@c1.example"),)))
    invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "8"))  # 119.00, due 2026-03-12
    clock.set(datetime(2026, 3, 13, 12, tzinfo=UTC))
    dun.add_promise(
        book.uow(),
        dun.AddPromise(ENTITY, "C1", date(2026, 3, 20), "119.00", made_on=date(2026, 3, 13)),
    )
    paid = _pay(book, "119.00", date(2026, 3, 18))

    def received() -> int:
        with book.uow(read_only=True) as u:
            customer = u.customers.by_code(u.entities.by_code(ENTITY).id, "C1")
            return int(
                u.dunning.paid_between(customer.id, "EUR", date(2026, 3, 13), date(2026, 3, 23))
            )

    assert received() == 11900  # the promise is kept, until ...
    pay.reverse_payment(
        book.uow(), pay.ReversePayment(ENTITY, paid.id, "returned", date(2026, 3, 19))
    )
    assert received() == 0  # ... the payment bounced
