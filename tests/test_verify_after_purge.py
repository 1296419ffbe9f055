"""`qms verify` after a purge: the replay no longer writes the rows of filings a later purge
deletes (projection.fold_plan), and the audit trail's data is compared with the bytes of each
journal line — and an auditor still learns of an altered journal line, a catalog row that differs
from the journal, and an altered trail row, each named."""

from __future__ import annotations

import inspect
import json
import re
import sqlite3
from pathlib import Path

import pytest

from qms.store import projection
from qms.store.journal_entry import GENESIS, AuditEntry
from qms.store.catalog import open_catalog
from qms.store.replay import compare, replay, replay_in_memory
from qms.store.workspace import open_workspace

from conftest import PASSWORDS, Qms, copy_workspace, example_data, make_scan, make_workspace, write_data

AS_OF = "2026-11-23"


def file_on(qms: Qms, form_id: str, on: str, **changes) -> str:
    path = write_data(qms, example_data(form_id, **changes), f"{form_id}-{on}.yaml")
    return qms.json("record", "file", form_id, "--data", path, "--on", on, "--no-pdf")["number"]


def purge(qms: Qms) -> dict:
    proposal = qms.json("purge", "--as-of", AS_OF, "--yes")["proposal"]
    return qms.as_("liujun").json("disposal", "approve", proposal, "--password-stdin",
                                  input=PASSWORDS["liujun"] + "\n")


@pytest.fixture(scope="module")
def purged(tmp_path_factory) -> tuple[Qms, dict[str, str]]:
    """Two purges over records of every kind: untouched until destroyed (their filings fold into the
    purge), amended, signed or held and released before (they do not), and young ones kept."""
    tmp = tmp_path_factory.mktemp("purged")
    qms = make_workspace(tmp / "ws")
    n = {"plain": file_on(qms, "QR-SV-022-01", "2019-03-01"),
         "other_form": file_on(qms, "QR-SV-022-03", "2019-08-01"),
         "amended": file_on(qms, "QR-SV-022-01", "2019-04-01"),
         "signed": file_on(qms, "QR-SV-022-02", "2019-06-01"),
         "held": file_on(qms, "QR-SV-022-01", "2019-05-01"),
         "young": file_on(qms, "QR-SV-022-01", "2024-03-01")}
    fix = write_data(qms, example_data("QR-SV-022-01", contact="王海涛（设备科）"), "fix.yaml")
    qms("record", "amend", n["amended"], "--data", fix, "--reason", "联系人补全", "--no-pdf")
    qms("record", "sign", n["signed"], "--scan", make_scan(tmp / "s.pdf", "signed"), "--signer", "王海涛")
    qms("hold", "add", n["held"], "--reason", "审核取证")
    assert sorted(purge(qms)["disposed"]) == sorted(n[k] for k in ("plain", "other_form", "amended", "signed"))
    n["late"] = file_on(qms, "QR-SV-022-01", "2019-12-01")          # filed after the first purge
    qms("hold", "release", n["held"], "--reason", "取证结束")
    assert sorted(purge(qms)["disposed"]) == sorted([n["held"], n["late"]])
    assert qms.json("verify")["ok"] is True
    return qms, n


def entries(qms: Qms) -> list[tuple[int, AuditEntry]]:
    from qms.store import audit
    problems, pairs = audit.scan(qms.archive / "audit.log")
    assert problems == []
    return pairs


def test_the_folded_replay_equals_the_whole_replay_and_the_live_catalog(purged):
    qms, n = purged
    pairs = entries(qms)
    plan = projection.fold_plan(pairs)
    folded = {e.target for _, e in pairs if e.seq in plan.filings}
    # only filings nothing else wrote to before their purge; the others are replayed as before
    assert folded == {n["plain"], n["other_form"], n["late"]}
    ws = open_workspace(qms.root)
    whole = open_catalog(Path(":memory:"), create=False)
    try:
        replay(whole, ws, pairs=pairs, trail=False)
        assert whole.one("SELECT COUNT(*) AS c FROM record_fields WHERE number=?", n["young"])["c"] > 0
        with replay_in_memory(ws, pairs=pairs) as truth:
            assert compare(whole, truth) == []
            assert compare(truth, whole) == []
            for table in ("records", "record_fields", "record_versions", "disposed", "sequences", "signatures",
                          "holds"):
                def rows(cat):
                    return sorted(tuple(r) for r in cat.all(f"SELECT * FROM {table}"))
                assert rows(truth) == rows(whole), table
    finally:
        whole.close()


def verify_issues(q: Qms) -> list[dict]:
    return q.json("verify", ok=False)["issues"]


def line_of(q: Qms, action: str, target: str) -> int:
    lines = (q.archive / "audit.log").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1)
                if json.loads(line)["action"] == action and json.loads(line)["target"] == target)


def test_an_altered_line_of_a_purged_filing_is_named(purged, tmp_path):
    qms, n = purged
    q = copy_workspace(qms, tmp_path / "ws")
    log = q.archive / "audit.log"
    lines = log.read_bytes().split(b"\n")
    at = line_of(q, "record.file", n["plain"])
    assert b"2019-03-01" in lines[at - 1]
    lines[at - 1] = lines[at - 1].replace(b"2019-03-01", b"2019-03-02")     # the record's date, after its purge
    log.write_bytes(b"\n".join(lines))
    issues = verify_issues(q)
    assert any(i["code"] == "CHAIN_BROKEN" and f"line {at}:" in i["message_en"] for i in issues), issues


def edit(q: Qms, sql: str, *args) -> None:
    conn = sqlite3.connect(q.archive / "catalog.sqlite")
    with conn:
        conn.execute(sql, args)
    conn.close()


