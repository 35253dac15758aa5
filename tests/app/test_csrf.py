"""With CSRF protection on (as in production), every form POST needs the page's token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import config
from app import create_app
from app.extensions import db
from processes.db import unit_of_work
from processes.models import Base
from processes.people import directory

PASSWORD = "correct-horse-1"


@pytest.fixture
def csrf_app(tmp_path: Path) -> Iterator[Any]:
    settings = config.TestConfig(tmp_path)
    settings.WTF_CSRF_ENABLED = True
    app = create_app(settings)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        with unit_of_work(db.session):
            directory.add_user(db.session, "alice", password=PASSWORD)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def token_of(page) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_login_needs_the_token(csrf_app):
    client = csrf_app.test_client()
    refused = client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert refused.status_code == 400 and "CSRF" in refused.text
    assert client.get("/inbox").status_code == 302
    token = token_of(client.get("/login"))
    ok = client.post("/login", data={"name": "alice", "password": PASSWORD,
                                     "csrf_token": token})
    assert ok.status_code == 302


def test_page_forms_need_the_token(csrf_app):
    client = csrf_app.test_client()
    token = token_of(client.get("/login"))
    client.post("/login", data={"name": "alice", "password": PASSWORD, "csrf_token": token})
    for path in ("/requests/new", "/tasks/some-task", "/requests/1/withdraw", "/logout"):
        resp = client.post(path, data={})
        assert resp.status_code == 400, path
        assert "CSRF" in resp.text
    page = client.get("/requests/new")
    assert page.status_code == 200
    # With the page's token the POST gets through to the view (here: nothing to submit to).
    resp = client.post("/requests/new", data={"csrf_token": token_of(page)})
    assert resp.status_code == 422
    assert client.get("/inbox").status_code == 200
    out = client.post("/logout", data={"csrf_token": token_of(client.get("/inbox"))})
    assert out.status_code == 302
    assert client.get("/inbox").status_code == 302
