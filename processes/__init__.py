"""Sealflow's domain: plain functions over a SQLAlchemy session. Nothing here imports Flask or
``app``; functions flush, and whoever starts the work (one HTTP request, one CLI command, one job)
commits once.

The parts, lowest first; each imports only from the ones below it (``lint-imports`` checks):

- the modules directly in ``processes/``, which every part reaches: the database plumbing
  (``db``), errors, signals, settings (``env``), the tables (``models`` and the ``*_models``
  beside it), input bounds (``limits``), times (``isotime``), stored documents, the audit log,
  notices;
- ``people``: users, groups, roles, sessions, tokens, log-in throttling;
- ``pki``: the organisation's CAs, CRLs, OCSP answers, the timestamp authority, the register of
  issued certificates;
- ``flows``: the flow engine: BPMN and DMN loading and checks, FEEL and the expression
  language, the SpiffWorkflow adaptation, running instances, deployed definitions, timers;
- ``seals``: the seal registry, lifecycle and who may change it, usage policies and their path
  proof, what counts as an approval, long-term signatures, verification, external CAs;
- ``requests`` and ``design`` (on top, independent): a request's whole life (filing, advancing
  to the authorized end and the grant, tasks and the inbox, placement, forms, sealing, timers,
  messages, incidents, migration, lifecycle changes), and deploying flows.

``processes`` reaches ``signer`` only through ``signer``'s public face (``import signer``).
"""
