"""The journal (issue 10): a crash at any point is recovered by the next command; forgeries are
reported by plain `qms verify` (or with a signed checkpoint); the catalog is the projection."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PASSWORDS, REPO, DATA, Qms, copy_workspace, make_workspace, copy_into, example_data, make_scan, release_procedure, snapshot, write_data

AS_OF = "2026-11-23"


def run_qms(ws: Path, *args: str, crash: str | None = None, timeout: float = 120,
            who: str = "tester") -> subprocess.CompletedProcess:
    """The real command in its own process, in `who`'s session (a signer types their password),
    optionally killed (SIGKILL) at a named crash point."""
    env = dict(os.environ, QMS_CONFIG_HOME=str(ws.parent / f"config-{who}"))
    env.pop("_QMS_CRASH_COUNT", None)
    if crash:
        env["QMS_CRASH_AT"] = crash
    else:
        env.pop("QMS_CRASH_AT", None)
    return subprocess.run([sys.executable, "-m", "qms", "-w", str(ws), *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ws,
                          input=PASSWORDS[who] + "\n" if "--password-stdin" in args else None)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A workspace holding what every crash case acts on: a released procedure with its PDF,
    a second one fully signed (to release), a third as a draft (to sign), a record awaiting
    its signature, and two records of 2019 past their retention."""
    root = tmp_path_factory.mktemp("journal") / "ws"
    q = make_workspace(root)
    ws = q
    released = release_procedure(q, copy_into(q, DATA / "design-control.yaml"), pdf=True)
    src = copy_into(q, REPO / "examples" / "procedures" / "customer-service.yaml")
    number = q.json("doc", "submit", src)["number"]
    for role, name in [("编制", "张建华"), ("会签", "李明"), ("审定", "王立新"), ("批准", "赵国庆")]:
        q.sign(number, role, name)
    draft = q.json("doc", "submit", copy_into(q, REPO / "examples" / "procedures" / "service-process-control.yaml"))
    rec = q.json("record", "file", "QR-SV-022-02", "--data",
                 write_data(q, example_data("QR-SV-022-02"), "report.yaml"), "--no-pdf")
    for i in range(2):
        q("record", "file", "QR-SV-022-04", "--on", "2019-06-01", "--no-pdf", "--data",
          write_data(q, example_data("QR-SV-022-04", call_date="2019-06-01"), f"old{i}.yaml"))
    write_data(q, example_data("QR-SV-022-02", contact="王海涛 021-55550000"), "fix.yaml")
    make_scan(ws.root / "signed.pdf", "signed by the customer")
    shutil.copyfile(REPO / "examples" / "records" / "phone-log-2026-03.csv", ws.root / "phone-log.csv")
    (ws.root / "names.json").write_text(json.dumps(
        {"released": released, "to_release": number, "draft": draft["number"], "record": rec["number"]}))
    assert q.json("verify")["ok"]
    return ws.root


OPS = {
    "file": lambda n: ["record", "file", "QR-SV-022-02", "--data", "report.yaml", "--no-pdf"],
    "import": lambda n: ["record", "import", "QR-SV-022-04", "phone-log.csv", "--no-pdf"],
    "amend": lambda n: ["record", "amend", n["record"], "--data", "fix.yaml", "--reason", "电话号码录入错误",
                        "--no-pdf"],
    "record-sign": lambda n: ["record", "sign", n["record"], "--scan", "signed.pdf", "--signer", "王海涛"],
    "doc-sign": lambda n: ["doc", "sign", n["draft"], "--role", "编制", "--password-stdin"],
    "release": lambda n: ["doc", "release", n["to_release"], "--issued", "2026-04-01", "--effective",
                          "2026-04-10", "--no-pdf"],
    "issue-copy": lambda n: ["doc", "issue-copy", n["released"], "--holder", "生产部"],
    "obsolete": lambda n: ["doc", "obsolete", n["released"], "--reason", "并入新程序"],
    "purge": lambda n: ["purge", "--as-of", AS_OF, "--yes"],                 # the keeper's proposal
    "approve": lambda n: ["disposal", "approve", n["proposal"], "--password-stdin"],   # destroys
}
POINTS = ["staged", "logged", "placed", "projected"]
CASES = [(op, p) for op in OPS for p in POINTS] + [("approve", "destroying")]
WHO = {"doc-sign": "zhangjh", "approve": "liujun"}


