"""People: users, groups and roles (``directory``), browser sessions kept on the server
(``sessions``), API tokens (``tokens``), failed log-ins and lock-outs (``logins``).

May import: the modules directly in ``processes/``.
"""
