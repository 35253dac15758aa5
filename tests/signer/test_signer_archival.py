"""A seal checked years later: its certificate and its TSA's have expired and the CRL beside it
was issued long after, yet it holds as of its timestamp; revoked before that time, it does
not. And its timestamp token comes out of the PDF as the TSA gave it."""

from __future__ import annotations

import datetime
import hashlib
import itertools

import pytest

import signer
from signer import (
    Revocation,
    SealSigner,
    TimestampAuthority,
    create_ca_hierarchy,
    draw_seal,
    issue_seal_certificate,
    issue_tsa_certificate,
    local_timestamper,
    make_crl,
    seal_pdf,
)

from .conftest import ORG, PASSPHRASE

NOW = datetime.datetime.now(datetime.UTC)
THEN = NOW - datetime.timedelta(days=3 * 365)
SEALED_AT = THEN + datetime.timedelta(days=30)


@pytest.fixture(scope="module")
def old_seal(make_pdf):
    """A PDF sealed three years ago (by a certificate and a TSA valid for one year then)."""
    root, issuing = create_ca_hierarchy(ORG, PASSPHRASE, now=THEN)
    seal = issue_seal_certificate(issuing, PASSPHRASE, seal_name="合同专用章", org_name=ORG,
                                  crl_url="http://sealflow.example/pki/crl", valid_days=365,
                                  now=THEN)
    tsa = issue_tsa_certificate(issuing, PASSPHRASE, org_name=ORG, valid_days=365, now=THEN,
                                crl_url="http://sealflow.example/pki/crl")
    authority = TimestampAuthority(certificate=tsa.certificate(),
                                   private_key=tsa.private_key(PASSPHRASE),
                                   chain=(issuing.certificate(),))
    serials = itertools.count(1)
    stamper = local_timestamper(lambda req: authority.respond(req, serial=next(serials),
                                                              now=SEALED_AT))
    pdf = make_pdf([(595, 842)])
    sealed = seal_pdf(pdf, expected_sha256=hashlib.sha256(pdf).hexdigest(),
                      signer=SealSigner.from_key_material(seal, PASSPHRASE,
                                                          [issuing.cert_pem, root.cert_pem]),
                      appearance_pdf=draw_seal(ORG, "合同专用章").pdf, timestamper=stamper)
    return {"root": root, "issuing": issuing, "seal": seal, "tsa": tsa, "pdf": pdf,
            "sealed": sealed}


def _crl(old_seal, revoked=()) -> bytes:
    return make_crl(old_seal["issuing"], PASSPHRASE, revoked, number=9, this_update=NOW,
                    next_update=NOW + datetime.timedelta(days=2))


def test_an_expired_seal_holds_as_of_its_timestamp(old_seal):
    roots = [old_seal["root"].cert_pem]
    (now,) = signer.validate_document(old_seal["sealed"], roots).signatures
    assert not now.bottom_line  # as of today the certificates have expired
    (then,) = signer.validate_as_of(old_seal["sealed"], roots,
                                    crls=[_crl(old_seal)]).signatures
    assert then.bottom_line and then.trusted, then.summary
    assert then.timestamp == SEALED_AT


def test_revoked_before_its_timestamp_it_fails_after_it_holds(old_seal):
    roots = [old_seal["root"].cert_pem]
    serial = old_seal["seal"].certificate().serial_number
    before = _crl(old_seal, [Revocation(serial, SEALED_AT - datetime.timedelta(days=1))])
    (report,) = signer.validate_as_of(old_seal["sealed"], roots, crls=[before]).signatures
    assert not report.bottom_line
    after = _crl(old_seal, [Revocation(serial, SEALED_AT + datetime.timedelta(days=100))])
    (report,) = signer.validate_as_of(old_seal["sealed"], roots, crls=[after]).signatures
    assert report.bottom_line, report.summary
    # Without any CRL the certificate that names one cannot be checked: it fails.
    (report,) = signer.validate_as_of(old_seal["sealed"], roots).signatures
    assert not report.bottom_line


def test_the_token_comes_out_as_the_tsa_gave_it(old_seal):
    (token,) = signer.embedded_tokens(old_seal["sealed"])
    assert token.kind == "signature" and token.time == SEALED_AT
    check = signer.check_digest_token(token.der, b"\0" * 32, [old_seal["root"].cert_pem])
    assert check.time == SEALED_AT and "imprint" in (check.problem or "")
    assert [old_seal["tsa"].cert_pem.strip()] == [
        pem.strip() for pem in signer.token_certificates(token.der)
        if b"TSA" in signer.certificate_from_pem(pem).subject.rfc4514_string().encode()]
    assert signer.signed_revision(old_seal["sealed"], "Seal")[0] == signer.revisions(
        old_seal["pdf"])
