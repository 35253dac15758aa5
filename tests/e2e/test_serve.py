"""`sealflow serve` runs gunicorn with threaded workers, so that a client keeps its connection:
a business system submits a request and its approvers work it over one TCP connection (the
sync worker closed every connection after one answer)."""

from __future__ import annotations

import http.client
import json
import uuid

from tests.conftest import make_pdf
from tests.processes_live import Server, environment, started


def _multipart(fields: dict[str, str], document: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
                 f'filename="contract.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
                 + document + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


def test_serve_keeps_a_clients_connection_across_requests(app, org, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**environment(app, JOB_MODE="external"), "HOME": str(home)}
    web = Server(env, tmp_path / "serve.log", workers=1)
    with started(web):
        assert "Using worker: gthread" in web.log()
        # No control socket in $HOME (gunicorn 27's default path, shared by every server
        # on the machine: each start took it over and each stop deleted it).
        assert list(home.iterdir()) == [], list(home.rglob("*"))
        conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=60)
        answers = []

        def call(method: str, path: str, who, body: bytes | None = None,
                 ctype: str = "application/json") -> dict:
            conn.request(method, path, body=body,
                         headers={"Authorization": f"Bearer {who.token}", "Content-Type": ctype})
            resp = conn.getresponse()
            data = resp.read()
            answers.append((path, resp.status, resp.will_close, conn.sock))
            assert resp.status in (200, 201), data
            return json.loads(data)

        body, ctype = _multipart({
            "process": "contract_seal", "seal": str(org.seal_id),
            "data": json.dumps({"amount": 50000, "purpose": "采购合同"})}, make_pdf())
        created = call("POST", "/api/v1/requests", org.alice, body, ctype)
        task = call("GET", "/api/v1/tasks", org.bob)[0]
        done = call("POST", f"/api/v1/tasks/{task['id']}/complete", org.bob,
                    json.dumps({"decision": "approve"}).encode())
        call("GET", f"/api/v1/requests/{created['id']}", org.alice)
        conn.close()

    assert done["request"]["history"][-1]["decision"] == "approve"
    # Four answers, none closing the connection, all on the one socket opened first.
    assert [will_close for _, _, will_close, _ in answers] == [False] * 4, answers
    assert len({id(sock) for *_, sock in answers}) == 1, answers
