"""Every blinker signal Sealflow sends, in one place. All are sent after the commit."""

from blinker import Namespace

_signals = Namespace()

grant_created = _signals.signal("grant-created")
"""A signing grant was committed. Sender: None. Kwargs: ``grant_id`` (int)."""

request_finished = _signals.signal("request-finished")
"""A request reached a final status. Sender: None. Kwargs: ``request_id``, ``status`` (str)."""

task_created = _signals.signal("task-created")
"""An inbox task was opened. Sender: None. Kwargs: ``task_id`` (str), ``request_id`` (int)."""

timer_armed = _signals.signal("timer-armed")
"""An instance now waits on a timer. Sender: None. Kwargs: ``request_id``, ``due_at``
(aware datetime): the scheduler arms a job for it."""

task_reminder = _signals.signal("task-reminder")
"""A reminder timer fired for an open task. Sender: None. Kwargs: ``task_id``, ``request_id``."""

seal_changed = _signals.signal("seal-changed")
"""A seal changed status. Sender: None. Kwargs: ``seal_id``, ``status`` (str): on ``revoked``
the CRL is published again."""

seal_expiring = _signals.signal("seal-expiring")
"""A seal's certificate expires soon. Sender: None. Kwargs: ``seal_id``, ``not_after``: its
custodians are to be warned."""

lifecycle_authorized = _signals.signal("lifecycle-authorized")
"""A lifecycle flow (make, void, revoke a seal) reached its authorized end. Sender: None.
Kwargs: ``request_id``: the job runner makes the change."""
