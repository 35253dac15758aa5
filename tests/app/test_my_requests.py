"""My requests and the request page, as the requester uses them (issue 12 item 5): the list
says who holds each request and is searched and ordered; withdrawing asks why and shows it in
the history; 催办 tells the step's people at most once an hour; a rejected or withdrawn request
is copied into a new one; a halted request says why. The pages, driven without JavaScript; the
API beside them."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from processes.models import User, utcnow
from processes.notice_models import Notice
from processes.task_action_models import TaskAction
from tests.app.test_pages import decide, new_request, submitted_id
from tests.conftest import submit


@pytest.fixture
def login(login, org):
    return login


def _notices(app, name: str, kind: str) -> list[tuple[str, dict, str | None]]:
    """(link, the message's values, mail_to) of the user's notices of this kind."""
    with app.app_context():
        found = db.session.execute(
            select(Notice.link, Notice.args, Notice.mail_to)
            .join(User, User.id == Notice.user_id)
            .where(User.name == name, Notice.kind == kind)).tuples().all()
        db.session.rollback()
        return list(found)


def test_the_list_shows_who_holds_each_request_and_is_searched(org, login, pdf):
    alice = login("alice")
    first = submitted_id(new_request(alice, org.seal_id, pdf, filename="采购合同.pdf",
                                     **{"data.purpose": "办公用品采购"}))
    second = submitted_id(new_request(alice, org.seal_id, pdf, filename="lease.pdf",
                                      **{"data.purpose": "Office lease"}))
    page = alice.get("/requests").text
    # The contract flow's first step is the sales head's (bob): his display name is shown.
    rows = page.split("<tbody>")[1]
    assert rows.count("Waiting for") >= 2 and "bob" in rows
    assert page.index(f"#{second}<") < page.index(f"#{first}<")  # newest first

    found = alice.get("/requests?q=办公").text
    assert f"#{first}<" in found and f"#{second}<" not in found
    by_number = alice.get(f"/requests?q=%23{second}").text
    assert f"#{second}<" in by_number and f"#{first}<" not in by_number
    by_file = alice.get("/requests?q=LEASE").text
    assert f"#{second}<" in by_file and f"#{first}<" not in by_file
    nothing = alice.get("/requests?q=nothing-like-it").text
    assert "No request matches" in nothing and "nothing-like-it" in nothing
    oldest = alice.get("/requests?sort=oldest").text
    assert oldest.index(f"#{first}<") < oldest.index(f"#{second}<")
    # The API searches and orders the same way.
    listed = org.alice.get("/api/v1/requests?q=lease&sort=oldest").get_json()
    assert [r["id"] for r in listed] == [second]


def test_the_list_pages_through_many_requests(org, login, pdf, monkeypatch):
    from app.web import requests as pages
    monkeypatch.setattr(pages, "PER_PAGE", 2)
    alice = login("alice")
    ids = [submit(org.alice, org.seal_id, pdf).get_json()["id"] for _ in range(3)]
    first = alice.get("/requests").text
    assert f"#{ids[2]}<" in first and f"#{ids[1]}<" in first and f"#{ids[0]}<" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = alice.get("/requests?page=2").text
    assert f"#{ids[0]}<" in second and f"#{ids[2]}<" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_withdrawing_needs_a_reason_which_the_history_shows(org, login, pdf):
    alice = login("alice")
    rid = submitted_id(new_request(alice, org.seal_id, pdf))
    page = alice.get(f"/requests/{rid}").text
    assert "Withdraw…" in page and 'name="reason" required' in page
    refused = alice.post(f"/requests/{rid}/withdraw", data={"reason": "   "})
    assert refused.status_code == 422 and "a reason is required" in refused.text
    too_long = alice.post(f"/requests/{rid}/withdraw", data={"reason": "长" * 2001})
    assert too_long.status_code == 422 and "长" * 2001 in too_long.text  # kept as entered
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "running"

    done = alice.post(f"/requests/{rid}/withdraw", data={"reason": "客户取消了合同"},
                      follow_redirects=True)
    assert done.status_code == 200 and "Withdrawn" in done.text and "客户取消了合同" in done.text
    history = done.text.split('<ol class="timeline"')[1].split("</ol>")[0]  # the history
    assert "客户取消了合同" in history and "Withdrawn" in history
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == "withdrawn"
    assert [(a["kind"], a["by"], a["reason"]) for a in body["actions"]] == [
        ("withdraw", "alice", "客户取消了合同")]


def test_the_api_keeps_a_reason_given_and_refuses_a_blank_one(org, pdf):
    """A reason given is checked and kept; none at all (the API's clients before reasons were
    kept) withdraws as before, with none recorded."""
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    refused = org.alice.post(f"/api/v1/requests/{rid}/withdraw", json={"reason": "  "})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["problems"][0]["field"] == "reason"
    done = org.alice.post(f"/api/v1/requests/{rid}/withdraw", json={"reason": "重复提交"})
    assert done.status_code == 200 and done.get_json()["status"] == "withdrawn"
    other = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    plain = org.alice.post(f"/api/v1/requests/{other}/withdraw")
    assert plain.status_code == 200 and plain.get_json()["status"] == "withdrawn"
    actions = org.alice.get(f"/api/v1/requests/{other}").get_json()["actions"]
    assert [(a["kind"], a["reason"]) for a in actions] == [("withdraw", None)]


def test_a_reminder_tells_the_steps_people_once_an_hour(app, org, login, pdf):
    with app.app_context():
        db.session.execute(update(User).where(User.name == "bob")
                           .values(email="bob@example.com"))
        db.session.commit()
    alice = login("alice")
    rid = submitted_id(new_request(alice, org.seal_id, pdf))
    assert "Remind approvers" in alice.get(f"/requests/{rid}").text
    assert login("bob").post(f"/requests/{rid}/remind").status_code == 403  # not his

    sent = alice.post(f"/requests/{rid}/remind", follow_redirects=True)
    assert "Reminder sent to 1 person." in sent.text
    assert "Next reminder possible at" in sent.text
    told = _notices(app, "bob", "request.reminded")
    assert len(told) == 1 and told[0][0].startswith("/tasks/")
    assert told[0][1]["id"] == rid and told[0][2] == "bob@example.com"
    assert _notices(app, "alice", "request.reminded") == []

    again = alice.post(f"/requests/{rid}/remind", follow_redirects=True)
    assert "less than an hour ago" in again.text
    api = org.alice.post(f"/api/v1/requests/{rid}/remind")
    assert api.status_code == 409 and api.get_json()["error"]["code"] == "too_soon"
    assert len(_notices(app, "bob", "request.reminded")) == 1

    with app.app_context():  # an hour later
        db.session.execute(update(TaskAction).where(TaskAction.request_id == rid)
                           .values(created_at=utcnow() - timedelta(minutes=61)))
        db.session.commit()
    later = org.alice.post(f"/api/v1/requests/{rid}/remind")
    assert later.status_code == 200 and later.get_json()["reminded"] == 1
    assert len(_notices(app, "bob", "request.reminded")) == 2
    kinds = [a["kind"] for a in org.alice.get(f"/api/v1/requests/{rid}").get_json()["actions"]]
    assert kinds == ["remind", "remind"]


def test_a_decided_request_has_no_reminder(org, login, pdf):
    alice, bob = login("alice"), login("bob")
    rid = submitted_id(new_request(alice, org.seal_id, pdf))
    assert decide(bob, "reject", "金额有误").status_code == 302
    assert "Remind approvers" not in alice.get(f"/requests/{rid}").text
    assert org.alice.post(f"/api/v1/requests/{rid}/remind").status_code == 409


def test_copy_and_resubmit_a_rejected_request(org, login, pdf):
    alice, bob = login("alice"), login("bob")
    rid = submitted_id(new_request(alice, org.seal_id, pdf, filename="采购合同.pdf",
                                   placement_page="1", placement_x="300", placement_y="120"))
    running = alice.get(f"/requests/{rid}").text
    assert "Copy and resubmit" not in running
    assert alice.get(f"/requests/new?copy_of={rid}").status_code == 409
    assert decide(bob, "reject", "金额有误").status_code == 302

    page = alice.get(f"/requests/{rid}").text
    assert f'href="/requests/new?copy_of={rid}"' in page
    form = alice.get(f"/requests/new?copy_of={rid}").text
    assert f'name="copy_of" value="{rid}"' in form
    assert 'value="采购合同"' in form and 'value="某某公司"' in form
    assert re.search(rf'<option value="{org.seal_id}"\s+selected', form)
    assert 'name="placement_x" type="number" min="0" step="any" value="300"' in form
    assert login("bob").get(f"/requests/new?copy_of={rid}").status_code == 403

    prefill = org.alice.get(f"/api/v1/requests/{rid}/copy").get_json()
    assert (prefill["copy_of"], prefill["process"], prefill["seal"]) == (
        rid, "contract_seal", org.seal_id)
    assert prefill["data"]["purpose"] == "采购合同"
    assert prefill["document"]["filename"] == "采购合同.pdf"

    # Submitted with no new file: the first request's document, under its name.
    resubmitted = alice.post("/requests/new", data={
        "process": "contract_seal", "seal": str(org.seal_id), "copy_of": str(rid),
        "data.amount": "40000", "data.purpose": "采购合同", "data.counterparty": "某某公司"},
        content_type="multipart/form-data")
    new_id = submitted_id(resubmitted)
    first = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    copy = org.alice.get(f"/api/v1/requests/{new_id}").get_json()
    assert copy["document"] == first["document"] and copy["data"]["amount"] == 40000


def test_a_copy_takes_a_new_file_when_one_is_chosen(org, login, pdf):
    from tests.conftest import make_pdf
    alice = login("alice")
    rid = submitted_id(new_request(alice, org.seal_id, pdf))
    alice.post(f"/requests/{rid}/withdraw", data={"reason": "改一下"})
    other = make_pdf(pages=2)
    new_id = submitted_id(alice.post("/requests/new", data={
        "process": "contract_seal", "seal": str(org.seal_id), "copy_of": str(rid),
        "document": (io.BytesIO(other), "v2.pdf"), "data.amount": "50000",
        "data.purpose": "采购合同", "data.counterparty": "某某公司"},
        content_type="multipart/form-data"))
    copy = org.alice.get(f"/api/v1/requests/{new_id}").get_json()
    assert copy["document"]["filename"] == "v2.pdf" and copy["document"]["pages"] == 2


def test_a_halted_request_says_why(org, login, pdf, app):
    from processes.db import unit_of_work
    from processes.models import Request, RequestStatus, Seal, SealStatus
    from processes.seal_models import Authority, SealTransition
    alice = login("alice")
    rid = submitted_id(new_request(alice, org.seal_id, pdf))
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(Request).where(Request.id == rid)
                           .values(status=RequestStatus.halted))
        db.session.execute(update(Seal).where(Seal.id == org.seal_id)
                           .values(status=SealStatus.suspended))
        db.session.add(SealTransition(seal_id=org.seal_id, from_status=SealStatus.active,
                                      to_status=SealStatus.suspended, reason="年度盘点",
                                      authority=Authority.manager))
    page = alice.get(f"/requests/{rid}").text
    assert "Halted" in page and "is Suspended" in page and "年度盘点" in page
    assert 'id="request-watch"' in page  # it follows the seal's resumption by itself


def test_the_list_costs_the_same_statements_for_many_requests(app, org, login, pdf):
    """No N+1: the page reads its requests, their seals and their steps' holders in a fixed
    number of statements, whether it shows two requests or six."""
    from tests.e2e.test_query_budget import statements
    alice = login("alice")
    for _ in range(2):
        submit(org.alice, org.seal_id, pdf)

    def selects() -> int:
        with statements(app) as seen:
            assert alice.get("/requests").status_code == 200
        return len([s for s in seen if s.startswith("SELECT")])

    few = selects()
    for _ in range(4):
        submit(org.alice, org.seal_id, pdf)
    assert selects() == few
    assert few <= 9  # with the top bar's unread-notice count


def test_odd_list_addresses_answer_a_page(org, login, pdf, make_user):
    alice = login("alice")
    submit(org.alice, org.seal_id, pdf)
    for query in ("page=18446744073709551616", "page=-3", "page=x", "sort=sideways",
                  "q=%25_%5C", "q=" + "长" * 300):
        assert alice.get(f"/requests?{query}").status_code == 200, query
    assert org.alice.get("/api/v1/requests?sort=sideways").status_code == 400
    make_user("audrey", roles=["auditor"])
    auditor = login("audrey")
    everyone = auditor.get("/requests?scope=all&q=采购&sort=updated").text
    assert "All requests" in everyone and "采购合同" in everyone
