"""Changing the flows: deploying BPMN and DMN (``deploy``), checked and proved against the
seals' policies before a new version is stored.

May import: every other part of ``processes`` but ``requests``.
"""
