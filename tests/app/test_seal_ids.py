"""Seal ids cannot be probed: every view on one seal asks who is calling, and whether they manage
seals at all, before it looks the seal up, so to anyone who may not use it an unknown id and a
real one answer alike (issue 8, item 16)."""

from __future__ import annotations

import pytest

UNKNOWN = 987654

NOT_A_CERTIFICATE = (b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                     b"-----END CERTIFICATE-----\n")

API_VIEWS = [
    ("get", "/api/v1/seals/{}/usage"),
    ("get", "/api/v1/seals/{}/csr"),
    ("post", "/api/v1/seals/{}/certificate"),
]
PAGE_VIEWS = [
    ("get", "/seals/{}/seal.csr"),
    ("post", "/seals/{}/certificate"),
    ("post", "/seals/{}/status"),
    ("get", "/seals/{}/policy"),
    ("post", "/seals/{}/policy"),
    ("post", "/seals/{}/change"),
    ("post", "/seals/{}/change-request"),
]


@pytest.fixture
def external_seal(app, org) -> int:
    """A seal of carol's waiting for an external CA's certificate (it has a CSR)."""
    made = app.test_cli_runner().invoke(args=[
        "seal", "create", "测试科技有限公司电子合同章", "--custodian", "carol", "--external-ca",
        "--key-type", "p256"])
    assert made.exit_code == 0, made.output
    return int(made.output.split()[-1])


def _call(client, method: str, path: str, headers: dict | None = None):
    if method == "get":
        return client.get(path, headers=headers)
    if path.endswith("/status"):
        return client.post(path, data={"to": "suspended", "reason": "探测"}, headers=headers)
    if path.startswith("/api/"):
        return client.post(path, data=NOT_A_CERTIFICATE, content_type="application/x-pem-file",
                           headers=headers)
    return client.post(path, data={}, headers=headers)


def _both(client, method: str, path: str, seal_id: int, headers: dict | None = None):
    """The answers for a real seal and for an id no seal has."""
    real = _call(client, method, path.format(seal_id), headers)
    unknown = _call(client, method, path.format(UNKNOWN), headers)
    return real, unknown


@pytest.mark.parametrize(("method", "path"), API_VIEWS)
def test_anonymous_callers_get_401_for_real_and_unknown_seals(client, external_seal, method,
                                                             path):
    expected = 401  # a POST too: who is calling comes before the CSRF check (app/auth.py)
    real, unknown = _both(client, method, path, external_seal)
    assert (real.status_code, unknown.status_code) == (expected, expected)
    assert real.get_json() == unknown.get_json()
    real, unknown = _both(client, method, path, external_seal,
                          headers={"Authorization": "Bearer sf_not-a-token"})
    assert (real.status_code, unknown.status_code) == (401, 401)


@pytest.mark.parametrize(("method", "path"), API_VIEWS)
def test_a_user_who_manages_no_seal_cannot_tell_real_ids_from_unknown(api, external_seal,
                                                                     method, path):
    mallory = api("mallory", groups=["sales"])
    real, unknown = _both(mallory, method, path, external_seal)
    assert real.status_code == unknown.status_code == 403
    assert real.get_json() == unknown.get_json()


@pytest.mark.parametrize(("method", "path"), PAGE_VIEWS)
def test_the_seal_pages_answer_alike_too(login, external_seal, method, path):
    browser = login("mallory")
    real, unknown = _both(browser, method, path, external_seal)
    assert real.status_code == unknown.status_code == 403
    anonymous = browser.application.test_client()
    real, unknown = _both(anonymous, method, path, external_seal)
    assert real.status_code == unknown.status_code == 302  # to the login page, both
    assert real.headers["Location"].startswith("/login")


def test_the_custodian_and_the_auditor_still_get_theirs(org, api, login, external_seal):
    usage = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage")
    assert usage.status_code == 200 and usage.get_json()["seal"] == org.seal_id
    csr = org.carol.get(f"/api/v1/seals/{external_seal}/csr")
    assert csr.status_code == 200 and csr.mimetype == "application/pkcs10"
    assert login("carol").get(f"/seals/{external_seal}/seal.csr").data == csr.data
    # Past the check, the certificate itself is judged.
    refused = org.carol.post(f"/api/v1/seals/{external_seal}/certificate",
                             data=NOT_A_CERTIFICATE, content_type="application/x-pem-file")
    assert refused.status_code == 422
    # To someone who manages seals, an unknown id is simply unknown.
    assert org.carol.get(f"/api/v1/seals/{UNKNOWN}/usage").status_code == 404
    auditor = api("audrey", roles=["auditor"])
    assert auditor.get(f"/api/v1/seals/{org.seal_id}/usage").status_code == 200
    assert auditor.get(f"/api/v1/seals/{UNKNOWN}/usage").status_code == 404
    assert auditor.get(f"/api/v1/seals/{external_seal}/csr").status_code == 403
