"""`openbill users ...` and `openbill apikeys ...` against a fresh book (CliRunner)."""

from __future__ import annotations

import json

import pytest
from fixtures_book import ENTITY, build_book
from typer.testing import CliRunner

from openbill.adapters.security import Argon2Hasher
from openbill.bootstrap import open_book
from openbill.interfaces.cli.main import app
from openbill.usecases import access as ua

ENV = {"COLUMNS": "200", "OPENBILL_ACTOR": "admin"}
PW = "correct horse battery staple"


def run(db, *args, code=0, input=None):
    result = CliRunner().invoke(app, [*args, "--db", db], env=ENV, input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def db(db_url, monkeypatch):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    monkeypatch.delenv("OPENBILL_DATABASE_URL", raising=False)
    build_book(db_url).close()
    return db_url


def signed_in(db, username, password=PW):
    book = open_book(db)
    try:
        hasher = Argon2Hasher()
        return ua.log_in(book.uow(), hasher, book.codes, ua.LogIn(username, password))
    finally:
        book.close()


def test_users_add_from_stdin_and_list(db):
    out = run(
        db,
        "users",
        "add",
        "Anna",
        "--role",
        "specialist",
        "--entity",
        ENTITY,
        "--name",
        "Anna Meyer",
        "--password-stdin",
        input=PW + "\n",
    ).stdout
    assert out.strip() == "added user anna (specialist) for ACME"
    run(db, "users", "add", "root", "--role", "administrator", input=f"{PW}1\n{PW}1\n")
    assert signed_in(db, "anna").principal.entities == {ENTITY}
    listing = run(db, "users", "list").stdout
    assert "Anna Meyer" in listing and "specialist" in listing and "ACME" in listing
    rows = json.loads(run(db, "users", "list", "--json").stdout)
    assert rows == [
        {
            "username": "anna",
            "name": "Anna Meyer",
            "role": "specialist",
            "entities": "ACME",
            "two_factor": "",
            "two_factor_required": "",
            "disabled": "",
        },
        {
            "username": "root",
            "name": "root",
            "role": "administrator",
            "entities": "",
            "two_factor": "",
            "two_factor_required": "",
            "disabled": "",
        },
    ]


def test_users_refusals_are_one_line_and_exit_1(db):
    err = run(
        db, "users", "add", "bob", "--role", "boss", "--password-stdin", input=PW + "\n", code=1
    ).stderr
    assert err.startswith("error: user bob field role: 'boss' is not one of: clerk")
    err = run(
        db, "users", "add", "bob", "--role", "clerk", "--password-stdin", input="short\n", code=1
    ).stderr
    assert "at least 12 characters" in err
    err = run(db, "users", "require-2fa", code=2).stderr
    assert "give a user name or --everyone" in err


def test_users_role_disable_password_and_two_factor(db):
    run(
        db,
        "users",
        "add",
        "anna",
        "--role",
        "clerk",
        "--entity",
        ENTITY,
        "--password-stdin",
        input=PW + "\n",
    )
    assert run(db, "users", "role", "anna", "manager").stdout.strip() == (
        "anna: role clerk -> manager"
    )
    new = "a different passphrase"
    out = run(db, "users", "password", "anna", "--password-stdin", input=new + "\n").stdout
    assert out.strip() == "anna: password set; 0 session(s) ended"
    assert signed_in(db, "anna", new).principal.may("writeoffs.write")
    out = run(db, "users", "require-2fa", "--everyone").stdout
    assert out.strip() == "two-factor authentication required of everyone"
    assert "required of everyone" in run(db, "users", "list").stdout
    run(db, "users", "require-2fa", "--everyone", "--off")
    out = run(db, "users", "disable", "anna", "--reason", "left the company").stdout
    assert out.strip() == "anna: disabled; 1 session(s) ended"


def test_users_totp_prints_the_secret_and_refuses_a_wrong_code(db):
    run(db, "users", "add", "anna", "--role", "clerk", "--password-stdin", input=PW + "\n")
    result = run(db, "users", "totp", "anna", "--code", "12345", code=1)  # 5 digits: never right
    assert "secret: " in result.stdout and "uri: otpauth://totp/openbill:anna?" in result.stdout
    assert "the code is not right" in result.stderr


def test_apikeys_create_prints_a_token_that_signs_in(db):
    result = run(
        db, "apikeys", "create", "--name", "erp", "--scope", "read", "--scope", "invoices.issue"
    )
    token = result.stdout.strip()
    assert token.startswith("obk_") and "\n" not in token
    assert "it is not shown again" in result.stderr
    assert f"prefix {token[:8]}" in result.stderr
    book = open_book(db)
    try:
        principal = ua.api_key_principal(book.uow(), token)
    finally:
        book.close()
    assert principal is not None and principal.scopes == {"read", "invoices.issue"}
    listing = json.loads(run(db, "apikeys", "list", "--json").stdout)
    assert [(k["entity"], k["name"], k["prefix"], k["revoked"]) for k in listing] == [
        (ENTITY, "erp", token[:8], "")
    ]
    assert token not in run(db, "apikeys", "list").stdout
    out = run(db, "apikeys", "revoke", "erp", "--entity", ENTITY).stdout
    assert out.strip() == f"revoked API key erp ({token[:8]}) of ACME"
    err = run(db, "apikeys", "create", "--name", "x", "--scope", "all", code=1).stderr
    assert "'all' is not a scope" in err
