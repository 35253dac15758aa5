"""The sessions a process keeps to its PKCS#11 tokens.

One logged-in session per token, opened on first use; when it fails (the token restarted, the
network HSM dropped the connection) it is closed and the operation runs once more on a new one.
A forked worker drops the sessions it inherited and initialises the module again. PKCS#11 forbids
two threads in one session at once, so every call into a module holds that module's lock.

Login belongs to the application, not the session (PKCS#11 v2.40 §5.6): a second login in the same
process fails with ``CKR_USER_ALREADY_LOGGED_IN``, and closing a logged-in session logs every
session out. Hence one session per token, shared, never a second one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pkcs11
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import find_token

from .errors import KeyUnavailable

if TYPE_CHECKING:
    from .pkcs11 import Pkcs11Config

__all__ = ["run_in_token"]

logger = logging.getLogger(__name__)

_STALE_SESSION = (
    pkcs11.exceptions.SessionHandleInvalid,
    pkcs11.exceptions.SessionClosed,
    pkcs11.exceptions.UserNotLoggedIn,
    pkcs11.exceptions.DeviceRemoved,
    pkcs11.exceptions.DeviceError,
    pkcs11.exceptions.TokenNotPresent,
    pkcs11.exceptions.GeneralError,
)
"""Errors after which the session is dropped and the operation tried once more on a new one."""

_BAD_PIN = (
    pkcs11.exceptions.PinIncorrect,
    pkcs11.exceptions.PinInvalid,
    pkcs11.exceptions.PinLenRange,
    pkcs11.exceptions.PinLocked,
    pkcs11.exceptions.PinExpired,
    pkcs11.exceptions.UserPinNotInitialized,
)

T = TypeVar("T")


class _Module:
    """A PKCS#11 module loaded in this process: one logged-in session per token, and the lock
    that every call into the module holds."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.RLock()
        self._sessions: dict[str, pkcs11.Session] = {}
        self._pid = os.getpid()

    def run(self, config: Pkcs11Config, operation: Callable[[pkcs11.Session], T]) -> T:
        with self.lock:
            try:
                session = self._session(config)
                # Probe first: a search on a dead session fails in a way python-pkcs11 reports
                # again, unraisably, when it cleans up (its SearchIter.__del__).
                session.generate_random(8)
                return operation(session)
            except _STALE_SESSION as e:
                logger.warning(
                    "PKCS#11 session to token %r failed (%s); opening a new one",
                    config.token_label,
                    type(e).__name__,
                )
                self._drop(config.token_label)
            return operation(self._session(config))

    def _session(self, config: Pkcs11Config) -> pkcs11.Session:
        if os.getpid() != self._pid:
            # A forked child: the parent's sessions are not ours to use or close, and the module
            # must be initialised again in this process (PKCS#11 v2.40 §6.6.1).
            self._sessions.clear()
            self._pid = os.getpid()
            self._reinitialize(self._lib())
        session = self._sessions.get(config.token_label)
        if session is None:
            session = self._open(config)
            self._sessions[config.token_label] = session
        return session

    def _lib(self) -> Any:
        try:
            return pkcs11.lib(self.path)
        except pkcs11.exceptions.PKCS11Error as e:
            raise KeyUnavailable(f"the PKCS#11 module {self.path} cannot be loaded ({e})") from None

    def _reinitialize(self, lib: Any) -> None:
        # C_Finalize ends every session of the module in this process.
        self._sessions.clear()
        try:
            lib.finalize()
        except pkcs11.exceptions.PKCS11Error:
            pass
        lib.initialize()

    def _open(self, config: Pkcs11Config) -> pkcs11.Session:
        lib = self._lib()
        criteria = TokenCriteria(label=config.token_label)
        token = find_token(lib.get_slots(token_present=True), token_criteria=criteria)
        if token is None:
            # SoftHSM2 sees a token initialised after C_Initialize only once initialised again.
            self._reinitialize(lib)
            token = find_token(lib.get_slots(token_present=True), token_criteria=criteria)
        if token is None:
            raise KeyUnavailable(f"no PKCS#11 token labelled {config.token_label!r}")
        try:
            session = token.open(rw=True, user_pin=config.user_pin)
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            # Login belongs to the application, not the session: a session without a PIN
            # shares it (and does not log the application out when it is closed).
            session = token.open(rw=True)
        except _BAD_PIN as e:
            raise KeyUnavailable(
                f"PKCS#11 token {config.token_label!r} refused the user PIN ({type(e).__name__})"
            ) from None
        logger.info("opened a session to PKCS#11 token %r", config.token_label)
        return session

    def _drop(self, token_label: str) -> None:
        session = self._sessions.pop(token_label, None)
        if session is not None:
            try:
                session.close()
            except pkcs11.exceptions.PKCS11Error:
                pass


_MODULES: dict[str, _Module] = {}
_MODULES_LOCK = threading.Lock()


def run_in_token(config: Pkcs11Config, operation: Callable[[pkcs11.Session], T], what: str) -> T:
    """Run ``operation`` on the process's session to the token; PKCS#11 errors become
    :class:`KeyUnavailable` (with the error's name, never the PIN)."""
    with _MODULES_LOCK:
        module = _MODULES.get(config.module)
        if module is None:
            module = _MODULES[config.module] = _Module(config.module)
    try:
        return module.run(config, operation)
    except pkcs11.exceptions.PKCS11Error as e:
        raise KeyUnavailable(
            f"PKCS#11 token {config.token_label!r} could not {what} ({type(e).__name__})"
        ) from None
