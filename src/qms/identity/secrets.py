"""The secrets store: password hashes, failed-attempt counters, lock times and session hashes.

Kept OUTSIDE archive/ (the archive is copied, backed up and shown to auditors; hashes must not
travel with it) in `<workspace>/.qms/secrets.sqlite`: folder 0700, file 0600. Nothing here is
truth about the quality system — losing it means resetting passwords, not losing records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as _random
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from ..base.errors import Integrity
from ..store import audit, pg_secrets
from ..store.pg_catalog import safe_url
from ..store.workspace import Workspace

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS passwords(
  login TEXT PRIMARY KEY, hash TEXT NOT NULL, changed_at REAL NOT NULL, must_change INTEGER NOT NULL DEFAULT 0,
  mac TEXT);
CREATE TABLE IF NOT EXISTS failures(
  login TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, locked_until REAL);
CREATE TABLE IF NOT EXISTS throttle(
  key TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, first_at REAL NOT NULL, locked_until REAL);
CREATE TABLE IF NOT EXISTS sessions(
  token_hash TEXT PRIMARY KEY, login TEXT NOT NULL, created_at REAL NOT NULL, last_seen REAL NOT NULL,
  expires_at REAL NOT NULL, mac TEXT);
"""


def private_dir(ws: Workspace) -> Path:
    """`<workspace>/.qms`, created 0700: secrets and the organisation's keys."""
    path = ws.root / ".qms"
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def secrets_path(ws: Workspace) -> Path:
    return ws.root / ".qms" / "secrets.sqlite"


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite opens it, so it is never readable by others."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


# Integrity (issue 19): each login's row carries a MAC of its hash, dates and failure counters,
# each session a MAC of its times, made with a key kept outside the workspace (secret_mac_key, below).
# Triggers re-seal a row whenever qms changes it, so no write path can forget; someone editing the
# file without the key leaves a MAC that no longer matches, and login / the session refuses it.
_LOGIN_MAC = ("qms_login_mac(login, hash, changed_at, must_change, "
              "COALESCE((SELECT f.count FROM failures f WHERE f.login=passwords.login), 0), "
              "(SELECT f.locked_until FROM failures f WHERE f.login=passwords.login))")
MAC_SCHEMA = """
CREATE TRIGGER IF NOT EXISTS passwords_sealed_ins AFTER INSERT ON passwords BEGIN
  UPDATE passwords SET mac=LOGIN_MAC WHERE login=NEW.login; END;
CREATE TRIGGER IF NOT EXISTS passwords_sealed_upd AFTER UPDATE OF login, hash, changed_at, must_change ON passwords BEGIN
  UPDATE passwords SET mac=LOGIN_MAC WHERE login=NEW.login; END;
CREATE TRIGGER IF NOT EXISTS failures_sealed_ins AFTER INSERT ON failures BEGIN
  UPDATE passwords SET mac=LOGIN_MAC WHERE login=NEW.login; END;
CREATE TRIGGER IF NOT EXISTS failures_sealed_upd AFTER UPDATE ON failures BEGIN
  UPDATE passwords SET mac=LOGIN_MAC WHERE login IN (OLD.login, NEW.login); END;
CREATE TRIGGER IF NOT EXISTS failures_sealed_del AFTER DELETE ON failures BEGIN
  UPDATE passwords SET mac=LOGIN_MAC WHERE login=OLD.login; END;
CREATE TRIGGER IF NOT EXISTS sessions_sealed_ins AFTER INSERT ON sessions BEGIN
  UPDATE sessions SET mac=qms_session_mac(token_hash, login, created_at, last_seen, expires_at)
  WHERE token_hash=NEW.token_hash; END;
CREATE TRIGGER IF NOT EXISTS sessions_sealed_upd AFTER UPDATE OF token_hash, login, created_at, last_seen, expires_at
  ON sessions BEGIN
  UPDATE sessions SET mac=qms_session_mac(token_hash, login, created_at, last_seen, expires_at)
  WHERE token_hash=NEW.token_hash; END;
""".replace("LOGIN_MAC", _LOGIN_MAC)


def _mac(key: bytes, *parts) -> str:
    return hmac.new(key, json.dumps(parts, ensure_ascii=False).encode("utf-8"), hashlib.sha256).hexdigest()


def login_mac(key: bytes, pw, fail) -> str:
    """The MAC of a login's password row with its failure counters (no failures row = 0, unlocked)."""
    return _mac(key, "login", pw["login"], pw["hash"], pw["changed_at"], pw["must_change"],
                fail["count"] if fail else 0, fail["locked_until"] if fail else None)


def session_mac(key: bytes, row) -> str:
    return _mac(key, "session", row["token_hash"], row["login"], row["created_at"], row["last_seen"],
                row["expires_at"])


