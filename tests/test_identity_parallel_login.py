"""Login outside the lock (issue 21): the argon2 check runs without the secrets store's write lock,
and the failure counter stays exact when twenty wrong passwords arrive at once."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from conftest import PASSWORDS, make_workspace


@pytest.fixture
def ws(tmp_path):
    q = make_workspace(tmp_path / "ws")
    cfg = q.root / "config.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data.setdefault("identity", {})["lockout"] = {**(data["identity"].get("lockout") or {}), "attempts": 5}
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    q.apply_config()
    return q


def test_twenty_parallel_wrong_logins_lock_after_exactly_five(ws):
    from qms.identity.permissions import NotAuthenticated
    from qms.identity.users import authenticate, user_details
    from qms.store.workspace import open_workspace
    w = open_workspace(ws.root)

    def attempt(_):
        try:
            authenticate(w, "liming", "wrong-password", purpose="web login")
            return "in"
        except NotAuthenticated as exc:
            return str(exc)
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(attempt, range(20)))
    assert "in" not in answers
    log = ws.as_("admin").log("--target", "liming")
    failed = [e for e in log if e["action"] == "login.failed"]
    wrong = [e for e in failed if e["data"]["reason"] == "wrong password"]
    assert len(failed) == 20
    assert sorted(e["data"]["attempt"] for e in wrong) == [1, 2, 3, 4, 5]        # exactly five counted
    assert [e["data"]["attempts"] for e in log if e["action"] == "login.locked"] == [5]
    assert all(e["data"]["reason"] == "locked" for e in failed if e not in wrong)
    assert user_details(w, "liming")["locked_until"] is not None
    with pytest.raises(NotAuthenticated):                                        # the right one too
        authenticate(w, "liming", PASSWORDS["liming"])
    for other in ("zhoujing", "auditor"):                                        # nobody else
        assert user_details(w, other)["locked_until"] is None and user_details(w, other)["failed_attempts"] == 0
        assert authenticate(w, other, PASSWORDS[other]).login == other


def test_the_password_is_checked_without_the_write_lock(ws, monkeypatch):
    """While argon2 runs, another writer can take the secrets store's write lock at once."""
    from qms.identity import users
    from qms.identity.secrets import secrets_path
    from qms.store.workspace import open_workspace
    w = open_workspace(ws.root)
    free = []
    real = users.check_password

    def watched(policy, stored, password):
        other = sqlite3.connect(secrets_path(w), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            free.append(True)
        except sqlite3.OperationalError:         # database is locked
            free.append(False)
        finally:
            other.close()
        return real(policy, stored, password)
    monkeypatch.setattr(users, "check_password", watched)
    assert users.authenticate(w, "auditor", PASSWORDS["auditor"]).login == "auditor"
    with pytest.raises(users.NotAuthenticated):
        users.authenticate(w, "auditor", "wrong-password")
    assert free == [True, True]
