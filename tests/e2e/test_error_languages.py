"""The domain's errors a user meets (upload, placement, withdrawing, seals' lifecycle, the
password) answer in the caller's language, on pages and in JSON alike, their ``code``
unchanged (app/errors.py, processes.errors.msg)."""

from __future__ import annotations

import io
import json

from tests.conftest import make_pdf, submit

ZH = "zh-CN,zh;q=0.9"
EN = "en-US,en;q=0.9"


def _both(call) -> tuple[dict, dict]:
    zh, en = call({"Accept-Language": ZH}), call({"Accept-Language": EN})
    assert zh.status_code == en.status_code
    return zh.get_json()["error"], en.get_json()["error"]


def test_a_file_that_is_not_a_pdf(org):
    zh, en = _both(lambda h: submit(org.alice, org.seal_id, b"hello", headers=h))
    assert zh["code"] == en["code"] == "invalid"
    assert zh["message"] == "该文件不是 PDF" and en["message"] == "the file is not a PDF"
    assert zh["problems"] == [{"field": "document", "message": "该文件不是 PDF"}]


def test_a_seal_placed_off_the_document(org):
    place = json.dumps({"page": 9, "x": 100, "y": 100, "size": 120})
    zh, en = _both(lambda h: submit(org.alice, org.seal_id, make_pdf(), headers=h,
                                    placement=place))
    assert zh["code"] == en["code"] == "invalid"
    assert en["message"] == "placement: the document has 1 page(s); there is no page 9"
    assert zh["message"] == "盖章位置：文件只有 1 页，没有第 9 页"
    assert zh["problems"][0]["field"] == en["problems"][0]["field"] == "placement"


def test_withdrawing_someone_elses_request(org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    zh, en = _both(lambda h: org.carol.post(f"/api/v1/requests/{req['id']}/withdraw",
                                            json={}, headers=h))
    assert zh["code"] == en["code"]
    assert zh["message"] != en["message"]
    assert "申请" in zh["message"] and "request" in en["message"]


def test_a_wrong_new_password_on_the_profile_page(login):
    for lang, expected in (("zh_CN", "两次输入的新密码不一致"),
                           ("en", "the two new passwords differ")):
        alice = login("alice")
        page = alice.post(f"/me/password?lang={lang}", data={
            "current_password": "correct-horse-1", "new_password": "a-new-password-1",
            "confirm_password": "another-one-22"}, follow_redirects=True)
        assert expected in page.get_data(as_text=True), lang


def test_verifying_an_empty_upload(client):
    for lang, expected in (("zh_CN", "文件是空的"), ("en", "the file is empty")):
        page = client.post(f"/verify?lang={lang}", data={"file": (io.BytesIO(b""), "e.pdf")},
                           content_type="multipart/form-data")
        assert page.status_code == 422 and expected in page.text


def test_a_state_inside_a_message_is_a_word_in_chinese(org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    why = {"reason": "客户取消"}
    assert org.alice.post(f"/api/v1/requests/{req['id']}/withdraw", json=why).status_code == 200
    zh, en = _both(lambda h: org.alice.post(f"/api/v1/requests/{req['id']}/withdraw",
                                            json=why, headers=h))
    assert zh["code"] == en["code"] == "conflict"
    assert en["message"] == (f"request {req['id']} is withdrawn; only a running request can be "
                             "withdrawn")
    assert zh["message"] == f"申请 {req['id']} 的状态为 已撤回；只有进行中的申请可以撤回"
