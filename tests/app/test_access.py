"""Who may use each route: every route of the app (API and pages) with every kind of caller,
checked against the table below. A route added without a line here fails the first test, so
no route exists without a decision on who may use it. docs/api.md says the same in words.

Callers: anonymous; a plain user; the requester of the request in question, a candidate of its
task and the custodian of its seal (for routes on one object; for every other route they are
plain users too); the roles; and two business systems' tokens, with and without ``act_as``.
"Allowed" means the caller got past the checks of who may do it: the answer is whatever the
(deliberately harmless) input then gets, 2xx, 3xx or a 4xx about the input or the state, never
401, 403, 404, a redirect to the log-in page, or a 5xx. "Denied" is 401, 403 or 404 (404 where
the object is not visible to the caller), or the log-in page for a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.extensions import db
from processes import notices
from processes.db import unit_of_work
from processes.people import directory
from processes.seals import registry
from tests.conftest import approve, make_pdf, submit

ANON, USER, REQUESTER, CANDIDATE, CUSTODIAN = "anon", "pat", "alice", "bob", "carol"
SEAL_ADMIN, AUDITOR, DESIGNER, MANAGER, ADMIN = "sam", "audrey", "dana", "mona", "root"
SYSTEM, SYSTEM_ACT_AS = "crm", "erp"
CALLERS = (ANON, USER, REQUESTER, CANDIDATE, CUSTODIAN, SEAL_ADMIN, AUDITOR, DESIGNER, MANAGER,
           ADMIN, SYSTEM, SYSTEM_ACT_AS)
PUBLIC = frozenset(CALLERS)
SIGNED_IN = PUBLIC - {ANON}
PEOPLE = SIGNED_IN - {SYSTEM, SYSTEM_ACT_AS}  # who has a browser session (pages)
# Who sees the request in question: its requester, who has (had) a task on it, the custodian
# of its seal, auditors and admins.
SEES_REQUEST = frozenset({REQUESTER, CANDIDATE, CUSTODIAN, AUDITOR, ADMIN})
MANAGES_SEAL = frozenset({CUSTODIAN, SEAL_ADMIN, ADMIN})
STUDIO = frozenset({DESIGNER, MANAGER, ADMIN})  # the flows pages
MANAGES_FLOWS = frozenset({MANAGER, ADMIN})  # retiring versions, routing business types
DESIGNS_FLOWS = frozenset({DESIGNER, MANAGER, SEAL_ADMIN, ADMIN})
WATCHES = frozenset({AUDITOR, MANAGER, ADMIN})  # the dashboard

# "METHOD rule": who may use it. Path parameters are filled by ``_path`` below.
ACCESS: dict[str, frozenset[str]] = {
    # -- the JSON API --------------------------------------------------------------------
    "GET /api/v1/me": SIGNED_IN,
    "GET /api/v1/me/tokens": SIGNED_IN,
    "DELETE /api/v1/me/tokens/<int:token_id>": frozenset({REQUESTER}),  # the token's owner
    "GET /api/v1/users/<name>/tokens": frozenset({REQUESTER, ADMIN}),  # the user, admins
    "DELETE /api/v1/users/<name>/tokens/<int:token_id>": frozenset({REQUESTER, ADMIN}),
    "POST /api/v1/users/<name>/unlock": frozenset({ADMIN}),
    "PUT /api/v1/me/out-of-office": SIGNED_IN,
    "PUT /api/v1/users/<name>/out-of-office": frozenset({REQUESTER, ADMIN}),  # the user, admins
    "GET /api/v1/business-types": SIGNED_IN,
    "GET /api/v1/dashboard": WATCHES,
    "PUT /api/v1/business-types/<key>": MANAGES_FLOWS,
    "GET /api/v1/notices": SIGNED_IN,
    "POST /api/v1/notices/read": SIGNED_IN,
    "POST /api/v1/notices/<int:notice_id>/read": frozenset({REQUESTER}),  # the notice's owner
    "GET /api/v1/processes": SIGNED_IN,
    "POST /api/v1/processes": DESIGNS_FLOWS,
    "POST /api/v1/processes/validate": DESIGNS_FLOWS,
    "GET /api/v1/processes/<key>/versions/<int:version>": DESIGNS_FLOWS,
    "GET /api/v1/processes/<key>/diff": DESIGNS_FLOWS,
    "POST /api/v1/processes/<key>/migrate": frozenset({ADMIN}),
    "GET /api/v1/processes/<key>": STUDIO,
    "POST /api/v1/processes/<key>/versions/<int:version>/retire": MANAGES_FLOWS,
    "POST /api/v1/processes/<key>/versions/<int:version>/reinstate": MANAGES_FLOWS,
    "POST /api/v1/processes/dry-run": frozenset({DESIGNER, MANAGER, ADMIN}),
    "GET /api/v1/processes/<key>/scenarios": DESIGNS_FLOWS,
    "PUT /api/v1/processes/<key>/scenarios/<name>": DESIGNS_FLOWS,
    "DELETE /api/v1/processes/<key>/scenarios/<name>": DESIGNS_FLOWS,  # none: deleted false
    "GET /api/v1/requests": SIGNED_IN,
    "POST /api/v1/requests": SIGNED_IN,
    "POST /api/v1/requests/route-preview": SIGNED_IN,  # for a flow the caller may start
    "GET /api/v1/requests/<int:request_id>": SEES_REQUEST,
    "GET /api/v1/requests/<int:request_id>/document": SEES_REQUEST,
    "GET /api/v1/requests/<int:request_id>/sealed": SEES_REQUEST,
    "GET /api/v1/requests/<int:request_id>/evidence": SEES_REQUEST,
    "GET /api/v1/requests/<int:request_id>/diagram": SEES_REQUEST,
    "POST /api/v1/requests/<int:request_id>/withdraw": frozenset({REQUESTER}),
    "POST /api/v1/requests/<int:request_id>/remind": frozenset({REQUESTER}),
    "GET /api/v1/requests/<int:request_id>/copy": frozenset({REQUESTER}),
    "POST /api/v1/requests/<int:request_id>/retry": frozenset({ADMIN}),
    "POST /api/v1/requests/<int:request_id>/messages/<name>": frozenset({REQUESTER, ADMIN}),
    "GET /api/v1/seals": SIGNED_IN,
    "GET /api/v1/seals/<int:seal_id>/usage": MANAGES_SEAL | {AUDITOR},
    "GET /api/v1/seal-usage": MANAGES_SEAL | {AUDITOR},  # a custodian: their seals only
    "POST /api/v1/requests/<int:request_id>/shares": SEES_REQUEST,
    "GET /api/v1/requests/<int:request_id>/shares": SEES_REQUEST,
    "DELETE /api/v1/shares/<int:share_id>": SEES_REQUEST,
    "GET /api/v1/seals/<int:seal_id>/csr": MANAGES_SEAL,
    "POST /api/v1/seals/<int:seal_id>/certificate": MANAGES_SEAL,
    "GET /api/v1/tasks": SIGNED_IN,
    "GET /api/v1/tasks/counts": SIGNED_IN,  # the caller's own tabs
    "GET /api/v1/tasks/next": SIGNED_IN,
    "POST /api/v1/tasks/bulk-complete": SIGNED_IN,  # each item checked as a completion is
    "POST /api/v1/tasks/<task_id>/claim": frozenset({CANDIDATE}),
    "POST /api/v1/tasks/<task_id>/unclaim": frozenset({CANDIDATE, ADMIN}),  # claimant, admin
    "POST /api/v1/tasks/<task_id>/complete": frozenset({CANDIDATE}),
    "GET /api/v1/tasks/<task_id>": SEES_REQUEST,
    "POST /api/v1/tasks/<task_id>/return": frozenset({CANDIDATE}),
    "POST /api/v1/tasks/<task_id>/delegate": frozenset({CANDIDATE, ADMIN}),
    "POST /api/v1/tasks/<task_id>/add-approver": frozenset({CANDIDATE, ADMIN}),
    "POST /api/v1/tasks/<task_id>/cc": frozenset({CANDIDATE, ADMIN}),
    "POST /api/v1/verify": PUBLIC,
    "GET /api/v1/audit": frozenset({AUDITOR, ADMIN}),
    "GET /api/v1/archive": SIGNED_IN,  # each finds the documents of the requests they see
    "POST /api/v1/archive/<int:request_id>/hold": frozenset({AUDITOR, ADMIN}),
    "POST /api/v1/archive/<int:request_id>/release": frozenset({AUDITOR, ADMIN}),
    "PUT /api/v1/business-types/<key>/retention": MANAGES_FLOWS,
    "GET /api/v1/audit/verify": frozenset({AUDITOR, ADMIN}),
    # -- the organisation PKI (public by nature) -----------------------------------------
    "GET /pki/ca": PUBLIC,
    "GET /pki/root.crt": PUBLIC,
    "GET /pki/crl": PUBLIC,
    "GET /pki/root.crl": PUBLIC,
    "POST /pki/ocsp": PUBLIC,
    "GET /pki/ocsp/<path:encoded>": PUBLIC,
    "POST /tsa": PUBLIC,
    # -- pages ---------------------------------------------------------------------------
    "GET /": PUBLIC,  # a redirect to the inbox, which asks for a log-in
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": PUBLIC,
    "GET /verify": PUBLIC,
    "POST /verify": PUBLIC,
    "GET /static/<path:filename>": PUBLIC,
    "GET /inbox": PEOPLE,
    "POST /inbox/tasks/<task_id>/claim": frozenset({CANDIDATE}),
    "POST /inbox/tasks/<task_id>/unclaim": frozenset({CANDIDATE, ADMIN}),  # claimant, admin
    "POST /inbox/approve": PEOPLE,  # each task's result says whether it was theirs to approve
    "POST /notices/<int:notice_id>/read": frozenset({REQUESTER}),  # the notice's owner
    "GET /me": PEOPLE,
    "POST /me/password": PEOPLE,
    "POST /me/tokens": PEOPLE,
    "POST /me/tokens/<int:token_id>/revoke": frozenset({REQUESTER}),
    "POST /notices/read": PEOPLE,
    "GET /requests": PEOPLE,
    "GET /requests/new": PEOPLE,
    "POST /requests/new": PEOPLE,
    "GET /requests/<int:request_id>": SEES_REQUEST,
    "POST /requests/<int:request_id>/shares": SEES_REQUEST,
    "POST /shares/<int:share_id>/revoke": SEES_REQUEST,
    "GET /s/<token>": PUBLIC,  # whoever holds the link
    "POST /s/<token>": PUBLIC,
    "GET /s/<token>/sealed.pdf": PUBLIC,
    "GET /seal-usage": MANAGES_SEAL | {AUDITOR},
    "GET /seals/<int:seal_id>/usage": MANAGES_SEAL | {AUDITOR},
    "GET /seal-usage/export.csv": MANAGES_SEAL | {AUDITOR},
    "GET /seal-usage/export.xlsx": MANAGES_SEAL | {AUDITOR},
    "GET /requests/<int:request_id>/document": SEES_REQUEST,
    "GET /requests/<int:request_id>/sealed": SEES_REQUEST,
    "GET /requests/<int:request_id>/evidence": SEES_REQUEST,
    "POST /requests/<int:request_id>/withdraw": frozenset({REQUESTER}),
    "POST /requests/<int:request_id>/remind": frozenset({REQUESTER}),
    "POST /requests/<int:request_id>/retry": frozenset({ADMIN}),
    "GET /processes/<key>/edit": DESIGNS_FLOWS,
    "GET /processes/<key>/decisions": DESIGNS_FLOWS,
    "GET /processes/<key>/diff": DESIGNS_FLOWS,
    "GET /archive": PEOPLE,
    "POST /archive/<int:request_id>/hold": frozenset({AUDITOR, ADMIN}),
    "GET /archive/<int:request_id>/verify": SEES_REQUEST,
    "GET /seals": PEOPLE,
    "GET /seals/<int:seal_id>": PEOPLE,
    "GET /seals/<int:seal_id>/image.png": PEOPLE,
    "GET /seals/<int:seal_id>/seal.csr": MANAGES_SEAL,
    "POST /seals/<int:seal_id>/certificate": MANAGES_SEAL,
    "POST /seals/<int:seal_id>/status": MANAGES_SEAL,
    "GET /seals/<int:seal_id>/policy": frozenset({SEAL_ADMIN, ADMIN}),
    "POST /seals/<int:seal_id>/policy": frozenset({SEAL_ADMIN, ADMIN}),
    "POST /seals/<int:seal_id>/change-request": MANAGES_SEAL,  # starts 印章变更
    "POST /seals/<int:seal_id>/change": frozenset({ADMIN}),  # directly, with a reason
    "GET /seals/new": MANAGES_SEAL,  # the custodians of any seal, seal admins, admins
    "POST /seals/new/request": MANAGES_SEAL,  # starts 制章申请
    "POST /seals/new": frozenset({ADMIN}),  # directly: the bootstrap
    "GET /processes": STUDIO,
    "GET /processes/<key>": STUDIO,
    "GET /processes/business-types": STUDIO,
    "POST /processes/business-types": MANAGES_FLOWS,
    "POST /processes/<key>/versions/<int:version>/retire": MANAGES_FLOWS,
    "POST /processes/<key>/versions/<int:version>/reinstate": MANAGES_FLOWS,
    "POST /processes/<key>/incidents/<int:request_id>/retry": frozenset({ADMIN}),
    "GET /tasks/<task_id>": frozenset({CANDIDATE, ADMIN}),  # admins: to delegate, add, copy
    "POST /tasks/<task_id>": frozenset({CANDIDATE}),
    "POST /tasks/<task_id>/claim": frozenset({CANDIDATE}),
    "POST /tasks/<task_id>/unclaim": frozenset({CANDIDATE, ADMIN}),  # claimant, admin
    "POST /tasks/<task_id>/delegate": frozenset({CANDIDATE, ADMIN}),
    "POST /tasks/<task_id>/add-approver": frozenset({CANDIDATE, ADMIN}),
    "POST /tasks/<task_id>/cc": frozenset({CANDIDATE, ADMIN}),
    # -- administration and out-of-office pages -------------------------------------------
    "POST /me/out-of-office": PEOPLE,
    "GET /admin/users": frozenset({ADMIN}),
    "POST /admin/users": frozenset({ADMIN}),
    "GET /admin/users/<name>": frozenset({ADMIN}),
    "POST /admin/users/<name>": frozenset({ADMIN}),
    "POST /admin/users/<name>/deactivate": frozenset({ADMIN}),
    "POST /admin/users/<name>/reactivate": frozenset({ADMIN}),
    "POST /admin/users/<name>/unlock": frozenset({ADMIN}),
    "POST /admin/users/<name>/password": frozenset({ADMIN}),
    "POST /admin/users/<name>/tokens/<int:token_id>/revoke": frozenset({ADMIN}),
    "POST /admin/lockouts/address": frozenset({ADMIN}),
    "GET /admin/groups": frozenset({ADMIN}),
    "POST /admin/groups": frozenset({ADMIN}),
    "GET /admin/groups/<key>": frozenset({ADMIN}),
    "POST /admin/groups/<key>/head": frozenset({ADMIN}),
    "POST /admin/groups/<key>/members": frozenset({ADMIN}),
    "POST /admin/groups/<key>/members/<name>/remove": frozenset({ADMIN}),
    "GET /admin/incidents": frozenset({ADMIN}),
    "GET /audit": frozenset({AUDITOR, ADMIN}),
    "GET /audit/export": frozenset({AUDITOR, ADMIN}),
    "GET /dashboard": WATCHES,
    "POST /admin/incidents/<int:request_id>/retry": frozenset({ADMIN}),
}


def _routes(app) -> set[str]:
    return {f"{method} {rule.rule}" for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_a_decision_on_who_may_use_it(app):
    routes = _routes(app)
    assert sorted(routes - set(ACCESS)) == [], "routes with no line in ACCESS"
    assert sorted(set(ACCESS) - routes) == [], "lines in ACCESS for routes that do not exist"


@dataclass
class World:
    """The objects the routes act on, and a client for each caller."""

    request_id: int  # alice's request, sealed: bob approved it, on carol's seal
    task_id: str  # an open task of another of alice's requests; bob is its candidate
    claimed_task_id: str  # the same, claimed by bob
    notice_id: int  # alice's
    seal_id: int  # carol's
    csr_seal_id: int  # carol's too, waiting for an external CA's certificate
    share_id: int  # a share link to the sealed request
    share_token: str
    api: dict[str, Any]
    pages: dict[str, Any]
    app: Any

    def fresh_token(self) -> int:
        """A new token of alice's, for a route that revokes one."""
        with self.app.app_context(), unit_of_work(db.session):
            from processes.models import ApiToken
            directory.create_token(db.session, directory.get_user(db.session, REQUESTER),
                                name="spare")
            db.session.flush()
            return db.session.query(ApiToken.id).order_by(ApiToken.id.desc()).limit(1).scalar()


