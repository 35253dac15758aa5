"""The PAdES baseline level a good signature reaches (B-B, B-T, B-LT, B-LTA), from its
timestamp, the document security store and the document timestamps after it."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from .reports import DocumentTimestampReport, SignatureReport

__all__ = ["Dss", "with_level"]

logger = logging.getLogger(__name__)

_DAMAGED = (ValueError, KeyError, TypeError, IndexError, AttributeError, misc.PdfError)


@dataclass(frozen=True)
class Dss:
    """What the document security store holds, as far as levels go."""

    vri: dict[str, bool]
    """Per signature (``/<SHA-1 of its /Contents, hex>``): whether its entry has revocation
    data."""

    crl_issuers: list[asn1_x509.Name]
    has_ocsp: bool

    @classmethod
    def read(cls, reader) -> Dss | None:
        try:
            dss = reader.root.get("/DSS")
            if dss is None:
                return None
            dss = dss.get_object()
            vri = {}
            for key, entry in dss.get("/VRI", generic.DictionaryObject()).get_object().items():
                entry = entry.get_object()
                vri[str(key)] = bool(entry.get("/CRL") or entry.get("/OCSP"))
            issuers = []
            for ref in dss.get("/CRLs", generic.ArrayObject()).get_object():
                crl = asn1_crl.CertificateList.load(ref.get_object().data)
                issuers.append(crl["tbs_cert_list"]["issuer"])
            return cls(vri, issuers, bool(dss.get("/OCSPs")))
        except _DAMAGED as e:
            logger.info("the document security store is unreadable: %s", e)
            return None

    def covers(self, embedded: EmbeddedPdfSignature) -> bool:
        """Whether it holds revocation data for the signature's certificate."""
        try:
            if self.vri:
                key = "/" + hashlib.sha1(embedded.pkcs7_content).hexdigest().upper()  # noqa: S324
                return self.vri.get(key, False)
            issuer = embedded.signer_cert.issuer
        except _DAMAGED:
            return False
        return self.has_ocsp or any(name == issuer for name in self.crl_issuers)


def with_level(report: SignatureReport, embedded: EmbeddedPdfSignature, dss: Dss | None,
                timestamps: list[DocumentTimestampReport]) -> SignatureReport:
    """The report with the PAdES level the signature reaches (see SignatureReport.level)."""
    if not report.bottom_line:
        return report
    if report.timestamp is None or not report.timestamp_trusted:
        level = "B-B"
    elif dss is None or not dss.covers(embedded):
        level = "B-T"
    elif not any(ts.bottom_line and ts.signed_length > report.signed_length
                 for ts in timestamps):
        level = "B-LT"
    else:
        level = "B-LTA"
    return dataclasses.replace(report, level=level)
