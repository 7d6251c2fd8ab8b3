"""Exchange rates: kept per legal entity, looked up by date, and used to value amounts in the
entity's base currency (aging) and to settle invoices with payments in another currency."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openbill.domain.currencies import EXPONENTS
from openbill.domain.fx import invert, parse_rate
from openbill.domain.rejections import InvalidInput, NotFound, Rejection
from openbill.ports import UnitOfWork
from openbill.usecases._support import MAX_LIST_ROWS, audit, entity_by_code

__all__ = [
    "RATE_STALE_DAYS",
    "MAX_RATE_ROWS",
    "SetRate",
    "set_rate",
    "import_rates",
    "list_rates",
    "rate_between",
    "RateLookup",
]

# A rate is used for up to this many days after its date (weekends, bank holidays); older
# than that it is missing, and the operation that needs it says so.
RATE_STALE_DAYS = 7
MAX_RATE_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class SetRate:
    entity: str
    on: date
    from_currency: str
    to_currency: str
    rate: str
    source: str = "manual"


def _currency(code: str, field: str) -> str:
    currency = code.strip().upper()
    if currency not in EXPONENTS:
        raise InvalidInput(f"{code!r} is not an ISO 4217 currency code", field=field)
    return currency


def _store(uow: UnitOfWork, entity: Any, cmd: SetRate) -> Decimal:
    source = _currency(cmd.from_currency, "from")
    target = _currency(cmd.to_currency, "to")
    if source == target:
        raise InvalidInput("a rate needs two different currencies", field="to")
    rate = parse_rate(cmd.rate)
    values = {
        "entity_id": entity.id,
        "rate_date": cmd.on,
        "from_currency": source,
        "to_currency": target,
        "rate": rate,
        "source": cmd.source[:60],
        "created_at": uow.clock.now(),
    }
    before = uow.fx.set_rate(values)
    if before is None or before.rate != rate:
        audit(
            uow,
            entity.id,
            "fx.rate_set",
            "exchange_rate",
            None,
            {"rate": str(before.rate)} if before is not None else None,
            {**values, "rate": str(rate)},
        )
    return rate


def set_rate(uow: UnitOfWork, cmd: SetRate) -> Decimal:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        rate = _store(uow, entity, cmd)
        uow.commit()
        return rate


def import_rates(uow: UnitOfWork, entity_code: str, text: str, filename: str) -> int:
    """Import rates from CSV, all or nothing. Two shapes are read:

    - long: columns `date,from,to,rate` (one rate per row);
    - wide, as the ECB publishes them (eurofxref-hist.csv): `Date,USD,JPY,...`, each value
      the units of that currency per 1 EUR; "N/A" cells are skipped.
    """
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InvalidInput(f"{filename}: the file is empty", record=filename)
    header = [h.strip().lower() for h in rows[0]]
    wide = header[:1] == ["date"] and "rate" not in header
    if not wide and not {"date", "from", "to", "rate"} <= set(header):
        raise InvalidInput(
            f"{filename} line 1: expected the columns date,from,to,rate or the ECB layout "
            "Date,USD,JPY,...",
            record=f"{filename} line 1",
            field="header",
        )
    commands: list[SetRate] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InvalidInput(
                f"{filename} line {number}: {len(row)} columns, the header has {len(header)}",
                record=f"{filename} line {number}",
            )
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        try:
            on = date.fromisoformat(cells["date"])
        except ValueError:
            raise InvalidInput(
                f"{filename} line {number}: {cells['date']!r} is not a date (YYYY-MM-DD)",
                record=f"{filename} line {number}",
                field="date",
            ) from None
        if wide:
            for code, value in cells.items():
                if code != "date" and value and value.upper() != "N/A":
                    commands.append(SetRate(entity_code, on, "EUR", code, value, filename))
        else:
            commands.append(
                SetRate(entity_code, on, cells["from"], cells["to"], cells["rate"], filename)
            )
        if len(commands) > MAX_RATE_ROWS:
            raise InvalidInput(
                f"{filename}: more than {MAX_RATE_ROWS} rates; split the file", record=filename
            )
    with uow:
        entity = entity_by_code(uow, entity_code)
        for index, cmd in enumerate(commands):
            try:
                _store(uow, entity, cmd)
            except Rejection as exc:
                raise type(exc)(
                    f"{filename}: rate {index + 1} ({cmd.on} {cmd.from_currency}/"
                    f"{cmd.to_currency}): {exc.reason}",
                    record=filename,
                    field=exc.field,
                ) from None
        uow.commit()
    return len(commands)


def list_rates(uow: UnitOfWork, entity_code: str, limit: int = MAX_LIST_ROWS) -> list[Any]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        return list(uow.fx.rates(entity.id, min(limit, MAX_LIST_ROWS)))


@dataclass(frozen=True, slots=True)
class RateLookup:
    rate: Decimal
    rate_date: date | None  # None: the same currency


def rate_between(
    uow: UnitOfWork, entity: Any, from_currency: str, to_currency: str, on: date
) -> RateLookup:
    """1 `from_currency` = rate `to_currency` on `on`: the latest rate up to RATE_STALE_DAYS
    old, stored either way round. Refuses, naming the rate to add, when there is none."""
    if from_currency == to_currency:
        return RateLookup(Decimal(1), None)
    oldest = on - timedelta(days=RATE_STALE_DAYS)
    direct = uow.fx.rate_on(entity.id, from_currency, to_currency, on, oldest)
    inverse = uow.fx.rate_on(entity.id, to_currency, from_currency, on, oldest)
    if direct is not None and (inverse is None or direct.rate_date >= inverse.rate_date):
        return RateLookup(direct.rate, direct.rate_date)
    if inverse is not None:
        return RateLookup(invert(inverse.rate), inverse.rate_date)
    raise NotFound(
        f"no {from_currency}/{to_currency} exchange rate on {on} or in the {RATE_STALE_DAYS} "
        f"days before; add one with `openbill fx add --date {on} --from {from_currency} "
        f"--to {to_currency} --rate ...`",
        record="exchange rate",
        field="rate",
    )
