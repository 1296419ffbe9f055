"""People, permissions, sessions and the lockout, through the CLI as an administrator and staff use it."""

from __future__ import annotations

import json
import stat
import datetime as dt

import time_machine

import pytest
import yaml
from click.testing import CliRunner

from qms.cli import cli

from conftest import Qms, snapshot
from qms.base.dates import now


def later(**delta) -> dt.datetime:
    """A moment after now: time moves for the whole product (qms.base.dates is its one clock)."""
    return now() + dt.timedelta(**delta)

ADMIN_PW = "admin-pass-2026"
PW = {"liming": "liming-pass-1", "wangfang": "wangfang-pass-1", "audit1": "auditor-pass-1"}


@pytest.fixture
def ws(tmp_path) -> Qms:
    """A workspace made by `qms init --admin`, with the admin logged in."""
    root = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["init", str(root), "--admin", "admin", "--name", "张建华",
                                      "--department", "质量部", "--password-stdin"], input=ADMIN_PW + "\n")
    assert result.exit_code == 0, result.output
    assert "administrator admin (张建华)" in result.output
    q = Qms(root)
    q("login", "admin", "--password-stdin", input=ADMIN_PW + "\n")
    return q


def add(q: Qms, login: str, name: str, roles: str, department: str = "质量部"):
    return q("user", "add", login, "--name", name, "--roles", roles, "--department", department,
             "--password-stdin", input=PW[login] + "\n")


def login(q: Qms, name: str, password: str | None = None, ok: bool = True):
    return q("login", name, "--password-stdin", input=(password or PW[name]) + "\n", ok=ok)


def set_identity(q: Qms, **section):
    """Change the identity: section of the workspace's config.yaml (durations, policy)."""
    path = q.root / "config.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in section.items():
        cfg["identity"][key] = value if not isinstance(value, dict) else {**cfg["identity"].get(key, {}), **value}
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    q.apply_config()


def log_actions(q: Qms, target: str) -> list[str]:
    return [e["action"] for e in q.log("--target", target)]


def test_init_creates_admin_and_users_are_journal_events(ws):
    me = ws.json("whoami")
    assert me["login"] == "admin" and me["name"] == "张建华" and "users.manage" in me["permissions"]
    add(ws, "liming", "李明", "author,会签,批准@质量部")
    users = {u["login"]: u for u in ws.json("user", "list")["items"]}
    assert users["liming"]["roles"] == ["author", "会签", "批准@质量部"]
    shown = ws.json("user", "show", "liming")
    assert "doc.sign.countersigned" in shown["permissions"] and "doc.sign.approved@质量部" in shown["permissions"]
    assert shown["created_by"] == "admin 张建华" and shown["has_password"] is True
    ws("user", "roles", "liming", "--set", "author,会签")
    assert ws.json("user", "show", "liming")["roles"] == ["author", "会签"]
    entries = ws.log("--target", "liming")
    assert [e["action"] for e in entries] == ["user.created", "user.roles"]
    assert all(e["actor"] == "admin 张建华" for e in entries)
    assert entries[1]["data"] == {"roles": ["author", "会签"], "previous": ["author", "会签", "批准@质量部"]}
    # the journal and the whole archive hold no password and no hash
    for path in ws.archive.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"$argon2id$" not in data and PW["liming"].encode() not in data, path
    # the users table is a projection of the journal: a replay gives the same rows
    assert ws.json("verify", "--deep")["ok"] is True
    ws("rebuild")
    assert {u["login"]: u["roles"] for u in ws.json("user", "list")["items"]} == {"admin": ["admin"], "liming": ["author", "会签"]}