def _next_week() -> str:
    from datetime import UTC, datetime, timedelta
    return (datetime.now(UTC) + timedelta(days=7)).isoformat()


@pytest.fixture
def world(app, org, api, login, pdf) -> World:
    tokens = {REQUESTER: org.alice, CANDIDATE: org.bob, CUSTODIAN: org.carol,
              DESIGNER: org.designer, SEAL_ADMIN: org.seal_admin,
              USER: api(USER), AUDITOR: api(AUDITOR, roles=["auditor"]),
              MANAGER: api(MANAGER, roles=["manager"]), ADMIN: api(ADMIN, roles=["admin"]),
              SYSTEM: api(SYSTEM), SYSTEM_ACT_AS: api(SYSTEM_ACT_AS, scopes=["act_as"])}
    sealed = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    submit(org.alice, org.seal_id, make_pdf(text="second"))
    submit(org.alice, org.seal_id, make_pdf(text="third"))
    open_tasks = org.bob.get("/api/v1/tasks").get_json()
    task_id, claimed = open_tasks[0]["id"], open_tasks[1]["id"]
    assert org.bob.post(f"/api/v1/tasks/{claimed}/claim").status_code == 200
    with app.app_context(), unit_of_work(db.session):
        alice = directory.get_user(db.session, REQUESTER)
        notices.notify(db.session, [alice.id], "test", "a notice for alice")
        from processes.notice_models import Notice
        notice_id = db.session.query(Notice.id).filter_by(user_id=alice.id,
                                                          kind="test").scalar()
        from app.context import env
        csr_seal = registry.create_seal(db.session, env(), "外部CA印章", key_type="p256",
                                     custodians=[directory.get_user(db.session, CUSTODIAN)],
                                     external_ca=True)
        csr_seal_id = csr_seal.id
        from processes.pki import revocation
        revocation.publish(db.session, env())
        revocation.publish_root(db.session, env())
        from processes.requests import shares
        link, share_token = shares.make(db.session, directory.Identity(alice), sealed["id"],
                                        expires_at=_next_week())
        share_id = link.id
    pages = {ANON: app.test_client(), SYSTEM: app.test_client(),
             SYSTEM_ACT_AS: app.test_client()}
    for name in PEOPLE:
        pages[name] = login(name)
    return World(sealed["id"], task_id, claimed, notice_id, org.seal_id, csr_seal_id,
                 share_id, share_token, {ANON: None, **tokens}, pages, app)


