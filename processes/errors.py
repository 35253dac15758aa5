"""Errors, the domain's side: the hierarchy every part raises. Only app/errors.py turns them
into HTTP answers; signer/errors.py is the signing library's own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Message(str):
    """A message the app can translate: the English sentence, which stays a ``str`` (logs, the
    CLI, tests), carrying its message id (``key``, an English template with ``%(name)s``
    placeholders) and the values (``params``). The domain knows no Flask: app/errors.py looks
    ``key`` up in the caller's language and fills in ``params``. Write one with ``msg``."""

    key: str
    params: dict[str, object]

    def __new__(cls, key: str, params: dict[str, object] | None = None) -> Message:
        params = params or {}
        text = super().__new__(cls, key % params if params else key)
        text.key = key
        text.params = params
        return text


def msg(key: str, /, **params: object) -> Message:
    """``msg("Seal %(seal)s is suspended.", seal=name)``: a translatable message
    (``pybabel extract`` finds these by the name ``msg``; see docs/design.md)."""
    return Message(key, params)


def as_message(key: str, args: dict[str, Any] | None) -> Message:
    """A stored key and arguments as a message (a nested ``{"key", "args"}`` value as one
    too); a key whose values do not fit it (changed since) as its plain text."""
    params = {name: as_message(value["key"], value.get("args"))
              if isinstance(value, dict) and "key" in value else value
              for name, value in (args or {}).items()}
    try:
        return Message(key, params or None)
    except (KeyError, ValueError, TypeError):
        return Message(key)


def stored_args(message: str) -> dict[str, Any] | None:
    """A message's values as they are stored (``Notice.args``, ``Request.failure_args``): a
    nested message as ``{"key", "args"}``; None for a plain string."""
    if not isinstance(message, Message) or not message.params:
        return None
    return {name: {"key": value.key, "args": stored_args(value)} if isinstance(value, Message)
            else value if value is None or isinstance(value, str | int | float | bool)
            else str(value) for name, value in message.params.items()}


def stored_reason(reason: str) -> dict[str, Any]:
    """A reason kept in a JSON column beside its English text: ``{"reason_key",
    "reason_args"}`` of a message (:func:`reason_of` reads it back); nothing of a plain string."""
    if not isinstance(reason, Message):
        return {}
    return {"reason_key": reason.key, "reason_args": stored_args(reason)}


def reason_of(kept: dict[str, Any]) -> str:
    """The reason :func:`stored_reason` kept in ``kept`` (beside ``kept["reason"]``), as a
    message again; the English text as it is where no key was kept."""
    if kept.get("reason_key"):
        return as_message(kept["reason_key"], kept.get("reason_args"))
    return kept.get("reason") or ""


class SealflowError(Exception):
    """Base of every error Sealflow raises on purpose; ``code`` is stable for API clients.
    ``message`` may be a ``Message`` (``msg(...)``): then the app answers in the caller's
    language; so may each problem's ``message``."""

    code = "error"

    def __init__(self, message: str, problems: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class BadInput(SealflowError):
    """The request is malformed: a missing field, a value of the wrong type."""

    code = "bad_request"


class NotAuthenticated(SealflowError):
    """No identity: no session and no valid bearer token."""

    code = "unauthenticated"


class NotAllowed(SealflowError):
    """The caller is known but may not do this."""

    code = "forbidden"


class NotFound(SealflowError):
    """The thing does not exist, or the caller may not see it (both answer the same)."""

    code = "not_found"


class WorkflowStateError(SealflowError):
    """The request or task is not in a state that allows this (done twice, withdrawn...)."""

    code = "conflict"


class Gone(SealflowError):
    """It existed and is no more: a share link expired or revoked."""

    code = "gone"


class InvalidContent(SealflowError):
    """The content is well-formed but unusable: a bad form value, a non-PDF upload."""

    code = "invalid"


class InvalidProcess(InvalidContent):
    """A BPMN/DMN deployment was refused; ``problems`` lists every problem found."""

    code = "invalid_process"


class TooLarge(SealflowError):
    """An upload is larger than the configured limit."""

    code = "too_large"


class PolicyRefused(InvalidContent):
    """The seal's usage policy refuses this use; the message names the rule."""

    code = "policy_refused"


class SealingFailed(SealflowError):
    """Sealing an authorized request failed; the request is marked ``failed`` with the reason."""

    code = "sealing_failed"


@dataclass
class Problem:
    """One problem found in a BPMN file: where it is and what is wrong."""

    message: str
    element: str | None = None
    line: int | None = None
    severity: str = "error"
    file: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {"element": self.element, "line": self.line, "message": self.message,
             "severity": self.severity}
        if self.file:
            d["file"] = self.file
        d.update(self.extra)  # e.g. the element ids of a path past every approval
        return d
