"""Users: created, given roles, disabled (never deleted: a login is never reused, so a past
signature keeps its person — 21 CFR 11.300(a)), passwords changed; and authentication with a
lockout after repeated failures (11.300(d)). Each change is a journal event; hashes are not."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets as _random
import sqlite3

from ..base.paging import Page, bounds
from ..store import audit
from ..store.journal_entry import AuditEntry
from ..store.catalog import present, reading
from ..domain.labels import chinese
from ..base.errors import Conflict, Integrity, InvalidInput, NotFound, QmsError, Refused
from ..store.workspace import Workspace
from .departments import check_department
from .passwords import check_password, check_policy, hash_password, needs_rehash
from .permissions import NotAuthenticated, User, require
from ..domain.policy import Policy, load_policy
from .user_projection import apply_user_event, ensure_schema
from .secrets import login_intact, open_secrets, read_secrets, where as secrets_where
from ..store.writer import writing
from ..base.dates import local_time, timestamp

LOGIN_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


def journal(ws: Workspace, *, actor: str, action: str, target: str, data: dict) -> AuditEntry:
    """Log a user/login/keys event through the one write path (the projection applies it)."""
    with writing(ws, purpose=action) as w:
        (entry,) = w.commit([{"action": action, "target": target, "data": data}], actor=actor)
    return entry


def _row_to_user(row, policy: Policy) -> User:
    roles = tuple(json.loads(row["roles"]))
    return User(login=row["login"], name=row["name"], department=row["department"] or "", roles=roles,
                disabled=bool(row["disabled"]), permissions=policy.permissions(roles))


def _rows(ws: Workspace, where: str = "", *args, select: str = "*", tail: str = " ORDER BY login"):
    """Users from the catalog's projection; when the catalog is missing or unreadable, from the
    journal itself — so an admin or keeper can still log in to rebuild it."""
    sql = f"SELECT {select} FROM users {where}{tail}"
    if present(ws):
        try:
            with reading(ws) as cat:
                ensure_schema(cat.conn)
                return cat.all(sql, *args)
        except (sqlite3.DatabaseError, QmsError):     # garbage in place of the catalog: read the journal
            pass
    if not ws.audit_path.exists():
        return []
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    try:
        ensure_schema(conn)
        for entry in audit.read(ws.audit_path):
            apply_user_event(conn, entry)
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def get_user(ws: Workspace, login: str, policy: Policy | None = None) -> User | None:
    rows = _rows(ws, "WHERE login=?", login)
    return _row_to_user(rows[0], policy or load_policy(ws)) if rows else None


def find_user(ws: Workspace, login: str, policy: Policy | None = None) -> User:
    user = get_user(ws, login, policy)
    if user is None:
        raise NotFound(f"no user {login!r} (qms user list shows them)", field="login")
    return user


def list_users(ws: Workspace) -> list[User]:
    policy = load_policy(ws)
    return [_row_to_user(r, policy) for r in _rows(ws)]


def user_page(ws: Workspace, *, limit: int | None = None, offset: int | None = None) -> Page:
    """One page of the users by login ({total, items, next} as `user list --json` gives it)."""
    limit, offset = bounds(limit, offset)
    policy = load_policy(ws)
    rows = _rows(ws, "", select="COUNT(*) AS n", tail="")
    total = rows[0]["n"] if rows else 0
    items = [_row_to_user(r, policy).to_json()
             for r in _rows(ws, "", limit, offset, tail=" ORDER BY login LIMIT ? OFFSET ?")]
    return Page(total, items, offset, limit)


def user_details(ws: Workspace, login: str) -> dict:
    """A user as `user show` gives it: the record plus password age and lock state (no hash)."""
    user = find_user(ws, login)
    row = _rows(ws, "WHERE login=?", login)[0]
    out = user.to_json() | {"created_at": row["created_at"], "created_by": row["created_by"],
                            "disabled_reason": row["disabled_reason"], "disabled_at": row["disabled_at"],
                            "password_changed_at": row["password_changed_at"]}
    with open_secrets(ws) as conn:
        fail = conn.execute("SELECT count, locked_until FROM failures WHERE login=?", (login,)).fetchone()
        pw = conn.execute("SELECT must_change FROM passwords WHERE login=?", (login,)).fetchone()
    locked = fail["locked_until"] if fail and fail["locked_until"] and fail["locked_until"] > timestamp() else None
    out["failed_attempts"] = fail["count"] if fail else 0
    out["locked_until"] = _iso(locked) if locked else None
    out["has_password"] = pw is not None
    out["must_change_password"] = bool(pw and pw["must_change"])
    return out


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def _store_password(conn, policy: Policy, login: str, password: str, *, must_change: bool = False) -> None:
    conn.execute("INSERT INTO passwords(login, hash, changed_at, must_change) VALUES(?,?,?,?) "
                 "ON CONFLICT(login) DO UPDATE SET hash=excluded.hash, changed_at=excluded.changed_at, "
                 "must_change=excluded.must_change", (login, hash_password(policy, password), timestamp(), int(must_change)))
    conn.execute("DELETE FROM failures WHERE login=?", (login,))


def has_users(ws: Workspace) -> bool:
    return bool(_rows(ws))


def add_user(ws: Workspace, login: str, *, name: str, roles: list[str], department: str = "",
             password, actor: User | None) -> User:
    """Create a user. `actor` None is the bootstrap: the first user of a workspace, who must be an admin.
    `password` may be a function asking for it: it is asked only once everything else is valid."""
    if actor is not None:
        require(actor, "users.manage")
    policy = load_policy(ws)
    login = login.strip()
    if not LOGIN_RE.match(login):
        raise InvalidInput(f"login {login!r}: expected 2–32 characters, lowercase letters, digits, '.', '_' or '-', "
                       "starting with a letter", field="login")
    if not name or not name.strip():
        raise InvalidInput("the printed name is required (it appears in every signature)", field="name")
    roles = policy.check_roles(roles)
    department = check_department(ws, department)
    if actor is None:
        if has_users(ws):
            raise NotAuthenticated("no session: log in as an administrator first (qms login LOGIN)")
        if "admin" not in roles:
            raise InvalidInput("the first user of a workspace must hold the role admin", field="roles")
    if get_user(ws, login, policy) is not None:
        # also a disabled one: a login is never reused (past signatures keep their person)
        raise Conflict(f"login {login!r} exists already; logins are never reused", field="login")
    if callable(password):
        password = password()
    if password is not None:
        check_policy(policy, password, login=login, name=name)
    with open_secrets(ws) as conn:
        # the hash is stored first: a crash between leaves an orphan hash, never a user without one
        if password is not None:
            _store_password(conn, policy, login, password)
    who = actor.actor if actor else f"{login} {name.strip()}"
    journal(ws, actor=who, action="user.created", target=login,
            data={"name": name.strip(), "department": department.strip(), "roles": roles,
                  "password_set": password is not None})
    return find_user(ws, login, policy)


def set_roles(ws: Workspace, login: str, roles: list[str], *, actor: User) -> User:
    require(actor, "users.manage")
    policy = load_policy(ws)
    user = find_user(ws, login, policy)
    roles = policy.check_roles(roles)
    if user.login == actor.login and "admin" in user.roles and "admin" not in roles:
        raise Refused("an administrator cannot take the admin role from themself; ask another admin",
                       field="roles")
    journal(ws, actor=actor.actor, action="user.roles", target=login,
            data={"roles": roles, "previous": list(user.roles)})
    return find_user(ws, login, policy)


def disable(ws: Workspace, login: str, *, reason: str, actor: User) -> User:
    require(actor, "users.manage")
    user = find_user(ws, login)
    if user.disabled:
        raise Conflict(f"login {login} is disabled already", field="login")
    if user.login == actor.login:
        raise Refused("you cannot disable your own login; ask another admin", field="login")
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required", field="reason")
    journal(ws, actor=actor.actor, action="user.disabled", target=login, data={"reason": reason.strip()})
    with open_secrets(ws) as conn:
        conn.execute("DELETE FROM sessions WHERE login=?", (login,))
    return find_user(ws, login)


def change_password(ws: Workspace, login: str, new: str, *, actor: User | None, current: str | None = None) -> None:
    """Own password (current one required), or an admin's reset (the user must change it at next login)."""
    policy = load_policy(ws)
    user = find_user(ws, login, policy)
    if user.disabled:
        raise Refused(f"login {login} is disabled", field="login")
    reset = actor is not None and actor.login != login
    if reset:
        require(actor, "users.manage")
    if not reset:
        authenticate(ws, login, current or "", purpose="passwd", allow_expired=True)
    check_policy(policy, new, login=login, name=user.name)
    with open_secrets(ws) as conn:
        old = conn.execute("SELECT hash FROM passwords WHERE login=?", (login,)).fetchone()
        if not reset and old and check_password(policy, old["hash"], new):
            raise InvalidInput("the new password must differ from the current one", field="password")
        _store_password(conn, policy, login, new, must_change=reset)
        conn.execute("DELETE FROM sessions WHERE login=?", (login,))
    journal(ws, actor=(actor or user).actor, action="user.password_changed", target=login,
            data={"reset_by_admin": reset})