def _path(route: str, world: World) -> str:
    rule = route.split(" ", 1)[1]
    # The inbox page's unclaim comes after the API's (which released the claimed task): the
    # task the API's claim took, still claimed.
    task = world.claimed_task_id if "unclaim" in rule and not rule.startswith("/inbox/") \
        else world.task_id
    seal = world.csr_seal_id if ("csr" in rule or "certificate" in rule) else world.seal_id
    return (rule.replace("<int:request_id>", str(world.request_id))
            .replace("/admin/users/<name>", f"/admin/users/{REQUESTER}")
            .replace("/admin/groups/<key>", "/admin/groups/sales")
            .replace("<int:seal_id>", str(seal)).replace("<task_id>", task)
            .replace("<int:notice_id>", str(world.notice_id))
            .replace("<int:share_id>", str(world.share_id))
            .replace("<token>", world.share_token).replace("<key>", "contract_seal")
            .replace("<int:version>", "1")
            .replace("<int:token_id>", str(world.fresh_token()) if "token_id" in rule else "")
            .replace("/users/<name>/", f"/users/{REQUESTER}/")
            .replace("<name>", "signed").replace("<path:encoded>", "AAAA")
            .replace("<path:filename>", "sealflow.css"))


# A body for each POST that changes nothing for a caller who is allowed (it fails on the input
# or the request's state), so the order of the calls does not matter.
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/processes/<key>/migrate": {"json": {"from": 1, "to": 1}},
    "POST /api/v1/requests/<int:request_id>/messages/<name>": {"json": {}},
    "POST /api/v1/tasks/<task_id>/complete": {"json": {"decision": "bogus"}},
    "POST /api/v1/tasks/<task_id>/return": {"json": {}},
    "POST /api/v1/tasks/<task_id>/delegate": {"json": {}},
    "POST /api/v1/tasks/<task_id>/add-approver": {"json": {}},
    "POST /api/v1/tasks/<task_id>/cc": {"json": {}},
    "POST /api/v1/tasks/bulk-complete": {"json": {"tasks": ["no-such-task"]}},
    "POST /api/v1/notices/read": {"json": {}},
    "POST /tasks/<task_id>": {"data": {"decision": "bogus"}},
    "POST /inbox/approve": {"data": {"task": "no-such-task"}},
    "POST /seals/<int:seal_id>/status": {"data": {"to": "suspended", "reason": ""}},
    "POST /seals/<int:seal_id>/policy": {"data": {"max_uses": "many"}},
    "POST /login": {"data": {"name": "nobody", "password": "wrong"}},
    "POST /me/password": {"data": {"current_password": "", "new_password": ""}},
    "POST /me/tokens/<int:token_id>/revoke": {"data": {}},
    "PUT /api/v1/business-types/<key>": {"json": {"process": "nope"}},
    "PUT /api/v1/me/out-of-office": {"json": {"deputy": "nobody"}},
    "PUT /api/v1/users/<name>/out-of-office": {"json": {"deputy": "nobody"}},
    "PUT /api/v1/processes/<key>/scenarios/<name>": {"json": {"data": []}},
    "POST /processes/business-types": {"data": {"key": "contract", "process": "nope"}},
    "POST /admin/groups/<key>/head": {"data": {"head": "nobody"}},
    "POST /api/v1/archive/<int:request_id>/hold": {"json": {}},  # no reason: 422
    "POST /api/v1/archive/<int:request_id>/release": {"json": {}},
    "PUT /api/v1/business-types/<key>/retention": {"json": {"years": 0}},
    "POST /archive/<int:request_id>/hold": {"data": {"reason": ""}},
}
# Routes whose allowed answer changes something anyway; each is called last, by its own caller.
MUTATES = {"POST /api/v1/tasks/<task_id>/claim", "POST /api/v1/tasks/<task_id>/unclaim",
           "POST /tasks/<task_id>/claim", "POST /tasks/<task_id>/unclaim",
           "POST /api/v1/notices/<int:notice_id>/read", "POST /api/v1/notices/read",
           "POST /notices/read", "POST /logout", "POST /me/tokens",
           "POST /inbox/tasks/<task_id>/claim", "POST /inbox/tasks/<task_id>/unclaim",
           "POST /notices/<int:notice_id>/read",
           # Revoking the share link: after it, /s/<token> answers 410 (gone, not denied).
           "DELETE /api/v1/shares/<int:share_id>", "POST /shares/<int:share_id>/revoke",
           "DELETE /api/v1/me/tokens/<int:token_id>",
           "DELETE /api/v1/users/<name>/tokens/<int:token_id>",
           "POST /api/v1/users/<name>/unlock", "POST /me/tokens/<int:token_id>/revoke",
           # Retiring version 1 (then reinstating it): the first allowed caller does it, the
           # next gets a 409 (or the page's message).
           "POST /api/v1/processes/<key>/versions/<int:version>/retire",
           "POST /api/v1/processes/<key>/versions/<int:version>/reinstate",
           "POST /processes/<key>/versions/<int:version>/retire",
           "POST /processes/<key>/versions/<int:version>/reinstate"}


