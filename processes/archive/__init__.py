"""The archive: every sealed document filed after sealing (``filing``, its text read by
``text``), searched by its metadata and its full text in Chinese and English (``terms``
makes the index's terms, ``fts`` writes and queries the index of each database, ``search``
answers a search as the caller may see it), and kept (``retention``: retention per business
type, legal hold, the notice when a retention ends).

May import: every other part of ``processes`` (it reads requests as ``requests`` shows them
to a person); ``signer``.
"""