# A login that does not exist, a wrong password, a disabled account and one with no password yet all
# get this one message, the same status and (near enough) the same time: nothing tells an outsider
# which logins exist. The journal still records which it was.
WRONG = ("登录名或密码错误", "wrong login or password")
LOCKED = ("登录失败次数过多，已暂时锁定，请于 {until} 后再试", "too many failed attempts: locked until {until}; try again later")
# Purposes where the login is the session's own (a signature asks for the password again): saying
# "wrong password for liming (2 of 5)" tells nothing the session did not already prove.
SESSION_BOUND = ("sign", "signature", "reject", "dispose")
# A client address may fail this many times the login limit within the lockout duration before it is
# locked out itself, whichever logins it tries (known or not).
ADDRESS_FACTOR = 4


def _say(ws: Workspace, pair: tuple[str, str], **kw) -> str:
    return (pair[0] if chinese(ws.config.locale) else pair[1]).format(**kw)


def _dummy_hash(policy: Policy, cache: dict = {}) -> str:       # noqa: B006 — a per-process cache on purpose
    """A hash of a random password with the policy's cost: verifying against it costs what a real
    check costs, so an unknown login takes as long as a known one."""
    key = (policy.argon2_time_cost, policy.argon2_memory_kib, policy.argon2_parallelism)
    if key not in cache:
        cache[key] = hash_password(policy, _random.token_hex(16))
    return cache[key]