def login_intact(conn, key: bytes, login: str) -> bool:
    """Whether the login's row (and its counters) are as qms last wrote them; True with no row."""
    pw = conn.execute("SELECT * FROM passwords WHERE login=?", (login,)).fetchone()
    if pw is None:
        return True
    fail = conn.execute("SELECT * FROM failures WHERE login=?", (login,)).fetchone()
    return bool(pw["mac"]) and hmac.compare_digest(pw["mac"], login_mac(key, pw, fail))


def session_intact(key: bytes | None, row) -> bool:
    return key is not None and bool(row["mac"]) and hmac.compare_digest(row["mac"], session_mac(key, row))


def mac_key(ws: Workspace) -> bytes | None:
    return secret_mac_key(ws)


def _prepare_macs(conn, ws: Workspace) -> tuple[bytes, bool]:
    """Columns, functions and triggers (before the transaction: executescript commits). Returns
    the key and whether it was just made: a store meeting its key for the first time (made before
    the MACs, or new: no row sealed yet) has every row sealed once — afterwards only qms's own
    writes re-seal; sealed rows with no key are refused (unless the "new" key fits them)."""
    for table in ("passwords", "sessions"):
        if "mac" not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            try:                     # a store made before the MACs
                conn.execute(f"ALTER TABLE {table} ADD COLUMN mac TEXT")
            except sqlite3.OperationalError as exc:       # another process added it just now
                if "duplicate column" not in str(exc):
                    raise
    key = secret_mac_key(ws)
    fresh = key is None
    if fresh and conn.execute("SELECT 1 FROM passwords WHERE mac IS NOT NULL UNION ALL "
                              "SELECT 1 FROM sessions WHERE mac IS NOT NULL LIMIT 1").fetchone():
        # Rows sealed, no key under the journal's name: either the store was sealed before the
        # journal's first write (its key is named "new"), or the key is elsewhere (another
        # QMS_KEY_DIR or HOME) — a new key would re-seal every row, and the server holding the right
        # one would then refuse every login.
        key = _adopted_key(conn, ws)
        if key is None:
            raise Integrity(f"no MAC key for the secrets in {where(ws)}: its rows were sealed with a key this "
                            "user cannot find (secrets-….key in $QMS_KEY_DIR, else ~/.config/qms/keys/); run "
                            "qms with the setting it was made with, or copy the key there")
        fresh = False
    elif fresh:
        key = secret_mac_key(ws, create=True)

    def login_fn(*parts):
        return _mac(key, "login", *parts)

    def session_fn(*parts):
        return _mac(key, "session", *parts)

    conn.create_function("qms_login_mac", 6, login_fn)
    conn.create_function("qms_session_mac", 5, session_fn)
    conn.executescript(MAC_SCHEMA)
    return key, fresh


def _adopted_key(conn, ws: Workspace) -> bytes | None:
    """The key a store was sealed with before the journal's first write (named "new"), when it
    verifies one of the store's sealed rows; kept under the journal's name from then on."""
    try:
        candidate = secret_key_path(ws).with_name("secrets-new.key").read_bytes()
    except OSError:
        return None
    pw = conn.execute("SELECT * FROM passwords WHERE mac IS NOT NULL LIMIT 1").fetchone()
    if pw is not None:
        fail = conn.execute("SELECT * FROM failures WHERE login=?", (pw["login"],)).fetchone()
        fits = hmac.compare_digest(pw["mac"], login_mac(candidate, pw, fail))
    else:
        row = conn.execute("SELECT * FROM sessions WHERE mac IS NOT NULL LIMIT 1").fetchone()
        fits = row is not None and session_intact(candidate, row)
    if len(candidate) < 32 or not fits:
        return None
    _write_key_once(secret_key_path(ws), candidate)     # or another process adopted it just now
    return secret_mac_key(ws)


def _database(ws: Workspace) -> str | None:
    """storage.database: the store is in PostgreSQL (store/pg_secrets.py), shared by every server."""
    return ws.config.storage.get("database")


def secrets_exist(ws: Workspace) -> bool:
    url = _database(ws)
    return pg_secrets.exists(url) if url else secrets_path(ws).exists()


def where(ws: Workspace) -> str:
    """The store as messages name it."""
    url = _database(ws)
    return f"{safe_url(url)} (schema {pg_secrets.SCHEMA_NAME})" if url else ws.rel(secrets_path(ws))


