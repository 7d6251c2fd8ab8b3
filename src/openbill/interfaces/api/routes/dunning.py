"""/v1/entities/{entity}/dunning: policies and settings, customers' policies, runs and their
reports, an invoice's dunning history, promises to pay, holds and their release.

Actions: runs, promises, holds and a customer's policy or letter language need
`dunning.run` (they decide whether and how a customer is chased). Policies and the entity's
dunning settings need `catalog.write`: they are the prices of paying late (late fees, the
statutory interest rate and recovery fee, the charge codes fees are billed under), kept by
the people who keep the catalog's prices, and read by everyone with `read`. `settings.admin`
was not chosen: an administrator reads no billing records, so could not read the settings
(their ETag) it would change, and these are billing decisions, not the installation's."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from openbill.adapters.documents.dunning_mail import TemplateLetters
from openbill.adapters.mail import SmtpSettings
from openbill.domain.access import CATALOG_WRITE, DUNNING_RUN, READ
from openbill.domain.rejections import InvalidState
from openbill.interfaces.api.http import (
    RecordId,
    etag,
    location,
    require_if_match,
    tagged,
)
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import IsoDate
from openbill.interfaces.api.schemas_receivables import (
    CustomerDunning,
    CustomerDunningIn,
    DunningHistory,
    DunningSettings,
    DunningSettingsChange,
    Hold,
    HoldIn,
    HoldPage,
    Policy,
    PolicyIn,
    PolicyPage,
    Promise,
    PromiseIn,
    PromisePage,
    ReleaseIn,
    Run,
    RunIn,
    RunPage,
    RunReport,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import dunning as dn
from openbill.usecases import pages_receivables as rp

__all__ = ["router", "sender_address", "letters"]

router = APIRouter(
    prefix="/entities/{entity}/dunning", tags=["dunning"], route_class=IdempotentRoute
)


def letters() -> dn.LetterRenderer:
    """Who words the letters: the templates per language (OPENBILL_TEMPLATES_DIR overrides)."""
    return TemplateLetters()


def sender_address() -> str:
    """The From address of letters and e-mails (OPENBILL_SMTP_FROM; empty: the entity's)."""
    return SmtpSettings().sender


def _policy(view: dict[str, Any]) -> Policy:
    return Policy(
        code=view["code"],
        name=view["name"],
        currency=view["currency"],
        minimum=view["minimum"],
        fee_charge_code=view["fee_charge_code"],
        interest_charge_code=view["interest_charge_code"],
        promise_grace_days=view["promise_grace_days"],
        default=view["default"],
        steps=[{**s, "actions": s["actions"].split("+")} for s in view["steps"]],
    )


def _promise(p: dict[str, Any]) -> Promise:
    return Promise(**{k: p[k] for k in Promise.model_fields})


def _hold(h: dict[str, Any]) -> Hold:
    return Hold(**{k: h[k] for k in Hold.model_fields})


def _report(r: dn.RunReport) -> RunReport:
    return RunReport(
        run_id=r.run_id,
        as_of=r.as_of,
        dry_run=r.dry_run,
        invoices_seen=r.invoices_seen,
        steps_taken=r.steps_taken,
        fee_invoices=r.fee_invoices,
        emails=r.emails,
        message=r.message,
        lines=[asdict(line) for line in r.lines],
    )


# --- policies and settings ------------------------------------------------------------------


@router.get("/policies", response_model=PolicyPage, summary="Dunning policies with their steps")
def list_policies(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> PolicyPage:
    page = rp.policies_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit)
    return PolicyPage(data=[_policy(p) for p in page.rows], next_cursor=encode(page.after_id))


@router.get("/policies/{code}", response_model=Policy, summary="One dunning policy")
def get_policy(code: str, caller: Annotated[Caller, allowed(READ)]) -> Policy:
    return _policy(asdict(dn.show_policy(caller.uow(read_only=True), caller.entity, code)))


@router.post(
    "/policies",
    status_code=201,
    response_model=Policy,
    summary="Create a dunning policy (never changed afterwards: create a new one to change)",
)
def create_policy(
    body: PolicyIn, response: Response, caller: Annotated[Caller, allowed(CATALOG_WRITE)]
) -> Policy:
    view = dn.create_policy(
        caller.uow(),
        dn.CreatePolicy(
            caller.entity,
            body.code,
            body.name,
            tuple(
                dn.StepSpec(s.offset_days, "+".join(s.actions), s.template, s.fee)
                for s in body.steps
            ),
            body.currency.upper(),
            body.minimum,
            body.fee_charge_code,
            body.interest_charge_code,
            body.promise_grace_days,
            body.default,
        ),
    )
    response.headers["Location"] = location(
        "entities", caller.entity, "dunning", "policies", view.code
    )
    return _policy(asdict(view))


def _settings(caller: Caller, response: Response) -> DunningSettings:
    view, revision = rp.dunning_settings_record(caller.uow(read_only=True), caller.entity)
    response.headers["ETag"] = etag(revision)
    return DunningSettings(**asdict(view))


@router.get(
    "/settings",
    response_model=DunningSettings,
    summary="The default policy and the statutory late-payment settings; ETag for PATCH",
)
def get_settings(
    request: Request, response: Response, caller: Annotated[Caller, allowed(READ)]
) -> Any:
    view, revision = rp.dunning_settings_record(caller.uow(read_only=True), caller.entity)
    return tagged(request, response, etag(revision), DunningSettings(**asdict(view)))


@router.patch(
    "/settings",
    response_model=DunningSettings,
    summary="Change the default policy or the statutory late-payment settings (If-Match)",
    responses={412: {"description": "changed by someone else since it was read"}},
)
def change_settings(
    body: DunningSettingsChange,
    response: Response,
    caller: Annotated[Caller, allowed(CATALOG_WRITE)],
    if_match: Annotated[str | None, Header()] = None,
) -> DunningSettings:
    revision = require_if_match(if_match)
    dn.set_settings(
        caller.uow(),
        dn.SetDunningSettings(
            caller.entity,
            body.default_policy,
            body.interest_enabled,
            body.reference_rate,
            body.margin,
            body.recovery_fee,
            body.recovery_currency.upper() if body.recovery_currency else None,
            if_match=revision,
        ),
    )
    return _settings(caller, response)


# --- customers ------------------------------------------------------------------------------


def _customer(view: dn.CustomerDunning) -> CustomerDunning:
    return CustomerDunning(**asdict(view))


@router.get(
    "/customers/{code}",
    response_model=CustomerDunning,
    summary="A customer's dunning policy and letter language",
)
def get_customer(code: str, caller: Annotated[Caller, allowed(READ)]) -> CustomerDunning:
    return _customer(dn.customer_dunning(caller.uow(read_only=True), caller.entity, code))


@router.put(
    "/customers/{code}",
    response_model=CustomerDunning,
    summary="Set a customer's policy and letter language (\"\": the default, the country's)",
)
def set_customer(
    code: str, body: CustomerDunningIn, caller: Annotated[Caller, allowed(DUNNING_RUN)]
) -> CustomerDunning:
    view = dn.assign_policy(
        caller.uow(), dn.AssignPolicy(caller.entity, code, body.policy, body.language)
    )
    return _customer(view)


# --- runs -----------------------------------------------------------------------------------


@router.get("/runs", response_model=RunPage, summary="Dunning runs, oldest first")
def list_runs(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> RunPage:
    wanted = rp.RunFilter(date_from, date_to)
    page = rp.runs_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted)
    return RunPage(
        data=[Run(**{k: r[k] for k in Run.model_fields}) for r in page.rows],
        next_cursor=encode(page.after_id),
    )


@router.get("/runs/latest", response_model=RunReport, summary="The report of the latest run")
def latest_run(caller: Annotated[Caller, allowed(READ)]) -> RunReport:
    return _report(dn.run_report(caller.uow(read_only=True), caller.entity, None))


@router.get(
    "/runs/{run_id}",
    response_model=RunReport,
    summary="The report of a run: steps taken, invoices skipped and why, notes",
)
def get_run(run_id: RecordId, caller: Annotated[Caller, allowed(READ)]) -> RunReport:
    return _report(dn.run_report(caller.uow(read_only=True), caller.entity, run_id))


@router.post(
    "/runs",
    status_code=201,
    response_model=RunReport,
    summary="Take every dunning step due on a date (a dry run decides and changes nothing)",
    responses={200: {"description": "a dry run: nothing was recorded"}},
)
def run(
    body: RunIn, response: Response, caller: Annotated[Caller, allowed(DUNNING_RUN)]
) -> RunReport:
    report = dn.run_dunning(
        caller.uow(),
        dn.RunDunning(caller.entity, body.as_of, body.dry_run, sender_address(), body.customer),
        letters(),
    )
    if report.run_id is None:
        response.status_code = 200
    else:
        response.headers["Location"] = location(
            "entities", caller.entity, "dunning", "runs", report.run_id
        )
    return _report(report)


@router.get(
    "/invoices/{number}",
    response_model=DunningHistory,
    summary="The dunning steps taken on an invoice, and the runs that skipped it",
)
def history(number: str, caller: Annotated[Caller, allowed(READ)]) -> DunningHistory:
    found = dn.invoice_history(caller.uow(read_only=True), caller.entity, number)
    return DunningHistory(
        invoice=found.invoice,
        currency=found.currency,
        steps=[asdict(s) for s in found.steps],
        skips=[{"on": on, "reason": why, "detail": detail} for on, why, detail in found.skips],
    )


# --- promises to pay ------------------------------------------------------------------------


@router.get("/promises", response_model=PromisePage, summary="Promises to pay, oldest first")
def list_promises(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(description="open, kept, broken or replaced")] = "",
) -> PromisePage:
    wanted = rp.PromiseFilter(customer, status)
    page = rp.promises_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted
    )
    return PromisePage(data=[_promise(p) for p in page.rows], next_cursor=encode(page.after_id))