def _peek(ws: Workspace, login: str, keys: list[str]):
    """(password row, failures row, throttle rows) read without the store's write lock."""
    with read_secrets(ws) as conn:
        if conn is None:
            return None, None, []
        pw = conn.execute("SELECT * FROM passwords WHERE login=?", (login,)).fetchone()
        fail = conn.execute("SELECT * FROM failures WHERE login=?", (login,)).fetchone()
        try:
            marks = [conn.execute("SELECT * FROM throttle WHERE key=?", (k,)).fetchone() for k in keys]
        except sqlite3.OperationalError:           # a store made before the throttle table
            marks = []
        return pw, fail, [m for m in marks if m]


def _locked_until(fail, marks, now: float) -> float | None:
    times = [t for t in [fail["locked_until"] if fail else None, *(m["locked_until"] for m in marks)]
             if t and t > now]
    return max(times) if times else None


def _count_throttle(conn, key: str, limit: int, window: float, now: float) -> None:
    """One more failure for `key` (an unknown login, or a client address); the limit-th locks it."""
    row = conn.execute("SELECT * FROM throttle WHERE key=?", (key,)).fetchone()
    count, first = (row["count"], row["first_at"]) if row else (0, now)
    if key.startswith("addr:") and now - first > window:
        count, first = 0, now                      # an address's failures count within a window
    count += 1
    locked = now + window if count >= limit else None
    conn.execute("INSERT INTO throttle(key, count, first_at, locked_until) VALUES(?,?,?,?) ON CONFLICT(key) "
                 "DO UPDATE SET count=excluded.count, first_at=excluded.first_at, locked_until=excluded.locked_until",
                 (key, 0 if locked else count, now if locked else first, locked))
    # Marks that no longer count go: an address's once its window and lock are over; an unknown
    # login's only when a known login's would read the same (count 0, lock over) — dropping its
    # count earlier would tell, a day later, that the login does not exist.
    conn.execute("DELETE FROM throttle WHERE (locked_until IS NULL OR locked_until<?) AND "
                 "((key LIKE 'addr:%' AND first_at<?) OR count=0)", (now, now - window))


