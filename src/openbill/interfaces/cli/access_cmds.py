"""`openbill users` and `openbill apikeys`: the people who may sign in, their roles, entities
and two-factor authentication, and the API keys of each legal entity.

Passwords are read from a hidden prompt (twice) or, with --password-stdin, from the first line
of standard input; they never appear on a command line. An API key is printed once, alone on
standard output (so that a script can capture it); what it is and the warning go to stderr.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from openbill.domain.access import ACTIONS, Role
from openbill.interfaces.cli._common import (
    ENTITY_ENV,
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
    opened,
    out,
)
from openbill.usecases import access as ua

__all__ = ["users_app", "apikeys_app"]

users_app = typer.Typer(
    help="Users: roles, legal entities, passwords, two-factor authentication.",
    no_args_is_help=True,
)
apikeys_app = typer.Typer(help="API keys of a legal entity.", no_args_is_help=True)

ROLES = ", ".join(r.value for r in Role)
SCOPES = ", ".join(ACTIONS)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="read the password from the first line of standard input"
    ),
]
EntitiesOption = Annotated[
    list[str] | None,
    typer.Option("--entity", help="legal entity code the user acts for, repeatable"),
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input has no password on its first line")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


@users_app.command("add")
@handle
def users_add(
    username: str,
    role: Annotated[str, typer.Option("--role", help=ROLES)],
    entity: EntitiesOption = None,
    name: Annotated[str, typer.Option("--name", help="display name [default: the user name]")] = "",
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
) -> None:
    """Add a user with a role and the legal entities they act for."""
    password = _read_password(password_stdin)
    with opened(db) as book:
        r = ua.add_user(
            book.uow(),
            book.hasher,
            ua.AddUser(username, name, role, tuple(entity or ()), password),
        )
    where = ", ".join(sorted(entity or ())) or "no legal entity"
    out().print(f"added user {r.username} ({role}) for {where}", markup=False)


@users_app.command("list")
@handle
def users_list(
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Every user with role, legal entities, two-factor state and whether disabled."""
    with opened(db) as book:
        users = ua.list_users(book.uow(read_only=True))
        everyone = ua.two_factor_for_everyone(book.uow(read_only=True))
    rows = [
        {
            "username": u.username,
            "name": u.display_name,
            "role": u.role,
            "entities": " ".join(u.entities),
            "two_factor": _yes(u.two_factor),
            "two_factor_required": _yes(u.two_factor_required),
            "disabled": _yes(u.disabled),
        }
        for u in users
    ]
    cols = [
        Col("username", "user"),
        Col("name", "name", wrap=True),
        Col("role", "role"),
        Col("entities", "entities", wrap=True),
        Col("two_factor", "2fa"),
        Col("two_factor_required", "2fa required"),
        Col("disabled", "disabled"),
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Users")
    if everyone and not (as_json or as_csv):
        out().print("two-factor authentication is required of everyone")


@users_app.command("role")
@handle
def users_role(
    username: str,
    role: Annotated[str, typer.Argument(help=ROLES)],
    db: DbOption = None,
) -> None:
    """Give a user another role."""
    with opened(db) as book:
        r = ua.set_role(book.uow(), ua.SetRole(username, role))
    out().print(f"{r.username}: {r.change}", markup=False)


@users_app.command("prune")
@handle
def users_prune(db: DbOption = None) -> None:
    """Forget sign-in attempts older than 7 days and API Idempotency-Key records older than a
    day (`openbill serve` does it every hour; the audit trail keeps every sign-in)."""
    with opened(db) as book:
        done = ua.prune(book.uow())
    out().print(
        f"forgot {done.attempts} sign-in attempts and {done.idempotency_keys} "
        "Idempotency-Key records",
        markup=False,
    )


@users_app.command("entities")
@handle
def users_entities(
    username: str,
    entity: EntitiesOption = None,
    db: DbOption = None,
) -> None:
    """Set the legal entities a user acts for (all of them: the list replaces the old one)."""
    with opened(db) as book:
        r = ua.set_entities(book.uow(), ua.SetEntities(username, tuple(entity or ())))
    out().print(f"{r.username}: {r.change}", markup=False)


@users_app.command("disable")
@handle
def users_disable(
    username: str,
    reason: Annotated[str, typer.Option("--reason", help="why, for the audit trail")],
    db: DbOption = None,
) -> None:
    """Disable a user: they cannot sign in any more, and their sessions end now."""
    with opened(db) as book:
        r = ua.disable_user(book.uow(), ua.DisableUser(username, reason))
    out().print(f"{r.username}: {r.change}; {r.sessions_ended} session(s) ended", markup=False)


@users_app.command("password")
@handle
def users_password(
    username: str,
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
) -> None:
    """Set a user's password; it ends their sessions."""
    password = _read_password(password_stdin)
    with opened(db) as book:
        r = ua.set_password(book.uow(), book.hasher, ua.SetPassword(username, password))
    out().print(f"{r.username}: {r.change}; {r.sessions_ended} session(s) ended", markup=False)


@users_app.command("require-2fa")
@handle
def users_require_2fa(
    username: Annotated[str | None, typer.Argument(show_default=False)] = None,
    everyone: Annotated[bool, typer.Option("--everyone", help="of every user")] = False,
    off: Annotated[bool, typer.Option("--off", help="stop requiring it")] = False,
    db: DbOption = None,
) -> None:
    """Require a one-time code at sign-in of one user, or of --everyone (--off: no longer)."""
    if everyone == (username is not None):
        raise UsageError("give a user name or --everyone (one of them)")
    with opened(db) as book:
        r = ua.require_two_factor(book.uow(), ua.RequireTwoFactor(username, not off))
    out().print(r.change if everyone else f"{r.username}: {r.change}", markup=False)


@users_app.command("totp")
@handle
def users_totp(
    username: str,
    code: Annotated[
        str, typer.Option("--code", help="a code from the app [default: asked for]")
    ] = "",
    db: DbOption = None,
) -> None:
    """Enrol a user in two-factor authentication (TOTP) and confirm it with a code.

    Prints the secret and the otpauth:// URI for the authenticator app, then asks for a code
    the app shows (unless --code gives it)."""
    with opened(db) as book:
        enrolment = ua.enrol_totp(book.uow(), book.codes, username)
        console = out()
        console.print(f"secret: {enrolment.secret}", markup=False)
        typer.echo(f"uri: {enrolment.uri}")
        console.print(
            "add it to the authenticator app (type the secret, or make a QR code of the URI)",
            markup=False,
        )
        given = code or str(typer.prompt("Code from the app"))
        r = ua.confirm_totp(book.uow(), book.codes, ua.ConfirmTotp(username, given))
    out().print(f"{r.username}: {r.change}", markup=False)


# ---------------------------------------------------------------------------------------------
# API keys


@apikeys_app.command("create")
@handle
def apikeys_create(
    name: Annotated[str, typer.Option("--name", help="what the key is for, e.g. erp-export")],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help=f"repeatable; one of: {SCOPES}")
    ] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Create an API key for a legal entity. The key is printed once: keep it now."""
    with opened(db) as book:
        code = entity_code(book, entity)
        r = ua.create_api_key(book.uow(), ua.CreateApiKey(code, name, tuple(scope or ())))
    typer.echo(r.token)
    err().print(
        f"created API key {name} for {code} (prefix {r.prefix}), scopes: {', '.join(scope or ())}",
        markup=False,
    )
    err().print(
        "keep the key now: it is not shown again (openbill keeps only its SHA-256)",
        style="yellow",
        markup=False,
    )


@apikeys_app.command("list")
@handle
def apikeys_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """API keys, revoked ones included: of --entity (or $OPENBILL_ENTITY), else of every entity."""
    with opened(db) as book:
        keys = ua.list_api_keys(book.uow(read_only=True), entity or os.environ.get(ENTITY_ENV))
    rows = [
        {
            "entity": k.entity,
            "name": k.name,
            "prefix": k.prefix,
            "scopes": " ".join(k.scopes),
            "created": k.created_at.strftime("%Y-%m-%d %H:%M"),
            "last_used": k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "",
            "revoked": _yes(k.revoked),
        }
        for k in keys
    ]
    cols = [
        Col("entity", "entity"),
        Col("name", "name"),
        Col("prefix", "prefix"),
        Col("scopes", "scopes", wrap=True),
        Col("created", "created"),
        Col("last_used", "last used"),
        Col("revoked", "revoked"),
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="API keys")


@apikeys_app.command("revoke")
@handle
def apikeys_revoke(
    name: str,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    with opened(db) as book:
        k = ua.revoke_api_key(book.uow(), entity_code(book, entity), name)
    out().print(f"revoked API key {k.name} ({k.prefix}) of {k.entity}", markup=False)
