"""Who may file a lifecycle request (POST /api/v1/requests, a flow with ``seal_action``): the
people who manage the seal, as the new-request page has it. A seal administrator files any; a
custodian, a change of the seal they keep; anyone who keeps some seal, a request to make one;
for a business system filing on someone's behalf, the right of the user named. Anyone else is
refused (403, in their language) and nothing is written."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from processes.models import Base
from tests.conftest import deploy

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
REFUSED_EN = "only seal administrators and the seal's custodians may ask to make or change a seal"
REFUSED_ZH = "只有印章管理员和该印章的保管人可以申请制章或变更印章"
MAKE = {"seal_name": "测试科技有限公司财务专用章", "new_seal_type": "财务专用章",
        "custodians": "carol", "reason": "新设财务部"}


@pytest.fixture
def office(org, api):
    for key in ("seal_make", "seal_change", "seal_void"):
        assert deploy(org.seal_admin, BPMN / key / f"{key}.bpmn").status_code == 201
    api("olivia", groups=["admin_office"])
    return org


def _file(client, process: str, seal: int | None = None, *, headers=None, query="", **form):
    data = {"process": process, **form}
    if seal is not None:
        data["seal"] = str(seal)
    return client.post(f"/api/v1/requests{query}", data=data, headers=headers or {},
                       content_type="multipart/form-data")


def _void(client, seal: int, **kw):
    return _file(client, "seal_void", seal, data=json.dumps({"reason": "更换新章"}), **kw)


def _change(client, seal: int, **kw):
    return _file(client, "seal_change", seal,
                 data=json.dumps({"reason": "证书即将到期", "change": "renew"}), **kw)


def _make(client, **kw):
    return _file(client, "seal_make", data=json.dumps(MAKE), **kw)


def _stored(app) -> tuple[dict[str, int], int]:
    """Every table's row count, and the document files."""
    with app.app_context():
        rows = {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in Base.metadata.sorted_tables}
        db.session.rollback()
    files = len(list((Path(app.config["DATA_DIR"]) / "documents").rglob("*.pdf")))
    return rows, files


def test_someone_who_manages_no_seal_is_refused_in_their_language(app, office, pdf):
    before = _stored(app)
    # (?lang= is remembered by the client's cookie, Accept-Language then unheard: asked last.)
    for lang, query, headers, expected in (
            ("en", "", {"Accept-Language": "en-US,en;q=0.9"}, REFUSED_EN),
            ("zh", "", {"Accept-Language": "zh-CN,zh;q=0.9"}, REFUSED_ZH),
            ("en", "?lang=en", {}, REFUSED_EN),
            ("zh", "?lang=zh_CN", {}, REFUSED_ZH)):
        for resp in (_void(office.alice, office.seal_id, headers=headers, query=query),
                     _make(office.alice, headers=headers, query=query)):
            assert resp.status_code == 403, (lang, resp.get_json())
            assert resp.get_json()["error"] == {"code": "forbidden", "message": expected,
                                                "problems": []}, lang
    # With a PDF attached (which a lifecycle request refuses anyway): still refused, for who.
    with_pdf = _void(office.alice, office.seal_id, document=(io.BytesIO(pdf), "a.pdf"))
    assert with_pdf.status_code == 403
    assert _stored(app) == before  # no request, no document, no event
    assert office.alice.get("/api/v1/requests").get_json() == []


def test_a_custodian_changes_the_seal_they_keep_and_no_other(app, office, make_seal, make_user):
    make_user("dora")
    other = make_seal(["dora"], name="测试科技有限公司财务专用章")
    before = _stored(app)
    for refused in (_change(office.carol, other), _void(office.carol, other)):
        assert refused.status_code == 403 and refused.get_json()["error"]["message"] == \
            REFUSED_EN
    assert _stored(app) == before
    for resp in (_change(office.carol, office.seal_id), _void(office.carol, office.seal_id)):
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["seal"] == office.seal_id


def test_a_seal_administrator_files_any(office, make_seal, make_user):
    make_user("dora")
    other = make_seal(["dora"], name="测试科技有限公司财务专用章")
    for resp in (_change(office.seal_admin, office.seal_id), _void(office.seal_admin, other),
                 _make(office.seal_admin)):
        assert resp.status_code == 201, resp.get_json()


def test_anyone_who_keeps_a_seal_may_ask_for_a_new_one(office):
    resp = _make(office.carol)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["seal"] is None and resp.get_json()["process"]["key"] == "seal_make"


def test_on_behalf_of_it_is_the_named_users_right_not_the_callers(app, office, api):
    """A business system's token (act_as) of a seal administrator: filing for alice is refused
    as alice would be; for carol, her seal's change and a new seal are filed."""
    erp = api("erp", roles=["seal_admin"], scopes=["act_as"])
    before = _stored(app)
    for refused in (_void(erp, office.seal_id, on_behalf_of="alice"),
                    _make(erp, on_behalf_of="alice")):
        assert refused.status_code == 403 and refused.get_json()["error"]["message"] == \
            REFUSED_EN
    assert _stored(app) == before
    for resp in (_void(erp, office.seal_id, on_behalf_of="carol"),
                 _make(erp, on_behalf_of="carol")):
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["requester"] == "carol"
    # A seal administrator named is one, whoever calls.
    assert _void(api("crm", scopes=["act_as"]), office.seal_id,
                 on_behalf_of="sam").status_code == 201


def test_who_manages_the_seal_is_read_in_one_statement_by_each_check(app, office):
    """A lifecycle request is checked when read and again under the write lock (intake.py):
    each time, the requester's roles with the seals they keep in one statement."""
    from tests.e2e.test_query_budget import transactions
    for client in (office.carol, office.seal_admin):
        with transactions(app) as seen:
            assert _void(client, office.seal_id).status_code == 201
        reader = seen[seen.index("BEGIN (reader)") + 1:seen.index("BEGIN (writer)")]
        writer = seen[seen.index("BEGIN (writer)") + 1:]
        for part in (reader, writer):
            who = [s for s in part if "seal_custodians" in s or "user_roles" in s]
            assert len(who) == 1, "\n".join(part)