@router.get("/promises/{promise_id}", response_model=Promise, summary="One promise to pay")
def get_promise(promise_id: RecordId, caller: Annotated[Caller, allowed(READ)]) -> Promise:
    return _promise(rp.promise_record(caller.uow(read_only=True), caller.entity, promise_id))


@router.post(
    "/promises",
    status_code=201,
    response_model=Promise,
    summary="Record a promise to pay: dunning skips the customer until the date plus grace",
)
def add_promise(
    body: PromiseIn, response: Response, caller: Annotated[Caller, allowed(DUNNING_RUN)]
) -> Promise:
    view = dn.add_promise(
        caller.uow(),
        dn.AddPromise(
            caller.entity, body.customer, body.pay_by, body.amount, body.note, body.made_on
        ),
    )
    response.headers["Location"] = location(
        "entities", caller.entity, "dunning", "promises", view.id
    )
    return Promise(**asdict(view))


# --- holds ----------------------------------------------------------------------------------


@router.get("/holds", response_model=HoldPage, summary="Dunning and credit holds, oldest first")
def list_holds(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    state: Annotated[str, Query(description="active (default), released or all")] = "active",
    customer: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(description="dunning or credit")] = "",
) -> HoldPage:
    wanted = rp.HoldFilter(state, customer, kind)
    page = rp.holds_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted)
    return HoldPage(data=[_hold(h) for h in page.rows], next_cursor=encode(page.after_id))