def _call(route: str, world: World, caller: str):
    method, rule = route.split(" ", 1)
    path = _path(route, world)
    is_api = rule.startswith("/api/") or rule in ("/tsa",) or rule.startswith("/pki/")
    body = dict(BODIES.get(route, {}))
    if method == "POST" and not body:
        body = {"data": {}, "content_type": "multipart/form-data"}
    if is_api:
        client = world.api[caller]
        if client is None:  # anonymous
            return world.pages[ANON].open(path, method=method, **body)
        return client.client.open(path, method=method,
                                   headers={"Authorization": f"Bearer {client.token}"}, **body)
    if caller == ANON or caller not in PEOPLE:
        return world.pages[ANON if caller == ANON else caller].open(path, method=method, **body)
    return world.pages[caller].open(path, method=method, **body)


def _denied(resp) -> bool:
    if resp.status_code in (401, 403, 404):
        return True
    return resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_each_caller_is_allowed_or_denied_as_the_table_says(app, world):
    wrong = []
    order = sorted(ACCESS, key=lambda r: (r in MUTATES, r == "POST /logout"))
    for route in order:
        allowed = ACCESS[route]
        # The denied first, then the allowed: an allowed call that changes state comes last.
        for caller in sorted(CALLERS, key=lambda c: c in allowed):
            resp = _call(route, world, caller)
            assert resp.status_code < 500, (route, caller, resp.status_code, resp.text[:300])
            denied = _denied(resp)
            if route.split(" ", 1)[1] in ("/login", "/logout", "/"):
                denied = resp.status_code in (403, 404)  # log-in pages answer everyone
            if denied == (caller in allowed):
                wrong.append(f"{route} as {caller}: {resp.status_code} "
                             f"{'denied' if denied else 'allowed'}, the table says "
                             f"{'allowed' if caller in allowed else 'denied'}")
            resp.close()
    assert wrong == [], "\n" + "\n".join(wrong)


def test_unknown_ids_are_answered_as_forbidden_ones_are(world):
    """Nobody learns which ids exist from the difference between 'not yours' and 'none'."""
    for route, unknown in (("GET /api/v1/seals/<int:seal_id>/usage", "/api/v1/seals/999/usage"),
                           ("GET /api/v1/seals/<int:seal_id>/csr", "/api/v1/seals/999/csr"),
                           ("GET /api/v1/requests/<int:request_id>", "/api/v1/requests/999")):
        for caller in (ANON, USER):
            real = _call(route, world, caller).status_code
            client = world.api[caller]
            headers = {} if client is None else {"Authorization": f"Bearer {client.token}"}
            assert world.pages[ANON].get(unknown, headers=headers).status_code == real, \
                (route, caller)

