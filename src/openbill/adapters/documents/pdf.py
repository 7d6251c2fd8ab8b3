"""Invoices, credit notes and customer statements as PDF: Jinja2 HTML/CSS templates rendered by
WeasyPrint.

A company brands its documents by putting its own `invoice.html`, `credit_note.html`,
`statement.html` or `base.css` (or the shared building blocks: `layout.html`, the page frame
with the seller and buyer blocks, and `_document.html`, the lines, VAT breakdown and totals) in
a folder and naming that folder with the `templates_dir` argument or $OPENBILL_TEMPLATES_DIR.
Every template is looked up there first and then among the built-in ones (`templates/` beside
this module), so a folder that holds only `base.css` restyles every document and keeps the
built-in markup. Relative URLs in the
templates (a logo, a font) resolve against the company folder.

Amounts reach the templates as integer minor units and are printed with `format_minor`, so a
printed figure is exactly the stored one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from openbill.domain.currencies import exponent_of
from openbill.domain.money import format_minor
from openbill.usecases.reports import DocumentView
from openbill.usecases.statements import Parties, Statement

__all__ = [
    "BUILTIN_TEMPLATES",
    "TEMPLATES_ENV",
    "TEMPLATE_NAMES",
    "render_document",
    "render_html",
    "render_pdf",
    "render_statement",
    "document_context",
    "statement_context",
]

TEMPLATES_ENV = "OPENBILL_TEMPLATES_DIR"
BUILTIN_TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE_NAMES = (
    "invoice.html",
    "credit_note.html",
    "statement.html",
    "base.css",
    "layout.html",
    "_document.html",
)

# EN 16931 VAT category codes (UNCL 5305) as printed next to a tax subtotal.
CATEGORY_NAMES = {
    "S": "Standard rate",
    "Z": "Zero rated",
    "E": "Exempt from VAT",
    "AE": "Reverse charge",
    "K": "Intra-community supply",
    "G": "Export outside the EU",
    "O": "Not subject to VAT",
    "L": "Canary Islands tax",
    "M": "Ceuta and Melilla tax",
}
# Categories whose legal note (exemption reason, BT-120/BT-121) must be printed.
NOTE_CATEGORIES = frozenset({"E", "AE", "K", "G", "Z", "O"})

# Common UN/ECE Recommendation 20 unit codes and how people read them.
UNIT_NAMES = {
    "C62": "unit",
    "H87": "piece",
    "EA": "each",
    "HUR": "hour",
    "DAY": "day",
    "WEE": "week",
    "MON": "month",
    "ANN": "year",
    "KGM": "kg",
    "MTR": "m",
    "LTR": "l",
    "KWH": "kWh",
    "MIN": "min",
}

KIND_TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}


def templates_dir_of(templates_dir: str | Path | None = None) -> Path | None:
    """The company's template folder: the argument, else $OPENBILL_TEMPLATES_DIR, else none."""
    given = templates_dir or os.environ.get(TEMPLATES_ENV, "")
    if not given:
        return None
    folder = Path(given).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"template folder {folder} does not exist")
    return folder


