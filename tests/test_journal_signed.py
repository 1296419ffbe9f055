"""The signed journal (issue 19): appending, re-chaining or editing audit.log needs the journal
key kept in .qms/identity/keys/; what a person reads in a line is what is hashed; a batch cut short by a
power loss is dropped whole; stored checkpoints are made on their own and journaled."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, Qms, copy_workspace, example_data, snapshot, write_data

from qms.store.journal_entry import GENESIS, _digest, canonical_line


# ------------------------------------------------------------------ a forger without the key

def lines(q: Qms) -> list[bytes]:
    return (q.archive / "audit.log").read_bytes().splitlines(keepends=True)


def forge(q: Qms, action: str, target: str, data: dict, *, actor: str = "admin 管理员", sig: str | None = None) -> dict:
    """Append one entry chained exactly as qms chains it (the hash over the line's bytes, the
    previous batch's signature repeated), with no signature or with `sig` (copied from
    elsewhere: a forger holds no key)."""
    last = json.loads(lines(q)[-1])
    rec = {"action": action, "actor": actor, "at": last["at"], "data": data, "prev": last["hash"],
           "seq": last["seq"] + 1, "target": target}
    if last.get("sig"):
        rec["psig"] = last["sig"]          # a new batch repeats the signature before it
    rec["hash"] = hashlib.sha256(canonical_line(rec)[:-1]).hexdigest()
    if sig is not None:
        rec["sig"] = sig
    with open(q.archive / "audit.log", "ab") as fh:
        fh.write(canonical_line(rec))
    return rec


def a_signature(q: Qms) -> str:
    return next(json.loads(ln)["sig"] for ln in reversed(lines(q)) if b'"sig"' in ln)


def problems(q: Qms) -> str:
    result = q("verify", ok=False)
    assert result.exit_code == 3, result.output
    return result.output


def roles(q: Qms, login: str) -> list[str]:
    return q.as_(login).json("whoami")["roles"]


# ------------------------------------------------------------------ the key and the pin

def test_every_batch_is_signed_by_a_private_key_whose_public_half_is_pinned(qms):
    key = qms.root / ".qms" / "keys" / "journal-key.pem"
    assert oct(key.stat().st_mode)[-3:] == "600"
    entries = [json.loads(ln) for ln in lines(qms)]
    assert entries[0]["action"] == "journal.key"
    pub = (qms.root / ".qms" / "keys" / "journal-key.pub").read_text().strip()
    assert entries[0]["data"]["public_key"] == pub
    assert entries[-1]["sig"]                          # the last entry closes a batch
    # every line is its canonical serialisation, and the hash is over its bytes
    from qms.store.journal_entry import line_digest
    assert all(canonical_line(e) == ln for e, ln in zip(entries, lines(qms)))
    assert all(e["hash"] == line_digest(ln) for e, ln in zip(entries, lines(qms)))

    # A copy of archive/ alone (no .qms, no key) is checked with the pinned public half.
    alone = qms.root.parent / "alone"
    alone.mkdir()
    shutil.copytree(qms.archive, alone / "archive")
    shutil.copyfile(qms.root / "config.yaml", alone / "config.yaml")
    for sub in ("schemas", "templates"):
        shutil.copytree(qms.root / sub, alone / sub)
    assert Qms(alone)("verify").exit_code == 0
    forge(Qms(alone), "user.roles", "auditor", {"roles": ["admin"]}, sig=a_signature(qms))
    out = problems(Qms(alone))
    assert "signature does not verify with the journal's key" in out


def test_a_log_signed_with_another_key_is_named(qms):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from qms.store.journalkey import public_text
    theirs = Ed25519PrivateKey.generate()
    log = qms.archive / "audit.log"
    out, prev = [], GENESIS
    for raw in lines(qms):              # the whole log re-written and re-signed with the forger's key
        rec = json.loads(raw)
        if rec["action"] == "journal.key":
            rec["data"]["public_key"] = public_text(theirs)
        rec["prev"] = prev
        body = {k: v for k, v in rec.items() if k not in ("hash", "sig")}
        rec["hash"] = hashlib.sha256(canonical_line(body)[:-1]).hexdigest()
        if "sig" in rec:
            rec["sig"] = base64.b64encode(theirs.sign(b"qms-journal-v1:" + rec["hash"].encode())).decode()
        prev = rec["hash"]
        out.append(canonical_line(rec))
    log.write_bytes(b"".join(out))
    assert "pins a journal key other than this workspace's" in problems(qms)


def test_a_log_cut_back_at_a_batch_boundary_is_named_by_the_head_kept_beside_the_key(qms):
    qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data", write_data(qms, example_data("QR-SV-022-04"), "r.yaml"))
    log = qms.archive / "audit.log"
    kept = lines(qms)
    log.write_bytes(b"".join(kept[:-1]))       # the last batch (one signed entry) cut off: no key needed
    out = problems(qms)
    assert f"ends at entry {len(kept) - 1} but this workspace committed up to entry {len(kept)}" in out


def test_the_key_lost_stops_writes_with_one_line_and_reads_go_on(qms):
    (qms.root / ".qms" / "keys" / "journal-key.pem").rename(qms.root / "journal-key.pem.bak")
    before = snapshot(qms.archive)
    out = qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
              write_data(qms, example_data("QR-SV-022-04"), "r.yaml"), ok=False)
    assert out.exit_code == 3 and "the journal key is missing" in out.output and "Traceback" not in out.output
    assert snapshot(qms.archive) == before
    assert qms("record", "list").exit_code == 0
    (qms.root / "journal-key.pem.bak").rename(qms.root / ".qms" / "keys" / "journal-key.pem")
    qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data", qms.root / "r.yaml")
    assert qms.json("verify")["ok"]


# ------------------------------------------------------------------ forgeries (issue 19)

def test_an_appended_role_change_without_a_signature_is_caught_and_never_applied(qms):
    assert roles(qms, "auditor") == ["auditor"]
    forged = forge(qms, "user.roles", "auditor", {"roles": ["admin"]})
    out = problems(qms)
    assert f"{forged['seq']} user.roles auditor" in out and "no commit signature" in out
    # Readers never see it; the next write drops the uncommitted line whole (a torn batch looks
    # the same), says so, and keeps it aside: the auditor never becomes an admin.
    assert roles(qms, "auditor") == ["auditor"]
    result = qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
                 write_data(qms, example_data("QR-SV-022-04"), "r.yaml"))
    assert "dropped 1 entry with no commit signature" in result.stderr
    assert f'"seq": {forged["seq"]}'.encode() in (qms.root / ".qms" / "journal-dropped.log").read_bytes()
    assert qms.as_("auditor").fail("user", "add", "mallory", "--name", "某人", "--roles", "admin",
                                   "--password-stdin", input="mallory-pass-2026\n")
    assert qms.json("verify")["ok"]


def test_an_appended_role_change_with_a_copied_signature_is_caught_and_refused(qms):
    forge(qms, "user.roles", "auditor", {"roles": ["admin"]}, sig=a_signature(qms))
    assert "the batch's signature does not verify with the journal's key" in problems(qms)
    before = snapshot(qms.archive)
    refused = qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
                  write_data(qms, example_data("QR-SV-022-04"), "r.yaml"), ok=False)
    assert refused.exit_code == 3 and "signature does not verify" in refused.output
    assert snapshot(qms.archive) == before
    assert roles(qms, "auditor") == ["auditor"]


def _forged_v3(qms) -> tuple[str, str, dict]:
    """A record at v2, and a forger's staged v3 beside an event promising it (no key)."""
    number = qms.json("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
                      write_data(qms, example_data("QR-SV-022-04"), "r.yaml"))["number"]
    qms("record", "amend", number, "--no-pdf", "--reason", "电话号码录入错误", "--set", "customer=上海某某公司")
    v2 = qms.root / qms.json("record", "show", number)["versions"][-1]["folder"]
    rel3 = v2.relative_to(qms.root).as_posix()[:-1] + "3"
    stage = "f0f0f0f0f0f0"
    staged = qms.archive / ".staging" / stage / rel3
    shutil.copytree(v2, staged)
    data = (staged / "data.yaml").read_text(encoding="utf-8").replace("上海某某公司", "假冒公司")
    (staged / "data.yaml").write_text(data, encoding="utf-8")
    files = {}
    manifest = json.loads((staged / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:
        sha = hashlib.sha256((staged / name).read_bytes()).hexdigest()
        manifest["files"][name] = {"sha256": sha, "size": (staged / name).stat().st_size}
        files[f"{rel3}/{name}"] = sha
    (staged / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    files[f"{rel3}/manifest.json"] = hashlib.sha256((staged / "manifest.json").read_bytes()).hexdigest()
    event = {"version": 3, "reason": "更正", "folder": rel3, "retention_until": "2031-12-31", "customer": "假冒公司",
             "pdf_pending": True, "stage": stage, "files": files, "new_folders": [rel3]}
    return number, rel3, event


def test_a_forged_staging_folder_and_event_place_no_fake_version(qms):
    number, rel3, event = _forged_v3(qms)
    copy = copy_workspace(qms, qms.root.parent / "copy" / "ws")

    forge(qms, "record.amend", number, event, actor="tester 测试员")
    assert "no commit signature" in problems(qms)
    qms("recover")
    assert not (qms.root / rel3).exists() and not any((qms.archive / ".staging").glob("*"))
    assert len(qms.json("record", "show", number)["versions"]) == 2
    assert qms.json("verify")["ok"]

    forge(copy, "record.amend", number, event, actor="tester 测试员", sig=a_signature(copy))
    assert "signature does not verify" in problems(copy)
    refused = copy("recover", ok=False)
    assert refused.exit_code == 3 and "signature does not verify" in refused.output
    assert not (copy.root / rel3).exists()
    assert len(copy.json("record", "show", number)["versions"]) == 2


def test_whitespace_or_a_duplicate_key_in_a_line_is_caught(qms):
    log = qms.archive / "audit.log"
    saved = log.read_bytes()
    user_line = next(i for i, ln in enumerate(lines(qms)) if b'"user.created"' in ln and b'"zhaogq"' in ln)

    # A second "actor" shows a reader another signer than the one the hash and the parser see.
    all_lines = lines(qms)
    actor = json.dumps(json.loads(all_lines[user_line])["actor"], ensure_ascii=False)
    all_lines[user_line] = all_lines[user_line].replace(f'"actor": {actor}'.encode(),
                                                        f'"actor": "liming 李明", "actor": {actor}'.encode(), 1)
    log.write_bytes(b"".join(all_lines))
    out = problems(qms)
    assert f"audit.log line {user_line + 1}: duplicate key 'actor'" in out
    shown = qms("log", ok=False)
    assert shown.exit_code == 3 and "duplicate key 'actor'" in shown.output and "Traceback" not in shown.output

    # Whitespace inside a line: the same JSON to a parser, other bytes.
    all_lines = saved.splitlines(keepends=True)
    all_lines[user_line] = all_lines[user_line].replace(b'"actor": ', b'"actor":   ', 1)
    log.write_bytes(b"".join(all_lines))
    assert f"audit.log line {user_line + 1}: not in the journal's canonical form" in problems(qms)
    # a non-canonical escape (\u674e for 李) too
    all_lines = saved.splitlines(keepends=True)
    all_lines[user_line] = all_lines[user_line].replace("赵".encode(), b"\\u8d75", 1)
    log.write_bytes(b"".join(all_lines))
    assert f"audit.log line {user_line + 1}: not in the journal's canonical form" in problems(qms)
    log.write_bytes(saved)
    assert qms.json("verify")["ok"]


# ------------------------------------------------------------------ checkpoints

def test_checkpoints_are_made_every_n_events_and_at_serve_start_and_a_deleted_one_is_reported(qms):
    from qms.store.checkpointer import checkpoint_now
    from qms.records import file_record
    from qms.store.workspace import open_workspace
    ws = open_workspace(qms.root)
    ws.config.checkpoint_every = 4
    for i in range(6):
        file_record(ws, "QR-SV-022-04", write_data(qms, example_data("QR-SV-022-04"), f"r{i}.yaml"),
                    actor="tester 测试员", pdf=False)
    stored = [json.loads(ln) for ln in lines(qms) if b'"journal.checkpoint"' in ln]
    assert stored and all(e["data"]["seq"] % 4 == 0 for e in stored)
    assert all((qms.root / e["data"]["file"]).is_file() for e in stored)

    first = checkpoint_now(ws, actor="qms serve", reason="serve start")
    assert first and (qms.root / first).is_file()
    assert checkpoint_now(ws, actor="qms serve", reason="serve start") is None    # nothing new since
    assert qms.json("verify")["ok"]

    (qms.root / first).unlink()
    assert f"{first}: a stored checkpoint journaled by audit.log entry" in problems(qms)


def test_checkpoint_every_is_read_from_config(tmp_path):
    from qms.base.errors import QmsError
    from qms.store.workspace import init_workspace, load_config
    ws = init_workspace(tmp_path / "ws")
    cfg = ws.root / "config.yaml"
    assert load_config(cfg).checkpoint_every == 1000
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("checkpoint_every: 1000", "checkpoint_every: 50"), encoding="utf-8")
    assert load_config(cfg).checkpoint_every == 50
    cfg.write_text(text.replace("checkpoint_every: 1000", "checkpoint_every: often"), encoding="utf-8")
    try:
        load_config(cfg)
        raise AssertionError("accepted")
    except QmsError as exc:
        assert "journal" in str(exc) and "checkpoint_every" in str(exc)


# ------------------------------------------------------------------ torn writes

def _batch_of_five(qms) -> tuple[Path, bytes]:
    """Import the sample phone log (one batch, one signature at its end) in a copy; returns the
    file and the bytes of the batch as written."""
    copy = copy_workspace(qms, qms.root.parent / "batch" / "ws")
    csv = copy.root / "rows.csv"
    shutil.copyfile(REPO / "examples" / "records" / "phone-log-2026-03.csv", csv)
    size = (copy.archive / "audit.log").stat().st_size
    copy("record", "import", "QR-SV-022-04", csv, "--no-pdf")
    batch = (copy.archive / "audit.log").read_bytes()[size:]
    assert batch.count(b"\n") >= 5 and batch.count(b'"sig"') == 1
    return csv, batch


def test_a_batch_cut_at_any_line_or_byte_is_dropped_whole(qms):
    _, batch = _batch_of_five(qms)
    bounds = [i + 1 for i, b in enumerate(batch) if b == ord("\n")][:-1]      # after each line but the last
    cuts = [1] + bounds + sorted(random.Random(19).sample(range(2, len(batch) - 1), 12)) + [len(batch) - 1]
    base_log = (qms.archive / "audit.log").read_bytes()
    for n, cut in enumerate(cuts):
        q = copy_workspace(qms, qms.root.parent / f"cut{n}" / "ws")
        before = snapshot(q.archive)
        (q.archive / "audit.log").write_bytes(base_log + batch[:cut])     # the power cut
        assert q("record", "list").exit_code == 0                          # the next command (a reader)
        q("recover")
        assert (q.archive / "audit.log").read_bytes() == base_log, f"cut at byte {cut}"
        assert snapshot(q.archive).keys() - {"catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"} <= \
            before.keys()
        assert q.json("verify")["ok"], cut
        shutil.rmtree(q.root.parent)


def test_a_real_torn_write_by_a_power_cut_is_recovered(qms):
    csv, batch = _batch_of_five(qms)
    bounds = [i + 1 for i, b in enumerate(batch) if b == ord("\n")]
    shutil.copyfile(csv, qms.root / "rows.csv")
    env = dict(os.environ, QMS_CONFIG_HOME=str(qms.root.parent / "config-tester"), QMS_TORN_WRITE=str(bounds[2]))
    killed = subprocess.run([sys.executable, "-m", "qms", "-w", str(qms.root), "record", "import", "QR-SV-022-04",
                             "rows.csv", "--no-pdf"], capture_output=True, text=True, env=env, cwd=qms.root)
    assert killed.returncode < 0
    assert (qms.archive / "audit.log").read_bytes().endswith(b"\n")         # three whole lines, no signature
    recovered = qms("recover")
    assert "dropped 3 entries with no commit signature" in recovered.stderr
    assert qms.json("verify")["ok"]
    assert qms.records() == []
    qms("record", "import", "QR-SV-022-04", qms.root / "rows.csv", "--no-pdf")     # the same import now works
    assert len(qms.records()) == batch.count(b"\n")
    assert qms.json("verify")["ok"]


# ------------------------------------------------------------------ before the key

def test_a_log_from_before_signed_journals_stays_valid_and_is_signed_from_its_next_write(qms):
    log = qms.archive / "audit.log"
    out, prev = [], GENESIS
    for seq, raw in enumerate((ln for ln in lines(qms) if b'"journal.key"' not in ln), 1):
        rec = json.loads(raw)
        rec.pop("sig", None)
        rec["seq"], rec["prev"] = seq, prev
        rec["hash"] = _digest(rec)
        prev = rec["hash"]
        out.append(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode() + b"\n")
    log.write_bytes(b"".join(out))                      # as qms wrote it before issue 19
    import sqlite3                                      # … with its secrets store before the MACs of issue 19
    with sqlite3.connect(qms.root / ".qms" / "secrets.sqlite") as db:
        db.execute("UPDATE passwords SET mac=NULL")
        db.execute("UPDATE sessions SET mac=NULL")
    db.close()
    for name in ("keys/journal-key.pem", "keys/journal-key.pub", "journal-head"):
        (qms.root / ".qms" / name).unlink()
    qms.as_("admin")("rebuild")
    qms.as_("admin")("reindex")
    assert qms.json("verify")["ok"]

    qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data", write_data(qms, example_data("QR-SV-022-04"), "r.yaml"))
    entries = [json.loads(ln) for ln in lines(qms)]
    assert entries[-2]["action"] == "journal.key" and entries[-1]["sig"] and len(entries) == len(out) + 2
    assert qms.json("verify")["ok"]
    forge(qms, "user.roles", "auditor", {"roles": ["admin"]})
    assert "no commit signature" in problems(qms)


def test_a_forger_pinning_a_key_of_their_own_is_refused(qms):
    """Appending a pin of another key, then a batch signed with it, to a signed journal."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from qms.store.journalkey import fingerprint, public_text
    theirs = Ed25519PrivateKey.generate()
    forge(qms, "journal.key", "journal", {"algorithm": "Ed25519", "public_key": public_text(theirs),
                                          "fingerprint": fingerprint(theirs)})
    rec = forge(qms, "user.roles", "auditor", {"roles": ["admin"]}, sig="")
    # sign the forged entry with their key (its line rewritten with the signature)
    raw = lines(qms)
    rec["sig"] = base64.b64encode(theirs.sign(b"qms-journal-v1:" + rec["hash"].encode())).decode()
    (qms.archive / "audit.log").write_bytes(b"".join(raw[:-1]) + canonical_line(rec))
    assert "signature does not verify" in problems(qms)
    refused = qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
                  write_data(qms, example_data("QR-SV-022-04"), "r.yaml"), ok=False)
    assert refused.exit_code == 3
    assert roles(qms, "auditor") == ["auditor"]


def test_a_changed_or_removed_signature_inside_the_log_is_named(qms):
    """Only the newest signature is checked by Ed25519; each earlier one is repeated (psig) in the
    hashed first line of the batch after it, so changing or removing one is still caught."""
    raw = lines(qms)
    i = next(n for n, ln in enumerate(raw[:-3]) if b'"sig"' in ln)
    rec = json.loads(raw[i])
    for change in ("AAAA" + rec["sig"][4:], None):
        forged = dict(rec)
        if change is None:
            del forged["sig"]
        else:
            forged["sig"] = change
        (qms.archive / "audit.log").write_bytes(b"".join(raw[:i] + [canonical_line(forged)] + raw[i + 1:]))
        assert f"audit.log line {i + 2}: " in problems(qms)
    (qms.archive / "audit.log").write_bytes(b"".join(raw))
    assert qms.json("verify")["ok"]
