"""No full IBAN, tax number or TOTP secret anywhere in the database or the logs: a book that
went through everything that stores one (master data created and changed, bank accounts, a
statement imported and matched so payers were learned, a user enrolled for two-factor codes,
a customer created through the API with an Idempotency-Key) is read table by table, raw, and
every value searched. The audit trail shows the accounts and tax numbers masked."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest
from bank.book import IBAN_C1, IBAN_C3, OWN, entry, import_, match, statement, with_bank
from fastapi.testclient import TestClient
from fixtures_book import ENTITY, invoice
from sqlalchemy import inspect, text

from openbill.bootstrap import Book
from openbill.interfaces.api import create_app
from openbill.usecases import access, webhooks
from openbill.usecases import masterdata as md

STRANGER = "DE75512108001245126199"  # pays C1's invoice by its reference: learned as C1's
NEW_IBAN_C1 = "FR1420041010050500013M02606"
API_IBAN = "GB33BUKB20201555555555"
SECOND_ENTITY_IBAN = "DE02120300000000202051"
TAX_C1 = ("181/815/08155", "18181508155")  # as typed, as stored (normalised)
TAX_NEW = ("93815/08152", "9381508152")
TAX_API = ("2181508150", "2181508150")
TAX_ENTITY = ("201/123/45678", "20112345678")
PASSWORD = "correct horse battery staple"


def _spaced(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _needles(*secrets: str) -> list[str]:
    ibans = [OWN, IBAN_C1, IBAN_C3, STRANGER, NEW_IBAN_C1, API_IBAN, SECOND_ENTITY_IBAN]
    out = [form for iban in ibans for form in (iban, _spaced(iban), iban.lower())]
    for typed, stored in (TAX_C1, TAX_NEW, TAX_API, TAX_ENTITY):
        out += [typed, stored]
    return [*out, *secrets]


def _everything(book: Book, caplog: pytest.LogCaptureFixture) -> tuple[str, ...]:
    """Go through every path that stores a sensitive value; return the secrets made (the
    TOTP secret, a webhook endpoint's first and rotated signing secrets)."""
    caplog.set_level(logging.DEBUG)
    md.create_entity(
        book.uow(),
        md.CreateEntity(
            "SEC", "Second GmbH", "DE", "EUR", iban=SECOND_ENTITY_IBAN, tax_number=TAX_ENTITY[0]
        ),
    )
    with_bank(book)  # the bank account OWN; C1 and C3 get their IBANs (customer.updated)
    md.update_customer(book.uow(), md.UpdateCustomer(ENTITY, "C1", (("tax_number", TAX_C1[0]),)))
    md.create_customer(
        book.uow(),
        md.CreateCustomer(
            ENTITY, "C9", "Nine AG", "DE", "EUR", iban=_spaced(IBAN_C3), tax_number=TAX_NEW[0]
        ),
    )
    paid = invoice(book, "C1", date(2026, 3, 2), ("WIDGET", "8"))  # 119.00
    other = invoice(book, "C3", date(2026, 3, 2), ("WIDGET", "4"))  # 59.50
    import_(
        book,
        statement(
            [
                entry(
                    11900,
                    date(2026, 3, 10),
                    ref="B1",
                    name="Somebody",
                    iban=STRANGER,
                    text=f"Invoice {paid.number}",
                ),
                entry(5950, date(2026, 3, 11), ref="B2", name="Gamma KG", iban=_spaced(IBAN_C3)),
                entry(-1200, date(2026, 3, 12), ref="B3", name="Supplier", iban=NEW_IBAN_C1),
            ],
            0,
            date(2026, 3, 1),
            date(2026, 3, 31),
        ),
    )
    report = match(book)
    assert report.automatic >= 1, report  # the reference: STRANGER is learned as C1's
    assert other.number
    # C1 changes bank: the audit trail's before and after both hold an IBAN
    md.update_customer(book.uow(), md.UpdateCustomer(ENTITY, "C1", (("iban", NEW_IBAN_C1),)))
    access.add_user(
        book.uow(), book.hasher, access.AddUser("anna", "Anna", "administrator", (), PASSWORD)
    )
    enrolled = access.enrol_totp(book.uow(), book.codes, "anna")
    key = access.create_api_key(
        book.uow(), access.CreateApiKey(ENTITY, "crm", ("read", "customers.write"), "tests")
    ).token
    with TestClient(create_app(book), raise_server_exceptions=True) as client:
        reply = client.post(
            f"/v1/entities/{ENTITY}/customers",
            json={
                "code": "API1",
                "name": "Api Ltd",
                "country": "DE",
                "currency": "EUR",
                "iban": API_IBAN,
                "tax_number": TAX_API[0],
            },
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "create-api1"},
        )
        assert reply.status_code == 201, reply.text
        assert reply.json()["iban"] == API_IBAN  # the caller still sees it whole
    endpoint = webhooks.add_endpoint(
        book.uow(),
        webhooks.AddEndpoint(ENTITY, "https://erp.example.com/hooks", ("invoice.issued",)),
    )
    rotated = webhooks.rotate_secret(book.uow(), ENTITY, endpoint.endpoint.id)
    return enrolled.secret, endpoint.secret, rotated.secret