def entries(ws: Path) -> int:
    log = ws / "archive" / "audit.log"
    return sum(1 for line in log.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.mark.parametrize("op,point", CASES, ids=[f"{o}@{p}" for o, p in CASES])
def test_a_crash_at_any_point_is_recovered(base, tmp_path, op, point):
    ws = tmp_path / "ws"
    q = copy_workspace(Qms(base), ws)
    names = json.loads((ws / "names.json").read_text())
    if op == "approve":
        names["proposal"] = q.json("purge", "--as-of", AS_OF, "--yes")["proposal"]
    args = OPS[op](names)
    who = WHO.get(op, "tester")
    before = entries(ws)

    killed = run_qms(ws, *args, crash=point, who=who)
    assert killed.returncode == -signal.SIGKILL, f"{op} did not reach {point}: {killed.stdout}{killed.stderr}"

    recovered = q("recover")
    assert "recovered" in recovered.output
    report = q.json("verify")
    assert report["ok"], report["problems"]
    after = entries(ws)
    # Wholly there (its event was logged) or wholly absent (it was not).
    assert (after == before) == (point == "staged")
    leftovers = [p for d in (".staging", ".tmp") for p in (ws / "archive" / d).glob("*")]
    assert leftovers == []

    again = run_qms(ws, *args, who=who)
    assert again.returncode in (0, 1) and "Traceback" not in again.stderr, again.stderr
    if after == before:
        assert again.returncode == 0, again.stderr      # nothing happened: the same command now works
    assert q.json("verify")["ok"]


def test_lines_are_read_back_from_an_offset_whatever_their_length():
    """The last line (every append reads it) and the line before an offset (verify and recovery
    read it): a purge of 10,000 records writes a 2.9 MB line, which took 0.6 s to read back."""
    import io
    import time
    from qms.store.audit import _last_line, _line_before
    long = b"x" * (8 << 20)
    log = io.BytesIO(b"first\n" + b"y" * 10000 + b"\n" + long + b"\n\n")
    started = time.perf_counter()
    assert _last_line(log) == long
    assert _line_before(log, len(log.getvalue()) - 1) == long
    assert time.perf_counter() - started < 1.0          # each block searched once, not the whole again
    assert _line_before(log, 6) == b"first" and _line_before(log, 6 + 10001) == b"y" * 10000
    assert _line_before(log, 0) == b"" and _last_line(io.BytesIO(b"")) == b""
    assert _line_before(io.BytesIO(b"only"), 4) == b"only" and _last_line(io.BytesIO(b"only\n\n")) == b"only"


def test_a_torn_last_line_is_dropped_and_the_next_command_works(base, tmp_path):
    ws = tmp_path / "ws"
    q = copy_workspace(Qms(base), ws)
    log = ws / "archive" / "audit.log"
    with open(log, "ab") as fh:
        fh.write(b'{"seq": 99, "actor": "half')          # power cut in the middle of a write
    q("record", "file", "QR-SV-022-02", "--data", ws / "report.yaml", "--no-pdf")
    assert q.json("verify")["ok"]


# ------------------------------------------------------------------ forgeries

@pytest.fixture
def ws(base, tmp_path) -> Qms:
    root = tmp_path / "ws"
    q = copy_workspace(Qms(base), root)
    q("record", "sign", json.loads((root / "names.json").read_text())["record"], "--scan", root / "signed.pdf",
      "--signer", "王海涛")
    proposal = q.json("purge", "--as-of", AS_OF, "--yes")["proposal"]
    q.as_("liujun")("disposal", "approve", proposal, "--password-stdin", input=PASSWORDS["liujun"] + "\n")
    assert q.json("verify")["ok"]
    return q


def names(q: Qms) -> dict:
    return json.loads((q.root / "names.json").read_text())


def rewrite_with_manifest(folder: Path, name: str, data: bytes) -> None:
    """The careful forger: edit a file and put its new hash into manifest.json."""
    import hashlib
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))


