"""A billing specialist's bank month through the API alone: register the account, import
March's camt.053 (tests/api/bank_month.py has the invoices and the statement, with every figure
worked out by hand), read the review queue, confirm one line, split another, undo a decision,
reconcile and find the difference explained; then aging, the ledger and verify."""

from __future__ import annotations

from fixtures_book import row_counts

from .bank_month import BANK, BASE, add_account, lines_by_amount, march, upload


def test_a_bank_month_by_api(desk):
    month = march(desk.book)
    a, b, c, d = (month.numbers[k] for k in "ABCD")
    api = desk.client("specialist")
    account = add_account(api)
    assert (account["ledger_account"], account["book_balance"]) == ("1200", "1000.00")

    # Import: 4 new lines; the reference payment of A and the bank charges are posted on
    # their own, the 29.75 and the 150.00 wait for a person.
    imported = upload(api, month.camt, key="march-camt")
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["new_lines"] == 4
    [stmt] = body["statements"]
    assert (stmt["opening"], stmt["closing"], stmt["problems"]) == ("1000.00", "1286.25", [])
    run = body["matching"]
    assert (run["considered"], run["automatic"], run["review"]) == (4, 2, 2)
    lines = lines_by_amount(api)
    assert {k: v["status"] for k, v in lines.items()} == {
        "119.00": "matched",
        "29.75": "review",
        "150.00": "review",
        "-12.50": "matched",
    }

    # Before any review the book holds 1,000.00 + 119.00 - 12.50 = 1,106.50; the statement
    # closes at 1,286.25; the two lines waiting (29.75 + 150.00 = 179.75) are the difference.
    before = api.get(f"{BANK}/reconciliation", params={"account": "Main EUR", "period": "2026-03"})
    assert before.status_code == 200, before.text
    r = before.json()
    assert (r["statement_balance"], r["book_balance"], r["difference"]) == (
        "1286.25",
        "1106.50",
        "179.75",
    )
    assert (r["unmatched_lines"], r["unexplained"]) == ("179.75", "0.00")
    assert sorted(i["amount"] for i in r["lines_not_in_book"]) == ["150.00", "29.75"]

    # The review queue: the 29.75 with C as its only candidate, the 150.00 from C3's account.
    queue = api.get(f"{BANK}/review").json()["data"]
    assert [(x["amount"], x["counterparty"]) for x in queue] == [
        ("29.75", "MAX MUSTER"),
        ("150.00", "GAMMA KG"),
    ]
    first, second = queue
    assert [(x["rank"], x["customer"]) for x in first["candidates"]] == [(1, "C3")]
    assert first["candidates"][0]["allocations"] == [
        {"invoice": c, "amount": "29.75", "discount": "0.00"}
    ]
    assert "only open invoice of 29.75" in first["explanation"]
    # Oldest first would pay C and D (29.75 + 100.00) and keep 150.00 - 129.75 = 20.25.
    assert second["candidates"][0]["credit"] == "20.25"

    # Confirm the 29.75 as C's payment.
    done = api.post(f"{BANK}/lines/{first['id']}/confirm", json={"candidate": 1})
    assert done.status_code == 200, done.text
    assert (done.json()["action"], done.json()["status"]) == ("payment", "matched")
    assert len(done.json()["posted"]["payments"]) == 1
    assert api.get(f"{BASE}/invoices/{c}").json()["status"] == "paid"

    # Split the 150.00: D's 100.00, and 50.00 kept as C3's credit.
    split = api.post(
        f"{BANK}/lines/{second['id']}/split",
        json={
            "to": [{"invoice": d, "amount": "100.00"}],
            "credit": [{"customer": "C3", "amount": "50.00"}],
        },
    )
    assert split.status_code == 200, split.text
    assert api.get(f"{BASE}/invoices/{d}").json()["status"] == "paid"
    assert api.get(f"{BANK}/review").json()["data"] == []

    # Undo the automatic payment of A: it was meant for B.
    paid = lines_by_amount(api)["119.00"]
    undone = api.post(
        f"{BANK}/lines/{paid['id']}/undo", json={"reason": "C1 meant B, not A; asked them"}
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "new"
    assert lines_by_amount(api)["119.00"]["status"] == "new"
    assert api.get(f"{BASE}/invoices/{a}").json()["open"] == "119.00"
    line = api.get(f"{BANK}/lines/{paid['id']}").json()
    assert [x["action"] for x in line["decisions"]] == ["payment", "undo"]
    assert line["decisions"][1]["undoes"] == line["decisions"][0]["id"]

    # Reconcile: the book holds 1,000.00 + 119.00 - 119.00 + 29.75 + 150.00 - 12.50 =
    # 1,167.25; the statement 1,286.25; the 119.00 waiting again is the whole difference.
    after = api.get(
        f"{BANK}/reconciliation", params={"account": "Main EUR", "period": "2026-03"}
    ).json()
    assert (after["book_balance"], after["difference"]) == ("1167.25", "119.00")
    assert (after["unmatched_lines"], after["undone"], after["unexplained"]) == (
        "119.00",
        "0.00",
        "0.00",
    )
    assert [i["amount"] for i in after["lines_not_in_book"]] == ["119.00"]
    assert (after["matched_automatic"], after["matched_by_hand"], after["waiting"]) == (1, 2, 1)
    assert after["undone_in_period"] == 1 and after["problems"] == []

    # Aging on 2026-03-31: A (due 03-12, 19 days) and B (due 03-22, 9 days) are open in 1-30:
    # 119.00 + 106.89 = 225.89; C3 owes nothing and has 50.00 of credit.
    aging = api.get(f"{BASE}/ar/aging", params={"as_of": "2026-03-31"}).json()
    assert aging["labels"] == ["current", "1-30", "31-60", "61-90", "90+"]
    rows = {r["customer"]: r for r in aging["rows"]}
    assert rows["C1"]["buckets"] == {
        "current": "0.00",
        "1-30": "225.89",
        "31-60": "0.00",
        "61-90": "0.00",
        "90+": "0.00",
    }
    assert (rows["C1"]["total"], rows["C3"]["total"], rows["C3"]["credit"]) == (
        "225.89",
        "0.00",
        "50.00",
    )
    [eur] = aging["totals"]
    assert (eur["total"], eur["credit"]) == ("225.89", "50.00")

    # The bank account's ledger balance is the book balance above; every currency balances.
    ledger = api.get(f"{BASE}/ledger/balances").json()
    bank_row = next(x for x in ledger["data"] if x["account"] == "1200")
    assert bank_row["balance"] == "1167.25"
    assert all(x["balanced"] for x in ledger["checks"])

    # verify (an auditor's read): every check passes.
    checked = desk.client("auditor").get("/v1/verify").json()
    assert checked["ok"] is True and checked["violations_total"] == 0
    assert all(x["passed"] for x in checked["checks"])

    # The audit trail names who did each step.
    trail = desk.client("manager").get(
        f"{BASE}/audit", params={"record_type": "bank_line", "record_id": str(paid["id"])}
    )
    assert [(e["action"], e["actor"]) for e in trail.json()["data"]][-1] == (
        "bank.match_undone",
        "specialist",
    )


def test_the_same_month_as_mt940_adds_nothing_after_the_camt(desk):
    month = march(desk.book)
    api = desk.client("specialist")
    add_account(api)
    assert upload(api, month.camt).status_code == 201
    before = row_counts(desk.book)
    copy = api.post(f"{BANK}/statements", content=month.mt940, params={"filename": "march.sta"})
    # Same entries, other bank ids and format: the statement is known, nothing is added.
    assert copy.status_code == 200, copy.text
    assert copy.json()["new_lines"] == 0 and copy.json()["matching"] is None
    assert copy.json()["statements"][0]["duplicate_of"] is not None
    after = row_counts(desk.book)
    assert after["bank_lines"] == before["bank_lines"] == 4
    assert after["bank_statements"] == before["bank_statements"] == 1