def _raw_dump(book: Book) -> str:
    parts: list[str] = []
    with book.engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def test_no_full_account_tax_number_or_secret_in_any_table_or_log(
    book: Book, caplog: pytest.LogCaptureFixture
) -> None:
    secret, first, rotated = _everything(book, caplog)
    assert first.startswith("whsec_") and rotated.startswith("whsec_") and first != rotated
    dump = _raw_dump(book)
    assert "enc1:" in dump and "bi1:" in dump  # sealed values and blind indexes are there
    found = [n for n in _needles(secret, first, rotated) if n in dump]
    assert found == []
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert [n for n in _needles(secret, first, rotated) if n in logged] == []
    # and openbill reads them back whole
    with book.uow(read_only=True) as uow:
        entity = uow.entities.by_code(ENTITY)
        c1 = uow.customers.by_code(entity.id, "C1")
        assert (c1.iban, c1.tax_number) == (NEW_IBAN_C1, TAX_C1[1])
        assert uow.access.user_by_name("anna").totp_secret == secret
        # the server still signs with both during the rotation's overlap
        endpoint = uow.webhooks.endpoints(entity.id, 10)[0]
        both = uow.webhooks.secrets(endpoint.id)
        assert (both.secret, both.previous_secret) == (rotated, first)


def test_the_audit_trail_shows_accounts_and_tax_numbers_masked(
    book: Book, caplog: pytest.LogCaptureFixture
) -> None:
    _everything(book, caplog)
    with book.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, before, after FROM audit_events WHERE record_type = 'customer' "
                "AND record_id = (SELECT CAST(id AS TEXT) FROM customers WHERE code = 'C1') "
                "ORDER BY id"
            )
        ).all()
    changes = [(a, json.loads(b) if b else None, json.loads(c)) for a, b, c in rows]
    ibans = [(b or {}).get("iban") for _, b, _ in changes] + [c.get("iban") for _, _, c in changes]
    # set by with_bank (before: none), unchanged by the tax number change, then replaced:
    # the last four characters of IBAN_C1 are 4931, of NEW_IBAN_C1 2606 (read off by eye)
    assert changes[-1][1]["iban"] == "****4931" and changes[-1][2]["iban"] == "****2606"
    assert changes[-2][2]["tax_number"] == "****8155"
    assert all(i is None or i.startswith("****") for i in ibans)
    with book.engine.connect() as conn:
        account = conn.execute(
            text("SELECT after FROM audit_events WHERE action = 'bank.account_added'")
        ).scalar_one()
    assert json.loads(account)["iban"] == "****3000"  # OWN ends in 3000