def problems(q: Qms, *extra) -> str:
    result = q("verify", *extra, ok=False)
    assert result.exit_code == 3, result.output
    return result.output


def record_folder(q: Qms, number: str) -> Path:
    return q.root / q.json("record", "show", number)["versions"][-1]["folder"]


def rechain(log: Path, keep, change=None) -> None:
    """Rewrite the log without some entries (or with some changed), every hash recomputed as qms
    computes it: a forger who knows the format but holds no key (the old signatures are kept)."""
    import hashlib
    from qms.store.journal_entry import GENESIS, _digest, canonical_line
    out, prev, seq, signed = [], GENESIS, 1, False
    for line in log.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if not keep(rec):
            continue
        if change:
            change(rec)
        rec["seq"], rec["prev"] = seq, prev
        signed = signed or rec["action"] == "journal.key"
        body = {k: v for k, v in rec.items() if k not in ("hash", "sig")}
        rec["hash"] = hashlib.sha256(canonical_line(body)[:-1]).hexdigest() if signed else _digest(rec)
        prev, seq = rec["hash"], seq + 1
        out.append(json.dumps(rec, ensure_ascii=False, sort_keys=True))
    log.write_text("\n".join(out) + "\n", encoding="utf-8")


@pytest.mark.parametrize("what", ["data.yaml", "docx", "scan", "certificate"])
def test_a_file_edited_together_with_its_manifest_is_caught(ws, what):
    q = ws
    if what == "data.yaml":
        folder, name = record_folder(q, names(q)["record"]), "data.yaml"
    elif what == "scan":
        folder, name = record_folder(q, names(q)["record"]), "signed-scan.pdf"
    elif what == "docx":
        shown = q.json("doc", "show", names(q)["released"])
        folder, name = (q.root / shown["files"]["docx"]).parent, Path(shown["files"]["docx"]).name
    else:
        folder, name = q.root / q.json("disposal", "list")["items"][0]["folder"], "certificate.json"
    data = (folder / name).read_bytes()
    rewrite_with_manifest(folder, name, data.replace(b"a", b"b", 1) if what != "data.yaml"
                          else data.replace("021".encode(), "010".encode(), 1) + b"# forged\n")
    out = problems(q)
    assert f"{q.root.name and folder.relative_to(q.root).as_posix()}/manifest.json" in out
    assert "audit.log entry" in out


def test_extra_files_symlinks_and_missing_folders_are_named(ws):
    q = ws
    folder = record_folder(q, names(q)["record"])
    (folder / "notes.txt").write_text("not archived by qms")
    (q.archive / "records" / "stray.pdf").write_bytes(b"%PDF-1.4 stray")
    out = problems(q)
    assert "notes.txt: not listed in the manifest" in out and "records/stray.pdf" in out
    (folder / "notes.txt").unlink()
    (q.archive / "records" / "stray.pdf").unlink()

    scan = folder / "signed-scan.pdf"
    target = q.root / "elsewhere.pdf"
    shutil.move(scan, target)
    scan.symlink_to(target)
    assert "signed-scan.pdf: a symbolic link" in problems(q)
    scan.unlink()
    shutil.move(target, scan)
    assert q.json("verify")["ok"]

    shutil.rmtree(folder.parent)
    out = problems(q)
    assert f"{folder.relative_to(q.root).as_posix()}: named by audit.log entry" in out


def test_a_middle_record_removed_from_files_and_log_leaves_a_gap_verify_names(ws):
    q = ws
    numbers = [q.json("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
                      write_data(q, example_data("QR-SV-022-04"), f"n{i}.yaml"))["number"] for i in range(3)]
    middle = numbers[1]
    shutil.rmtree(record_folder(q, middle).parent)
    rechain(q.archive / "audit.log", lambda rec: rec["target"] != middle)
    out = problems(q)
    assert re.search(r"number \d+ is missing before " + re.escape(numbers[2]), out)
    # re-chaining needs no key, but every later batch's signature no longer verifies (issue 19)
    assert "the batch's signature does not verify with the journal's key" in out
    refused = q("rebuild", ok=False)
    assert refused.exit_code == 3 and "cannot be trusted" in refused.output


