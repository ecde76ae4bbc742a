"""Who may do what, checked on the server for every page and API event.

Two modes. **Accounts**: at least one user can log in; the app asks for a name and password (Gradio's
login, checked against the scrypt hashes in the database) and every event looks up the caller's role.
**Local**: nobody can log in yet and the app is bound to a loopback address; one local user (role admin)
serves the demo. Binding any other address without accounts is refused at start.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from dojo.store import Store, User
from simulator.settings import SettingError

LOCAL_USER = "local"
log = logging.getLogger("dojo.access")

# permission -> roles that have it
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "practice": ("trainee", "reviewer", "trainer", "admin"),
    "own_progress": ("trainee", "reviewer", "trainer", "admin"),
    "team_progress": ("reviewer", "trainer", "admin"),
    "edit_scenarios": ("trainer", "admin"),
    "review": ("reviewer", "trainer", "admin"),
    "lead_calibration": ("trainer", "admin"),
}

_REFUSALS = {
    "team_progress": "You can see only your own progress.",
    "edit_scenarios": "Only trainers and admins can open, playtest or save scenario files.",
    "review": "Only reviewers, trainers and admins can review replies.",
    "lead_calibration": "Only trainers and admins can lead calibration rounds and retrain the classifiers.",
}


class AccessDenied(PermissionError):
    """The caller may not do this. The message is one line, safe to show."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class LoginLimiter:
    """Failed logins per user name within a sliding window; past the limit every attempt for that name is
    refused (without checking the password, so guessing gains nothing) until old failures age out. In
    memory, per server process: a restart forgets, which costs an attacker a restart, not a bypass."""

    max_failures: int = 5
    window_s: float = 300.0
    clock: object = time.monotonic
    _failures: dict[str, deque] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _recent(self, name: str) -> deque:
        now = self.clock()
        failures = self._failures.setdefault(name, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def locked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name)) >= self.max_failures

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name).append(self.clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


@dataclass
class Access:
    db: Store
    local: bool
    limiter: LoginLimiter = field(default_factory=LoginLimiter)

    def __post_init__(self) -> None:
        if self.local:  # created once, before the page's first events race to create it
            self.db.agent(LOCAL_USER, role="admin")

    @classmethod
    def for_server(cls, db: Store, host: str, limiter: LoginLimiter | None = None) -> Access:
        accounts = any(u.password_hash for u in db.users())
        if accounts:
            return cls(db, local=False, limiter=limiter or LoginLimiter())
        if is_loopback(host):
            return cls(db, local=True)
        raise SettingError(f"binding {host} needs accounts, and nobody can log in yet: add one with "
                           "`dojo users add NAME --role admin --password-stdin`")

    def authenticate(self, username: str, password: str) -> bool:
        """Gradio's login check, rate-limited per user name. Never logs the password."""
        name = (username or "").strip().lower()[:64]
        if self.limiter.locked(name):
            log.warning("login refused for %r: too many failed attempts", name)
            return False
        ok = self.db.authenticate(username, password) is not None
        if ok:
            self.limiter.succeeded(name)
        else:
            self.limiter.failed(name)
            log.info("failed login for %r", name)
        return ok

    def user(self, request) -> User:
        """The caller: the local user in local mode, else the logged-in user (by Gradio's session)."""
        if self.local:
            return self.db.agent(LOCAL_USER, role="admin")
        name = getattr(request, "username", None)
        found = self.db.find_user(name) if name else None
        if found is None:
            raise AccessDenied("Log in first.")
        return found

    def require(self, request, permission: str) -> User:
        user = self.user(request)
        if user.role not in PERMISSIONS[permission]:
            raise AccessDenied(_REFUSALS.get(permission, "You may not do this."))
        return user

    def may(self, user: User, permission: str) -> bool:
        return user.role in PERMISSIONS[permission]
