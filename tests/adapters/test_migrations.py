"""Migrations: idempotent, in step with tables.metadata, reversible; money never floating;
exact decimals round-trip exactly. On this run's backend (SQLite or PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    inspect,
    select,
    text,
)

from openbill.adapters.sql import engine as sql_engine
from openbill.adapters.sql import tables
from openbill.adapters.sql.engine import make_engine, migrate
from openbill.adapters.sql.tables import ExactDecimal


@pytest.fixture
def engine(db_url):
    built = make_engine(db_url)
    yield built
    built.dispose()


def _alembic(engine, action, revision):
    config = Config()
    config.set_main_option("script_location", str(Path(sql_engine.__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        action(config, revision)


def _schema(engine):
    """Everything a migration could change: tables, columns, indexes, triggers, version."""
    insp = inspect(engine)
    out = {}
    for name in sorted(insp.get_table_names()):
        out[name] = (
            [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(name)],
            sorted(str(sorted(i.items())) for i in insp.get_indexes(name)),
        )
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            triggers = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            ).all()
        else:
            triggers = conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")
            ).all()
        version = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    return out, [r[0] for r in triggers], version


def _differences(engine):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), tables.metadata)


def test_migrating_twice_is_a_no_op(engine):
    migrate(engine)
    first = _schema(engine)
    assert set(first[0]) == set(tables.metadata.tables) | {"alembic_version"}
    assert first[1], "the migration creates the immutability triggers"
    migrate(engine)
    assert _schema(engine) == first


def test_migrated_schema_matches_the_metadata(engine):
    migrate(engine)
    assert _differences(engine) == []


def test_downgrade_to_base_and_upgrade_again(engine):
    migrate(engine)
    before = _schema(engine)
    _alembic(engine, command.downgrade, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert _schema_triggers(engine) == []
    _alembic(engine, command.upgrade, "head")
    assert _schema(engine) == before
    assert _differences(engine) == []


def _schema_triggers(engine):
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return conn.execute(text(sql)).all()


FLOATING = ("REAL", "FLOAT", "DOUBLE", "DOUBLE PRECISION", "DECIMAL")  # SQLite DECIMAL: float


def test_no_money_column_is_floating(engine):
    migrate(engine)
    insp = inspect(engine)
    money_columns: set[str] = set()
    for table in insp.get_table_names():
        for column in insp.get_columns(table):
            type_ = column["type"]
            name = f"{table}.{column['name']}"
            assert not isinstance(type_, Float), f"{name} is {type_}"
            assert not any(word in str(type_).upper() for word in FLOATING), f"{name} is {type_}"
            if engine.dialect.name == "sqlite":
                # SQLite's NUMERIC affinity would keep decimals as binary floats.
                assert "NUMERIC" not in str(type_).upper(), f"{name} is {type_}"
            if column["name"].endswith("_minor"):
                money_columns.add(name)
                assert isinstance(type_, BigInteger | Integer), f"{name} is {type_}"
    # The core's money columns, at least: documents 3, document_lines 1, document_taxes 2,
    # payments, refunds, allocations, write_offs, journal_lines 1 each (later tables add more,
    # and every one of them went through the checks above).
    core = {
        "documents.net_minor",
        "documents.tax_minor",
        "documents.total_minor",
        "document_lines.net_minor",
        "document_taxes.taxable_minor",
        "document_taxes.tax_minor",
        "payments.amount_minor",
        "refunds.amount_minor",
        "allocations.amount_minor",
        "write_offs.amount_minor",
        "journal_lines.amount_minor",
    }
    assert core <= money_columns


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0.0000000001"),
        Decimal("12345678901234567890.1234567890"),
        Decimal("-0.5"),
        Decimal("0"),
    ],
)
def test_exact_decimal_round_trips(engine, value):
    meta = MetaData()
    probe = Table(
        "decimal_probe", meta, Column("id", Integer, primary_key=True), Column("v", ExactDecimal)
    )
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(probe.insert(), {"id": 1, "v": value})
        with engine.connect() as conn:
            back = conn.execute(select(probe.c.v)).scalar_one()
            raw = conn.execute(text("SELECT v FROM decimal_probe")).scalar_one()
        assert isinstance(back, Decimal)
        assert back == value
        assert back.normalize() == value.normalize()
        if engine.dialect.name == "sqlite":
            assert raw == format(value, "f")  # stored as exact text, not as a float
        else:
            assert raw == value
    finally:
        meta.drop_all(engine)


def test_exact_decimal_refuses_floats(engine):
    meta = MetaData()
    probe = Table("float_probe", meta, Column("v", ExactDecimal))
    meta.create_all(engine)
    try:
        with pytest.raises(Exception, match="ExactDecimal takes Decimal"):
            with engine.begin() as conn:
                conn.execute(probe.insert(), {"v": 0.1})
    finally:
        meta.drop_all(engine)
