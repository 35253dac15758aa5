"""asn1crypto builds a class's tables on its first use, not thread-safely: importing the signer
builds them all first, so sealing threads starting at once never see a half-built one."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import threading
import signer
from asn1crypto import algos, core, tsp, x509
unbuilt = [c.__name__ for c in (algos.DigestAlgorithmId, algos.DigestAlgorithm,
                                tsp.TimeStampReq, x509.Certificate)
           if c not in core._SETUP_CLASSES]
assert not unbuilt, unbuilt
assert algos.DigestAlgorithmId._reverse_map['sha256'] == '2.16.840.1.101.3.4.2.1'
errors = []
def build():
    try:
        for _ in range(200):
            algos.DigestAlgorithm({'algorithm': 'sha256'}).dump(force=True)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=build) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors[:3]
print('ok')
"""


def test_importing_the_signer_builds_asn1crypto_tables_before_any_thread_uses_them():
    # A fresh interpreter: in this one, earlier tests have used the classes already.
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
