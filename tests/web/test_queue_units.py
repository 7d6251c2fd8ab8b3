"""The queues' small pure parts: ids made from codes, the signed message an action leaves,
the next dunning step, dates and plurals of forms (properties by hypothesis; the doctests)."""

from __future__ import annotations

import doctest
import re
from datetime import date
from http.cookies import SimpleCookie
from types import SimpleNamespace

import pytest
from fastapi.responses import Response
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.dunning import Action, Policy, Step
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.web import actions, fmt, forms
from openbill.usecases import desk_queues


@pytest.mark.parametrize("module", [fmt, forms, desk_queues])
def test_the_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@given(st.text(max_size=40), st.text(max_size=40))
def test_an_id_from_a_code_is_safe_and_never_shared(one, other):
    made = fmt.dom_id(one)
    assert re.fullmatch(r"[A-Za-z0-9_\-]*", made)
    assert (made == fmt.dom_id(other)) == (one == other)


# -- the message an action leaves ------------------------------------------------------------


def _cookie_of(response: Response) -> str:
    jar = SimpleCookie()
    jar.load(response.headers["set-cookie"])
    return jar[actions.FLASH_COOKIE].value


def _left(text: str, key: str, link: str = "") -> str:
    response = Response()
    request = SimpleNamespace(url=SimpleNamespace(scheme="http"))
    actions.set_flash(
        request, response, SimpleNamespace(csrf=key), actions.Flash(text, "done", link)
    )
    return _cookie_of(response)


def _read(value: str, key: str):
    return actions.read_flash(SimpleNamespace(cookies={actions.FLASH_COOKIE: value}), key)


KEYS = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(st.text(max_size=2_000), KEYS)
def test_the_message_comes_back_to_its_session_only(text, key):
    value = _left(text, key)
    back = _read(value, key)
    assert back is not None and back.text == text[: actions.MAX_FLASH_CHARS]
    other = ("0" if key[0] != "0" else "1") + key[1:]
    assert _read(value, other) is None  # another session's token


@given(KEYS, st.integers(min_value=0, max_value=200))
def test_a_message_changed_on_the_way_is_not_shown(key, where):
    value = _left("Draft 7 issued as INV-2026-000006.", key)
    payload, _, signature = value.partition(".")
    i = where % len(payload)
    changed = payload[:i] + ("A" if payload[i] != "A" else "B") + payload[i + 1 :]
    assert _read(f"{changed}.{signature}", key) is None
    assert _read(payload, key) is None  # no signature at all
    assert _read("", key) is None


def test_a_message_links_only_to_the_desk():
    key = "a" * 64
    assert _read(_left("done", key, "/desk/ACME/invoices/INV-1"), key).link == (
        "/desk/ACME/invoices/INV-1"
    )
    for elsewhere in ("https://evil.example/desk", "//evil.example/desk", "/v1/health"):
        assert _read(_left("done", key, elsewhere), key).link == ""


# -- the next dunning step -------------------------------------------------------------------

STEPS = st.lists(st.integers(min_value=-30, max_value=120), min_size=1, max_size=8, unique=True)


@given(STEPS, st.integers(min_value=0, max_value=10), st.dates())
def test_the_next_step_is_the_first_not_taken(offsets, last, due):
    steps = tuple(
        Step(n, days, (Action.REMINDER,)) for n, days in enumerate(sorted(offsets), start=1)
    )
    found = desk_queues.next_step(Policy("P", "EUR", steps), due, last)
    left = [s for s in steps if s.step_no > last]
    if not left:
        assert found is None
    else:
        # Steps are numbered 1, 2, 3 ... in the order of their days: the next is last + 1.
        assert found == left[0]
        assert found.step_no == last + 1
    assert desk_queues.next_step(None, due, last) is None


# -- form fields -----------------------------------------------------------------------------


@given(st.dates())
def test_a_date_field_reads_what_a_browser_sends(day):
    assert forms.day_of(f" {day.isoformat()} ", "as_of") == day


@given(st.text(max_size=20).filter(lambda t: t.strip() and not _is_date(t.strip())))
def test_anything_else_is_refused_naming_the_field(text):
    with pytest.raises(InvalidInput) as refused:
        forms.day_of(text, "pay_by", "promise")
    assert refused.value.field == "pay_by"
    assert "give it as YYYY-MM-DD" in refused.value.reason


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
