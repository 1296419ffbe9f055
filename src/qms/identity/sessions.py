"""Sessions: `qms login` proves the password once and leaves a random token in the user's config
folder (`${QMS_CONFIG_HOME:-~/.config/qms}/sessions/<workspace-id>`, 0600); the workspace keeps
only its SHA-256 with the expiry and the last time it was used (idle timeout)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets as _random
from dataclasses import dataclass
from pathlib import Path

from ..store.workspace import Workspace
from .permissions import NotAuthenticated, User
from ..domain.policy import load_policy
from .secrets import mac_key, open_secrets, read_secrets, secrets_exist, session_intact, where, workspace_id
from .users import authenticate, get_user, has_users
from ..base.dates import timestamp


def config_home() -> Path:
    env = os.environ.get("QMS_CONFIG_HOME")
    return Path(env) if env else Path.home() / ".config" / "qms"


def token_path(ws: Workspace) -> Path:
    return config_home() / "sessions" / workspace_id(ws)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Session:
    user: User
    created_at: float
    expires_at: float
    idle_until: float

    def to_json(self) -> dict:
        return self.user.to_json() | {"session_started": _iso(self.created_at),
                                      "session_expires": _iso(self.expires_at),
                                      "idle_expires": _iso(self.idle_until)}


def _write_token(path: Path, token: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.write(fd, token.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def login(ws: Workspace, login_name: str, password: str) -> Session:
    """Check the password and open a session for this workspace (replacing this user's old token file)."""
    user = authenticate(ws, login_name, password, purpose="login")
    policy = load_policy(ws)
    token = _random.token_urlsafe(32)
    now = timestamp()
    path = token_path(ws)
    with open_secrets(ws) as conn:
        old = _read_token(path)
        if old:
            conn.execute("DELETE FROM sessions WHERE token_hash=?", (_hash(old),))
        # expired sessions of anyone are swept here, so the table stays small
        conn.execute("DELETE FROM sessions WHERE expires_at<=? OR last_seen<=?",
                     (now, now - policy.idle_timeout if policy.idle_timeout else 0))
        conn.execute("INSERT INTO sessions(token_hash, login, created_at, last_seen, expires_at) VALUES(?,?,?,?,?)",
                     (_hash(token), user.login, now, now, now + policy.lifetime if policy.lifetime else 1e18))
    _write_token(path, token)
    return Session(user, now, now + policy.lifetime if policy.lifetime else 1e18,
                   now + policy.idle_timeout if policy.idle_timeout else 1e18)


def _read_token(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def logout(ws: Workspace) -> str | None:
    """End this workspace's session; the login it belonged to, or None when there was none."""
    if not secrets_exist(ws):
        return None
    path = token_path(ws)
    token = _read_token(path)
    if token is None:
        return None
    with open_secrets(ws) as conn:
        row = conn.execute("SELECT login FROM sessions WHERE token_hash=?", (_hash(token),)).fetchone()
        conn.execute("DELETE FROM sessions WHERE token_hash=?", (_hash(token),))
    path.unlink(missing_ok=True)
    return row["login"] if row else None


def current_session(ws: Workspace, *, touch: bool = True) -> Session:
    """The session of this workspace in the user's config folder, or NotAuthenticated saying why."""
    token = _read_token(token_path(ws)) if secrets_exist(ws) else None
    if token is None:
        if not has_users(ws):
            raise NotAuthenticated("no session, and this workspace has no users yet: give it an administrator "
                                   f"(qms init {ws.root} --admin LOGIN --name NAME)")
        raise NotAuthenticated("no session: log in first (qms login LOGIN)")
    policy = load_policy(ws)
    now = timestamp()
    with open_secrets(ws) as conn:
        row = conn.execute("SELECT * FROM sessions WHERE token_hash=?", (_hash(token),)).fetchone()
        if row is None:
            raise NotAuthenticated("session ended (logged out, password changed or login disabled): "
                                   "log in again (qms login LOGIN)")
        if not session_intact(conn.mac_key, row):            # an expiry moved, a login swapped
            raise NotAuthenticated(f"the session record in {where(ws)} was changed outside qms "
                                   "(its MAC does not match): it is void; log in again (qms login LOGIN)")
        idle_until = row["last_seen"] + policy.idle_timeout if policy.idle_timeout else 1e18
        expired = "the session lifetime ended" if now >= row["expires_at"] else \
            "idle too long" if now >= idle_until else None
        if expired:
            conn.execute("DELETE FROM sessions WHERE token_hash=?", (_hash(token),))
        elif touch:
            conn.execute("UPDATE sessions SET last_seen=? WHERE token_hash=?", (now, _hash(token)))
            idle_until = now + policy.idle_timeout if policy.idle_timeout else 1e18
    if expired:
        raise NotAuthenticated(f"session expired ({expired}): log in again (qms login {row['login']})")
    user = get_user(ws, row["login"], policy)
    if user is None or user.disabled:
        raise NotAuthenticated(f"login {row['login']} is disabled or unknown: the session is void")
    return Session(user, row["created_at"], row["expires_at"], idle_until)


def current_user(ws: Workspace) -> User:
    return current_session(ws).user


# ---------------------------------------------------------------- sessions whose token the caller keeps
# The web keeps the token in a cookie instead of a file in the user's config folder; the store, the
# expiry and the idle clock are the same.

def open_token_session(ws: Workspace, user: User) -> str:
    """A new session for an authenticated `user`; returns its token (only its SHA-256 is stored)."""
    policy = load_policy(ws)
    token = _random.token_urlsafe(32)
    now = timestamp()
    with open_secrets(ws) as conn:
        conn.execute("DELETE FROM sessions WHERE expires_at<=? OR last_seen<=?",
                     (now, now - policy.idle_timeout if policy.idle_timeout else 0))
        conn.execute("INSERT INTO sessions(token_hash, login, created_at, last_seen, expires_at) VALUES(?,?,?,?,?)",
                     (_hash(token), user.login, now, now, now + policy.lifetime if policy.lifetime else 1e18))
    return token


def token_session(ws: Workspace, token: str):
    """The stored row of a token's session (login, created_at, last_seen, expires_at) or None; read
    without the store's write lock, since every web request asks."""
    if not token:
        return None
    with read_secrets(ws) as conn:
        if conn is None:
            return None
        row = conn.execute("SELECT * FROM sessions WHERE token_hash=?",
                           (_hash(token.encode("ascii", "replace").decode()),)).fetchone()
        # a row edited outside qms (an expiry moved to 2099) is no session
        return row if row is not None and session_intact(mac_key(ws), row) else None


def touch_token_session(ws: Workspace, token: str, now: float) -> None:
    with open_secrets(ws) as conn:
        conn.execute("UPDATE sessions SET last_seen=? WHERE token_hash=?", (now, _hash(token)))


def end_token_session(ws: Workspace, token: str) -> None:
    if token and secrets_exist(ws):
        with open_secrets(ws) as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash=?", (_hash(token),))
