"""The steps the verify page gives to make pdfsig trust the organisation's root work: run as
written (certutil from libnss3-tools), pdfsig then calls our seal trusted; without them, not.
`make install` installs both (.ci/system-packages.sh)."""

from __future__ import annotations

import html
import re
import subprocess

from tests.e2e.test_verify import _seal_through_flow


def test_pdfsig_trusts_our_seal_after_the_pages_steps(client, org, pdf, tmp_path):
    _, sealed = _seal_through_flow(org, pdf)
    (tmp_path / "sealed.pdf").write_bytes(sealed)
    (tmp_path / "sealflow-root.crt").write_bytes(client.get("/pki/root.crt").data)
    page = client.get("/verify?lang=en").text
    steps = [html.unescape(block) for block in re.findall(r'<pre class="mono">(.*?)</pre>',
                                                          page, re.S)]
    assert len(steps) == 3 and steps[-1].startswith("pdfsig -nssdir")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def run(script: str) -> str:
        done = subprocess.run(["bash", "-euc", script], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=60, check=False)
        return done.stdout + done.stderr

    before = run("mkdir -p ~/plain && certutil -N -d sql:$HOME/plain --empty-password && "
                 "pdfsig -nssdir sql:$HOME/plain sealed.pdf")
    assert "Certificate is Trusted" not in before, before
    out = run("\n".join(steps))
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out