def test_secrets_live_outside_the_archive_and_are_private(ws, tmp_path):
    private = ws.root / ".qms"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stat.S_IMODE((private / "secrets.sqlite").stat().st_mode) == 0o600
    tokens = list((tmp_path / "config-home" / "sessions").iterdir())
    assert len(tokens) == 1 and stat.S_IMODE(tokens[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(tokens[0].parent.stat().st_mode) == 0o700
    assert not (ws.archive / ".qms").exists() and ".qms/" in (ws.root / ".gitignore").read_text()
    # the workspace keeps only the token's hash
    token = tokens[0].read_text().strip()
    assert token.encode() not in (private / "secrets.sqlite").read_bytes()


def test_no_session_and_missing_permission_are_refused_one_line_archive_unchanged(ws):
    add(ws, "liming", "李明", "author")
    add(ws, "audit1", "审核员甲", "auditor")
    ws("logout")
    before = snapshot(ws.archive)
    out = ws.fail("user", "add", "wangfang", "--name", "王芳", "--roles", "clerk", "--password-stdin")
    assert "no session" in out and out.count("\n") == 1
    for who in ("liming", "audit1"):
        login(ws, who)
        out = ws.fail("user", "add", "wangfang", "--name", "王芳", "--roles", "clerk", "--password-stdin")
        assert "lacks the permission users.manage" in out and out.count("\n") == 1
        assert "lacks the permission users.manage" in ws.fail("user", "disable", "admin", "--reason", "x")
        assert "lacks the permission keys.manage" in ws.fail("keys", "init", "--replace")
        # reading is open to every user
        assert {u["login"] for u in ws.json("user", "list")["items"]} == {"admin", "liming", "audit1"}
    assert ws.json("whoami")["permissions"] == []       # the auditor
    assert snapshot(ws.archive) == before


def test_bad_roles_logins_and_passwords_are_refused(ws):
    before = snapshot(ws.archive)
    assert "unknown role 'boss'" in ws.fail("user", "add", "liming", "--name", "李明", "--roles", "boss",
                                            "--password-stdin")
    assert "unknown role '签发@质量部'" in ws.fail("user", "add", "liming", "--name", "李明", "--roles", "签发@质量部",
                                           "--password-stdin")
    assert "only an approval role" in ws.fail("user", "add", "liming", "--name", "李明", "--roles", "admin@质量部",
                                              "--password-stdin")
    assert "login 'Li Ming'" in ws.fail("user", "add", "Li Ming", "--name", "李明", "--roles", "author",
                                        "--password-stdin")
    out = ws("user", "add", "liming", "--name", "李明", "--roles", "author", "--password-stdin",
             input="short\n", ok=False).output
    assert "at least 8 characters" in out
    assert snapshot(ws.archive) == before


def test_five_wrong_passwords_lock_the_login_and_are_journaled(ws):
    add(ws, "liming", "李明", "author")
    set_identity(ws, lockout={"attempts": 5, "duration": "15m"})
    for n in range(1, 5):
        out = login(ws, "liming", "wrong-password", ok=False).output
        assert "登录名或密码错误" in out and "liming" not in out          # one message: no login oracle
    out = login(ws, "liming", "wrong-password", ok=False).output
    assert "登录名或密码错误" in out
    # locked: even the right password is refused, and the attempt is journaled
    assert "已暂时锁定" in login(ws, "liming", ok=False).output
    actions = log_actions(ws, "liming")
    assert actions == ["user.created"] + ["login.failed"] * 5 + ["login.locked", "login.failed"]
    assert ws.json("user", "show", "liming")["locked_until"]
    with time_machine.travel(later(minutes=14), tick=False):
        assert "已暂时锁定" in login(ws, "liming", ok=False).output      # still locked at 14 minutes
    with time_machine.travel(later(minutes=16), tick=False):
        login(ws, "liming")
        assert ws.json("whoami")["login"] == "liming"
        # a success resets the count
        assert ws.json("user", "show", "liming")["failed_attempts"] == 0


def test_session_idle_timeout_lifetime_and_logout(ws):
    add(ws, "liming", "李明", "author")
    set_identity(ws, session={"idle": "10m", "lifetime": "8h"})
    login(ws, "liming")
    assert ws.json("whoami")["login"] == "liming"
    with time_machine.travel(later(minutes=9), tick=False):
        assert ws.json("whoami")["login"] == "liming"
    with time_machine.travel(later(minutes=20), tick=False):
        assert "session expired (idle too long)" in ws.fail("whoami")
    set_identity(ws, session={"idle": "30m", "lifetime": "1h"})
    login(ws, "liming")
    with time_machine.travel(later(minutes=25), tick=False):
        assert ws.json("whoami")["login"] == "liming"        # used: the idle clock starts again
    with time_machine.travel(later(minutes=50), tick=False):
        assert ws.json("whoami")["login"] == "liming"
    with time_machine.travel(later(minutes=61), tick=False):
        assert "session expired (the session lifetime ended)" in ws.fail("whoami")
    set_identity(ws, session={"idle": "30m", "lifetime": "8h"})
    login(ws, "liming")
    assert "logged out liming" in ws("logout").output
    assert "no session" in ws.fail("whoami")


def test_password_aging_admin_reset_and_own_change(ws):
    add(ws, "liming", "李明", "author")
    set_identity(ws, password={"min_length": 8, "max_age": "30d"})
    login(ws, "liming")
    ws("logout")
    with time_machine.travel(later(days=31), tick=False):      # a month on, the whole session below
        out = login(ws, "liming", ok=False).output
        assert "password of liming has expired" in out and "qms user passwd liming" in out
        ws("logout")
        # own change without a session: current then new password on stdin
        ws("user", "passwd", "liming", "--password-stdin", input=f"{PW['liming']}\nnew-liming-pass\n")
        set_identity(ws, password={"max_age": "90d"})
        login(ws, "liming", "new-liming-pass")
        assert "the new password must differ" in ws(
            "user", "passwd", "--password-stdin", input="new-liming-pass\nnew-liming-pass\n", ok=False).output
        # an admin's reset forces a change at the next login; the user's sessions end
        login(ws, "admin", ADMIN_PW)
        ws("user", "passwd", "liming", "--password-stdin", input="reset-by-admin\n")
        assert "has expired" in login(ws, "liming", "reset-by-admin", ok=False).output
        assert log_actions(ws, "liming").count("user.password_changed") == 2


def test_disabled_login_cannot_log_in_and_is_never_reused(ws):
    add(ws, "liming", "李明", "author")
    ws("user", "disable", "liming", "--reason", "离职")
    assert ws.json("user", "show", "liming")["disabled"] is True
    assert "登录名或密码错误" in login(ws, "liming", ok=False).output    # as a wrong password: no oracle
    login(ws, "admin", ADMIN_PW)
    assert "logins are never reused" in ws.fail("user", "add", "liming", "--name", "李明二", "--roles", "author",
                                                "--password-stdin")
    assert "cannot disable your own login" in ws.fail("user", "disable", "admin", "--reason", "x")


def test_disabling_a_user_ends_their_session(ws, tmp_path):
    add(ws, "liming", "李明", "author")
    other = Qms(ws.root)            # another person: their own config folder, their own session
    other.runner.env = {"QMS_CONFIG_HOME": str(tmp_path / "liming-config")}
    login(other, "liming")
    assert other.json("whoami")["login"] == "liming"
    ws("user", "disable", "liming", "--reason", "离职")
    assert "session ended" in other.fail("whoami")


def test_init_on_an_existing_workspace_without_users_adds_the_admin(tmp_path):
    runner = CliRunner()
    root = tmp_path / "old"
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    assert not (root / ".qms").exists()
    refused = runner.invoke(cli, ["-w", str(root), "hold", "add", "X-1", "--reason", "x"])
    assert refused.exit_code == 1 and "has no users yet" in refused.output and "--admin" in refused.output
    out = runner.invoke(cli, ["init", str(root), "--admin", "boss", "--name", "赵国庆", "--password-stdin"],
                        input=ADMIN_PW + "\n")
    assert out.exit_code == 0, out.output
    again = runner.invoke(cli, ["init", str(root), "--admin", "boss2", "--name", "钱", "--password-stdin"],
                          input=ADMIN_PW + "\n")
    assert again.exit_code == 1 and "already a workspace with users" in again.output
    log = [json.loads(line) for line in (root / "archive" / "audit.log").read_text().splitlines()]
    assert [e["action"] for e in log] == ["journal.key", "config.applied", "user.created", "keys.created"]   # the key pinned first (issue 19)
