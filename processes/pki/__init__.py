"""The organisation PKI as a service: the root and issuing CA (``authorities``), their CRLs
(``revocation``), OCSP answers (``responder``), the RFC 3161 timestamp authority
(``timestamping``) and the register of issued certificates (``issued``). The certificates and
signatures themselves are ``signer``'s.

May import: the modules directly in ``processes/``; ``signer``.
"""
