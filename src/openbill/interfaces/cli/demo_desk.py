"""The demo's billing desk: a user of each role for the demo company, so that `openbill serve`
can be tried at once. Passwords are made at random when a user is made (never written in the
code) and kept in `demo-logins.txt` in the demo's output folder, readable by its owner only; a
second demo run reads them back and changes nothing."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rich.console import Console
from rich.table import Table

from openbill.bootstrap import Book
from openbill.domain.access import Role
from openbill.usecases import access

__all__ = ["LOGINS_FILE", "demo_logins", "print_logins"]

LOGINS_FILE = "demo-logins.txt"
PASSWORD_BYTES = 12  # 16 characters of URL-safe base64
_HEADER = "# openbill demo log-ins (role user password); for this demo book only\n"


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    kept = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            kept[parts[1]] = parts[2]
    return kept


def demo_logins(book: Book, folder: Path, entity: str) -> list[tuple[str, str, str]]:
    """(role, user, password) of the demo's users, made or read back."""
    path = folder / LOGINS_FILE
    kept = _read(path)
    existing = {u.username for u in access.list_users(book.uow(read_only=True))}
    logins = []
    for role in Role:
        username = f"demo-{role.value}"
        password = kept.get(username, "")
        if username not in existing:
            password = secrets.token_urlsafe(PASSWORD_BYTES)
            display = f"Demo {role.value.title()}"
            cmd = access.AddUser(username, display, role.value, (entity,), password)
            access.add_user(book.uow(), book.hasher, cmd)
        elif not password:  # the file went missing: a new password, said here once more
            password = secrets.token_urlsafe(PASSWORD_BYTES)
            access.set_password(book.uow(), book.hasher, access.SetPassword(username, password))
        logins.append((role.value, username, password))
    text = _HEADER + "".join(f"{r} {u} {p}\n" for r, u, p in logins)
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    return logins


def print_logins(console: Console, logins: list[tuple[str, str, str]], db_opt: str) -> None:
    table = Table(title="The billing desk: a log-in for each role", title_justify="left")
    for header in ("role", "user", "password"):
        table.add_column(header, no_wrap=True)
    for row in logins:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"  openbill serve{db_opt}    # then http://127.0.0.1:8000/desk and log in as above; "
        "the API: http://127.0.0.1:8000/v1/docs",
        markup=False,
    )
