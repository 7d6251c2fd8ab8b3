"""The queues' pages as a browser and a screen reader get them, with every form a manager
sees: no inline code (the Content-Security-Policy forbids it), every field labelled, ids
unique (htmx targets rows by id), every form carrying the anti-forgery token."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from .conftest import ENTITY, log_in

BASE = f"/desk/{ENTITY}"
PAGES = (
    "/drafts",
    "/discrepancies",
    "/approvals",
    "/overdue",
    "/disputes",
    "/disputes/DSP-000001",
    "/disputes/new?invoice=INV-2026-000004",
    "/payments/new?invoice=INV-2026-000002",
    "/bank-lines",
)


@pytest.fixture(scope="module")
def pages(queues):
    client = log_in(queues, "manager")
    out = {}
    for path in PAGES:
        reply = client.get(f"{BASE}{path}")
        assert reply.status_code == 200, path
        out[path] = reply.text
    return out


@pytest.mark.parametrize("path", PAGES)
def test_no_inline_code(pages, path):
    page = pages[path]
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert " style=" not in page and "<style" not in page
    assert re.findall(r"\son[a-z]+=", page) == []


@pytest.mark.parametrize("path", PAGES)
def test_every_field_has_a_label_and_ids_are_unique(pages, path):
    page = pages[path]
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    fields = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    assert all(f'for="{i}"' in page for i in fields), [
        i for i in fields if f'for="{i}"' not in page
    ]
    unlabelled = re.findall(r"<(?:input|select|textarea)(?![^>]*\bid=)([^>]*)>", page)
    assert all('type="hidden"' in u for u in unlabelled), unlabelled


@pytest.mark.parametrize("path", PAGES)
def test_every_form_that_changes_something_carries_the_token(pages, path):
    forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', pages[path], flags=re.S)
    assert forms, "the manager sees forms on every queue"
    assert all('name="csrf_token" value="' in f for f in forms)
