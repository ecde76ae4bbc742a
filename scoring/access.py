"""Who may do what, checked on the server for every page and API event.

Two modes. **Accounts**: at least one user can log in; the app asks for a name and password (Gradio's
login, checked against the scrypt hashes in the database) and every event looks up the caller's role.
**Local**: nobody can log in yet and the app is bound to a loopback address; one local user (role admin)
serves the demo. Binding any other address without accounts is refused at start.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from scoring.store import Store, User
from simulator.settings import SettingError

LOCAL_USER = "local"

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
class Access:
    db: Store
    local: bool

    def __post_init__(self) -> None:
        if self.local:  # created once, before the page's first events race to create it
            self.db.agent(LOCAL_USER, role="admin")

    @classmethod
    def for_server(cls, db: Store, host: str) -> Access:
        accounts = any(u.password_hash for u in db.users())
        if accounts:
            return cls(db, local=False)
        if is_loopback(host):
            return cls(db, local=True)
        raise SettingError(f"binding {host} needs accounts, and nobody can log in yet: add one with "
                           "`dojo users add NAME --role admin --password-stdin`")

    def authenticate(self, username: str, password: str) -> bool:
        """Gradio's login check."""
        return self.db.authenticate(username, password) is not None

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
