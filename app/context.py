"""Per-request helpers shared by the API and the pages: the domain Env and the identity."""

from __future__ import annotations

from flask import current_app, g
from flask_login import current_user

from processes.env import Env
from processes.errors import NotAuthenticated, msg
from processes.people.directory import Identity


def env() -> Env:
    """The domain settings of the current app (built once per app)."""
    cached = current_app.extensions.get("sealflow_env")
    if cached is None:
        c = current_app.config
        cached = Env(data_dir=c["DATA_DIR"], key_passphrase=c["KEY_PASSPHRASE"].encode(),
                     org_name=c["ORG_NAME"], base_url=c["BASE_URL"],
                     max_document_bytes=c["MAX_DOCUMENT_BYTES"],
                     max_bpmn_bytes=c["MAX_BPMN_BYTES"], cjk_font=c.get("CJK_FONT"),
                     lease_seconds=c["JOB_LEASE_SECONDS"],
                     pkcs11_module=c["PKCS11_MODULE"], pkcs11_token=c.get("PKCS11_TOKEN"),
                     pkcs11_pin=c.get("PKCS11_PIN"), pades_level=c["PADES_LEVEL"],
                     tsa_url=c["TSA_URL"], tsa_username=c.get("TSA_USERNAME"),
                     tsa_password=c.get("TSA_PASSWORD"), tsa_policy=c.get("TSA_POLICY"),
                     tsa_retries=c["TSA_RETRIES"],
                     tsa_retry_base_seconds=c["TSA_RETRY_BASE_SECONDS"],
                     tsa_retry_max_seconds=c["TSA_RETRY_MAX_SECONDS"],
                     retention_years=c["RETENTION_YEARS"],
                     external_ca_roots=_pem_file(c.get("EXTERNAL_CA_ROOTS")))
        current_app.extensions["sealflow_env"] = cached
    return cached


def _pem_file(path: str | None) -> tuple[bytes, ...]:
    """The file's PEM certificates, one by one (empty without a file)."""
    if not path:
        return ()
    with open(path, "rb") as fh:
        data = fh.read()
    marker = b"-----END CERTIFICATE-----"
    return tuple(part.strip() + b"\n" + marker + b"\n" for part in data.split(marker)[:-1])


def identity() -> Identity:
    """The caller: a bearer token's identity, or the logged-in browser user."""
    found = g.get("sealflow_identity")
    if found is not None:
        return found
    if current_user.is_authenticated:
        found = Identity(current_user._get_current_object(), None)
        g.sealflow_identity = found
        return found
    raise NotAuthenticated(msg("log in, or send Authorization: Bearer <token>"))
