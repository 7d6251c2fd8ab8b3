"""Database triggers that refuse changes to issued documents and to append-only records.

The application never updates or deletes these rows; the triggers make the database refuse it
too, so that a stray script or a bug cannot rewrite history. Drafts stay editable.
"""

from __future__ import annotations

__all__ = [
    "APPEND_ONLY",
    "append_only_statements",
    "sqlite_statements",
    "postgresql_statements",
    "drop_statements",
]

APPEND_ONLY = (
    "payments",
    "refunds",
    "allocations",
    "write_offs",
    "journal_entries",
    "journal_lines",
    "audit_events",
)
# Child tables of documents that freeze with their document.
DOCUMENT_CHILDREN = ("document_lines", "document_taxes")

_ISSUED_MSG = "openbill: an issued document cannot be changed or deleted; issue a credit note"
_APPEND_MSG = "openbill: {table} is append-only; post a correcting record instead"


def sqlite_statements() -> list[str]:
    out = [
        "CREATE TRIGGER trg_documents_frozen_update BEFORE UPDATE ON documents "
        f"WHEN OLD.status = 'issued' BEGIN SELECT RAISE(ABORT, '{_ISSUED_MSG}'); END",
        "CREATE TRIGGER trg_documents_frozen_delete BEFORE DELETE ON documents "
        f"WHEN OLD.status = 'issued' BEGIN SELECT RAISE(ABORT, '{_ISSUED_MSG}'); END",
    ]
    for table in DOCUMENT_CHILDREN:
        for op, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            out.append(
                f"CREATE TRIGGER trg_{table}_frozen_{op.lower()} BEFORE {op} ON {table} "
                f"WHEN (SELECT status FROM documents WHERE id = {row}.document_id) = 'issued' "
                f"BEGIN SELECT RAISE(ABORT, '{_ISSUED_MSG}'); END"
            )
    for table in APPEND_ONLY:
        msg = _APPEND_MSG.format(table=table)
        for op in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER trg_{table}_append_only_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{msg}'); END"
            )
    return out


def postgresql_statements() -> list[str]:
    out = [
        f"""CREATE FUNCTION openbill_refuse_issued() RETURNS trigger AS $$
BEGIN
  IF TG_TABLE_NAME = 'documents' THEN
    IF OLD.status = 'issued' THEN RAISE EXCEPTION '{_ISSUED_MSG}'; END IF;
  ELSIF TG_OP = 'INSERT' THEN
    IF (SELECT status FROM documents WHERE id = NEW.document_id) = 'issued' THEN
      RAISE EXCEPTION '{_ISSUED_MSG}';
    END IF;
  ELSE
    IF (SELECT status FROM documents WHERE id = OLD.document_id) = 'issued' THEN
      RAISE EXCEPTION '{_ISSUED_MSG}';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
        """CREATE FUNCTION openbill_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'openbill: % is append-only; post a correcting record instead', TG_TABLE_NAME;
END $$ LANGUAGE plpgsql""",
        "CREATE TRIGGER trg_documents_frozen BEFORE UPDATE OR DELETE ON documents "
        "FOR EACH ROW EXECUTE FUNCTION openbill_refuse_issued()",
    ]
    for table in DOCUMENT_CHILDREN:
        out.append(
            f"CREATE TRIGGER trg_{table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION openbill_refuse_issued()"
        )
    for table in APPEND_ONLY:
        out.append(
            f"CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION openbill_refuse_change()"
        )
    return out


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        tables = ("documents", *DOCUMENT_CHILDREN)
        out = [f"DROP TRIGGER IF EXISTS trg_{t}_frozen ON {t}" for t in tables]
        out += [f"DROP TRIGGER IF EXISTS trg_{t}_append_only ON {t}" for t in APPEND_ONLY]
        out += [
            "DROP FUNCTION IF EXISTS openbill_refuse_issued()",
            "DROP FUNCTION IF EXISTS openbill_refuse_change()",
        ]
        return out
    names = ["trg_documents_frozen_update", "trg_documents_frozen_delete"]
    names += [
        f"trg_{t}_frozen_{op}" for t in DOCUMENT_CHILDREN for op in ("insert", "update", "delete")
    ]
    names += [f"trg_{t}_append_only_{op}" for t in APPEND_ONLY for op in ("update", "delete")]
    return [f"DROP TRIGGER IF EXISTS {n}" for n in names]


def append_only_statements(
    dialect: str,
    tables: tuple[str, ...],
    drop: bool = False,
    advice: str = "post a correcting record instead",
) -> list[str]:
    """Triggers (or their removal) that make later migrations' tables append-only too; on
    PostgreSQL they call openbill_refuse_change() from migration 0001, on SQLite the refusal
    ends with `advice`."""
    out: list[str] = []
    for table in tables:
        if dialect == "postgresql":
            name = f"trg_{table}_append_only"
            out.append(
                f"DROP TRIGGER IF EXISTS {name} ON {table}"
                if drop
                else f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION openbill_refuse_change()"
            )
            continue
        msg = f"openbill: {table} is append-only; {advice}"
        for op in ("UPDATE", "DELETE"):
            name = f"trg_{table}_append_only_{op.lower()}"
            out.append(
                f"DROP TRIGGER IF EXISTS {name}"
                if drop
                else f"CREATE TRIGGER {name} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{msg}'); END"
            )
    return out
