"""Item 15 of issue 8: bad input gets a 4xx, never a 5xx. An id in a path that cannot exist
(negative, past the database's 64-bit integers, not a number) is unknown: 404. Numbers in
query strings and form fields out of range, and JSON bodies nested too deep, are 400 or 422."""

from __future__ import annotations

import json

import pytest

from tests.conftest import submit

IMPOSSIBLE = [str(2**63), str(2**64), str(10**30), "-1", "abc", "١٢", "%00", "1%00", "9" * 5000]


@pytest.mark.parametrize("path", [
    "/api/v1/requests/{}", "/api/v1/requests/{}/document", "/api/v1/requests/{}/sealed",
    "/api/v1/seals/{}/usage", "/api/v1/seals/{}/csr",
    "/requests/{}", "/seals/{}", "/seals/{}/image.png", "/tasks/{}"])
def test_an_id_in_a_path_that_cannot_exist_is_404(org, login, path):
    client = org.carol if path.startswith("/api/") else login("carol")  # a page: a session
    for bad in IMPOSSIBLE:
        url = path.format(bad)
        resp = client.get(url)
        assert resp.status_code == 404, (url, resp.status_code)


def test_posts_to_impossible_ids_are_404(org):
    root = org.designer  # any identity: the route itself does not match
    for bad in IMPOSSIBLE:
        for url in (f"/api/v1/requests/{bad}/withdraw", f"/api/v1/requests/{bad}/retry",
                    f"/api/v1/requests/{bad}/messages/signed", f"/api/v1/notices/{bad}/read",
                    f"/api/v1/tasks/{bad}/complete", f"/api/v1/tasks/{bad}/claim"):
            assert root.post(url, json={}).status_code == 404, url


def test_numbers_in_query_strings_out_of_range_are_400(org):
    for query in ("offset=" + str(10**30), "offset=-1", "offset=²", "limit=0", "limit=501",
                  "limit=" + "9" * 5000, "seal=" + str(2**64), "seal=²", "seal=-3",
                  "seal=1e3", "offset=1_000"):
        for path in ("/api/v1/requests", "/api/v1/tasks", "/api/v1/notices"):
            if "seal" in query and path != "/api/v1/requests":
                continue
            resp = org.alice.get(f"{path}?{query}")
            assert resp.status_code == 400, (path, query, resp.status_code)
            assert resp.get_json()["error"]["code"] == "bad_request"
    assert org.alice.get(f"/api/v1/seals/{org.seal_id}/usage?offset={2**63}").status_code == 400
    assert org.alice.get(f"/api/v1/requests?offset={2**63 - 1}").get_json() == []


def test_ids_in_a_new_request_out_of_range_are_422(org, pdf):
    for field, value in (("seal", str(2**64)), ("seal", "-1"), ("seal", "１"),
                         ("from_request", str(10**30)), ("from_request", "0")):
        resp = submit(org.alice, org.seal_id, pdf, **{field: value})
        assert resp.status_code == 422, (field, value, resp.get_json())
        assert resp.get_json()["error"]["problems"] == [
            {"field": field, "message": "must be an integer id"}]


def test_json_bodies_too_deep_or_not_json_are_400(org, api):
    root = api("root", roles=["admin"])
    url = "/api/v1/processes/contract_seal/migrate"
    for body in ("[" * 100_000, '{"from": ' + "[" * 500 + "]" * 500 + "}",
                 '{"from": NaN, "to": 1}', '{"from": Infinity, "to": 1}',
                 '{"from": 1' + "0" * 5000 + ', "to": 1}', '{"from": "\\u0000"}',
                 '{"from": "\\ud800"}', b'{"from": "\xff"}'):
        resp = root.post(url, data=body, content_type="application/json")
        assert resp.status_code == 400, (body[:40], resp.get_json())
    for versions in ({"from": 2**63, "to": 1}, {"from": 1, "to": 10**30}, {"from": -1, "to": 2}):
        resp = root.post(url, data=json.dumps(versions), content_type="application/json")
        assert resp.status_code == 400, (versions, resp.get_json())


def test_a_nul_character_in_a_query_a_form_or_a_header_is_400(org, pdf, api, client):
    """PostgreSQL cannot compare or store text with a NUL: it used to answer 500 there."""
    root = api("root", roles=["auditor"])
    assert root.get("/api/v1/requests?requester=a%00b").status_code == 400
    assert root.get("/api/v1/requests?requester=alice").status_code == 200
    assert submit(org.alice, org.seal_id, pdf, process="contract\x00").status_code == 400
    assert submit(org.alice, org.seal_id, pdf, headers={"Idempotency-Key": "k\x00"}
                  ).status_code == 400
    resp = client.post("/login", data={"name": "alice\x00", "password": "x"})
    assert resp.status_code == 400
    assert org.alice.get("/api/v1/requests").get_json() == []


def test_a_long_form_field_past_64_bits_is_422_naming_the_field(org, pdf):
    for amount in (2**63, str(2**63), "9" * 4000):
        resp = submit(org.alice, org.seal_id, pdf, data={"amount": amount, "purpose": "采购"})
        assert resp.status_code == 422, (str(amount)[:30], resp.get_json())
        assert resp.get_json()["error"]["problems"][0]["field"] == "amount"
    assert submit(org.alice, org.seal_id, pdf, data={"amount": 2**63 - 1, "purpose": "采购"}
                  ).status_code == 201


def test_the_command_line_refuses_an_id_past_64_bits_as_a_usage_error(app):
    for args in (["seal", "revoke", str(2**64), "--reason", "x"],
                 ["user", "revoke-token", "0"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 2 and "Invalid value" in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
