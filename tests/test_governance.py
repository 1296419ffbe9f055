"""What governs the archive leaves a trace (issue 19): config.yaml, schemas and templates are
journaled when an admin applies them, an unapplied edit stops every write and is reported by
verify; released PDFs must carry a seal made with the certificate the journal pinned; a file
hard-linked out of the archive is reported; the secrets store refuses a swapped hash, an edited
counter or a stretched session."""

from __future__ import annotations

import os
import shutil

import pytest
import yaml

from conftest import DATA, REPO, copy_into, example_data, release_procedure, snapshot, write_data

LOG = "QR-SV-022-07"      # 服务日志: a form with no signature, quick to file


def file_log(qms, name="log.yaml"):
    return qms("record", "file", LOG, "--data", write_data(qms, example_data(LOG), name), "--no-pdf")


def problems(qms) -> list[str]:
    rep = qms.json("verify", ok=False)
    return rep["problems"]


def edit_yaml(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# ------------------------------------------------------------------ config.yaml, schemas, templates

def test_init_applies_the_first_configuration(qms):
    first = next(e for e in qms.log() if e["action"] != "journal.key")     # after the journal key's pin (issue 19)
    assert first["action"] == "config.applied" and first["actor"] == "qms init"
    assert "config.yaml" in first["data"]["digests"] and f"schemas/{LOG}.yaml" in first["data"]["digests"]
    assert "templates/record.docx" in first["data"]["digests"]
    assert qms.json("verify")["ok"] is True
    assert "nothing to apply" in qms.as_("admin").fail("config", "apply")


@pytest.mark.parametrize("forgery, where, summary", [
    ("auditor may purge", "config.yaml", "role auditor: + records.purge"),
    ("retention 1 day in config", "config.yaml", "retention (default): 5y from year_end → 1d from filed"),
    ("retention 1 day in a schema", f"schemas/{LOG}.yaml", f"retention {LOG}: 5y from year_end → 1d from filed"),
    ("no separation of duties", "config.yaml", "policy separation_of_duties: true → false"),
])
def test_an_unapplied_edit_stops_writes_is_reported_and_applied_only_by_an_admin(qms, forgery, where, summary):
    file_log(qms)
    path = qms.root / where
    if forgery == "auditor may purge":
        edit_yaml(path, lambda c: c["identity"]["roles"].update(auditor=["records.purge"]))
    elif forgery == "retention 1 day in config":
        edit_yaml(path, lambda c: c["records"].update(retention={"period": "1d", "from": "filed"}))
    elif forgery == "retention 1 day in a schema":
        path.write_text(path.read_text(encoding="utf-8").replace("{period: 5y, from: year_end}",
                                                                 "{period: 1d, from: filed}"), encoding="utf-8")
    else:
        edit_yaml(path, lambda c: c["identity"].update(separation_of_duties=False))
    before = snapshot(qms.archive)
    # every write is refused in one line naming the file; the archive is untouched
    msg = qms.fail("record", "file", LOG, "--data", write_data(qms, example_data(LOG), "again.yaml"), "--no-pdf")
    assert where in msg and "qms config apply" in msg and len(msg.strip().splitlines()) == 1
    assert snapshot(qms.archive) == before
    # reads keep working
    assert qms.records()
    # verify reports the unjournaled change
    assert any(p.startswith(where) and "differs from what audit.log entry" in p for p in problems(qms))
    # the edit cannot apply itself: an auditor granted config.apply by the edited file is refused
    if forgery == "auditor may purge":
        edit_yaml(path, lambda c: c["identity"]["roles"].update(auditor=["records.purge", "config.apply"]))
        assert "lacks the permission config.apply" in qms.as_("auditor").fail("config", "apply")
        assert snapshot(qms.archive) == before
        edit_yaml(path, lambda c: c["identity"]["roles"].update(auditor=["records.purge"]))
    assert "config.apply" in qms.as_("tester").fail("config", "apply")
    # an admin applies it: journaled with what changed and who applied it
    out = qms.as_("admin")("config", "apply").output
    assert summary in out
    entry = qms.log()[-1]
    assert entry["action"] == "config.applied" and entry["actor"] == "admin 管理员"
    assert summary in entry["data"]["changes"] and any(c.startswith(where) for c in entry["data"]["changed"])
    assert qms.json("verify")["ok"] is True
    file_log(qms, "after.yaml")


def test_a_configuration_that_does_not_load_is_not_applied(qms):
    schema = qms.root / "schemas" / "QR-BAD-01.yaml"
    schema.write_text("id: QR-BAD-01\ntitle: 坏表单\ntemplate: missing.docx\nfields:\n  - {name: x}\n", encoding="utf-8")
    before = snapshot(qms.archive)
    msg = qms.as_("admin").fail("config", "apply")
    assert "QR-BAD-01.yaml" in msg and "missing.docx" in msg
    assert snapshot(qms.archive) == before
    schema.unlink()
    file_log(qms)                 # back as applied: writes go on


def test_a_changed_template_is_named(qms):
    tpl = qms.root / "templates" / "record.docx"
    tpl.write_bytes(tpl.read_bytes() + b"\0")
    assert "templates/record.docx" in qms.fail("record", "file", LOG, "--data",
                                                write_data(qms, example_data(LOG), "x.yaml"), "--no-pdf")
    assert "templates/record.docx" in qms.as_("admin")("config", "status").output


# ------------------------------------------------------------------ hard links

def test_an_archive_file_hard_linked_outside_is_reported(qms, tmp_path):
    file_log(qms)
    data = next(qms.archive.glob("records/**/data.yaml"))
    os.link(data, tmp_path / "outside.yaml")
    found = problems(qms)
    assert any("hard-linked" in p and "data.yaml" in p for p in found), found


# ------------------------------------------------------------------ seals

@pytest.fixture
def released(qms):
    number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"), pdf=True)
    pdf = next(qms.archive.glob("documents/**/*.pdf"))
    assert qms.json("verify")["ok"] is True
    return number, pdf


def test_a_released_pdf_resealed_with_a_self_made_key_is_caught(released, tmp_path, monkeypatch):
    from qms.adapters.pades import generate_keys, seal_pdf
    from qms.store.workspace import open_workspace
    _, pdf = released
    root = next(p for p in pdf.parents if (p / "config.yaml").exists())
    forger = tmp_path / "forger"
    shutil.copytree(root, forger, ignore=shutil.ignore_patterns("archive"))
    fws = open_workspace(forger)
    generate_keys(fws, replace=True)              # a key of the forger's own, same names in it
    monkeypatch.setattr("qms.adapters.pades.FIELD_NAME", "QmsSeal2")   # a second signature, last in the file
    seal_pdf(fws, pdf, "批准 赵国庆")
    # a real process (verify checks seals in a forked child, whose stderr is the terminal's): one line
    # per problem, none of pyHanko's own log lines with their tracebacks
    import subprocess
    import sys
    env = dict(os.environ, QMS_CONFIG_HOME=str(root.parent / "config-tester"))
    done = subprocess.run([sys.executable, "-m", "qms", "-w", str(root), "verify"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 3 and "not with a certificate the journal pinned" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr + done.stdout and "pyhanko" not in (done.stderr + done.stdout).lower()


def test_a_released_pdf_without_a_seal_and_a_replaced_seal_key_are_reported(released, qms, tmp_path):
    from fpdf import FPDF
    from qms.adapters.pades import generate_keys
    from qms.store.workspace import open_workspace
    _, pdf = released
    plain = FPDF()
    plain.add_page()
    pdf.write_bytes(bytes(plain.output()))
    assert any("without the organisation's seal" in p for p in problems(qms))
    # the seal key replaced behind qms's back: the next release is sealed with an unpinned key
    generate_keys(open_workspace(qms.root), replace=True)
    release_procedure(qms, copy_into(qms, REPO / "examples/procedures/customer-service.yaml"), pdf=True)
    assert sum("not with a certificate the journal pinned" in p for p in problems(qms)) == 1


# ------------------------------------------------------------------ the secrets store

def tamper(qms, *statements):
    """What someone with the file but not the key does: drop qms's triggers, edit rows (the old MAC stays)."""
    import sqlite3
    conn = sqlite3.connect(qms.root / ".qms" / "secrets.sqlite")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    for sql, *args in statements:
        conn.execute(sql, args)
    conn.commit()
    conn.close()


def login(q, login, password):
    return q("login", login, "--password-stdin", input=password + "\n", ok=False)


def test_a_swapped_password_hash_is_refused_at_login(qms):
    from conftest import PASSWORDS
    keeper = qms.as_("auditor")
    tamper(qms, ("UPDATE passwords SET hash=(SELECT hash FROM passwords WHERE login='admin') WHERE login='auditor'",))
    out = login(keeper, "auditor", PASSWORDS["admin"])
    assert out.exit_code == 3 and "password record of auditor" in out.output and "changed outside qms" in out.output
    assert "Traceback" not in out.output
    # the others log in as before; an admin's reset gives a sound record again
    assert login(qms.as_("liming"), "liming", PASSWORDS["liming"]).exit_code == 0
    qms.as_("admin")("user", "passwd", "auditor", "--password-stdin", input="auditor-new-2026\n")
    assert "has expired" in login(keeper, "auditor", "auditor-new-2026").output    # a reset must be changed


@pytest.mark.parametrize("edit", ["DELETE FROM failures WHERE login='liming'",
                                  "UPDATE failures SET count=0 WHERE login='liming'"])
def test_deleted_or_edited_failure_counters_are_refused(qms, edit):
    from conftest import PASSWORDS
    me = qms.as_("liming")
    for _ in range(3):
        assert login(me, "liming", "not-my-password").exit_code == 1
    tamper(qms, (edit,))
    out = login(me, "liming", PASSWORDS["liming"])
    assert out.exit_code == 3 and "changed outside qms" in out.output


def test_a_session_whose_expiry_was_moved_is_void(qms):
    from qms.identity.sessions import token_session
    from qms.store.workspace import open_workspace
    assert qms.json("whoami")["login"] == "tester"
    tamper(qms, ("UPDATE sessions SET expires_at=4070908800 WHERE login='tester'",))      # 2099-01-01
    msg = qms.fail("whoami")
    assert "session record" in msg and "changed outside qms" in msg
    # the web's sessions are the same rows: a stretched one is no session
    ws = open_workspace(qms.root)
    from qms.identity.users import get_user
    from qms.identity.sessions import open_token_session
    token = open_token_session(ws, get_user(ws, "liming"))
    assert token_session(ws, token) is not None
    tamper(qms, ("UPDATE sessions SET expires_at=4070908800 WHERE login='liming'",))
    assert token_session(ws, token) is None



def test_a_workspace_from_before_config_apply_is_told_to_apply_it(tmp_path):
    """A journal with no config.applied (made before this rule): verify says so, and writes wait for
    the admin's first apply."""
    from click.testing import CliRunner
    from conftest import Qms
    from qms.cli import cli
    from qms.identity.users import add_user
    from qms.store.workspace import init_workspace
    ws = init_workspace(tmp_path / "old")
    add_user(ws, "admin", name="管理员", roles=["admin"], password="admin-pass-2026", actor=None)   # the old bootstrap
    q = Qms(ws.root)
    q("login", "admin", "--password-stdin", input="admin-pass-2026\n")
    assert any("never applied" in p for p in problems(q))
    msg = q.fail("user", "add", "liming", "--name", "李明", "--roles", "author", "--password-stdin",
                 input="liming-pass-2026\n")
    assert "never applied" in msg and "qms config apply" in msg
    assert "first configuration applied" in q("config", "apply").output
    q("user", "add", "liming", "--name", "李明", "--roles", "author", "--password-stdin", input="liming-pass-2026\n")
    assert q.json("verify")["ok"] is True
    assert CliRunner().invoke(cli, ["-w", str(ws.root), "config", "status"]).exit_code == 0


def test_the_web_refuses_writes_too_and_keeps_reading(qms):
    import json
    from test_web import client_for
    from qms.web import create_app
    edit_yaml(qms.root / "config.yaml", lambda c: c["identity"].update(separation_of_duties=False))
    app = create_app(qms.root)
    c, csrf = client_for(app, "tester")
    data = json.loads(json.dumps(example_data(LOG), default=str))
    r = c.post("/api/records", json={"form": LOG, "data": data, "pdf": False}, headers={"x-csrf-token": csrf})
    assert r.status_code in (400, 403, 409) and "config.yaml" in r.json()["error"], r.text
    assert c.get("/api/records").status_code == 200