def _environment(folder: Path | None) -> Environment:
    loaders = [FileSystemLoader(str(folder))] if folder else []
    loaders.append(FileSystemLoader(str(BUILTIN_TEMPLATES)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "htm", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=_money, price=_price, qty=_quantity, rate=_rate, unit=_unit, day=_day)
    return env


def _money(amount_minor: int | None, currency: str) -> str:
    return "" if amount_minor is None else format_minor(int(amount_minor), currency)


def _quantity(value: Decimal | str | int) -> str:
    return format(Decimal(value).normalize(), "f")


def _price(value: Decimal | str | int, currency: str) -> str:
    """A unit price with at least the currency's decimals (12.50, not 12.5), more if it has them."""
    text = format(Decimal(value).normalize(), "f")
    places = exponent_of(currency)
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(places, "0")
    return f"{whole}.{fraction}" if fraction else whole


def _rate(value: Decimal | str | int | None) -> str:
    if value is None or value == "":
        return ""
    return format(Decimal(value).normalize(), "f") + " %"


def _unit(code: str) -> str:
    return UNIT_NAMES.get(code, code)


def _day(value: date | str | None) -> str:
    if not value:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def render_html(
    template: str, context: Mapping[str, Any], templates_dir: str | Path | None = None
) -> str:
    """The HTML of one template with its context (what `render_pdf` hands to WeasyPrint)."""
    env = _environment(templates_dir_of(templates_dir))
    return env.get_template(template).render(**context)


def render_pdf(
    template: str,
    context: Mapping[str, Any],
    templates_dir: str | Path | None = None,
    *,
    pdf_variant: str | None = None,
) -> bytes:
    """Render a template to PDF bytes. `pdf_variant` (e.g. "pdf/a-3b") asks WeasyPrint for an
    archival PDF, which Factur-X needs."""
    from weasyprint import HTML

    folder = templates_dir_of(templates_dir)
    html = _environment(folder).get_template(template).render(**context)
    base_url = str(folder or BUILTIN_TEMPLATES)
    options: dict[str, Any] = {"pdf_variant": pdf_variant} if pdf_variant else {}
    result = HTML(string=html, base_url=base_url).write_pdf(**options)
    assert result is not None  # write_pdf returns bytes when given no target
    return bytes(result)


def _tax_rows(taxes: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    rows = []
    for tax in sorted(taxes, key=lambda t: (-Decimal(t["rate"]), t["category"])):
        category = tax["category"]
        note = ""
        if category in NOTE_CATEGORIES:
            reason = tax.get("exemption_reason") or ""
            code = tax.get("exemption_code") or ""
            note = reason or CATEGORY_NAMES.get(category, "")
            if code:
                note = f"{note} ({code})" if note else code
        rows.append(
            {
                **tax,
                "category_name": CATEGORY_NAMES.get(category, category),
                "note": note,
            }
        )
    return rows


def document_context(
    view: DocumentView, parties: Parties, *, credited_number: str = ""
) -> dict[str, Any]:
    """What the invoice and credit-note templates see."""
    header = dict(view.header)
    currency = header["currency"]
    kind = header["kind"]
    taxes = _tax_rows(view.taxes, currency)
    return {
        "kind": kind,
        "title": KIND_TITLES.get(kind, kind),
        "doc": header,
        "currency": currency,
        "seller": asdict(parties.seller),
        "buyer": asdict(parties.buyer),
        "lines": sorted(view.lines, key=lambda ln: ln["line_no"]),
        "adjustments": list(getattr(view, "adjustments", [])),
        "line_total_minor": sum(int(ln["net_minor"]) for ln in view.lines),
        "taxes": taxes,
        "notes": [t["note"] for t in taxes if t["note"]],
        "credited_number": credited_number,
        "reason": header.get("reason") or "",
    }


def render_document(
    view: DocumentView,
    parties: Parties,
    *,
    credited_number: str = "",
    templates_dir: str | Path | None = None,
    pdf_variant: str | None = None,
) -> bytes:
    """An issued invoice or credit note as PDF."""
    context = document_context(view, parties, credited_number=credited_number)
    template = "credit_note.html" if context["kind"] == "credit_note" else "invoice.html"
    return render_pdf(template, context, templates_dir, pdf_variant=pdf_variant)


KIND_LABELS = {
    "invoice": "Invoice",
    "credit_note": "Credit note",
    "payment": "Payment",
    "refund": "Refund",
    "write_off": "Write-off",
    "payment_reversal": "Payment returned",
    "fx_allocation": "Currency conversion",
}


def statement_context(statement: Statement) -> dict[str, Any]:
    """What the statement template sees."""
    return {
        "title": "Statement of account",
        "seller": asdict(statement.parties.seller),
        "buyer": asdict(statement.parties.buyer),
        "start": statement.start,
        "end": statement.end,
        "sections": [
            {
                **{k: v for k, v in asdict(section).items() if k != "lines"},
                "lines": [
                    {**asdict(line), "label": KIND_LABELS.get(line.kind, line.kind)}
                    for line in section.lines
                ],
            }
            for section in statement.sections
        ],
    }


def render_statement(statement: Statement, *, templates_dir: str | Path | None = None) -> bytes:
    """A customer statement as PDF."""
    return render_pdf("statement.html", statement_context(statement), templates_dir)
