"""`openbill discrepancies ...` and `openbill drafts ...`: the verification queue and approvals."""

from __future__ import annotations

from typing import Annotated

import typer

from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    emit,
    entity_code,
    handle,
    opened,
    out,
)
from openbill.usecases import verification as ver

discrepancies_app = typer.Typer(
    help="The discrepancy queue: findings of draft verification.", no_args_is_help=True
)
drafts_app = typer.Typer(help="Verify and approve drafts before issue.", no_args_is_help=True)
verification_app = typer.Typer(help="Verification settings of a legal entity.")


def _summary(result: ver.Verified) -> str:
    return (
        f"draft {result.draft_id}: {result.open_blocking} blocking, "
        f"{result.open_warnings} warning(s) open, {result.overridden} overridden"
        + (f", {result.resolved_now} resolved now" if result.resolved_now else "")
    )


@drafts_app.command("verify")
@handle
def drafts_verify(draft_id: int, entity: EntityOption = None, db: DbOption = None) -> None:
    """Check a draft against contracts, purchase orders, deliveries, master data and history."""
    with opened(db) as book:
        result = ver.verify_draft(book.uow(), ver.VerifyDraft(entity_code(book, entity), draft_id))
    out().print(_summary(result))


@drafts_app.command("approve")
@handle
def drafts_approve(draft_id: int, entity: EntityOption = None, db: DbOption = None) -> None:
    """Approve a draft above the approval threshold (not by the person who prepared it)."""
    with opened(db) as book:
        result = ver.approve_draft(
            book.uow(), ver.ApproveDraft(entity_code(book, entity), draft_id)
        )
    out().print(f"approved by {book.actor}; " + _summary(result))


@discrepancies_app.command("list")
@handle
def discrepancies_list(
    status: Annotated[str, typer.Option(help="open, resolved, overridden, or all")] = "open",
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The findings of draft verification, open ones by default."""
    with opened(db) as book:
        rows = ver.list_discrepancies(
            book.uow(read_only=True), entity_code(book, entity), "" if status == "all" else status
        )
    shown = [
        {
            "id": r["id"],
            "draft": r["document_id"],
            "customer": r["customer_code"],
            "severity": r["severity"],
            "rule": r["rule"],
            "status": r["status"],
            "message": r["message"],
        }
        for r in rows
    ]
    cols = [
        Col("id", "id", True),
        Col("draft", "draft", True),
        Col("customer", "customer"),
        Col("severity", "severity"),
        Col("rule", "rule"),
        Col("status", "status"),
        Col("message", "message", wrap=True),
    ]
    emit(shown, cols, as_json=as_json, as_csv=as_csv, title=f"Discrepancies ({status})")


@discrepancies_app.command("show")
@handle
def discrepancies_show(
    discrepancy_id: int, entity: EntityOption = None, db: DbOption = None
) -> None:
    """One finding whole, with its resolution."""
    with opened(db) as book:
        row = ver.show_discrepancy(
            book.uow(read_only=True), entity_code(book, entity), discrepancy_id
        )
    console = out()
    for key in (
        "id",
        "document_id",
        "rule",
        "severity",
        "record",
        "field",
        "status",
        "message",
        "resolution",
        "resolved_by",
        "resolved_at",
        "created_at",
    ):
        console.print(f"{key:>12}: {row[key] if row[key] is not None else ''}", markup=False)


@discrepancies_app.command("resolve")
@handle
def discrepancies_resolve(
    discrepancy_id: int,
    fixed: Annotated[
        bool, typer.Option("--fixed", help="the source record was corrected: check again")
    ] = False,
    override: Annotated[
        bool, typer.Option("--override", help="accept the finding, with --reason")
    ] = False,
    reason: Annotated[str, typer.Option(help="why the finding is accepted (audited)")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Resolve a finding: --fixed after correcting the source, or --override --reason TEXT."""
    if fixed == override:
        raise typer.BadParameter("give exactly one of --fixed and --override")
    with opened(db) as book:
        row = ver.resolve_discrepancy(
            book.uow(),
            ver.ResolveDiscrepancy(
                entity_code(book, entity),
                discrepancy_id,
                "fixed" if fixed else "override",
                reason,
            ),
        )
    out().print(f"discrepancy {discrepancy_id}: {row['status']}")


@verification_app.command("settings")
@handle
def verification_settings(
    approval_threshold: Annotated[
        str, typer.Option(help="drafts above this amount (base currency) need approval")
    ] = "",
    duplicate_window: Annotated[int, typer.Option(help="days")] = 30,
    price_tolerance: Annotated[str, typer.Option(help="allowed unit price difference")] = "0",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Set the approval threshold, duplicate window and price tolerance."""
    with opened(db) as book:
        saved = ver.set_settings(
            book.uow(),
            ver.SetVerificationSettings(
                entity_code(book, entity), approval_threshold, duplicate_window, price_tolerance
            ),
        )
    threshold = saved["approval_threshold"] or "none"
    out().print(
        f"approval threshold {threshold}; duplicate window {saved['duplicate_window_days']} "
        f"days; price tolerance {saved['price_tolerance']}"
    )
