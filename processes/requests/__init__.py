"""A request's whole life: filing and withdrawing it (``intake``), advancing its instance to
the authorized end and the signing grant (``advancing``), its tasks and the inbox (``tasks``,
``inbox``), where its seal goes (``placement``), form values (``forms``), sealing it
(``sealing``), its timers, messages and incidents (``timers``, ``messages``, ``incidents``),
moving it to another flow version (``migration``), lifecycle requests (``lifecycle_requests``:
what one asks for; ``lifecycle_changes``: making the change), and how it is read and shown
(``queries``, ``views``).

May import: every other part of ``processes`` but ``design``; ``signer``.
"""
