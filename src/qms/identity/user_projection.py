"""The `users` table of the catalog, a projection of the user events in the journal.

ONE function applies an event, the same live (after each append) and on replay; the
lead folds it into the central projection. Login failures and locks are journal
events too but change no row: counters live in the secrets store.
"""

from __future__ import annotations

import json
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS users(
  login TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT, roles TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT, disabled_at TEXT,
  created_at TEXT, created_by TEXT, password_changed_at TEXT);
"""

USER_ACTIONS = ("user.created", "user.roles", "user.disabled", "user.password_changed", "user.department")
LOGIN_ACTIONS = ("login.failed", "login.locked")      # journaled; counters live in the secrets store
KEY_ACTIONS = ("keys.created", "keys.imported")       # journaled; the key lives in .qms/keys


def _get(entry, key):
    return entry[key] if isinstance(entry, dict) else getattr(entry, key)


def ensure_schema(conn: sqlite3.Connection) -> None:
    # execute, not executescript: executescript COMMITs an open transaction first
    conn.execute(SCHEMA.strip().rstrip(";"))


def apply_user_event(conn: sqlite3.Connection, entry) -> bool:
    """Apply one journal entry (AuditEntry or its dict); False when it changes no row."""
    action = _get(entry, "action")
    if action not in USER_ACTIONS:
        return False
    ensure_schema(conn)
    login, data, at = _get(entry, "target"), _get(entry, "data") or {}, _get(entry, "at")
    if action == "user.created":
        conn.execute("INSERT INTO users(login, name, department, roles, created_at, created_by, "
                     "password_changed_at) VALUES(?,?,?,?,?,?,?)",
                     (login, data["name"], data.get("department") or "",
                      json.dumps(data.get("roles") or [], ensure_ascii=False), at, _get(entry, "actor"),
                      at if data.get("password_set") else None))
    elif action == "user.roles":
        conn.execute("UPDATE users SET roles=? WHERE login=?",
                     (json.dumps(data["roles"], ensure_ascii=False), login))
    elif action == "user.disabled":
        conn.execute("UPDATE users SET disabled=1, disabled_reason=?, disabled_at=? WHERE login=?",
                     (data.get("reason"), at, login))
    elif action == "user.department":           # moved to another department (issue 23)
        conn.execute("UPDATE users SET department=? WHERE login=?", (data["department"], login))
    elif action == "user.password_changed":
        conn.execute("UPDATE users SET password_changed_at=? WHERE login=?", (at, login))
    return True


def register_handlers(register) -> None:
    """Hand the central projection (qms.store.projection.register) a handler for every identity event."""
    def handler(cat, e, d):
        apply_user_event(cat.conn, e)
    for action in USER_ACTIONS + LOGIN_ACTIONS + KEY_ACTIONS:
        register(action, handler)
