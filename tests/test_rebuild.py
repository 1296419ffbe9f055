"""`qms rebuild`: the catalog is derived, so a replay of the audit log gives it back — every
table, every view a user sees, the numbering — and an edited log is refused."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from qms import audit
from qms.errors import QmsError
from qms.rebuild import compare_catalogs, count_events, rebuild_catalog
from qms.workspace import init_workspace, open_workspace

from conftest import copy_workspace, DATA, REPO, Qms, copy_into, example_data, make_scan, release_procedure, write_data, make_workspace

AS_OF = "2026-11-23"
PHONE_LOG = REPO / "examples" / "records" / "phone-log-2026-03.csv"


def file_on(qms: Qms, form_id: str, on: str, **changes) -> str:
    path = write_data(qms, example_data(form_id, **changes), f"{form_id}-{on}.yaml")
    return qms.json("record", "file", form_id, "--data", path, "--on", on, "--no-pdf")["number"]


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Qms:
    """A year of a small quality system: documents released, revised, copied, withdrawn; records
    filed, imported, signed, amended, held, purged, converted to PDF and compiled."""
    qms = make_workspace(tmp_path_factory.mktemp("session") / "ws")

    # QP-SC-015: released with its PDF, two controlled copies, one recalled, then withdrawn (作废).
    service = release_procedure(qms, copy_into(qms, REPO / "examples" / "procedures" / "customer-service.yaml"),
                                issued="2026-01-05", effective="2026-01-12", pdf=True)
    qms("doc", "issue-copy", service, "--holder", "客户服务部")
    qms("doc", "issue-copy", service, "--holder", "质量部")
    qms("doc", "recall", service, "--copy", "1")
    qms("doc", "obsolete", service, "--reason", "并入服务过程控制程序", "--on", "2026-10-01")

    # QP-RD-007: A/0, then A/1 whose first draft is replaced before anyone signs it.
    source = copy_into(qms, DATA / "design-control.yaml")
    design = release_procedure(qms, source)
    source.write_text(source.read_text(encoding="utf-8").replace("计划书经技术负责人批准后实施。",
                                                                  "计划书经总工程师批准后实施。"), encoding="utf-8")
    qms("doc", "submit", source, "--change", "策划批准人改为总工程师")
    source.write_text(source.read_text(encoding="utf-8").replace("title: 设计和开发控制程序",
                                                                  "title: 设计开发控制程序"), encoding="utf-8")
    release_procedure(qms, source, issued="2026-05-25", effective="2026-06-01", change="策划批准人改为总工程师；标题简化",
                      signers=[("prepared", "张建华"), ("countersigned", "李明"), ("reviewed", "王立新"),
                               ("approved", "赵国庆")])
    assert qms.json("doc", "show", design, "--as-of", AS_OF)["revision"] == "A/1"

    # XX-XX-022: a draft in review (prepared only).
    draft = qms.json("doc", "submit", copy_into(qms, REPO / "examples" / "procedures"
                                                / "service-process-control.yaml"))["number"]
    qms.sign(draft, "编制", "张建华")

    # Records, one by one: paper records of 2019 (due) and this year's.
    file_on(qms, "QR-SV-022-01", "2019-03-01")                                   # 01-2019-0001 → disposed
    file_on(qms, "QR-SV-022-01", "2019-05-01", customer="鞍钢集团矿业公司")        # 01-2019-0002 → held
    file_on(qms, "QR-SV-022-03", "2019-08-01")                                   # 03-2019-0001 → hold released, disposed
    file_on(qms, "QR-SV-022-02", "2019-06-01")                                   # 02-2019-0001 → signed, disposed
    notice = file_on(qms, "QR-SV-022-01", "2026-03-05")                          # → amended
    report = file_on(qms, "QR-SV-022-02", "2026-03-11")                          # → signed
    file_on(qms, "QR-SV-022-02", "2026-04-02", customer="本钢板材股份有限公司")     # awaits signature
    scan = make_scan(qms.root / "signed.pdf", "Field report signed: Wang Haitao")
    qms("record", "sign", "QR-SV-022-02-2019-0001", "--scan", scan, "--signer", "王海涛")
    qms("record", "sign", report, "--scan", scan, "--signer", "王海涛", "--signer-role", "设备科长")

    # A month of phone calls imported in one batch (three rows), without PDFs.
    with PHONE_LOG.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:3]
    with (qms.root / "calls.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert len(qms.json("record", "import", "QR-SV-022-04", qms.root / "calls.csv", "--no-pdf")) == 3

    fix = write_data(qms, example_data("QR-SV-022-01", customer="华东电力设备有限公司（二分厂）"), "notice-fix.yaml")
    qms("record", "amend", notice, "--data", fix, "--reason", "用户单位名称补全", "--no-pdf")
    qms("record", "amend", report, "--data", write_data(qms, example_data("QR-SV-022-02", contact="王海涛（设备科）"),
                                                           "report-fix.yaml"), "--reason", "联系人补全", "--no-pdf")

    qms("hold", "add", "QR-SV-022-01-2019-0002", "--reason", "用户投诉纠纷，法务部要求保留")
    qms("hold", "add", "QR-SV-022-03-2019-0001", "--reason", "内审抽样")
    qms("hold", "release", "QR-SV-022-03-2019-0001", "--reason", "抽样完毕")
    qms("hold", "add", report, "--reason", "质量事故调查")
    qms("hold", "release", report, "--reason", "调查结案")

    purged = qms.json("purge", "--as-of", AS_OF, "--yes")
    assert sorted(purged["disposed"]) == ["QR-SV-022-01-2019-0001", "QR-SV-022-02-2019-0001", "QR-SV-022-03-2019-0001"]
    qms("record", "pdf")
    qms("compile", "--form", "QR-SV-022-04", "--year", "2026", "-o", qms.root / "calls-2026.pdf")
    return qms


@pytest.fixture
def ws(session, tmp_path) -> Qms:
    """A private copy of the session's workspace (catalog paths are relative to it)."""
    return copy_workspace(session, tmp_path / "ws")


