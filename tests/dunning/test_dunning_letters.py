"""The dunning letter templates: languages, English fallback, the subject line, a company's
own templates, and amounts written for the language from the exact minor units."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from openbill.adapters.documents.dunning_mail import TemplateLetters, format_amount, format_day
from openbill.domain.rejections import InvalidInput
from openbill.usecases.dunning import Letter

LETTER = Letter(
    language="en",
    template="second",
    step_no=3,
    final=False,
    as_of=date(2026, 2, 22),
    entity_name="Acme GmbH",
    entity_email="ar@acme.example",
    entity_iban="DE89370400440532013000",
    customer_code="C1",
    customer_name="Alpha GmbH",
    invoice_number="INV-2026-000001",
    invoice_date=date(2026, 1, 2),
    due_date=date(2026, 2, 1),
    currency="EUR",
    total_minor=2975,
    open_minor=2975,
    disputed_minor=1000,
    dunned_minor=1975,
    days_overdue=21,
    charges=(("late_fee", 500),),
    fee_invoice="INV-2026-000002",
    fees_open=(),
)


@pytest.fixture(autouse=True)
def no_company_templates(monkeypatch):
    monkeypatch.delenv("OPENBILL_TEMPLATES_DIR", raising=False)


def test_amounts_and_dates_per_language():
    assert format_amount(123456789, "EUR", "en") == "1,234,567.89 EUR"
    assert format_amount(123456789, "EUR", "de") == "1.234.567,89 EUR"
    assert format_amount(123456789, "EUR", "fr") == "1\u202f234\u202f567,89 EUR"
    assert format_amount(-5, "EUR", "de") == "-0,05 EUR"
    assert format_amount(1333, "JPY", "en") == "1,333 JPY"
    assert format_amount(3125, "KWD", "de") == "3,125 KWD"
    assert format_amount(100, "EUR", "it") == "1.00 EUR"  # unknown language: English
    day = date(2026, 3, 2)
    assert [format_day(day, lang) for lang in ("en", "de", "fr")] == [
        "2 March 2026",
        "02.03.2026",
        "02/03/2026",
    ]


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("en", "Second reminder: invoice INV-2026-000001 is 21 days overdue", "19.75 EUR are open"),
        ("de", "2. Mahnung: Rechnung INV-2026-000001 ist seit 21 Tagen überfällig", "19,75 EUR"),
        ("fr", "Deuxième relance : facture INV-2026-000001 en retard de 21 jours", "19,75 EUR"),
        ("it", "Second reminder: invoice INV-2026-000001 is 21 days overdue", "19.75 EUR"),
    ],
)
def test_the_second_reminder_in_each_language(language, subject, phrase):
    got_subject, body = TemplateLetters().render(replace(LETTER, language=language))
    assert got_subject == subject
    assert phrase in body
    assert "INV-2026-000002" in body  # the fee invoice is named
    assert "Subject:" not in body


def test_every_builtin_template_renders_in_every_language():
    letters = TemplateLetters()
    for template in ("friendly", "first", "second", "final"):
        assert letters.has_template(template)
        for language in ("en", "de", "fr"):
            letter = replace(LETTER, language=language, template=template, fees_open=(("X", 1),))
            subject, body = letters.render(letter)
            assert subject and "INV-2026-000001" in body and "Acme GmbH" in body


def test_unknown_and_unsafe_template_names():
    letters = TemplateLetters()
    assert not letters.has_template("nope")
    assert not letters.has_template("../../../etc/passwd")
    assert not letters.has_template("_charges")  # a building block, not a letter
    with pytest.raises(InvalidInput):
        letters.render(replace(LETTER, template="../first"))


def test_a_company_folder_overrides_one_template_and_keeps_the_rest(tmp_path, monkeypatch):
    own = tmp_path / "dunning" / "de"
    own.mkdir(parents=True)
    (own / "second.txt").write_text(
        "Subject: Bitte zahlen Sie {{ invoice.number }}\n\nOffen: {{ invoice.dunned }}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OPENBILL_TEMPLATES_DIR", str(tmp_path))
    letters = TemplateLetters()
    assert letters.render(replace(LETTER, language="de")) == (
        "Bitte zahlen Sie INV-2026-000001",
        "Offen: 19,75 EUR\n",
    )
    # the other templates and languages are still the built-in ones
    assert letters.render(LETTER)[0].startswith("Second reminder")


def test_a_template_without_a_subject_line_is_refused(tmp_path):
    own = tmp_path / "dunning" / "en"
    own.mkdir(parents=True)
    (own / "plain.txt").write_text("Dear customer,\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="Subject:"):
        TemplateLetters(tmp_path).render(replace(LETTER, template="plain"))
