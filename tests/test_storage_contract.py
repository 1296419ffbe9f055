"""The storage contract (issue 26): the same session through the CLI — release a procedure, file
records, sign one, hold one, list, show, rebuild, verify — on the embedded default and on a
workspace made with `qms init --database postgresql://…`, with the same results on both."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from qms.cli import cli

from conftest import (PASSWORDS, REPO, STAFF, Qms, add_staff, copy_into, example_data, make_scan,
                      make_workspace, release_procedure, write_data)


def _init_on(root, database: str) -> Qms:
    """`qms init ROOT --database URL --admin admin` as a user types it, then the staff."""
    result = CliRunner().invoke(cli, ["init", str(root), "--database", database, "--admin", "admin",
                                      "--name", STAFF["admin"][0], "--password-stdin"],
                                input=PASSWORDS["admin"] + "\n")
    assert result.exit_code == 0, result.output
    return add_staff(root)


@pytest.fixture(params=["embedded", "postgresql"])
def store(request, tmp_path):
    """A workspace of the STAFF on one storage; the tester's session."""
    if request.param == "embedded":
        return make_workspace(tmp_path / "ws")
    return _init_on(tmp_path / "ws", request.getfixturevalue("pg_database"))


def _session(qms: Qms, tmp_path) -> dict:
    """What a user reads back after a morning's work; nothing that depends on the storage."""
    copy_into(qms, REPO / "examples" / "tour" / "flow.png")
    number = release_procedure(qms, copy_into(qms, REPO / "examples" / "tour" / "procedure.yaml"))
    notice = write_data(qms, example_data("QR-SV-022-01"), "notice.yaml")
    first = qms.json("record", "file", "QR-SV-022-01", "--data", notice, "--no-pdf")["number"]
    second = qms.json("record", "file", "QR-SV-022-01", "--data", notice, "--no-pdf")["number"]
    report = write_data(qms, example_data("QR-SV-022-02"), "report.yaml")
    signed = qms.json("record", "file", "QR-SV-022-02", "--data", report, "--no-pdf")["number"]
    qms("record", "sign", signed, "--scan", make_scan(tmp_path / "scan.pdf", "signed"), "--signer", "王海涛",
        "--signer-role", "用户代表")
    qms("hold", "add", first, "--reason", "诉讼保全")
    shown = qms.json("record", "show", signed)
    doc = qms.json("doc", "show", number)
    out = {
        "numbers": [number, first, second, signed],
        "records": [(r["number"], r["status"]) for r in qms.records()],
        "awaiting": qms.records("--status", "awaiting_signature"),
        "signatures": [(s["signer"], s["role"]) for s in shown["signatures"]],
        "status": shown["status"],
        "held": qms.json("record", "show", first).get("holds") or qms.json("record", "show", first).get("on_hold"),
        "doc": (doc["number"], doc.get("state") or doc.get("status"), [r.get("revision") for r in doc.get("revisions", [])]),
        "docs": [d["number"] for d in qms.documents()],
    }
    before = qms.json("verify")
    rebuilt = qms("rebuild").output
    after = qms.json("verify")
    out["verify"] = (before["ok"], before["problems"], after["ok"], after["problems"])
    out["rebuilt"] = rebuilt.split(" from ", 1)[1]        # the counts, not where the catalog is
    out["after_rebuild"] = [(r["number"], r["status"]) for r in qms.records()]
    return out


_results: dict[str, dict] = {}


def test_the_same_session_gives_the_same_results(store, tmp_path, request):
    got = _session(store, tmp_path)
    assert got["verify"] == (True, [], True, [])
    assert got["records"] == got["after_rebuild"]
    assert [n for n, _ in got["records"]] == got["numbers"][1:][::-1]       # newest filing first
    assert got["numbers"][1].endswith("-0001") and got["numbers"][2].endswith("-0002")
    kind = request.node.callspec.params["store"]
    # on PostgreSQL the catalog and the journal are in the database, not in the working folder
    in_folder = {p.name for p in store.archive.glob("*")}
    assert ({"audit.log", "catalog.sqlite"} <= in_folder) == (kind == "embedded")
    assert not ({"audit.log", "catalog.sqlite"} & in_folder) or kind == "embedded"
    _results[kind] = got
    if len(_results) == 2:          # both ran (in this order under pytest): the same results
        assert _results["embedded"] == _results["postgresql"]


def test_a_session_edited_outside_qms_is_void_on_both_stores(store):
    """The secrets store seals its rows on PostgreSQL too: an expiry moved in the database is refused."""
    store("whoami")
    if (store.root / ".qms" / "secrets.sqlite").exists():
        import sqlite3
        with sqlite3.connect(store.root / ".qms" / "secrets.sqlite") as db:
            db.create_function("qms_session_mac", 5, lambda *parts: "forged")    # no key outside qms
            db.execute("UPDATE sessions SET expires_at = expires_at + 1000")
    else:
        import psycopg
        from qms.store.workspace import open_workspace
        with psycopg.connect(open_workspace(store.root).config.storage["database"], autocommit=True) as db:
            db.execute("UPDATE qms_secrets.sessions SET expires_at = expires_at + 1000")
    assert "changed outside qms" in store.fail("whoami")


