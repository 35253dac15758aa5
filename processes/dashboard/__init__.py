"""The dashboard, the domain's side (the page is app/web/dashboard.py, the API
app/api/dashboard.py): figures over many requests, for those who watch the whole organisation
(``figures``: seal uses, approval lead times, open tasks, policy refusals, incidents), and the
filters its page and its API share (``filters``).

May import: every other part of ``processes`` but ``design``; it reads, and writes nothing.
"""