@contextmanager
def read_secrets(ws: Workspace):
    """A connection for reads without the write lock (None when there is no store yet)."""
    url = _database(ws)
    if url:
        if not pg_secrets.exists(url):
            yield None
            return
        with pg_secrets.reading(url) as conn:
            yield conn
        return
    path = secrets_path(ws)
    if not path.exists():
        yield None
        return
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def _open_pg(ws: Workspace, url: str):
    """The PostgreSQL store: its triggers note the rows qms changed, sealed here before the commit."""
    with pg_secrets.writing(url, SCHEMA) as (conn, made):
        key = secret_mac_key(ws)
        if key is None:
            # shared by every server: one without the key must not re-seal (and so void) the others' rows
            if conn.execute("SELECT 1 FROM passwords UNION SELECT 1 FROM sessions").fetchone():
                raise Integrity(f"this server has no MAC key for the secrets in {where(ws)}: copy it from another "
                                "server (secrets-….key in $QMS_KEY_DIR, else ~/.config/qms/keys/)")
            key = secret_mac_key(ws, create=True)
            pg_secrets.mark_all(conn)
        conn.mac_key = key
        yield conn
        for kind, value in pg_secrets.unsealed(conn):
            if kind == "login":
                pw = conn.execute("SELECT * FROM passwords WHERE login=?", (value,)).fetchone()
                if pw is not None:
                    fail = conn.execute("SELECT * FROM failures WHERE login=?", (value,)).fetchone()
                    conn.execute("UPDATE passwords SET mac=? WHERE login=?", (login_mac(key, pw, fail), value))
            else:
                row = conn.execute("SELECT * FROM sessions WHERE token_hash=?", (value,)).fetchone()
                if row is not None:
                    conn.execute("UPDATE sessions SET mac=? WHERE token_hash=?", (session_mac(key, row), value))


@contextmanager
def open_secrets(ws: Workspace):
    """The store as one transaction (BEGIN IMMEDIATE … COMMIT); `conn.mac_key` holds the MAC key."""
    url = _database(ws)
    if url:
        with _open_pg(ws, url) as conn:
            yield conn
        return
    path = secrets_path(ws)
    if not path.exists():
        private_dir(ws)
        _create_private(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, factory=_Connection)
    conn.row_factory = sqlite3.Row
    # the rollback journal (not WAL) keeps it one file, and its -journal file inherits 0600 via umask below
    old = os.umask(0o077)
    try:
        conn.executescript(SCHEMA)
        conn.mac_key, fresh = _prepare_macs(conn, ws)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if fresh:
                conn.execute(f"UPDATE passwords SET mac={_LOGIN_MAC}")
                conn.execute("UPDATE sessions SET mac=qms_session_mac(token_hash, login, created_at, last_seen, "
                             "expires_at)")
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    finally:
        os.umask(old)
        conn.close()


class _Connection(sqlite3.Connection):
    mac_key: bytes = b""


def workspace_id(ws: Workspace) -> str:
    """A random id naming this workspace in the user's config folder (sessions/<id>)."""
    with open_secrets(ws) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key='workspace_id'").fetchone()
        if row:
            return row["value"]
        value = _random.token_hex(8)
        conn.execute("INSERT INTO meta(key, value) VALUES('workspace_id', ?)", (value,))
        return value


# ------------------------------------------------------------------ the secrets store's MAC key (issue 19)
# Kept outside the workspace (a copy of the workspace, .qms included, carries no key): in
# $QMS_KEY_DIR, else ~/.config/qms/keys — one folder for every person using this account, so it
# is not $QMS_CONFIG_HOME (each person's sessions). Named after the journal's first entry, which
# no one can change without breaking the chain: a copy of the workspace finds the same key.

def secret_key_path(ws: Workspace) -> Path:
    base = os.environ.get("QMS_KEY_DIR")
    folder = Path(base) if base else Path.home() / ".config" / "qms" / "keys"
    return folder / f"secrets-{_journal_id(ws)}.key"


def _journal_id(ws: Workspace) -> str:
    try:
        first = audit.first_line(ws.audit_path)
        return str(json.loads(first)["hash"])[:16]
    except (OSError, ValueError, KeyError, TypeError):
        return "new"           # no journal yet: the first write of a workspace (qms init) makes one


_SECRET_KEYS: dict[str, bytes] = {}


def _write_key_once(path: Path, key: bytes) -> None:
    """The key file (0600, its folder 0700), written and fsynced only if no process made it first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())


def secret_mac_key(ws: Workspace, *, create: bool = False) -> bytes | None:
    """32 random bytes (file 0600, folder 0700); None when absent and not `create`d."""
    path = secret_key_path(ws)
    if str(path) in _SECRET_KEYS:
        return _SECRET_KEYS[str(path)]
    if not path.is_file():
        if not create:
            return None
        _write_key_once(path, _random.token_bytes(32))   # or another process made it first: read theirs
    key = path.read_bytes()
    if len(key) < 32:
        raise Integrity(f"the secrets store's key is damaged (expected 32 bytes, found {len(key)})", file=path)
    _SECRET_KEYS[str(path)] = key
    return key
