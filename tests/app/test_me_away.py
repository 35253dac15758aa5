"""Out-of-office on /me: a user sets a range of days and a deputy on their profile, sees it,
and clears it; a refused one (themselves as deputy, an inverted range, an unknown deputy)
keeps what was typed and says why next to the field; a task created for them meanwhile goes
to the deputy."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from tests.app.test_admin_users import _form, events
from tests.conftest import only_task, submit

TODAY = datetime.now(UTC).date()
AWAY = {"from": (TODAY - timedelta(days=1)).isoformat(),
        "to": (TODAY + timedelta(days=7)).isoformat()}


def test_set_on_the_profile_a_new_task_goes_to_the_deputy(app, org, login, api, pdf,
                                                          make_user):
    dave = api("dave")
    bob = login("bob")
    assert "Not set: your tasks come to you" in bob.get("/me").text
    done = bob.post("/me/out-of-office", data={**AWAY, "deputy": "dave"})
    assert done.status_code == 302 and done.headers["Location"] == "/me#away"
    page = bob.get("/me").text
    assert "Out-of-office set: new tasks go to dave" in page and "You are away now." in page
    assert _form(page, "from") == AWAY["from"] and _form(page, "to") == AWAY["to"]
    assert _form(page, "deputy") == "dave"
    assert events(app, "user.out_of_office_set")[0]["deputy"] == "dave"
    make_user("root", roles=["admin"])
    assert "new tasks for them go to dave (dave)" in login("root").get("/admin/users/bob").text

    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(dave)
    assert task["request_id"] == req["id"]
    assert task["deputies"] == [{"absent": "bob", "deputy": "dave"}]
    assert org.bob.get("/api/v1/tasks").get_json() == []

    cleared = bob.post("/me/out-of-office", data={"clear": "yes"})
    assert cleared.status_code == 302
    page = bob.get("/me").text
    assert "Out-of-office cleared" in page and "Not set" in page
    assert org.bob.get("/api/v1/me").get_json()["out_of_office"] is None


def test_a_refused_absence_keeps_what_was_typed_and_says_why(org, login, api):
    api("dave")
    bob = login("bob")
    cases = [
        ({**AWAY, "deputy": "bob"}, "deputy", "bob cannot be their own deputy"),
        ({**AWAY, "deputy": "nobody"}, "deputy", "the deputy 'nobody' is not a user"),
        ({"from": AWAY["to"], "to": AWAY["from"], "deputy": "dave"}, "to",
         "before it starts"),
        ({"from": "", "to": AWAY["to"], "deputy": "dave"}, "from", "must be an ISO 8601 date"),
    ]
    for form, field, message in cases:
        page = bob.post("/me/out-of-office", data=form)
        assert page.status_code == 400, form
        assert message in html.unescape(page.text), form
        assert f'id="err-{field}"' in page.text, form
        assert _form(page.text, "deputy") == form["deputy"]
        assert _form(page.text, "to") == form["to"]
    assert org.bob.get("/api/v1/me").get_json()["out_of_office"] is None


def test_the_refusal_is_in_chinese_on_a_chinese_page(org, login):
    bob = login("bob", language="zh-CN,zh;q=0.9")
    page = bob.post("/me/out-of-office", data={**AWAY, "deputy": "bob"})
    assert page.status_code == 400 and "bob 不能做自己的代理人" in page.text
