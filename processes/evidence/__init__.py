"""Evidence packages (存证): one ZIP per sealed request that an outside expert, or a court,
checks offline with no database: the original and sealed PDFs, the approval history with every
decision's form data, the request's audit events proved to an anchor of the chain, the
timestamp tokens, certificates and CRLs, the process version as deployed, a manifest of SHA-256
sums, and a bilingual report sealed with the system seal (docs/evidence.md).

:mod:`~processes.evidence.contents` reads what goes in, :mod:`~processes.evidence.report`
draws the report, :mod:`~processes.evidence.package` seals it and writes the ZIP,
:mod:`~processes.evidence.verdict` checks a package."""