def test_truncating_the_log_and_rebuilding_is_caught_by_a_checkpoint(ws, tmp_path, monkeypatch):
    q = ws
    monkeypatch.setenv("QMS_CHECKPOINT_KEY", str(tmp_path / "key" / "checkpoint-key"))
    out = q("checkpoint", "--init-key").output
    assert "BEGIN PUBLIC KEY" in out and oct((tmp_path / "key" / "checkpoint-key").stat().st_mode)[-3:] == "600"
    last = q.json("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
                  write_data(q, example_data("QR-SV-022-04"), "last.yaml"))["number"]
    paper = tmp_path / "paper-copy.json"
    cp = q.json("checkpoint", "-o", paper)
    # the stored copy is journaled (issue 19): one entry after the head it vouches for
    assert cp["seq"] == entries(q.root) - 1 and paper.is_file()
    assert q("verify", "--checkpoint", paper).exit_code == 0

    # The forger removes the last record and the lines after it (whole signed batches: no key
    # needed to cut), then rebuilds: the stored checkpoint still vouches for the cut entries …
    shutil.rmtree(record_folder(q, last).parent)
    log = q.archive / "audit.log"
    log.write_text("".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[:-2]), encoding="utf-8")
    q("rebuild")
    q("reindex")
    stored = q.root / cp["file"]
    assert f"{cp['file']}: vouches for {cp['seq']} journal entries but audit.log ends at {cp['seq'] - 1}" \
        in problems(q)
    # … and with it deleted too, the head this workspace last committed (.qms/, beside the key)
    # still names the cut …
    stored.unlink()
    assert f"ends at entry {cp['seq'] - 1} but this workspace committed up to entry {cp['seq'] + 1}" \
        in problems(q)
    # … a forger who can also write .qms/ fools plain verify; the paper copy is not fooled.
    (q.root / ".qms" / "journal-head").unlink()
    assert q.json("verify")["ok"]
    out = problems(q, "--checkpoint", paper)
    assert f"ends at seq {cp['seq'] - 1}" in out

    # Re-chaining the whole log from an earlier entry names the first divergent seq.
    rechain(log, lambda rec: not (rec["action"] == "record.sign"))
    sign_seq = next(e["seq"] for e in q.log() if e["action"] == "record.sign") if False else None
    out = problems(q, "--checkpoint", paper)
    assert re.search(r"audit.log entry \d+: differs from the checkpoint", out)
    del sign_seq

    # An edited checkpoint is refused.
    doc = json.loads(paper.read_text())
    doc["checkpoint"]["seq"] += 1
    paper.write_text(json.dumps(doc))
    assert "signature does not match" in problems(q, "--checkpoint", paper)


def test_a_removed_signature_is_caught(ws):
    q = ws
    number = names(q)["record"]
    folder = record_folder(q, number)
    (folder / "signed-scan.pdf").unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]["signed-scan.pdf"]
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    rechain(q.archive / "audit.log", lambda rec: rec["action"] != "record.sign")
    out = problems(q)
    assert "catalog.sqlite" in out and number in out


def test_an_emptied_or_missing_log_and_a_missing_catalog_are_errors(ws):
    q = ws
    log = q.archive / "audit.log"
    saved = log.read_bytes()
    log.write_bytes(b"")
    assert "the journal is empty although the archive holds" in problems(q)
    log.unlink()
    assert "the journal is missing although the archive holds" in problems(q)
    log.write_bytes(saved)
    assert q.json("verify")["ok"]
    (q.archive / "catalog.sqlite").rename(q.root / "catalog.bak")
    assert "catalog.sqlite: missing" in problems(q)


