"""The domain's settings never show a secret: not in their repr, not in a log line (issue 8,
item 17)."""

from __future__ import annotations

import logging

from app.context import env
from tests.conftest import seal_one

SECRETS = {
    "KEY_PASSPHRASE": "test-passphrase",  # TestConfig's
    "SECRET_KEY": "test-secret",  # TestConfig's
    "AUDIT_KEY": "test-audit-key-0123456789",  # TestConfig's
    "TSA_PASSWORD": "tsa-密码-s3cret",
    "PKCS11_PIN": "pin-2468-1357",
}


def _with_secrets(app) -> None:
    app.config.update(TSA_USERNAME="sealflow", TSA_PASSWORD=SECRETS["TSA_PASSWORD"],
                      PKCS11_PIN=SECRETS["PKCS11_PIN"])
    app.extensions.pop("sealflow_env", None)


def test_the_repr_of_the_settings_holds_no_secret(app):
    _with_secrets(app)
    with app.app_context():
        shown = repr(env()) + str(env())
    for name, secret in SECRETS.items():
        assert secret not in shown, name
        assert repr(secret.encode()) not in shown, name
    assert "测试科技有限公司" in shown and "tsa_username='sealflow'" in shown


def test_sealing_logs_no_secret(org, pdf, app, caplog, monkeypatch):
    """A seal at B-T (its key and the TSA's decrypted with the passphrase, the timestamp from the
    built-in TSA in-process), with every log record kept."""
    # Alembic's logging set-up (an earlier `sealflow init`) disables the loggers it finds.
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            monkeypatch.setattr(logger, "disabled", False)
    _with_secrets(app)
    app.config.update(PADES_LEVEL="B-T", TSA_URL="")
    app.extensions.pop("sealflow_env", None)
    with caplog.at_level(logging.DEBUG):
        body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "sealed document" in logged  # the records are there
    for name, secret in SECRETS.items():
        assert secret not in logged, name
