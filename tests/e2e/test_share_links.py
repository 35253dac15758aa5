"""Share links to a sealed document: made by those who may see the request, opened by anyone
holding one (the sealed PDF and its verification), refused once expired or revoked (410), behind
a password when one was set (guesses rate-limited), each opening audited; the token is kept
only as its hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from processes.models import AuditEvent
from processes.share_models import ShareLink
from tests.conftest import seal_one, sealed_bytes, submit


def _soon(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _path(url: str) -> str:
    return url[url.index("/s/"):]


def _visitor(app):
    """A browser with nobody signed in, asking for English pages."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)).scalars())


def test_a_link_opens_the_sealed_document_for_anyone_and_each_opening_is_audited(app, org, pdf):
    rid = seal_one(org, pdf)["id"]
    made = org.alice.post(f"/api/v1/requests/{rid}/shares", json={"expires_at": _soon()})
    assert made.status_code == 201, made.get_json()
    link = made.get_json()
    assert "/s/sh_" in link["url"]
    token = _path(link["url"])[3:]
    with app.app_context():  # the token itself is never stored
        stored = db.session.get(ShareLink, link["id"])
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    outsider = _visitor(app)
    page = outsider.get(_path(link["url"]))
    assert page.status_code == 200
    assert "contract.pdf" in page.text and "signature(s) valid" in page.text
    sealed = sealed_bytes(org, rid)
    assert hashlib.sha256(sealed).hexdigest() in page.text
    download = outsider.get(_path(link["url"]) + "/sealed.pdf")
    assert download.status_code == 200 and download.data == sealed
    download.close()
    opened = _events(app, "share.opened")
    assert [(e.request_id, e.details["share"]) for e in opened] == [(rid, link["id"])]
    assert len(_events(app, "share.downloaded")) == 1
    assert [e.actor for e in _events(app, "share.created")] == ["alice"]
    listed = org.carol.get(f"/api/v1/requests/{rid}/shares").get_json()
    assert [(s["id"], s["state"], s["created_by"]) for s in listed] == [
        (link["id"], "active", "alice")]
    assert "token" not in listed[0] and "url" not in listed[0]
    assert outsider.get("/s/sh_not-a-real-token").status_code == 404


def test_who_may_make_one(app, org, pdf, api):
    rid = seal_one(org, pdf)["id"]
    body = {"expires_at": _soon()}
    # The requester, an approver, the seal's custodian, an auditor: yes.
    for who in (org.alice, org.bob, org.carol, api("audrey", roles=["auditor"])):
        assert who.post(f"/api/v1/requests/{rid}/shares", json=body).status_code == 201
    # Someone who may not see the request: as if it did not exist.
    assert api("mallory").post(f"/api/v1/requests/{rid}/shares", json=body).status_code == 404
    # Not sealed yet: nothing to share.
    running = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    refused = org.alice.post(f"/api/v1/requests/{running}/shares", json=body)
    assert refused.status_code == 409
    # The expiry: required, in the future, within a year.
    for bad in ({}, {"expires_at": "2000-01-01"}, {"expires_at": _soon(400)},
                {"expires_at": "next week"}):
        answer = org.alice.post(f"/api/v1/requests/{rid}/shares", json=bad)
        assert answer.status_code == 422, (bad, answer.get_json())
        assert answer.get_json()["error"]["problems"][0]["field"] == "expires_at"
    short = org.alice.post(f"/api/v1/requests/{rid}/shares",
                           json={**body, "password": "123"})
    assert short.status_code == 422
    with app.app_context():
        assert db.session.execute(select(ShareLink.id)).all().__len__() == 4


def test_expired_and_revoked_links_say_so(app, org, pdf, api):
    rid = seal_one(org, pdf)["id"]
    link = org.alice.post(f"/api/v1/requests/{rid}/shares",
                          json={"expires_at": _soon()}).get_json()
    outsider = _visitor(app)
    with app.app_context():  # a week later
        stored = db.session.get(ShareLink, link["id"])
        stored.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
    gone = outsider.get(_path(link["url"]))
    assert gone.status_code == 410 and "expired" in gone.text
    assert outsider.get(_path(link["url"]) + "/sealed.pdf").status_code == 410

    second = org.alice.post(f"/api/v1/requests/{rid}/shares",
                            json={"expires_at": _soon()}).get_json()
    assert outsider.get(_path(second["url"])).status_code == 200
    assert api("mallory").delete(f"/api/v1/shares/{second['id']}").status_code == 404
    revoked = org.carol.delete(f"/api/v1/shares/{second['id']}")
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    page = outsider.get(_path(second["url"]))
    assert page.status_code == 410 and "revoked" in page.text
    assert outsider.get(_path(second["url"]) + "/sealed.pdf").status_code == 410
    assert [e.actor for e in _events(app, "share.revoked")] == ["carol"]
    assert len(_events(app, "share.opened")) == 1  # only the opening before the revocation