def test_an_edited_catalog_row_is_named_and_purge_refuses_it(ws):
    q = ws
    number = q.json("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
                    write_data(q, example_data("QR-SV-022-04"), "young.yaml"))["number"]
    conn = sqlite3.connect(q.archive / "catalog.sqlite")
    conn.execute("UPDATE records SET retention_until='2000-01-01' WHERE number=?", (number,))
    conn.commit()
    conn.close()
    out = problems(q)
    assert f"table records, {number}: retention_until is '2000-01-01' in the catalog" in out
    before = snapshot(q.archive / "records")
    refused = q("purge", "--as-of", AS_OF, "--yes", ok=False)
    assert refused.exit_code == 3 and "disagrees with the journal" in refused.output
    assert snapshot(q.archive / "records") == before
    q("rebuild")
    assert q.json("verify")["ok"]


def test_each_kind_of_planted_catalog_difference_is_named_and_equal_tables_stay_in_sqlite(ws, monkeypatch):
    """Verify settles equal tables inside SQLite and compares a differing one row by row: a change in
    a table with a unique key (record_fields, revisions; record_versions in its key), in one without (approvals) and a row there
    twice (signatures) are each named, and only their tables are loaded into Python."""
    from qms.store import catalog, replay
    from qms.store.workspace import open_workspace
    q = ws
    w = open_workspace(q.root)
    loaded = []
    real = replay.table_rows
    monkeypatch.setattr(replay, "table_rows", lambda cat, table: loaded.append(table) or real(cat, table))

    def differences():
        loaded.clear()
        with catalog.open_for(w, create=False) as live, replay.replay_in_memory(w) as truth:
            return replay.compare(live, truth)

    assert differences() == [] and loaded == []
    conn = sqlite3.connect(q.archive / "catalog.sqlite")
    conn.executescript("""
        UPDATE record_fields SET value='改过的值'
          WHERE (form, name, number) = (SELECT form, name, number FROM record_fields LIMIT 1);
        UPDATE revisions SET title='改过的标题' WHERE id=(SELECT MIN(id) FROM revisions);
        UPDATE record_versions SET version=7 WHERE number=(SELECT MIN(number) FROM record_versions);
        UPDATE approvals SET meaning='改过的含义' WHERE id=(SELECT MIN(id) FROM approvals);
        INSERT INTO signatures SELECT * FROM signatures LIMIT 1;""")
    conn.close()
    out = differences()
    assert sorted(set(loaded)) == sorted({"record_fields", "revisions", "record_versions", "approvals", "signatures"})
    assert any(line.startswith("table record_fields: in the catalog but not in the log (1×)") and "改过的值" in line
               for line in out), out
    assert any(line.startswith("table record_fields: follows from the log but is missing from the catalog (1×)")
               for line in out), out
    assert any(line.startswith("table revisions, ") and "title is '改过的标题' in the catalog" in line for line in out)
    assert any(line.startswith("table approvals: in the catalog but not in the log (1×)") and "改过的含义" in line
               for line in out), out
    assert any(line.startswith("table signatures: in the catalog but not in the log (1×)") for line in out), out
    assert any(line.startswith("table record_versions, ") and " 7: in the catalog but not in the log" in line
               for line in out), out
    assert any(line.startswith("table record_versions, ") and " 1: follows from the log but is missing" in line
               for line in out), out
    assert len(out) == 8, out
    report = problems(q)
    assert "改过的值" in report and "改过的标题" in report and "改过的含义" in report and "table signatures" in report
    q("rebuild")
    assert q.json("verify")["ok"]