@router.get("/holds/{hold_id}", response_model=Hold, summary="One hold")
def get_hold(hold_id: RecordId, caller: Annotated[Caller, allowed(READ)]) -> Hold:
    return _hold(rp.hold_record(caller.uow(read_only=True), caller.entity, hold_id))


@router.post(
    "/holds",
    status_code=201,
    response_model=Hold,
    summary="Put a customer on a dunning hold (no steps) or a credit hold (no new invoices)",
)
def set_hold(
    body: HoldIn, response: Response, caller: Annotated[Caller, allowed(DUNNING_RUN)]
) -> Hold:
    view = dn.set_hold(
        caller.uow(), dn.SetHold(caller.entity, body.customer, body.kind, body.reason)
    )
    response.headers["Location"] = location("entities", caller.entity, "dunning", "holds", view.id)
    return Hold(**asdict(view))


@router.post(
    "/holds/{hold_id}/release",
    response_model=Hold,
    summary="Release a hold, with the reason (audited)",
)
def release_hold(
    hold_id: RecordId, body: ReleaseIn, caller: Annotated[Caller, allowed(DUNNING_RUN)]
) -> Hold:
    held = rp.hold_record(caller.uow(read_only=True), caller.entity, hold_id)
    if held["released_at"]:
        raise InvalidState(
            f"hold {hold_id} was released on {held['released_at']} by {held['released_by']}",
            record=f"hold {hold_id}",
            field="id",
        )
    view = dn.release_hold(
        caller.uow(),
        dn.ReleaseHold(caller.entity, held["customer"], held["kind"], body.reason, hold_id),
    )
    return Hold(**asdict(view))
