"""/v1/entities/{entity}/fx-rates: exchange rates per day, for cross-currency payments and the
base-currency values of reports.

    GET  .../fx-rates                       stored rates, oldest first (filters: from, to, dates)
    POST .../fx-rates                       store the rate of a day (replaces that day's)
    GET  .../fx-rates/{date}/{from}/{to}    the rate openbill uses that day (stored that day or
                                            up to 7 days before, either way round)
    POST .../fx-rates/imports               a CSV file as the body: date,from,to,rate or the
                                            ECB's layout (Date,USD,JPY,...); all or nothing
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from openbill.domain.access import PAYMENTS_POST, READ
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.http import location
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.routes.uploads import UploadRoute, csv_body
from openbill.interfaces.api.schemas import IsoDate
from openbill.interfaces.api.schemas_receivables import (
    FxImported,
    FxRate,
    FxRateIn,
    FxRatePage,
    RateInUse,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import fx as fxu
from openbill.usecases import pages_receivables as rp

__all__ = ["router", "imports_router"]

router = APIRouter(prefix="/entities/{entity}/fx-rates", tags=["fx"], route_class=IdempotentRoute)
imports_router = APIRouter(
    prefix="/entities/{entity}/fx-rates/imports", tags=["fx"], route_class=UploadRoute
)
CurrencyPath = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", description="e.g. USD")]
_CURRENCY_OR_NONE = r"^([A-Za-z]{3})?$"


def _rate_text(value: Any) -> str:
    return format(value.normalize(), "f")  # the same on SQLite and PostgreSQL


def _fx_rate(r: dict[str, Any]) -> FxRate:
    return FxRate(
        id=r["id"],
        date=r["rate_date"],
        from_=r["from_currency"],
        to=r["to_currency"],
        rate=_rate_text(r["rate"]),
        source=r["source"],
    )


@router.get("", response_model=FxRatePage, summary="Stored exchange rates, oldest first")
def list_rates(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    from_currency: Annotated[str, Query(alias="from", pattern=_CURRENCY_OR_NONE)] = "",
    to_currency: Annotated[str, Query(alias="to", pattern=_CURRENCY_OR_NONE)] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> FxRatePage:
    wanted = rp.RateFilter(from_currency, to_currency, date_from, date_to)
    page = rp.rates_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted)
    return FxRatePage(data=[_fx_rate(r) for r in page.rows], next_cursor=encode(page.after_id))


def _in_use(caller: Caller, on: IsoDate, source: str, target: str) -> RateInUse:
    found = rp.rate_in_use(caller.uow(read_only=True), caller.entity, on, source, target)
    return RateInUse(
        on=found.on,
        from_=found.from_currency,
        to=found.to_currency,
        rate=_rate_text(found.rate),
        rate_date=found.rate_date,
    )


@router.get(
    "/{on}/{from_currency}/{to_currency}",
    response_model=RateInUse,
    summary="The rate used on a day: stored that day or up to 7 days before, either way round",
)
def rate_on(
    on: IsoDate,
    from_currency: CurrencyPath,
    to_currency: CurrencyPath,
    caller: Annotated[Caller, allowed(READ)],
) -> RateInUse:
    return _in_use(caller, on, from_currency, to_currency)


@router.post(
    "",
    status_code=201,
    response_model=RateInUse,
    summary="Store the rate of a day (replacing that day's rate for the pair)",
)
def add_rate(
    body: FxRateIn, response: Response, caller: Annotated[Caller, allowed(PAYMENTS_POST)]
) -> RateInUse:
    fxu.set_rate(
        caller.uow(), fxu.SetRate(caller.entity, body.date, body.from_, body.to, body.rate)
    )
    source, target = body.from_.upper(), body.to.upper()
    response.headers["Location"] = location(
        "entities", caller.entity, "fx-rates", body.date.isoformat(), source, target
    )
    return _in_use(caller, body.date, source, target)


@imports_router.post(
    "",
    response_model=FxImported,
    summary="Import rates from a CSV body (date,from,to,rate or the ECB layout); all or nothing",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def import_rates(
    caller: Annotated[Caller, allowed(PAYMENTS_POST)],
    data: Annotated[bytes, Depends(csv_body)],
    filename: Annotated[
        str,
        Query(
            pattern=r"^[\w][\w .,()+-]{0,99}$",
            description="the file's name, as errors give it",
        ),
    ] = "rates.csv",
) -> FxImported:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{filename}: not UTF-8 text (byte {exc.start}); save the file as UTF-8",
            record=filename,
            field="body",
        ) from None
    count = fxu.import_rates(caller.uow(), caller.entity, text, filename)
    return FxImported(source=filename, imported=count)
