"""The issue #3 half of `openbill demo`: from deliveries to sent invoices, on the demo month.

After the month's catalog invoices and payments (demo.py), five manufacturing customers bill
from contracts:

    RV-2026-001  MFG-001  per month     negotiated prices, one change on the 16th
    RV-2026-002  MFG-002  per PO        PO required; a tooling milestone (30 % of a PO line)
    RV-2026-003  MFG-003  per delivery  call-offs against a blanket PO, a timesheet
    RV-2026-004  MFG-015  per month     5 % off the catalog; a new customer without e-mail
    RV-2026-005  US-002   per delivery  a negotiated USD price

The deliveries are written as a CSV and a JSON file into the output folder first (so the user
sees the format) and imported from there; `prepare_billing` turns them into drafts; the drafts
are verified with an approval threshold of 5,000.00 EUR. The demo then does what a billing
clerk would: a manager approves the large draft, a duplicate-looking call-off is overridden
with a reason, the missing e-mail address is added and its finding resolved as fixed, and the
clean drafts are issued. Two drafts stay open for the user (an expired PO, a USD draft that
needs a second person). A delivery corrected after invoicing becomes a credit note.

Finally every issued invoice and credit note of the month is written as PDF, UBL and CII (and
a few as Factur-X) into the output folder, and an e-mail for each waits in the outbox; nothing
is delivered here (`openbill outbox deliver` does that when OPENBILL_SMTP_HOST is set).

Every step looks first whether it already happened, so a second run adds nothing and a run
that stopped half-way is completed. PDFs are rendered with SOURCE_DATE_EPOCH set to the demo's
clock, so the same book gives the same bytes; Factur-X files carry the time the factur-x
library made them and are therefore only written when missing.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from openbill.adapters.clock import FixedClock
from openbill.adapters.mail import DocumentsRenderer
from openbill.bootstrap import Book, open_book
from openbill.domain.commercial import DELIVERY_FIELDS
from openbill.interfaces.cli.documents_cmds import document_pdf, einvoice_xml, write_output
from openbill.usecases import commercial as com
from openbill.usecases import invoices as inv
from openbill.usecases import mailing as ml
from openbill.usecases import masterdata as md
from openbill.usecases import reports as rep
from openbill.usecases import verification as ver

__all__ = ["Commercial", "Outcome", "APPROVAL_THRESHOLD", "APPROVER", "FACTURX_OF"]

APPROVAL_THRESHOLD = "5000.00"  # EUR; drafts above it need a second person
APPROVER = "manager"
# Customers whose documents go out with the UBL file attached.
UBL_CUSTOMERS = ("MFG-001", "EU-FR-01")
NEW_CUSTOMER = (
    "MFG-015",
    "Hoffmann Präzisionstechnik GmbH",
    "Söflinger Straße 100, 89077 Ulm, Germany",
    "ap@mfg-015.example",  # added during verification: sales created the customer without it
)

# number, customer, grouping, po_required, discount %, terms, prices (charge, from day, price)
CONTRACTS: tuple[tuple[str, str, str, bool, str, str, tuple[tuple[str, int, str], ...]], ...] = (
    (
        "RV-2026-001",
        "MFG-001",
        "per_period",
        False,
        "0",
        "",
        (("MACH-PART", 0, "11.90"), ("MACH-PART", 16, "12.40"), ("STEEL-KG", 0, "0.62")),
    ),
    ("RV-2026-002", "MFG-002", "per_po", True, "0", "", (("MACH-PART", 0, "12.10"),)),
    (
        "RV-2026-003",
        "MFG-003",
        "per_delivery",
        False,
        "0",
        "",
        (("MACH-PART", 0, "11.75"), ("SUPPORT", 0, "88.00")),
    ),
    ("RV-2026-004", "MFG-015", "per_period", False, "5", "net30", ()),
    ("RV-2026-005", "US-002", "per_delivery", False, "0", "", (("MACH-PART", 0, "13.20"),)),
)
# customer, PO, valid from (day of the month, or -31 for a month before), to (date), contract,
# lines (no, charge, quantity, unit price, amount ceiling)
PURCHASE_ORDERS = (
    (
        "MFG-002",
        "4500012345",
        -31,
        date(2026, 12, 31),
        "RV-2026-002",
        ((1, "MACH-PART", "600", "12.10", ""), (2, "TOOLING", "", "", "5000.00")),
    ),
    (
        "MFG-002",
        "4500012399",
        1,
        date(2026, 11, 25),
        "RV-2026-002",
        ((1, "STEEL-KG", "3000", "", ""),),
    ),
    (
        "MFG-003",
        "4500077001",
        1,
        date(2027, 3, 31),
        "RV-2026-003",
        ((1, "MACH-PART", "2000", "11.75", ""),),
    ),
)
TOOLING = ("TOOLING", "Tooling and fixtures (milestone)", "C62", "4000", "standard")

_CSV_COLUMNS = (
    "ref",
    "kind",
    "customer",
    "contract",
    "po",
    "po_line",
    "charge_code",
    "date",
    "status",
    "shipped",
    "accepted",
    "description",
)
# Shipments, as the warehouse system exports them (CSV). Day of the month first.
SHIPMENTS = (
    (4, "DN-26-1101", "MFG-001", "RV-2026-001", "", "", "MACH-PART", "confirmed", "240", "236",
     "Flange housings; 4 rejected at incoming inspection"),
    (4, "DN-26-1102", "MFG-001", "RV-2026-001", "", "", "STEEL-KG", "confirmed", "1850", "1850",
     "Laser-cut blanks"),
    (5, "DN-26-1103", "MFG-002", "RV-2026-002", "4500012345", "1", "MACH-PART", "confirmed",
     "100", "100", ""),
    (6, "DN-26-1104", "MFG-003", "RV-2026-003", "4500077001", "1", "MACH-PART", "confirmed",
     "150", "150", "Call-off 1"),
    (17, "DN-26-1108", "US-002", "RV-2026-005", "", "", "MACH-PART", "confirmed", "300", "300",
     ""),
    (18, "DN-26-1107", "MFG-001", "RV-2026-001", "", "", "MACH-PART", "confirmed", "180", "180",
     ""),
    (19, "DN-26-1110", "MFG-002", "RV-2026-002", "4500012345", "1", "MACH-PART", "confirmed",
     "85", "80", "5 returned: wrong surface finish"),
    (20, "DN-26-1111", "MFG-002", "RV-2026-002", "4500012399", "1", "STEEL-KG", "confirmed",
     "2400", "2400", ""),
    (20, "DN-26-1112", "MFG-003", "RV-2026-003", "4500077001", "1", "MACH-PART", "confirmed",
     "150", "150", "Call-off 2"),
    (26, "DN-26-1115", "MFG-002", "RV-2026-002", "", "", "MACH-PART", "confirmed", "40", "40",
     "Urgent spare parts; PO to follow"),
    (27, "DN-26-1116", "MFG-001", "RV-2026-001", "", "", "MACH-PART", "pending", "120", "",
     "Awaiting goods receipt"),
)  # fmt: skip
# A correction after invoicing: 10 parts of call-off 1 arrived damaged.
CORRECTED = ("DN-26-1104", "140", "Call-off 1; 10 damaged in transit (claim of 27 Nov)")


def _services(start: date) -> list[dict[str, Any]]:
    """Timesheets, a milestone and the new customer's shipments, as the service desk's tool
    exports them (JSON)."""
    day = start.replace
    return [
        {
            "ref": "TS-26-0042",
            "kind": "timesheet",
            "customer": "MFG-003",
            "contract": "RV-2026-003",
            "charge_code": "SUPPORT",
            "date": day(day=13).isoformat(),
            "hours": "6.5",
            "role": "Application engineer",
            "description": "On-site process optimisation",
        },
        {
            "ref": "MS-26-0001",
            "kind": "milestone",
            "customer": "MFG-002",
            "contract": "RV-2026-002",
            "po": "4500012345",
            "po_line": "2",
            "charge_code": "TOOLING",
            "date": day(day=12).isoformat(),
            "percent": "30",
            "description": "Tooling design approved",
        },
        {
            "ref": "DN-26-1105",
            "kind": "shipment",
            "customer": "MFG-015",
            "contract": "RV-2026-004",
            "charge_code": "MACH-PART",
            "date": day(day=9).isoformat(),
            "shipped": "120",
            "accepted": "120",
        },
        {
            "ref": "DN-26-1113",
            "kind": "shipment",
            "customer": "MFG-015",
            "contract": "RV-2026-004",
            "charge_code": "STEEL-KG",
            "date": day(day=23).isoformat(),
            "shipped": "800",
        },
        {
            "ref": "TS-26-0051",
            "kind": "timesheet",
            "customer": "MFG-015",
            "contract": "RV-2026-004",
            "charge_code": "SUPPORT",
            "date": day(day=24).isoformat(),
            "hours": "3",
            "role": "Commissioning engineer",
        },
    ]


def _csv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def shipments_csv(start: date) -> str:
    rows = []
    for day, ref, customer, contract, po, line, code, status, shipped, accepted, text in SHIPMENTS:
        rows.append(
            dict(
                zip(
                    _CSV_COLUMNS,
                    (ref, "shipment", customer, contract, po, line, code,
                     start.replace(day=day).isoformat(), status, shipped, accepted, text),
                    strict=True,
                )
            )
        )  # fmt: skip
    return _csv(rows, _CSV_COLUMNS)


def corrections_csv(start: date) -> str:
    ref, accepted, text = CORRECTED
    text_by_ref = {s[1]: s for s in SHIPMENTS}
    day, _, customer, contract, po, line, code, status, shipped, _, _ = text_by_ref[ref]
    row = dict(
        zip(
            _CSV_COLUMNS,
            (ref, "shipment", customer, contract, po, line, code,
             start.replace(day=day).isoformat(), status, shipped, accepted, text),
            strict=True,
        )
    )  # fmt: skip
    return _csv([row], _CSV_COLUMNS)


def services_json(start: date) -> str:
    rows = _services(start)
    assert all(set(r) <= set(DELIVERY_FIELDS) for r in rows)
    return json.dumps({"deliveries": rows}, indent=2, ensure_ascii=False) + "\n"


# Which draft is which: the first delivery each one bills.
DRAFTS = {
    "monthly": "DN-26-1101",  # MFG-001: 7,363.01 EUR, above the threshold: a manager approves
    "po-2345": "DN-26-1103",  # MFG-002, PO 4500012345: clean
    "po-2399": "DN-26-1111",  # MFG-002, PO 4500012399: the PO expired on the 25th; left open
    "call-off-1": "DN-26-1104",  # MFG-003: clean
    "timesheet": "TS-26-0042",  # MFG-003: clean
    "call-off-2": "DN-26-1112",  # MFG-003: same amount and PO as call-off 1: overridden
    "new-customer": "DN-26-1105",  # MFG-015: no e-mail address: fixed at the source
    "usd": "DN-26-1108",  # US-002: a USD draft needs a second person; left open
}
ISSUE_ORDER = ("monthly", "po-2345", "call-off-1", "timesheet", "call-off-2", "new-customer")
LEFT_OPEN = ("po-2399", "usd")
DUPLICATE_REASON = (
    "Two separate call-offs of 150 pieces against blanket PO 4500077001 "
    "(DN-26-1104 and DN-26-1112), not a duplicate"
)
# Documents also written as Factur-X (PDF/A-3 with the CII inside): the first invoice of these
# customers (an exempt and a standard-rated line; reverse charge), and the contract invoice of
# MFG-001.
FACTURX_OF = ("MED-002", "EU-FR-01")


@dataclass
class Outcome:
    """What the commercial part did in this run, and where things are."""

    added: list[str] = field(default_factory=list)  # what this run created, for "nothing added"
    drafts: dict[str, int] = field(default_factory=dict)  # DRAFTS name -> document id
    held: list[com.Held] = field(default_factory=list)
    documents_written: int = 0
    files: list[Path] = field(default_factory=list)
    queued_now: int = 0


class _CachedRenderer:
    """Attachments for the outbox from the files just rendered, so that a document is rendered
    once for the folder and the e-mail; the mail adapter's renderer for anything else."""

    def __init__(self, inner: ml.DocumentRenderer, cache: dict[tuple[str, str], bytes]) -> None:
        self.inner, self.cache = inner, cache

    def pdf(self, uow: Any, entity_code: str, number: str) -> bytes:
        found = self.cache.get((number, "pdf"))
        return found if found is not None else self.inner.pdf(uow, entity_code, number)

    def xml(self, uow: Any, entity_code: str, number: str, syntax: str) -> bytes:
        found = self.cache.get((number, syntax))
        return found if found is not None else self.inner.xml(uow, entity_code, number, syntax)


