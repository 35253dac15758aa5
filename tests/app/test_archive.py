"""The archive through the API: a sealed request is filed by the job after sealing, its text
found in Chinese (words, phrases, nothing that is absent), by its metadata, by whom may see
it; a PDF without text is filed unsearched; a crash between writing a file and committing
leaves no entry without its file and no file listed twice."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

import signer
from app import archive_jobs
from app.context import env
from app.extensions import db
from processes import documents, signals
from processes.archive import filing
from processes.db import unit_of_work
from processes.flows import definitions
from processes.models import utcnow
from tests.conftest import approve, seal_one, submit

WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
CONTRACT = ["采购合同 Purchase Contract No. 2026-017", "本合同由甲方签署，乙方盖章。",
            "付款方式：验收合格后三十日内支付货款。"]


def chinese_pdf(lines: list[str], font: str = "wqy") -> bytes:
    """A PDF of Chinese text: the font embedded with its ToUnicode map (as word processors
    write it), or reportlab's STSong-Light, not embedded (poppler-data reads it)."""
    if font == "wqy":
        pdfmetrics.registerFont(TTFont("WQY", WQY, subfontIndex=0))
        name = "WQY"
    else:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        name = "STSong-Light"
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont(name, 14)
    for n, line in enumerate(lines):
        c.drawString(72, 760 - 24 * n, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf() -> bytes:
    """A page with marks and no text, as a scanner makes it."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.rect(72, 600, 300, 150, fill=1)
    c.showPage()
    c.save()
    return buf.getvalue()


def found(client, **args) -> list[dict]:
    resp = client.get("/api/v1/archive", query_string=args)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def ids(client, **args) -> list[int]:
    return [hit["request_id"] for hit in found(client, **args)]


@pytest.fixture
def auditor(api):
    return api("audrey", roles=["auditor"])


@pytest.mark.parametrize("font", ["wqy", "stsong"])
def test_a_sealed_pdf_is_filed_and_its_chinese_found(org, auditor, font, app):
    # A B-T seal: the timestamp's time is filed with it (the built-in TSA, in-process).
    result = app.test_cli_runner().invoke(args=["seal", "level", str(org.seal_id), "B-T"])
    assert result.exit_code == 0, result.output
    req = seal_one(org, chinese_pdf(CONTRACT, font))
    assert req["status"] == "sealed"
    assert ids(auditor, q="合同") == [req["id"]]
    [hit] = found(auditor, q="甲方签署")  # a phrase: its bigrams side by side
    assert hit["sha256"] == req["sealed_document"]["sha256"]
    assert hit["document_sha256"] == req["document"]["sha256"]
    assert hit["searchable"] is True and hit["timestamp_at"] is not None
    [use] = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage").get_json()["uses"]
    assert hit["timestamp_at"] == use["timestamped_at"]
    # As the sealed PDF's own token says (sealing kept the time its TSA client received).
    download = org.alice.get(f"/api/v1/requests/{req['id']}/sealed")
    sealed = download.get_data()
    download.close()
    assert use["timestamped_at"] == signer.timestamp_time(sealed).isoformat()
    start, end = hit["highlights"][0]
    assert hit["snippet"][start:end] == "甲方签署"
    assert ids(auditor, q="乙方签署") == []  # 乙方 and 签署 are there, not side by side
    assert ids(auditor, q="董事会") == []
    assert ids(auditor, q="purchase 2026") == [req["id"]]  # Latin words, any case
    assert ids(auditor, q="合同 董事会") == []  # every word must be found
    assert ids(auditor, q="货") == [req["id"]]  # one character: the first of a pair


def test_a_pdf_without_text_is_filed_unsearched(org, auditor):
    req = seal_one(org, scanned_pdf())
    [hit] = found(auditor, title="采购")  # the purpose the request was filed with
    assert hit["request_id"] == req["id"] and hit["searchable"] is False
    assert ids(auditor, q="合同") == []


def test_metadata_filters(org, auditor, api, make_seal, app):
    first = seal_one(org, chinese_pdf(CONTRACT))
    with app.app_context(), unit_of_work(db.session):
        definitions.add_business_type(db.session, "contract", "contract_seal", "合同用印")
    other_seal = make_seal(["carol"], name="测试科技有限公司财务专用章")
    resp = submit(org.alice, other_seal, chinese_pdf(["借款合同"]), process="",
                  business_type="contract", data={"amount": 1, "purpose": "借款协议"})
    second = resp.get_json()
    approve(org.bob)
    approve(org.carol)
    assert ids(auditor) == [second["id"], first["id"]]  # newest first
    assert ids(auditor, seal=other_seal) == [second["id"]]
    assert ids(auditor, business_type="contract") == [second["id"]]
    assert ids(auditor, requester="alice") == [second["id"], first["id"]]
    assert ids(auditor, requester="bob") == []
    assert ids(auditor, title="借款") == [second["id"]]
    assert ids(auditor, q="合同", seal=org.seal_id) == [first["id"]]
    # The days people mean: the organisation's (SEALFLOW_TIMEZONE), not UTC's (from 16:00
    # UTC on, Shanghai is a day ahead).
    today = utcnow().astimezone(ZoneInfo(app.config["TIMEZONE"] or "UTC")).date()
    assert ids(auditor, **{"from": today.isoformat(), "to": today.isoformat()}) \
        == [second["id"], first["id"]]
    assert ids(auditor, to=(today - timedelta(days=2)).isoformat()) == []
    assert ids(auditor, limit=1, offset=1) == [first["id"]]
    bad = auditor.get("/api/v1/archive?from=yesterday")
    assert bad.status_code == 400 and "from" in bad.get_json()["error"]["message"]
    too_long = auditor.get("/api/v1/archive", query_string={"q": "合" * 201})
    assert too_long.status_code == 400


def test_who_finds_what(org, api):
    req = seal_one(org, chinese_pdf(CONTRACT))
    stranger = api("mallory")
    assert ids(org.alice, q="合同") == [req["id"]]  # the requester
    assert ids(org.bob, q="合同") == [req["id"]]  # an approver
    assert ids(org.carol, q="合同") == [req["id"]]  # the seal's custodian
    assert ids(stranger, q="合同") == []
    assert ids(api("root", roles=["admin"]), q="合同") == [req["id"]]


def _sealed_request(org) -> dict:
    req = seal_one(org, chinese_pdf(CONTRACT))
    assert req["status"] == "sealed"
    return req


def test_filing_twice_lists_the_file_once(org, auditor, app):
    req = _sealed_request(org)
    with app.app_context():
        with unit_of_work(db.session, write=False):
            assert filing.unfiled(db.session, request_id=req["id"]) == []
        assert archive_jobs.file_request(db.session, env(), req["id"]) == 0
        assert archive_jobs.file_unfiled(db.session, env()) == 0
    assert ids(auditor) == [req["id"]]
    assert json.dumps(found(auditor, q="合同")).count(req["sealed_document"]["sha256"]) == 1


def _unfiled_copy(org, app):
    """A request sealed by a process that died right after the sealing's commit, before the
    filing job it would have started: its receiver is not connected meanwhile."""
    jobs = app.extensions["sealflow_jobs"]
    signals.request_finished.disconnect(jobs.on_finished)
    try:
        return _sealed_request(org)
    finally:
        signals.request_finished.connect(jobs.on_finished, weak=True)


def test_no_entry_without_its_file(org, auditor, app):
    """A sealed file missing when the job runs: nothing is filed (no entry without its file);
    once the file is back, the sweep files it."""
    req = _unfiled_copy(org, app)
    sha = req["sealed_document"]["sha256"]
    with app.app_context():
        path = documents.path_for(env(), sha)
        kept = path.read_bytes()
        path.unlink()
        assert archive_jobs.file_request(db.session, env(), req["id"]) == 0
        assert ids(auditor) == []
        path.write_bytes(kept[:-10])  # other bytes under its name: not filed either
        assert archive_jobs.file_unfiled(db.session, env()) == 0
        path.write_bytes(kept)
        assert archive_jobs.file_unfiled(db.session, env()) == 1
    assert ids(auditor, q="合同") == [req["id"]]


def test_a_filing_rolled_back_leaves_nothing_and_is_filed_once_later(org, auditor, app):
    req = _unfiled_copy(org, app)
    with app.app_context():
        with unit_of_work(db.session, write=False):
            [source] = filing.unfiled(db.session, request_id=req["id"])
        read = filing.read(env(), source)
        with pytest.raises(RuntimeError), unit_of_work(db.session):
            assert filing.record(db.session, env(), read) is not None
            raise RuntimeError("the process dies before its commit")
        assert ids(auditor) == []
        assert ids(auditor, q="合同") == []  # the index was rolled back with it
        assert archive_jobs.file_unfiled(db.session, env()) == 1
        assert archive_jobs.file_unfiled(db.session, env()) == 0
        with unit_of_work(db.session):  # a second writer that read before the first wrote
            assert filing.record(db.session, env(), read) is None
    assert ids(auditor, q="合同") == [req["id"]]

