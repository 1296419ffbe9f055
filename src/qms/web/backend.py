"""The web's sessions over qms.identity: the same users, passwords, lockout and secrets store as the
CLI, but the token travels in a cookie instead of a file in the user's config folder.

Only the SHA-256 of a token is stored (the secrets store's sessions table), with its expiry and the
last time it was used, so the idle timeout of config.yaml (identity.session.idle) holds for the web
as for the CLI, and a password change or a disabled login ends web sessions too.
"""

from __future__ import annotations


from ..identity import sessions
from ..identity.permissions import NotAuthenticated, User
from ..domain.policy import load_policy
from ..identity.secrets import secrets_exist
from ..identity.users import authenticate, get_user
from ..store.workspace import Workspace
from .webuser import WebUser
from ..base.dates import timestamp


def _web_user(user: User, token: str) -> WebUser:
    return WebUser(login=user.login, name=user.name, roles=list(user.roles), token=token,
                   permissions=set(user.permissions), identity=user)


def login(ws: Workspace, login_name: str, password: str, client: str | None = None) -> WebUser:
    """Check the password (a failure is journaled; repeated failures lock the login, and the client
    address) and open a session."""
    user = authenticate(ws, (login_name or "").strip(), password or "", purpose="web login", client=client)
    return _web_user(user, sessions.open_token_session(ws, user))


# Every request resumes its session: read it without the store's write lock, and restart the idle
# clock at most every TOUCH_EVERY seconds (a write and an fsync per request would serialise them all).
TOUCH_EVERY = 15.0
# A user's record (name, roles) is read from the catalog at most every USER_TTL seconds per login:
# a disabled login still ends at once (disabling deletes its sessions), a role change within seconds.
USER_TTL = 2.0
_policies: dict = {}
_users: dict = {}


def _policy(ws: Workspace):
    """config.yaml's identity policy, parsed again only when the file changes."""
    cfg = ws.root / "config.yaml"
    try:
        key = (str(cfg), cfg.stat().st_mtime_ns)
    except FileNotFoundError:
        key = (str(cfg), 0)
    if key not in _policies:
        _policies.clear()
        _policies[key] = load_policy(ws)
    return _policies[key]


def resume(ws: Workspace, token: str) -> WebUser | None:
    """The user of a live session (and its idle clock restarted), or None: unknown, idle, expired."""
    if not token or not secrets_exist(ws):
        return None
    policy = _policy(ws)
    now = timestamp()
    row = sessions.token_session(ws, token)
    if row is None:
        return None
    idle = policy.idle_timeout and now >= row["last_seen"] + policy.idle_timeout
    if idle or now >= row["expires_at"]:
        sessions.end_token_session(ws, token)
        return None
    if now - row["last_seen"] >= TOUCH_EVERY:
        sessions.touch_token_session(ws, token, now)
    key = (str(ws.root), row["login"])
    cached = _users.get(key)
    if cached is not None and now - cached[0] < USER_TTL:
        user = cached[1]
    else:
        user = get_user(ws, row["login"], policy)
        _users[key] = (now, user)
    if user is None or user.disabled:
        return None
    return _web_user(user, token)


def logout(ws: Workspace, token: str) -> None:
    sessions.end_token_session(ws, token)


def confirm_password(ws: Workspace, user: WebUser, password: str) -> None:
    """A signature needs the password again (21 CFR 11.200); a wrong one counts toward the lockout."""
    authenticate(ws, user.login, password or "", purpose="signature")


__all__ = ["login", "resume", "logout", "confirm_password", "NotAuthenticated"]