def test_a_password_guards_the_link_and_guesses_are_limited(app, org, pdf):
    app.config["SHARE_PASSWORD_RATE"] = "3/minute"
    app.extensions.pop("sealflow_rate_limits", None)
    rid = seal_one(org, pdf)["id"]
    link = org.alice.post(f"/api/v1/requests/{rid}/shares",
                          json={"expires_at": _soon(), "password": "open-sesame"}).get_json()
    with app.app_context():
        stored = db.session.get(ShareLink, link["id"]).password_hash
    assert stored.startswith("scrypt:") and "open-sesame" not in stored
    path = _path(link["url"])
    visitor = _visitor(app)
    locked = visitor.get(path)
    assert locked.status_code == 200 and 'type="password"' in locked.text
    assert "SHA-256" not in locked.text
    assert visitor.get(path + "/sealed.pdf").status_code == 302  # to the password form
    assert _events(app, "share.opened") == []
    csrf = app.config.get("WTF_CSRF_ENABLED", True)
    token = ""
    if csrf:
        import re
        token = re.search(r'name="csrf_token" value="([^"]+)"', locked.text).group(1)
    wrong = visitor.post(path, data={"password": "guess", "csrf_token": token})
    assert wrong.status_code == 403 and "Wrong password" in wrong.text
    assert [e.details["share"] for e in _events(app, "share.password_refused")] == [link["id"]]
    right = visitor.post(path, data={"password": "open-sesame", "csrf_token": token})
    assert right.status_code == 302
    opened = visitor.get(path)
    assert opened.status_code == 200 and "SHA-256" in opened.text
    assert len(_events(app, "share.opened")) == 1
    # A third try in the minute still passes, the fourth is refused whatever it says.
    assert visitor.post(path, data={"password": "guess", "csrf_token": token}
                        ).status_code == 403
    limited = visitor.post(path, data={"password": "open-sesame", "csrf_token": token})
    assert limited.status_code == 429 and limited.headers["Retry-After"]


def test_wrong_passwords_from_many_addresses_lock_the_link_for_everyone(app, org, pdf):
    """The count is the link's, kept in the database: guesses spread over addresses (and
    worker processes) meet the same limit, and while it is locked the right password waits
    too."""
    app.config.update(LOGIN_FAILURES=3, LOGIN_LOCKOUT_MINUTES=15)
    rid = seal_one(org, pdf)["id"]
    link = org.alice.post(f"/api/v1/requests/{rid}/shares",
                          json={"expires_at": _soon(), "password": "open-sesame"}).get_json()
    path = _path(link["url"])
    app.config["WTF_CSRF_ENABLED"] = False
    codes = []
    for n in range(4):
        visitor = _visitor(app)
        answer = visitor.post(path, data={"password": f"guess-{n}"},
                              environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        codes.append(answer.status_code)
    assert codes == [403, 403, 429, 429]
    assert "Too many wrong passwords for this link" in answer.text
    assert 800 < int(answer.headers["Retry-After"]) <= 900
    right = _visitor(app).post(path, data={"password": "open-sesame"},
                               environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert right.status_code == 429
    assert len(_events(app, "share.password_refused")) == 3
    [locked] = _events(app, "share.locked")
    assert locked.details["share"] == link["id"] and locked.details["failures"] == 3


def test_the_request_page_makes_lists_and_revokes_links(app, org, pdf, login):
    rid = seal_one(org, pdf)["id"]
    bob = login("bob")
    page = bob.get(f"/requests/{rid}")
    assert 'id="shares"' in page.text
    import re
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    until = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    made = bob.post(f"/requests/{rid}/shares", data={"expires_at": until, "csrf_token": csrf},
                    follow_redirects=True)
    assert made.status_code == 200
    url = re.search(r"(http://[^\s<]+/s/sh_[A-Za-z0-9_-]+)", made.text).group(1)
    assert _visitor(app).get(_path(url)).status_code == 200
    with app.app_context():
        share_id = db.session.execute(select(ShareLink.id)).scalar_one()
    assert f"/shares/{share_id}/revoke" in made.text
    bob.post(f"/shares/{share_id}/revoke", data={"csrf_token": csrf})
    assert _visitor(app).get(_path(url)).status_code == 410
    # Not sealed: no share links on the page.
    running = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    assert 'id="shares"' not in login("alice").get(f"/requests/{running}").text