@contextmanager
def reproducible(moment: datetime) -> Iterator[None]:
    """SOURCE_DATE_EPOCH for the font subsets WeasyPrint embeds (fontTools stamps them)."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


class Commercial:
    def __init__(
        self,
        book: Book,
        clock: FixedClock,
        start: date,
        where: str,
        out_dir: Path,
        entity: str,
    ) -> None:
        self.book, self.clock, self.start, self.where = book, clock, start, where
        self.out_dir, self.entity = out_dir, entity
        self.end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        self.result = Outcome()

    def at(self, day: date, minute: int = 0) -> None:
        self.clock.set(datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(minutes=minute))

    def _added(self, what: str, created: bool) -> None:
        if created:
            self.result.added.append(what)

    # -- master data, contracts, purchase orders ---------------------------------------------

    def master_data(self) -> None:
        self.at(self.start - timedelta(days=1), 120)
        uow, e = self.book.uow, self.entity
        code, name, unit, account, tax_class = TOOLING
        created = md.create_charge_code(
            uow(), md.CreateChargeCode(e, code, name, unit, account, tax_class)
        )
        self._added(f"charge code {code}", created.created)
        ccode, cname, address, _ = NEW_CUSTOMER
        created = md.create_customer(
            uow(),
            md.CreateCustomer(
                e, ccode, cname, "DE", "EUR", segment="manufacturing", address=address
            ),
        )
        self._added(f"customer {ccode}", created.created)
        year_start = self.start.replace(month=1, day=1)
        for number, customer, grouping, po_required, discount, terms, prices in CONTRACTS:
            created = com.create_contract(
                uow(),
                com.CreateContract(
                    e,
                    number,
                    customer,
                    year_start,
                    date(self.start.year, 12, 31),
                    payment_terms=terms,
                    grouping=grouping,
                    discount_percent=discount,
                    po_required=po_required,
                ),
            )
            self._added(f"contract {number}", created.created)
            for charge, day, price in prices:
                on = self.start.replace(day=day) if day else year_start
                created = com.add_contract_price(
                    uow(), com.AddContractPrice(e, number, charge, on, price)
                )
                self._added(f"price {number} {charge}", created.created)
        for customer, po, valid_from, valid_to, contract, lines in PURCHASE_ORDERS:
            first = (
                self.start + timedelta(days=valid_from)
                if valid_from < 0
                else self.start.replace(day=valid_from)
            )
            created = com.create_purchase_order(
                uow(), com.CreatePurchaseOrder(e, customer, po, first, valid_to, contract)
            )
            self._added(f"purchase order {po}", created.created)
            for line_no, charge, quantity, price, ceiling in lines:
                created = com.add_po_line(
                    uow(),
                    com.AddPoLine(e, customer, po, line_no, charge, quantity, price, ceiling),
                )
                self._added(f"PO line {po}/{line_no}", created.created)
        prefs = {p.customer: p for p in ml.mail_preferences(uow(read_only=True), e)}
        for customer in UBL_CUSTOMERS:
            if prefs[customer].attach_xml != ml.AttachXml.UBL.value:
                ml.set_mail_preferences(
                    uow(), ml.SetMailPreferences(e, customer, attach_xml=ml.AttachXml.UBL.value)
                )
                self._added(f"mail preferences of {customer}", True)

    # -- deliveries and the billing run -------------------------------------------------------

    def write_file(self, name: str, text: str) -> Path:
        path = self.out_dir / name
        self.out_dir.mkdir(parents=True, exist_ok=True)
        write_output(text.encode("utf-8"), str(path))
        self.result.files.append(path)
        return path

    def import_file(self, path: Path, refs: list[str]) -> None:
        """Import a delivery file once: a file is imported whole or not at all, so one known
        ref means it was (importing the first file again would undo the later correction)."""
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            if u.commercial.deliveries_by_ref(entity.id, refs[:1]):
                return
        imported = com.import_deliveries(
            self.book.uow(),
            com.ImportDeliveries(self.entity, path.read_text(encoding="utf-8"), path.name),
        )
        self._added(f"deliveries of {path.name}", bool(imported.created or imported.corrected))

    def deliveries(self) -> None:
        self.at(self.end, 60)
        month = f"{self.start:%Y-%m}"
        self.import_file(
            self.write_file(f"deliveries-{month}.csv", shipments_csv(self.start)),
            [s[1] for s in SHIPMENTS],
        )
        self.import_file(
            self.write_file(f"services-{month}.json", services_json(self.start)),
            [str(r["ref"]) for r in _services(self.start)],
        )

    def prepare(self) -> None:
        self.at(self.end, 90)
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            row = u.verification.settings(entity.id)
            have = None if row is None else row.approval_threshold_minor
        if have != 500000:
            ver.set_settings(
                self.book.uow(),
                ver.SetVerificationSettings(self.entity, approval_threshold=APPROVAL_THRESHOLD),
            )
            self._added("approval threshold", True)
        self.at(self.end, 120)
        prepared = com.prepare_billing(
            self.book.uow(), com.PrepareBilling(self.entity, self.end, self.end)
        )
        self._added("drafts", bool(prepared.documents))
        self.result.held = list(prepared.held)
        self.result.drafts = self._drafts()

    def _drafts(self) -> dict[str, int]:
        """DRAFTS name -> the document that first billed its delivery."""
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            known = u.commercial.deliveries_by_ref(entity.id, list(DRAFTS.values()))
            first: dict[int, int] = {}
            for b in u.commercial.billings([r.id for r in known.values()]):
                if b.reverses_id is None:
                    first.setdefault(int(b.delivery_id), int(b.document_id))
        return {name: first[int(known[ref].id)] for name, ref in DRAFTS.items()}

    # -- verification, approvals, issue -------------------------------------------------------

    def _status(self, draft_id: int) -> str:
        with self.book.uow(read_only=True) as u:
            return str(u.documents.get(draft_id).status)

    def _open(self, draft_id: int, rule: str) -> list[Any]:
        with self.book.uow(read_only=True) as u:
            return [
                r
                for r in u.verification.findings(draft_id)
                if r.rule == rule and r.status == "open"
            ]

    def verify_and_issue(self) -> None:
        drafts, e = self.result.drafts, self.entity
        self.at(self.end, 150)
        for draft_id in drafts.values():
            if self._status(draft_id) == "draft":
                ver.verify_draft(self.book.uow(), ver.VerifyDraft(e, draft_id))
        for minute, name in enumerate(ISSUE_ORDER, start=180):
            draft_id = drafts[name]
            if self._status(draft_id) != "draft":
                continue
            self.at(self.end, minute)
            if name == "monthly":
                self.approve(draft_id)
            elif name == "call-off-2":
                # The check runs again now that call-off 1 is issued: same amount, same PO.
                ver.verify_draft(self.book.uow(), ver.VerifyDraft(e, draft_id))
                for row in self._open(draft_id, "possible_duplicate"):
                    ver.resolve_discrepancy(
                        self.book.uow(),
                        ver.ResolveDiscrepancy(e, int(row.id), "override", DUPLICATE_REASON),
                    )
            elif name == "new-customer":
                code, _, _, email = NEW_CUSTOMER
                with self.book.uow(read_only=True) as u:
                    customer = u.customers.by_code(u.entities.by_code(e).id, code)
                if not customer.email:
                    md.update_customer(
                        self.book.uow(), md.UpdateCustomer(e, code, (("email", email),))
                    )
                for row in self._open(draft_id, "master_data_incomplete"):
                    ver.resolve_discrepancy(
                        self.book.uow(), ver.ResolveDiscrepancy(e, int(row.id), "fixed")
                    )
            inv.issue_draft(
                self.book.uow(),
                inv.IssueDraft(
                    e, draft_id, self.end, idempotency_key=f"demo-{self.start:%Y-%m}-{name}"
                ),
            )
            self._added(f"issue of {name}", True)

    def approve(self, draft_id: int) -> None:
        with self.book.uow(read_only=True) as u:
            if u.verification.approval(draft_id) is not None:
                return
        manager = open_book(self.where, actor=APPROVER, clock=self.clock)
        try:
            ver.approve_draft(manager.uow(), ver.ApproveDraft(self.entity, draft_id))
        finally:
            manager.close()

    def correction(self) -> None:
        """A delivery corrected after it was invoiced: the next billing run credits the
        difference."""
        self.at(self.end, 300)
        month = f"{self.start:%Y-%m}"
        path = self.write_file(f"deliveries-{month}-corrections.csv", corrections_csv(self.start))
        imported = com.import_deliveries(
            self.book.uow(),
            com.ImportDeliveries(self.entity, path.read_text(encoding="utf-8"), path.name),
        )
        self._added("corrected delivery", bool(imported.created or imported.corrected))
        prepared = com.prepare_billing(
            self.book.uow(), com.PrepareBilling(self.entity, self.end, self.end)
        )
        self._added("credit notes", any(d.kind == "credit_note" for d in prepared.documents))

    def run_billing(self) -> None:
        self.master_data()
        self.deliveries()
        self.prepare()
        self.verify_and_issue()
        self.correction()

    # -- documents and the outbox ---------------------------------------------------------------

    def documents(self, console: Console) -> None:
        docs = [
            d
            for d in rep.list_documents(self.book.uow(read_only=True), self.entity, as_of=self.end)
            if d.status != "draft" and d.number and d.document_date <= self.end.isoformat()
        ]
        facturx_of = {
            next(d.number for d in docs if d.customer == c and d.kind == "invoice")
            for c in FACTURX_OF
        } | {d.number for d in docs if d.id == self.result.drafts.get("monthly")}
        cache: dict[tuple[str, str], bytes] = {}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        written = 0
        with (
            reproducible(datetime.combine(self.end, time(18, 0), tzinfo=UTC)),
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[last]}"),
                console=console,
            ) as progress,
        ):
            task = progress.add_task("writing documents", total=len(docs), last="")
            for d in docs:
                pdf, _, _ = document_pdf(self.book, self.entity, d.number, None)
                cache[(d.number, "pdf")] = pdf
                written += self._write(f"{d.number}.pdf", pdf)
                for syntax in ("ubl", "cii"):
                    xml = einvoice_xml(self.book, self.entity, d.number, syntax)
                    cache[(d.number, syntax)] = xml
                    written += self._write(f"{d.number}-{syntax}.xml", xml)
                if d.number in facturx_of:
                    written += self._facturx(d.number, cache[(d.number, "cii")])
                progress.update(task, advance=1, last=d.number)
        self.result.documents_written = written
        self.queue(docs, cache)

    def _write(self, name: str, data: bytes) -> int:
        write_output(data, str(self.out_dir / name))
        return 1

    def _facturx(self, number: str, cii: bytes) -> int:
        from openbill.adapters.documents import facturx

        target = self.out_dir / f"{number}-facturx.pdf"
        if target.exists():  # it carries the time it was made: keep the first one
            return 1
        printed, header, who = document_pdf(
            self.book, self.entity, number, None, facturx.PDF_VARIANT
        )
        data = facturx.embed_cii(printed, cii, number=header["number"], seller_name=who.seller.name)
        return self._write(target.name, data)

    def queue(self, docs: list[rep.DocumentRow], cache: dict[tuple[str, str], bytes]) -> None:
        self.at(self.end, 600)
        renderer: Callable[[], ml.DocumentRenderer] = lambda: _CachedRenderer(  # noqa: E731
            DocumentsRenderer(lambda: self.book.uow(read_only=True)), cache
        )
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            customers = {c.code: c for c in u.customers.all(entity.id)}
        with reproducible(datetime.combine(self.end, time(18, 0), tzinfo=UTC)):
            for d in docs:
                if not customers[d.customer].email:
                    continue
                queued = ml.queue_document(
                    self.book.uow(), ml.QueueDocument(self.entity, d.number), renderer()
                )
                if queued.created:
                    self.result.queued_now += 1
        self._added("e-mails", bool(self.result.queued_now))