def test_garbage_in_place_of_the_catalog_is_reported_not_a_traceback(ws):
    q = ws
    (q.archive / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (q.archive / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    result = q("verify", ok=False)
    assert result.exit_code == 3 and "catalog.sqlite" in result.output and "Traceback" not in result.output
    q("rebuild")
    q("reindex")
    assert q.json("verify")["ok"]


# ------------------------------------------------------------------ one projection

def test_rebuild_gives_the_live_catalog_row_for_row(ws):
    from qms.store.catalog import open_catalog
    from qms.store.replay import compare
    q = ws
    live_copy = q.root / "live.sqlite"
    shutil.copyfile(q.archive / "catalog.sqlite", live_copy)
    for suffix in ("-wal",):
        if (q.archive / f"catalog.sqlite{suffix}").exists():
            shutil.copyfile(q.archive / f"catalog.sqlite{suffix}", q.root / f"live.sqlite{suffix}")
    q("rebuild")
    with open_catalog(live_copy, create=False) as live, open_catalog(q.archive / "catalog.sqlite",
                                                                     create=False) as rebuilt:
        assert compare(live, rebuilt) == []
    assert q.json("verify")["ok"]


def test_only_the_projection_writes_catalog_tables():
    src = REPO / "src"
    hits = []
    for path in sorted((src / "qms").rglob("*.py")):
        module = ".".join(path.relative_to(src).with_suffix("").parts)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\b(INSERT|UPDATE|DELETE)\b", line) and "journal_mode" not in line:
                hits.append((module, n))
    assert any(m == "qms.store.projection" for m, _ in hits)        # the search sees the one writer
    # identity's secrets, sessions and users write the secrets store (.qms/secrets.sqlite), not the catalog;
    # identity.projection is the users table's handler, registered with the projection
    allowed = {"qms.store.projection", "qms.identity.secrets", "qms.identity.sessions", "qms.identity.users",
               "qms.identity.user_projection"}
    # PostgreSQL (issue 26): the catalog's SQL translation, the journal's table, the secrets' tables
    allowed |= {"qms.store.pg_catalog", "qms.store.pg_journal", "qms.store.pg_secrets"}
    # search totals (issue 21) are kept in their own file beside the index (archive/index.totals.sqlite)
    allowed |= {"qms.search.totals"}
    # the search index on PostgreSQL (issue 26): its own tables (search_docs …), like whoosh's files
    allowed |= {"qms.search._postgres"}
    # qms migrate (issue 26) copies the secrets store's rows as they are (their MACs kept)
    allowed |= {"qms.migrate.secrets_copy"}
    # a service's own tables are projected by its package's projection module (registered at start-up)
    assert [f"{m}:{n}" for m, n in hits if m not in allowed and not m.endswith("_rows")] == []


def test_a_command_killed_while_libreoffice_converts_leaves_no_soffice_and_no_temp(base, tmp_path):
    ws = tmp_path / "ws"
    q = copy_workspace(Qms(base), ws)
    killed = run_qms(ws, "record", "file", "QR-SV-022-02", "--data", "report.yaml", crash="converting")
    assert killed.returncode == -signal.SIGKILL
    tmp = ws / "archive" / ".tmp"
    assert list(tmp.glob("*")), "the killed command left no private temp folder: nothing to prove"
    q("recover")
    assert not tmp.exists() or list(tmp.glob("*")) == []
    import time
    for _ in range(100):           # a killed soffice may take a moment to go: wait for that, not a fixed time
        alive = subprocess.run(["pgrep", "-f", str(tmp)], capture_output=True, text=True).stdout.split()
        if not alive:
            break
        time.sleep(0.05)
    assert alive == []
    assert q.json("verify")["ok"]
    again = run_qms(ws, "record", "file", "QR-SV-022-02", "--data", "report.yaml")
    assert again.returncode == 0, again.stderr


def test_every_file_a_filing_names_is_on_disk_before_its_journal_line(qms, monkeypatch):
    # One record filed by itself: each file its event names (data.yaml, the rendered .docx, an
    # attachment, the manifest) is fsynced before the fsync of audit.log. The .docx and attachments
    # were not: after a power cut recovery found them empty and refused to place the folder.
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    data = write_data(qms, example_data("QR-SV-022-04"), "call.yaml")
    make_scan(qms.root / "note.pdf", "a note")
    number = qms.json("record", "file", "QR-SV-022-04", "--data", data, "--attach", qms.root / "note.pdf",
                      "--no-pdf")["number"]
    logged = next(i for i, p in enumerate(synced) if p.endswith("/archive/audit.log"))
    before = synced[:logged]
    entry = [json.loads(x) for x in (qms.archive / "audit.log").read_text(encoding="utf-8").splitlines()
             if f'"{number}"' in x and '"record.file"' in x][0]
    named = entry["data"]["files"]
    assert len(named) == 4, named
    for rel in named:
        assert any(p.endswith(f"/{rel}") for p in before), f"{rel} was not fsynced before the journal line"
