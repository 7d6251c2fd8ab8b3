"""Dunning letters from Jinja2 text templates, one folder per language.

Templates live in `templates/dunning/<language>/<name>.txt` beside this module; a company folder
named by `templates_dir` or $OPENBILL_TEMPLATES_DIR (the same folder that overrides the PDF
templates) is looked up first, as `<folder>/dunning/<language>/<name>.txt`. A letter in a
language without that template falls back to English (`en`), so every template must exist in
English at least; the run refuses to start when one does not.

A template's first line is the subject, written `Subject: ...`; the body follows after one
blank line. Both are Jinja2 (plain text, no HTML escaping, undefined names are errors). What a
template can use:

    entity.name, entity.email, entity.iban
    customer.name, customer.code
    invoice.number, invoice.date, invoice.due_date, invoice.currency, invoice.total,
    invoice.open, invoice.disputed, invoice.dunned (open minus disputed: what is asked for)
    days_overdue, step_no, final, as_of
    charges: list of {what, amount} charged by this run; fee_invoice: its number, or ""
    fees_open: list of {number, amount}: earlier fee invoices still open

Amounts arrive as text formatted for the language (1,234.50 / 1.234,50 / 1 234,50) from the
exact minor units, dates as text too (2 March 2026 / 02.03.2026 / 02/03/2026).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from openbill.domain.money import format_minor
from openbill.domain.rejections import InvalidInput
from openbill.usecases.dunning import Letter

__all__ = ["TemplateLetters", "BUILTIN_DUNNING_TEMPLATES", "format_amount", "format_day"]

BUILTIN_DUNNING_TEMPLATES = Path(__file__).with_name("templates") / "dunning"
TEMPLATES_ENV = "OPENBILL_TEMPLATES_DIR"
FALLBACK_LANGUAGE = "en"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_SUBJECT = re.compile(r"^Subject:[ \t]*(.*)$")

_SEPARATORS = {"en": (",", "."), "de": (".", ","), "fr": ("\u202f", ",")}
_MONTHS_EN = (
    "January February March April May June July August September October November December"
).split()
_CHARGES = {
    "en": {
        "late_fee": "late fee",
        "recovery_fee": "fixed compensation for recovery costs",
        "interest": "late payment interest",
    },
    "de": {
        "late_fee": "Mahngebühr",
        "recovery_fee": "Pauschale für Beitreibungskosten",
        "interest": "Verzugszinsen",
    },
    "fr": {
        "late_fee": "frais de relance",
        "recovery_fee": "indemnité forfaitaire pour frais de recouvrement",
        "interest": "intérêts de retard",
    },
}


def format_amount(minor: int, currency: str, language: str) -> str:
    """Exact minor units as text people of `language` read: '1,234.50 EUR', '1.234,50 EUR'."""
    thousands, decimal = _SEPARATORS.get(language, _SEPARATORS["en"])
    text = format_minor(minor, currency)
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    number = sign + thousands.join(groups) + (decimal + fraction if fraction else "")
    return f"{number} {currency}"


def format_day(day: Any, language: str) -> str:
    if language == "de":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    if language == "fr":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


class TemplateLetters:
    """The LetterRenderer of openbill.usecases.dunning, over Jinja2 text templates."""

    def __init__(self, templates_dir: str | Path | None = None) -> None:
        folder = templates_dir or os.environ.get(TEMPLATES_ENV) or None
        loaders = []
        if folder:
            loaders.append(FileSystemLoader(str(Path(folder) / "dunning")))
        loaders.append(FileSystemLoader(str(BUILTIN_DUNNING_TEMPLATES)))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            # Letters are plain text (.txt): nothing to escape. An HTML template added
            # later would be escaped, as the PDF templates are (bandit B701).
            autoescape=select_autoescape(["html", "htm", "xml"], default=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def _path(self, language: str, template: str) -> str:
        if not _NAME.match(template) or not _LANGUAGE.match(language):
            raise InvalidInput(
                f"{language}/{template} is not a template name", record="dunning letter"
            )
        return f"{language}/{template}.txt"

    def has_template(self, template: str) -> bool:
        try:
            self.env.get_template(self._path(FALLBACK_LANGUAGE, template))
        except (TemplateNotFound, InvalidInput):
            return False
        return True

    def render(self, letter: Letter) -> tuple[str, str]:
        language = letter.language
        try:
            template = self.env.get_template(self._path(language, letter.template))
        except TemplateNotFound:
            language = FALLBACK_LANGUAGE
            template = self.env.get_template(self._path(language, letter.template))
        text = template.render(**_context(letter, language))
        return _split(text, letter.template)


def _split(text: str, name: str) -> tuple[str, str]:
    first, _, rest = text.partition("\n")
    match = _SUBJECT.match(first.strip())
    if match is None or not match.group(1).strip():
        raise InvalidInput(
            f"the template {name!r} must begin with a line 'Subject: ...'",
            record="dunning letter",
            field="template",
        )
    return match.group(1).strip(), rest.lstrip("\n")


def _context(letter: Letter, language: str) -> dict[str, Any]:
    cur = letter.currency

    def amount(minor: int) -> str:
        return format_amount(minor, cur, language)

    names = _CHARGES.get(language, _CHARGES["en"])
    return {
        "entity": {
            "name": letter.entity_name,
            "email": letter.entity_email,
            "iban": letter.entity_iban,
        },
        "customer": {"name": letter.customer_name, "code": letter.customer_code},
        "invoice": {
            "number": letter.invoice_number,
            "date": format_day(letter.invoice_date, language),
            "due_date": format_day(letter.due_date, language),
            "currency": cur,
            "total": amount(letter.total_minor),
            "open": amount(letter.open_minor),
            "disputed": amount(letter.disputed_minor) if letter.disputed_minor else "",
            "dunned": amount(letter.dunned_minor),
        },
        "days_overdue": letter.days_overdue,
        "step_no": letter.step_no,
        "final": letter.final,
        "as_of": format_day(letter.as_of, language),
        "charges": [
            {"what": names.get(what, what), "amount": amount(minor)}
            for what, minor in letter.charges
        ],
        "fee_invoice": letter.fee_invoice,
        "fees_open": [{"number": n, "amount": amount(m)} for n, m in letter.fees_open],
    }