def authenticate(ws: Workspace, login: str, password: str, *, purpose: str = "login",
                 allow_expired: bool = False, client: str | None = None) -> User:
    """The user when `password` is theirs. A failure is a journal event (login.failed, saying why);
    the policy's n-th in a row locks the login (login.locked) for the lockout duration — a login
    that does not exist as well, and a client address (`client`) that fails too often.

    The argon2 check runs outside the secrets store's write lock (one login no longer queues
    every other); the counters are then updated under it from what is stored at that moment, so
    they stay exact when attempts overlap."""
    policy = load_policy(ws)
    login = (login or "")[:64]
    user = get_user(ws, login, policy) if LOGIN_RE.match(login) else None
    bound = purpose in SESSION_BOUND and user is not None
    keys = ([] if user else [f"login:{login}"]) + ([f"addr:{client}"] if client else [])
    now = timestamp()
    pw, fail, marks = _peek(ws, login, keys) if user else _peek(ws, "", keys)
    locked = _locked_until(fail if user else None, marks, now)
    good = False
    if locked is None:
        usable = user is not None and pw is not None and not user.disabled
        good = check_password(policy, pw["hash"] if usable else _dummy_hash(policy), password) and usable
    window = policy.lockout_duration
    with open_secrets(ws) as conn:
        now = timestamp()
        fail = conn.execute("SELECT * FROM failures WHERE login=?", (login,)).fetchone() if user else None
        marks = [m for m in (conn.execute("SELECT * FROM throttle WHERE key=?", (k,)).fetchone() for k in keys) if m]
        if user is not None and not login_intact(conn, conn.mac_key, login):   # a swapped hash, a deleted counter
            raise Integrity(f"the password record of {login} in {secrets_where(ws)} was changed outside qms "
                            f"(its MAC does not match): login refused; an admin resets it (qms user passwd {login})")
        # a lock made meanwhile by another attempt holds; one seen before (no password was
        # checked then) is answered as a lock even if it ended in between
        locked = _locked_until(fail, marks, now) or locked
        if good and locked is None:
            stored = conn.execute("SELECT hash FROM passwords WHERE login=?", (login,)).fetchone()
            if stored is None or stored["hash"] != pw["hash"]:
                good = bool(stored) and check_password(policy, stored["hash"], password)   # changed meanwhile
        if locked is not None:
            outcome = ("locked", 0)
        elif good:
            outcome = ("ok", 0)
            conn.execute("DELETE FROM failures WHERE login=?", (login,))
            if needs_rehash(policy, pw["hash"]):
                conn.execute("UPDATE passwords SET hash=? WHERE login=?", (hash_password(policy, password), login))
        else:
            if client:
                _count_throttle(conn, f"addr:{client}", policy.lockout_attempts * ADDRESS_FACTOR, window, now)
            if user is None:
                _count_throttle(conn, f"login:{login}", policy.lockout_attempts, window, now)
                row = conn.execute("SELECT * FROM throttle WHERE key=?", (f"login:{login}",)).fetchone()
                outcome = ("now_locked" if row["locked_until"] else "wrong", row["count"] or policy.lockout_attempts)
                locked = row["locked_until"]
            else:
                count = (fail["count"] if fail else 0) + 1   # a lock resets the count to 0
                if count >= policy.lockout_attempts:
                    locked = now + policy.lockout_duration
                    conn.execute("INSERT INTO failures(login, count, locked_until) VALUES(?,0,?) ON CONFLICT(login) "
                                 "DO UPDATE SET count=0, locked_until=excluded.locked_until", (login, locked))
                    outcome = ("now_locked", count)
                else:
                    conn.execute("INSERT INTO failures(login, count, locked_until) VALUES(?,?,NULL) ON CONFLICT(login) "
                                 "DO UPDATE SET count=excluded.count, locked_until=NULL", (login, count))
                    outcome = ("wrong", count)
    kind, count = outcome
    if kind == "ok":
        if not allow_expired:
            expired = bool(pw["must_change"]) or (policy.max_age and now - pw["changed_at"] > policy.max_age)
            if expired:
                raise NotAuthenticated(f"the password of {login} has expired; set a new one: "
                                       f"qms user passwd {login}")
        return user
    actor = user.actor if user else "(unknown login)"
    target = login if user else (login if LOGIN_RE.match(login) else repr(login)[:66])
    where = {"client": client} if client else {}
    if kind == "locked":
        journal(ws, actor=actor, action="login.failed", target=target,
                data={"purpose": purpose, "reason": "locked", "locked_until": _iso(locked), **where})
        if bound:
            raise NotAuthenticated(f"login {login} is locked until {_iso(locked)} after "
                                   f"{policy.lockout_attempts} wrong passwords")
        raise NotAuthenticated(_say(ws, LOCKED, until=local_time(_iso(locked), ws, chinese=chinese(ws.config.locale))))
    reason = ("unknown login" if user is None else "disabled" if user.disabled
              else "no password set" if pw is None else "wrong password")
    journal(ws, actor=actor, action="login.failed", target=target,
            data={"purpose": purpose, "reason": reason, "attempt": count, **where})
    if kind == "now_locked":
        journal(ws, actor=actor, action="login.locked", target=target,
                data={"attempts": count, "until": _iso(locked), **where})
    if not bound:
        raise NotAuthenticated(_say(ws, WRONG))
    if kind == "now_locked":
        raise NotAuthenticated(f"wrong password for {login}; {count} in a row: the login is locked until "
                               f"{_iso(locked)}")
    raise NotAuthenticated(f"wrong password for {login} ({count} of {policy.lockout_attempts} "
                           "before the login is locked)")
