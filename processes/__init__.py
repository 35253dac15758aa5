"""Sealflow's domain: people, flows, running instances, the inbox, sealing and the audit log.

Plain functions over a SQLAlchemy session. Nothing here imports Flask or ``app``; services flush,
and the caller (one HTTP request or one job) commits once.
"""
