"""The seal-usage log's pages and exports: /seal-usage and /seals/<id>/usage, their filters in
the address, CSV with a BOM and Excel files that open, each export audited, and none of it for
someone the log is not for."""

from __future__ import annotations

import csv
import hashlib
import io

from sqlalchemy import select

from app.extensions import db
from processes.models import AuditEvent
from tests.conftest import approve, seal_one, submit


def test_the_pages_list_each_use_with_its_approvers(org, pdf, login):
    rid = seal_one(org, pdf)["id"]
    carol = login("carol")
    page = carol.get("/seal-usage")
    assert page.status_code == 200
    text = page.text
    assert f"/requests/{rid}" in text and "bob" in text and "carol" in text
    assert hashlib.sha256(pdf).hexdigest()[:16] in text
    one = carol.get(f"/seals/{org.seal_id}/usage")
    assert one.status_code == 200 and f"/requests/{rid}" in one.text
    # Filters live in the address; one that matches nothing says so.
    empty = carol.get(f"/seals/{org.seal_id}/usage?requester=nobody")
    assert f"/requests/{rid}" not in empty.text
    assert "No use matches these filters." in empty.text
    assert 'value="nobody"' in empty.text
    assert carol.get("/seal-usage?since=soon").status_code == 400


def test_the_pages_are_for_custodians_seal_admins_and_auditors(org, pdf, login):
    seal_one(org, pdf)
    alice = login("alice")
    assert alice.get("/seal-usage").status_code == 403
    assert alice.get(f"/seals/{org.seal_id}/usage").status_code == 403
    assert alice.get("/seal-usage/export.csv").status_code == 403
    assert alice.get("/seal-usage/export.xlsx").status_code == 403
    assert "/seal-usage" not in alice.get("/seals").text
    assert "/seal-usage" in login("carol").get("/seals").text


def test_csv_export_has_a_bom_every_column_and_is_audited(app, org, pdf, login):
    rid = seal_one(org, pdf)["id"]
    carol = login("carol")
    resp = carol.get(f"/seal-usage/export.csv?seal={org.seal_id}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.data
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["No.", "Seal", "Certificate serial"]
    assert len(rows) == 2 and rows[1][0] == str(rid)
    assert hashlib.sha256(pdf).hexdigest() in rows[1]
    assert "bob: Approved" in rows[1][6] and "carol: Approved" in rows[1][6]
    assert rows[1][-1].endswith(f"/requests/{rid}")
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "seal_usage.exported")).scalar_one()
    assert (event.actor, event.seal_id, event.details["format"], event.details["rows"]) == (
        "carol", org.seal_id, "csv", 1)


def test_a_long_log_is_exported_in_batches_newest_first(app, org, pdf, login, monkeypatch):
    from processes.seals import usage_log
    monkeypatch.setattr(usage_log, "EXPORT_BATCH", 2)  # five uses: three batches
    ids = [seal_one(org, pdf + f"\n% {n}\n".encode())["id"] for n in range(5)]
    resp = login("carol").get("/seal-usage/export.csv")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert [int(r[0]) for r in rows[1:]] == ids[::-1]


def test_xlsx_export_opens_in_a_spreadsheet_and_keeps_formulas_out(app, org, pdf, login):
    from openpyxl import load_workbook

    submit_purpose = "=HYPERLINK(\"http://x\")"
    req = submit(org.alice, org.seal_id, pdf, data={"amount": 5, "purpose": submit_purpose})
    approve(org.bob)
    approve(org.carol)
    rid = req.get_json()["id"]
    resp = login("carol", "zh-CN,zh;q=0.9").get("/seal-usage/export.xlsx")
    assert resp.status_code == 200
    data = resp.data
    resp.close()  # the workbook's temporary file is closed (and gone) with the response
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "申请号"  # the reader's language
    assert rows[1][0] == rid
    assert rows[1][4] == submit_purpose  # text, not a formula
    assert sheet.cell(row=2, column=5).data_type == "s"
    assert rows[1][8] == hashlib.sha256(pdf).hexdigest()
    with app.app_context():
        formats = db.session.execute(select(AuditEvent.details).where(
            AuditEvent.action == "seal_usage.exported")).scalars().all()
    assert [d["format"] for d in formats] == ["xlsx"]