# ------------------------------------------------------------------ what a user and the catalog show

def tables(qms: Qms) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every catalog table but meta, without row ids, rows in a stable order."""
    conn = sqlite3.connect(qms.archive / "catalog.sqlite")
    try:
        out = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name<>'meta' "
                                    "ORDER BY name").fetchall():
            cur = conn.execute(f"SELECT * FROM {name}")
            cols = [c[0] for c in cur.description]
            keep = [i for i, c in enumerate(cols) if c != "id"]
            out[name] = ([cols[i] for i in keep], sorted((tuple(r[i] for i in keep) for r in cur), key=repr))
        return out
    finally:
        conn.close()


def views(qms: Qms) -> dict[str, object]:
    """The --json output of every reading command, for every document and record."""
    out: dict[str, object] = {}

    def get(*args):
        out[" ".join(args)] = qms.json(*args)
        return out[" ".join(args)]

    for d in get("doc", "list", "--as-of", AS_OF):
        get("doc", "show", d["number"], "--as-of", AS_OF)
        get("doc", "copies", d["number"])
    get("doc", "show", "QP-RD-007", "--revision", "A/0", "--as-of", "2026-04-01")
    numbers = [r["number"] for r in get("record", "list")]
    numbers += [d for e in qms.json("log") if e["action"] == "purge" for d in e["data"]["disposed"]]
    for n in numbers:
        get("record", "show", n)
    get("retention", "report", "--as-of", AS_OF)
    get("retention", "report", "--as-of", "2031-06-30")
    get("hold", "list")
    get("disposal", "list")
    return out


def catalog_files(qms: Qms) -> list[str]:
    return sorted(p.name for p in qms.archive.iterdir() if "catalog" in p.name)


# ------------------------------------------------------------------ the rebuild

def test_rebuild_gives_back_every_table_and_every_view(ws):
    before_tables, before_views = tables(ws), views(ws)
    assert len(before_tables["records"][1]) == 7 and len(before_tables["disposed"][1]) == 3
    assert {t for t, (_, rows) in before_tables.items() if not rows} == set()    # the session touches every table
    workspace = open_workspace(ws.root)
    events = count_events(workspace)
    assert events == len(ws.json("log"))

    # Over the existing catalog: replaced, nothing left beside it.
    seen = []
    report = rebuild_catalog(workspace, progress=seen.append)
    assert seen == list(range(1, events + 1))
    assert tables(ws) == before_tables
    assert catalog_files(ws) == ["catalog.sqlite"]

    # From nothing: the catalog deleted, the log and the files rebuild it.
    (ws.archive / "catalog.sqlite").unlink()
    report = rebuild_catalog(workspace)
    assert (report.events, report.ignored) == (events, 2)        # record.compile and keys.created change nothing
    assert (report.documents, report.revisions, report.records, report.disposed, report.disposals) == (3, 4, 7, 3, 1)
    assert report.notes == []
    assert report.message().startswith(f"rebuilt archive/catalog.sqlite from {events} audit entries")
    assert tables(ws) == before_tables
    assert views(ws) == before_views
    assert ws.json("verify")["ok"] is True
    assert compare_catalogs(workspace) == []

    # The numbering continues: no number is reused, disposed ones included.
    assert file_on(ws, "QR-SV-022-01", "2019-12-01") == "QR-SV-022-01-2019-0003"
    assert file_on(ws, "QR-SV-022-02", "2026-11-02") == "QR-SV-022-02-2026-0003"
    calls = ws.json("record", "import", "QR-SV-022-04", ws.root / "calls.csv", "--no-pdf")
    assert [c["number"] for c in calls] == [f"QR-SV-022-04-2026-{n:04d}" for n in (4, 5, 6)]
    assert ws.json("purge", "--as-of", AS_OF, "--yes")["certificate"] == "DC-2026-0002"
    assert [d["certificate"] for d in ws.json("disposal", "list")] == ["DC-2026-0001", "DC-2026-0002"]
    assert ws.json("verify")["ok"] is True


def test_compare_names_the_table_that_disagrees_with_the_log(ws):
    workspace = open_workspace(ws.root)
    assert compare_catalogs(workspace) == []
    before = (ws.archive / "catalog.sqlite").read_bytes()
    conn = sqlite3.connect(ws.archive / "catalog.sqlite")
    with conn:
        conn.execute("UPDATE records SET customer='某某公司' WHERE number='QR-SV-022-01-2026-0001'")
        conn.execute("DELETE FROM holds WHERE released_at IS NOT NULL AND number='QR-SV-022-02-2026-0001'")
        conn.execute("UPDATE sequences SET value=0 WHERE key='DISPOSAL:2026'")   # would reuse DC-2026-0001
        conn.execute("INSERT INTO meta(key, value) VALUES('note', 'edited by hand')")  # meta is not compared
    conn.close()
    diffs = compare_catalogs(workspace)
    assert len(diffs) == 3, diffs
    records = next(d for d in diffs if "table records" in d)
    assert "QR-SV-022-01-2026-0001" in records and "某某公司" in records and "华东电力设备有限公司（二分厂）" in records
    holds = next(d for d in diffs if "table holds" in d)
    assert "missing from the catalog" in holds and "质量事故调查" in holds
    assert any("table sequences" in d and "DISPOSAL:2026" in d for d in diffs)
    assert all(d.startswith("archive/catalog.sqlite: ") for d in diffs)
    # Comparing replaced nothing and left nothing behind.
    assert catalog_files(ws) == ["catalog.sqlite"]
    assert (ws.archive / "catalog.sqlite").read_bytes() != before      # (our edit is still there)
    rebuild_catalog(workspace)
    assert compare_catalogs(workspace) == []


def test_an_edited_log_is_refused_and_the_catalog_left_alone(ws):
    log = ws.archive / "audit.log"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if '"doc.issue_copy"' in line and "质量部" in line)
    lines[i] = lines[i].replace("质量部", "生产部")        # someone rewrites who holds copy No.2
    log.write_text("".join(lines), encoding="utf-8")
    catalog = ws.archive / "catalog.sqlite"
    digest = hashlib.sha256(catalog.read_bytes()).hexdigest()

    workspace = open_workspace(ws.root)
    with pytest.raises(QmsError) as exc:
        rebuild_catalog(workspace)
    assert "audit chain is broken" in exc.value.message and f"line {i + 1}" in exc.value.message
    assert exc.value.file == "archive/audit.log"
    assert hashlib.sha256(catalog.read_bytes()).hexdigest() == digest
    assert catalog_files(ws) == ["catalog.sqlite"]
    (diff,) = compare_catalogs(workspace)
    assert "not compared" in diff and "audit chain is broken" in diff


def test_an_entry_it_cannot_replay_stops_the_rebuild_before_anything_is_replaced(ws):
    catalog = ws.archive / "catalog.sqlite"
    digest = hashlib.sha256(catalog.read_bytes()).hexdigest()
    audit.append(ws.archive / "audit.log", actor="tester 测试员", action="doc.teleport", target="QP-RD-007")
    lineno = len(ws.json("log"))
    with pytest.raises(QmsError) as exc:
        rebuild_catalog(open_workspace(ws.root))
    assert "doc.teleport" in exc.value.message and exc.value.line == lineno
    assert hashlib.sha256(catalog.read_bytes()).hexdigest() == digest
    assert catalog_files(ws) == ["catalog.sqlite"]


def rechain(log: Path, edit) -> None:
    """Rewrite every entry through `edit` and hash the chain again, as an older qms would have written it."""
    prev, out = audit.GENESIS, []
    for line in log.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        edit(rec)
        rec["prev"] = prev
        rec["hash"] = prev = audit._digest(rec)
        out.append(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    log.write_text("".join(out), encoding="utf-8")


def test_a_log_from_before_record_events_carried_sequence_retention_and_customer(ws):
    before_tables = tables(ws)

    def strip(rec):
        if rec["action"] in ("record.file", "record.amend"):
            for key in ("seq", "sequence", "retention_until", "customer"):
                rec["data"].pop(key, None)

    rechain(ws.archive / "audit.log", strip)
    assert audit.verify_chain(ws.archive / "audit.log") == []
    assert not any("retention_until" in e["data"] for e in ws.json("log"))
    (ws.archive / "catalog.sqlite").unlink()
    report = rebuild_catalog(open_workspace(ws.root))
    assert report.notes == []
    # Disposed records' retention ends come from their disposal certificate (their data.yaml is gone).
    assert tables(ws) == before_tables
    assert file_on(ws, "QR-SV-022-03", "2019-12-01") == "QR-SV-022-03-2019-0002"


def test_a_missing_log_is_not_taken_for_an_empty_one(ws):
    (ws.archive / "audit.log").unlink()
    digest = hashlib.sha256((ws.archive / "catalog.sqlite").read_bytes()).hexdigest()
    with pytest.raises(QmsError) as exc:
        rebuild_catalog(open_workspace(ws.root))
    assert "audit log is missing" in exc.value.message
    assert hashlib.sha256((ws.archive / "catalog.sqlite").read_bytes()).hexdigest() == digest


def test_an_empty_workspace_rebuilds_to_an_empty_catalog(tmp_path):
    workspace = init_workspace(tmp_path / "ws")
    report = rebuild_catalog(workspace)
    assert (report.events, report.documents, report.records) == (0, 0, 0)
    assert compare_catalogs(workspace) == []
    assert Qms(workspace.root).json("record", "list") == []


def test_verify_deep_and_rebuild_through_the_cli(ws):
    """An auditor's view: `verify --deep` notices a hand-edited catalog; `qms rebuild` puts it right."""
    assert ws.json("verify", "--deep")["ok"] is True
    with sqlite3.connect(ws.archive / "catalog.sqlite") as conn:
        conn.execute("UPDATE records SET customer='篡改公司' WHERE rowid=(SELECT MIN(rowid) FROM records)")
    report = ws.json("verify", "--deep", ok=False)
    assert report["ok"] is False and any("records" in p and "篡改公司" in p for p in report["problems"])
    assert "rebuilt archive/catalog.sqlite" in ws("rebuild").output
    assert ws.json("verify", "--deep")["ok"] is True