def test_a_purged_record_back_in_the_catalog_is_named(purged, tmp_path):
    qms, n = purged
    q = copy_workspace(qms, tmp_path / "ws")
    edit(q, "INSERT INTO records(number, form, year, seq, status, record_date, folder) "
            "VALUES(?, 'QR-SV-022-01', 2019, 1, 'filed', '2019-03-01', 'x')", n["plain"])
    edit(q, "INSERT INTO record_fields(form, name, number, value) VALUES('QR-SV-022-01', 'contact', ?, '某人')",
         n["late"])
    edit(q, "UPDATE disposed SET record_date='2019-01-01' WHERE number=?", n["other_form"])
    edit(q, "UPDATE sequences SET value=value - 1 WHERE key LIKE 'QR-SV-022-01%2019'")
    messages = [i["message_en"] for i in verify_issues(q) if i["code"] == "CATALOG_DIFFERS"]
    assert any(f"table records, {n['plain']}: in the catalog but not in the log" in m for m in messages), messages
    assert any("table record_fields" in m and n["late"] in m for m in messages), messages
    assert any(f"table disposed, {n['other_form']}: record_date" in m for m in messages), messages
    assert any("table sequences" in m for m in messages), messages


def test_an_altered_trail_row_of_a_purged_filing_is_named(purged, tmp_path):
    qms, n = purged
    q = copy_workspace(qms, tmp_path / "ws")
    at = line_of(q, "record.file", n["plain"])
    seq = json.loads((q.archive / "audit.log").read_text(encoding="utf-8").splitlines()[at - 1])["seq"]
    edit(q, "UPDATE audit_trail SET data=replace(data, '2019-03-01', '2019-03-02') WHERE seq=?", seq)
    (issue,) = verify_issues(q)
    assert issue["code"] == "TRAIL_DIFFERS" and f"entry {seq}: data is '" in issue["message_en"]
    assert "2019-03-02" in issue["message_en"] and "2019-03-01" in issue["message_en"]    # text, not bytes
    assert "b'" not in issue["message_en"]
    # the same bytes stored as a blob, not text: named as before (the comparison reads the bytes)
    other = json.loads((q.archive / "audit.log").read_text(encoding="utf-8").splitlines()[
        line_of(q, "record.file", n["late"]) - 1])["seq"]
    edit(q, "UPDATE audit_trail SET data=CAST(data AS BLOB) WHERE seq=?", other)
    assert sorted(i["message_en"].split(":")[1] for i in verify_issues(q)) == \
        sorted([f" table audit_trail, entry {seq}", f" table audit_trail, entry {other}"])


def _chain(events: list[tuple[str, str, dict]]) -> list[tuple[int, AuditEntry]]:
    out, prev = [], GENESIS
    for seq, (action, target, data) in enumerate(events, 1):
        e = AuditEntry(seq=seq, at="2026-12-03T09:00:00+08:00", actor="tester 测试员", action=action,
                       target=target, data=data, prev=prev, hash=f"h{seq}")
        out.append((seq * 100, e))
        prev = e.hash
    return out


def _apply(pairs, fold: bool) -> str:
    cat = open_catalog(Path(":memory:"), create=False)
    try:
        projection.apply_all(cat, pairs, trail=False, fold=projection.fold_plan(pairs) if fold else None)
        return ""
    except projection.ProjectionError as exc:
        return str(exc)
    finally:
        cat.close()


def test_a_folded_filing_is_refused_as_the_replay_refuses_it():
    filing = {"form": "QR-SV-022-01", "record_date": "2019-03-01", "seq": 1, "sequence": "QR-SV-022-01:2019",
              "status": "filed", "folder": "archive/records/x/v1", "fields": {"contact": "王海涛"}}
    purge_data = {"records": [{"number": "N-1", "form": "QR-SV-022-01", "record_date": "2019-03-01",
                               "retention_until": "2024-12-31"}],
                  "as_of": AS_OF, "folder": "archive/disposals/DC-1", "sequence": "DC:2026", "seq": 1}
    good = _chain([("record.file", "N-1", filing), ("purge", "DC-2026-0001", purge_data)])
    assert projection.fold_plan(good).filings == {1}
    assert _apply(good, fold=True) == _apply(good, fold=False) == ""
    for broken in ({k: v for k, v in filing.items() if k != "form"}, {**filing, "seq": "一"},
                   {**filing, "record_date": None}):
        pairs = _chain([("record.file", "N-1", broken), ("purge", "DC-2026-0001", purge_data)])
        assert projection.fold_plan(pairs).filings == {1}
        refused = _apply(pairs, fold=False)
        assert refused and _apply(pairs, fold=True) == refused
    # and a purge that lacks a value, after a filing it folds
    pairs = _chain([("record.file", "N-1", filing),
                    ("purge", "DC-2026-0001", {k: v for k, v in purge_data.items() if k != "as_of"})])
    refused = _apply(pairs, fold=False)
    assert "as_of" in refused and _apply(pairs, fold=True) == refused


def test_only_the_row_actions_name_the_tables_a_purge_clears():
    """fold_plan rests on this: besides the ROW_ACTIONS (each writing rows of its own number) and
    the purge, no projection handler writes or reads the tables a purge clears."""
    projection._load_providers()
    names = "|".join(projection.RECORD_TABLES)
    pattern = re.compile(rf"\b(?:INTO|UPDATE|FROM|JOIN|TABLE)\s+(?:{names})\b", re.IGNORECASE)
    checked = 0
    for action, handler in projection._HANDLERS.items():
        if action in projection.ROW_ACTIONS or action == "purge":
            continue
        module = inspect.getmodule(handler)
        source = inspect.getsource(handler) if module is projection else inspect.getsource(module)
        assert not pattern.search(source), f"{action}: its handler names a table a purge clears"
        checked += 1
    assert checked > 20
