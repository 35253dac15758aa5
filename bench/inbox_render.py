"""How long the inbox page takes to render, with the test client (issue 12: the translated
pages must not be noticeably slower). The demo organisation in a throw-away SQLite database,
bob with one task waiting; then GET /inbox N times (after a warm-up), the median and mean.

    PYTHONPATH=. .venv/bin/python bench/inbox_render.py [N]
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(rounds: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    os.environ.update(SEALFLOW_DATA_DIR=str(data), SEALFLOW_SECRET_KEY="bench",
                      SEALFLOW_KEY_PASSPHRASE="bench-pass", SEALFLOW_JOB_MODE="inline",
                      SEALFLOW_AUDIT_KEY="bench-audit-key-0123",
                      SEALFLOW_CSRF="false")
    os.environ.pop("SEALFLOW_DATABASE_URL", None)
    from app import create_app
    from tests.conftest import make_pdf

    app = create_app()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init"])
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    alice, bob = app.test_client(), app.test_client()
    for client, name in ((alice, "alice"), (bob, "bob")):
        resp = client.post("/login", data={"name": name, "password": "sealflow-demo"})
        assert resp.status_code == 302, resp.status_code
    found = re.search(r'name="csrf_token" value="([^"]+)"', alice.get("/inbox").text)
    token = found.group(1) if found else ""
    seal = next(s for s in alice.get("/api/v1/seals").get_json() if s["status"] == "active")
    for n in range(5):
        resp = alice.post("/api/v1/requests", content_type="multipart/form-data",
                          headers={"X-CSRFToken": token}, data={
            "process": "contract_seal", "seal": str(seal["id"]),
            "data": json.dumps({"amount": 80000 + n, "purpose": "维保合同"}),
            "document": (io.BytesIO(make_pdf(text=f"Contract {n}")), "contract.pdf")})
        assert resp.status_code == 201, resp.get_json()
    headers = {"Accept-Language": sys.argv[2] if len(sys.argv) > 2 else "zh-CN"}
    for _ in range(20):
        assert bob.get("/inbox", headers=headers).status_code == 200
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        page = bob.get("/inbox", headers=headers)
        times.append(time.perf_counter() - started)
        assert page.status_code == 200 and "contract.pdf" in page.text
    print(f"GET /inbox x{rounds} ({headers['Accept-Language']}): median "
          f"{statistics.median(times) * 1000:.2f} ms, mean {statistics.mean(times) * 1000:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
