"""Seals: the registry (``registry``: keys, certificates, appearance, custodians, signers),
their lifecycle (``lifecycle``) and who may change it directly (``authority``), certificate
expiry (``expiry``), usage policies (``policy``) and their proof over a flow's graph (``proof``),
what counts as an approval (``approvals``), long-term signatures (``long_term``), verifying
sealed PDFs (``verification``) and seals certified by an outside CA (``external_ca``).

May import: ``flows``, ``pki``, ``people`` and the modules directly in ``processes/``; ``signer``.
"""
