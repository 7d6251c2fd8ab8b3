"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine, Transaction

from openbill.adapters.sql.access_repo import AccessRepo, ApiRequestsRepo
from openbill.adapters.sql.bank_repo import BankRepo
from openbill.adapters.sql.commercial_repo import CommercialRepo
from openbill.adapters.sql.desk_queries import DeskQueries
from openbill.adapters.sql.disputes_repo import DisputesRepo
from openbill.adapters.sql.dunning_repo import DunningRepo
from openbill.adapters.sql.engine import READ_ONLY
from openbill.adapters.sql.fx_repo import FxRepo
from openbill.adapters.sql.metrics_queries import MetricsQueries
from openbill.adapters.sql.outbox_repo import OutboxRepo
from openbill.adapters.sql.raw import RAW_WRITER, RawWriter
from openbill.adapters.sql.repositories import (
    AuditRepo,
    CatalogRepo,
    ChainRepo,
    CustomerRepo,
    DocumentRepo,
    EntityRepo,
    IdempotencyRepo,
    LedgerRepo,
    MasterDataView,
    MoneyRepo,
    ReportRepo,
)
from openbill.adapters.sql.statement_queries import StatementQueries
from openbill.adapters.sql.verification_repo import VerificationRepo
from openbill.adapters.sql.webhooks_repo import WebhooksRepo
from openbill.ports import Clock

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    def __init__(self, engine: Engine, clock: Clock, actor: str, read_only: bool = False) -> None:
        self.engine = engine
        self.clock = clock
        self.actor = actor
        self.read_only = read_only
        self.dialect = engine.dialect.name
        self._conn: Connection | None = None
        self._tx: Transaction | None = None

    def __enter__(self) -> SqlUnitOfWork:
        conn = self.engine.connect()
        if self.read_only:
            conn = conn.execution_options(**{READ_ONLY: True})
        self._conn = conn
        self._tx = conn.begin()
        raw = self._raw = RawWriter(conn)
        conn.info[RAW_WRITER] = raw
        ref = MasterDataView(conn, raw)
        self.entities = EntityRepo(conn, raw, ref)
        self.customers = CustomerRepo(conn, raw, ref)
        self.catalog = CatalogRepo(conn, raw, ref)
        self.documents = DocumentRepo(conn, raw, ref)
        self.money = MoneyRepo(conn, raw, ref)
        self.ledger = LedgerRepo(conn, raw, ref)
        self.audit = AuditRepo(conn, raw, ref)
        self.chains = ChainRepo(conn, raw, ref)
        self.idempotency = IdempotencyRepo(conn, raw, ref)
        self.reports = ReportRepo(conn, raw, ref)
        self.verification = VerificationRepo(conn, raw, ref)
        self.commercial = CommercialRepo(conn, raw, ref)
        self.outbox = OutboxRepo(conn, raw, ref)
        self.statements = StatementQueries(conn)
        self.fx = FxRepo(conn, raw, ref)
        self.disputes = DisputesRepo(conn, raw, ref)
        self.dunning = DunningRepo(conn, raw, ref)
        self.metrics = MetricsQueries(conn)
        self.bank = BankRepo(conn, raw, ref)
        self.access = AccessRepo(conn, raw, ref)
        self.api_requests = ApiRequestsRepo(conn, raw, ref)
        self.desk = DeskQueries(conn)  # the web desk's reads
        self.webhooks = WebhooksRepo(conn, raw, ref)
        return self

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work not entered")
        return self._conn

    def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("unit of work not entered")
        self._raw.flush_deferred()
        self.chains.flush()
        self._tx.commit()
        self._tx = None

    def defer_inserts(self, tables: Sequence[str]) -> bool:
        """Hold back this transaction's inserts into `tables` and send them together (see
        adapters/sql/raw.py); PostgreSQL only, where each statement is a round trip. Returns
        whether they are held."""
        return self._raw.defer_inserts(tables)

    def rollback(self) -> None:
        if self._tx is not None:
            self._tx.rollback()
            self._tx = None

    def __exit__(self, *exc: Any) -> None:
        try:
            self.rollback()
        finally:
            if self._conn is not None:
                self._conn.info.pop(RAW_WRITER, None)
                self._raw.close()
                self._conn.close()
                self._conn = None
