"""Figures over many requests, read for those who watch the whole organisation: the dashboard
(``dashboard``: seal uses, approval lead times, open tasks, policy refusals, incidents) and
the filters its page and its API share (``filters``).

May import: every other part of ``processes`` but ``design``; reads only, writes nothing.
"""