FILER = textwrap.dedent("""
    import sys
    from qms.store.workspace import find_workspace
    from qms.records import file_record
    from qms.startup import start
    start()
    ws = find_workspace(sys.argv[1])
    for i in range(int(sys.argv[3])):
        file_record(ws, "QR-SV-022-04", sys.argv[2], actor="filer-" + sys.argv[4], pdf=False)
    print("done")
""")


def test_four_filers_from_two_working_folders_give_gap_free_numbers(tmp_path, pg_database):
    """Two servers (two working folders, no shared disk) on one database: 4 processes file at once;
    every number is given once, none is skipped, every filing is in the journal once."""
    one = _init_on(tmp_path / "one", pg_database)
    two = tmp_path / "two"           # the second server: the same configuration and keys, its own folder
    shutil.copytree(one.root, two, ignore=shutil.ignore_patterns("archive"))
    data = write_data(one, example_data("QR-SV-022-04"), "call.yaml")
    each = 6
    procs = [subprocess.Popen([sys.executable, "-c", FILER, str(root), str(data), str(each), str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, root in enumerate([one.root, two, one.root, two])]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0 and "done" in out, err
    listed = one.records("--form", "QR-SV-022-04")
    assert sorted(int(r["number"].rsplit("-", 1)[1]) for r in listed) == list(range(1, 4 * each + 1))
    filed = [e for e in one.log() if e["action"] == "record.file"]
    assert sorted(e["target"] for e in filed) == sorted(r["number"] for r in listed)
    assert sorted({e["actor"] for e in filed}) == [f"filer-{i}" for i in range(4)]
    # the other server reads the same catalog
    assert [r["number"] for r in Qms(two).as_("tester").records("--form", "QR-SV-022-04")] == \
        [r["number"] for r in listed]


def _forge_first_filing(qms: Qms) -> None:
    """Someone with write access to the journal's storage edits the first filing's line."""
    from qms.store.workspace import open_workspace
    url = open_workspace(qms.root).config.storage.get("database")
    if url is None:
        log = qms.archive / "audit.log"
        lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
        i = next(i for i, ln in enumerate(lines) if '"action": "record.file"' in ln)
        lines[i] = lines[i].replace("测试员", "伪造者")
        log.write_text("".join(lines), encoding="utf-8")
        return
    import psycopg
    with psycopg.connect(url, autocommit=True) as db:
        seq = db.execute("SELECT min(seq) FROM qms_journal.entries WHERE line LIKE '%\"action\": \"record.file\"%'"
                         ).fetchone()[0]
        db.execute("UPDATE qms_journal.entries SET line = replace(line, '测试员', '伪造者') WHERE seq = %s", (seq,))


def test_checkpoints_and_an_edited_journal_entry_on_both_stores(store, tmp_path, monkeypatch):
    """verify --checkpoint means the same on both stores, and an edited entry is named on both."""
    monkeypatch.setenv("QMS_CHECKPOINT_KEY", str(tmp_path / "key" / "checkpoint-key"))
    admin = store.as_("admin")
    admin("checkpoint", "--init-key")
    data = write_data(store, example_data("QR-SV-022-04"), "call.yaml")
    for _ in range(2):
        store("record", "file", "QR-SV-022-04", "--no-pdf", "--data", data)
    paper = tmp_path / "paper.json"
    cp = admin.json("checkpoint", "-o", paper)
    assert cp["seq"] > 0 and store("verify", "--checkpoint", paper).exit_code == 0
    _forge_first_filing(store)
    out = store("verify", "--checkpoint", paper, ok=False)
    assert out.exit_code != 0
    assert re.search(r"audit.log line \d+: entry hash does not match its content \(the entry was edited\)", out.output)


def test_an_edited_catalog_row_is_named_on_both_stores(store):
    """The live catalog against the journal's replay (inside SQLite on the embedded store, row by
    row on PostgreSQL): an edited row is named alike on both, and a rebuild makes it right."""
    from qms.store.workspace import open_workspace
    data = write_data(store, example_data("QR-SV-022-04"), "call.yaml")
    number = store.json("record", "file", "QR-SV-022-04", "--no-pdf", "--data", data)["number"]
    edit = f"UPDATE records SET retention_until='2000-01-01' WHERE number='{number}'"
    url = open_workspace(store.root).config.storage.get("database")
    if url is None:
        import sqlite3
        db = sqlite3.connect(store.archive / "catalog.sqlite")
        db.execute(edit)
        db.commit()
        db.close()
    else:
        import psycopg
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SET search_path TO qms_catalog")
            db.execute(edit)
    out = store("verify", ok=False)
    assert out.exit_code == 3
    assert f"table records, {number}: retention_until is '2000-01-01' in the catalog, " in out.output
    assert out.output.count("PROBLEM") == 1, out.output
    store("rebuild")
    assert store.json("verify")["ok"]


def test_a_filing_killed_at_each_point_is_recovered_on_both_stores(store):
    """A crash anywhere is recoverable on either store: killed (SIGKILL) after staging, after the
    journal append, after placing the files, after projecting — the next command finishes what
    was logged or leaves no trace of what was not, and verify passes."""
    import os
    import signal
    data = write_data(store, example_data("QR-SV-022-04"), "call.yaml")
    env = dict(os.environ, QMS_CONFIG_HOME=str(store.config_home))
    env.pop("_QMS_CRASH_COUNT", None)
    for point in ("staged", "logged", "placed", "projected"):
        before = len(store.log())
        killed = subprocess.run([sys.executable, "-m", "qms", "-w", str(store.root), "record", "file",
                                 "QR-SV-022-04", "--data", str(data), "--no-pdf"], capture_output=True, text=True,
                                env=dict(env, QMS_CRASH_AT=point), timeout=120)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert "recovered" in store("recover").output
        report = store.json("verify")
        assert report["ok"], (point, report["problems"])
        assert (len(store.log()) == before) == (point == "staged"), point
    listed = store.records("--form", "QR-SV-022-04")
    assert sorted(int(r["number"].rsplit("-", 1)[1]) for r in listed) == [1, 2, 3]


def test_a_server_without_the_secrets_key_refuses_rather_than_reseal(store, tmp_path, monkeypatch):
    """Sessions are shared by every server: one missing the MAC key must not re-seal (and so void)
    everyone's sessions; it says what to copy. The embedded store too: a `qms serve` started with
    another QMS_KEY_DIR or HOME had re-sealed every row with a new key, and the right one then
    refused every login."""
    one = store
    with monkeypatch.context() as m:
        m.setenv("QMS_KEY_DIR", str(tmp_path / "no-keys-here"))
        refused = one("whoami", ok=False)
    assert refused.exit_code == 3 and "no MAC key" in refused.output and "QMS_KEY_DIR" in refused.output
    assert "tester" in one("whoami").output          # the others' sessions were left sealed


def test_the_services_sqlite_sql_reads_the_same_on_postgresql(pg_database, tmp_path):
    """The translation, statement by statement, against SQLite itself: rows by name and position,
    upserts, two-argument MAX, LIKE ignoring ASCII case, NULLs sorted as SQLite sorts them, text in
    byte order, values cast by the column as SQLite's affinity does, sums as ints."""
    from qms.store.catalog import open_catalog
    from qms.store import pg_catalog
    ddl = ["CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)",
           "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, n INTEGER, x REAL, s TEXT)",
           "CREATE TABLE IF NOT EXISTS seqs(key TEXT PRIMARY KEY, value INTEGER NOT NULL)"]
    steps = [
        ("INSERT INTO t(k, n, x, s) VALUES(?,?,?,?)", ("b", 2, 1.5, None)),
        ("INSERT INTO t(k, n, x, s) VALUES(?,?,?,?)", ("a", "7", 2, "Zeta")),
        ("INSERT INTO t(k, n, x, s) VALUES(?,?,?,?)", ("中", 3, None, "alpha")),
        ("INSERT OR IGNORE INTO t(k, n) VALUES(?,?)", ("a", 99)),
        ("INSERT OR REPLACE INTO t(k, n, x, s) VALUES(?,?,?,?)", ("b", 5, 0.25, "Beta")),
        ("INSERT INTO seqs(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=MAX(seqs.value, "
         "excluded.value)", ("q", 4)),
        ("INSERT INTO seqs(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=MAX(seqs.value, "
         "excluded.value)", ("q", 2)),
        ("UPDATE t SET s=? WHERE n=?", ("eta", "3")),
    ]
    reads = [
        ("SELECT * FROM t ORDER BY k", ()),
        ("SELECT k, s FROM t ORDER BY s, k", ()),
        ("SELECT k FROM t ORDER BY s DESC, k", ()),
        ("SELECT k FROM t WHERE s LIKE ? ORDER BY k", ("%ETA",)),
        ("SELECT COUNT(*) AS n, SUM(n) AS total FROM t", ()),
        ("SELECT value FROM seqs WHERE key=?", ("q",)),
        ("SELECT k FROM t WHERE n=?", (7,)),
        ("SELECT name FROM sqlite_master WHERE type='table' AND name='seqs'", ()),
    ]
    lite = open_catalog(tmp_path / "c.sqlite")
    for stmt in ddl:
        lite.execute(stmt)
    pg = pg_catalog.open_pg(pg_database, None, schema_sql=";".join(ddl), added_columns={})
    results = []
    for cat in (lite, pg):
        for sql, args in steps:
            cat.execute(sql, *args)
        got = []
        for sql, args in reads:
            rows = cat.all(sql, *args)
            got.append([(tuple(r), {k: r[k] for k in r.keys()}) for r in rows])
        row = cat.one("SELECT k, n FROM t WHERE k=?", "a")
        got.append((row[0], row["N"], row["n"], list(row.keys())))
        results.append(got)
        cat.close()
    assert results[0] == results[1]
