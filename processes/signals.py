"""Every blinker signal Sealflow sends, in one place. All are sent after the commit
(``processes.db.on_commit``), never for a unit of work that rolled back.

Each docstring names the sender, the keyword arguments, and who receives the signal in
Sealflow itself ("Receiver: none" where only an extension would listen, such as mail or a
webhook); ``tests/processes/test_signals.py`` checks the receivers named are those connected.
"""

from blinker import Namespace

_signals = Namespace()

grant_created = _signals.signal("grant-created")
"""A signing grant was committed (or may seal again: its seal resumed, an admin retried).
Sender: None. Kwargs: ``grant_id`` (int). Receiver: ``app.jobs.JobRunner.on_grant``, which
starts the sealing job (``app.jobs.seal_grant``) in the configured ``SEALFLOW_JOB_MODE``."""

request_finished = _signals.signal("request-finished")
"""A request reached a final status. Sender: None. Kwargs: ``request_id``, ``status`` (str).
Receiver: ``app.jobs.JobRunner.on_finished``, which files a ``sealed`` one in the archive
(``app.archive_jobs.file_sealed``; the archive's sweep files any it missed)."""

task_created = _signals.signal("task-created")
"""An inbox task was opened. Sender: None. Kwargs: ``task_id`` (str), ``request_id`` (int).
Receiver: none."""

timer_armed = _signals.signal("timer-armed")
"""An instance now waits on a timer. Sender: None. Kwargs: ``request_id``, ``due_at``
(aware datetime). Receiver: ``app.jobs.JobRunner.on_timer``, which arms a scheduler job for
it (the periodic sweep is the safety net)."""

task_reminder = _signals.signal("task-reminder")
"""A reminder timer fired for an open task (its people already have a notice). Sender: None.
Kwargs: ``task_id``, ``request_id``. Receiver: none."""

seal_changed = _signals.signal("seal-changed")
"""A seal changed status. Sender: None. Kwargs: ``seal_id``, ``status`` (str). Receiver:
``app.jobs.JobRunner.on_seal_changed``, which publishes the CRL again on ``revoked``."""

seal_expiring = _signals.signal("seal-expiring")
"""A seal's certificate expires soon (its custodians already have a notice). Sender: None.
Kwargs: ``seal_id``, ``not_after``. Receiver: none."""

lifecycle_authorized = _signals.signal("lifecycle-authorized")
"""A lifecycle flow (make, change, resume, void, revoke a seal) reached its authorized end.
Sender: None. Kwargs: ``request_id``. Receiver: ``app.jobs.JobRunner.on_lifecycle``, which
makes the change (``processes.requests.lifecycle_changes.apply_request``)."""

notices_to_mail = _signals.signal("notices-to-mail")
"""Notices of users with an e-mail address were committed. Sender: None. Kwargs:
``notice_ids`` (list of int). Receiver: ``app.jobs.JobRunner.on_notices``, which mails them
(``app.mailer``, when SEALFLOW_SMTP_URL is set; the sweep tries a failed send again)."""
