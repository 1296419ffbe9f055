"""Nothing lost quietly (issue 19): renditions left pending by a killed import are named by the next
command, by `verify` and by `record show`; a refused re-import says what is missing; a change that
changes nothing (an identical amendment, a re-sign, a re-release) is refused, so a re-run is safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (DATA, PASSWORDS, REPO, Qms, copy_into, copy_workspace, example_data, make_scan,
                      make_workspace, release_procedure, write_data)

ROWS = 4


def run_qms(ws: Path, *args: str, crash: str | None = None, who: str = "tester") -> subprocess.CompletedProcess:
    """The real command in its own process, optionally killed (SIGKILL) at a named crash point."""
    env = dict(os.environ, QMS_CONFIG_HOME=str(ws.parent / f"config-{who}"))
    env.pop("_QMS_CRASH_COUNT", None)
    env.pop("QMS_CRASH_AT", None)
    if crash:
        env["QMS_CRASH_AT"] = crash
    return subprocess.run([sys.executable, "-m", "qms", "-w", str(ws), *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ws)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("quiet") / "ws"
    q = make_workspace(root)
    lines = (REPO / "examples" / "records" / "phone-log-2026-03.csv").read_text(encoding="utf-8").splitlines()
    (root / "calls.csv").write_text("\n".join(lines[:ROWS + 1]) + "\n", encoding="utf-8")
    assert q.json("verify")["ok"]
    return root


# A kill inside the import's filing batch, LibreOffice's run, and the rendition batch that follows
# (placed:N counts one per event: ROWS filed, then ROWS renditions).
KILLS = ["converting", "staged:2", "logged:2", f"placed:{ROWS + 2}", "projected:2"]


@pytest.mark.parametrize("point", KILLS)
def test_a_killed_import_with_pdf_leaves_every_pdf_made_or_named(base, tmp_path, point):
    ws = tmp_path / "ws"
    q = copy_workspace(Qms(base), ws)
    killed = run_qms(ws, "record", "import", "QR-SV-022-04", "calls.csv", crash=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    nxt = run_qms(ws, "recover")                          # the next command
    assert nxt.returncode == 0, nxt.stderr
    assert not (ws / "archive" / ".staging").exists()     # no empty folder left by the kill
    report = q.json("verify")
    assert report["ok"], report["problems"]
    records = [r["number"] for r in q.records()]
    assert len(records) == ROWS
    pending = set(report["pdf_pending"])
    for number in records:
        shown = q.json("record", "show", number)
        assert ("pdf" in shown["files"]) != (number in pending), number
        assert shown["pdf_pending"] == (number in pending)
    if pending:
        said = nxt.stdout + nxt.stderr
        assert "qms record pdf --pending" in said and f"PDFs pending for {len(pending)} records" in said
        text = q("verify").output
        assert f"PENDING {sorted(pending)[0]}" in text and "run `qms record pdf --pending`" in text
        assert "PDF 待生成" in q("record", "show", sorted(pending)[0]).output
        again = q.fail("record", "import", "QR-SV-022-04", ws / "calls.csv")
        assert "already imported" in again and "qms record pdf --pending" in again
        q("record", "pdf", "--pending")
    assert q.json("verify")["pdf_pending"] == []
    assert all("pdf" in q.json("record", "show", n)["files"] for n in records)


def test_the_converting_kill_leaves_pending_renditions(base, tmp_path):
    """The case the issue met 22 times in 25: killed while LibreOffice runs, the records are filed
    and their PDFs are not — the next command, a plain filing, says so with the command to run."""
    ws = tmp_path / "ws"
    q = copy_workspace(Qms(base), ws)
    assert run_qms(ws, "record", "import", "QR-SV-022-04", "calls.csv", crash="converting").returncode == -9
    write_data(q, example_data("QR-SV-022-04"), "one.yaml")
    nxt = run_qms(ws, "record", "file", "QR-SV-022-04", "--data", "one.yaml", "--no-pdf")
    assert nxt.returncode == 0, nxt.stderr
    assert f"PDFs are pending for {ROWS} records" in nxt.stderr and "`qms record pdf --pending`" in nxt.stderr
    assert len(q.json("verify")["pdf_pending"]) == ROWS + 1      # and the one filed --no-pdf


def test_a_re_run_of_a_killed_amend_changes_nothing(base, tmp_path):
    ws = tmp_path / "ws"
    q = copy_workspace(Qms(base), ws)
    number = q.json("record", "file", "QR-SV-022-02", "--no-pdf", "--data",
                    write_data(q, example_data("QR-SV-022-02"), "report.yaml"))["number"]
    write_data(q, example_data("QR-SV-022-02", contact="王海涛 021-55550000"), "fix.yaml")
    args = ["record", "amend", number, "--data", "fix.yaml", "--reason", "电话号码录入错误", "--no-pdf"]
    assert run_qms(ws, *args, crash="logged").returncode == -signal.SIGKILL
    again = run_qms(ws, *args)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "changes nothing" in again.stderr and "Traceback" not in again.stderr
    assert len([line for line in again.stderr.splitlines() if line.startswith("Error")]) == 1
    shown = q.json("record", "show", number)
    assert shown["version"] == 2 and [v["version"] for v in shown["versions"]] == [1, 2]
    # --set to the value it already has is no change either; a real change still makes v3
    assert "changes nothing" in q.fail("record", "amend", number, "--set", "contact=王海涛 021-55550000",
                                       "--reason", "again", "--no-pdf")
    q("record", "amend", number, "--set", "contact=王海涛 021-55550001", "--reason", "再改", "--no-pdf")
    assert q.json("record", "show", number)["version"] == 3
    assert q.json("verify")["ok"]


def test_a_re_sign_and_a_re_release_are_refused_in_one_line(qms):
    number = qms.json("record", "file", "QR-SV-022-02", "--no-pdf", "--data",
                      write_data(qms, example_data("QR-SV-022-02"), "report.yaml"))["number"]
    scan = make_scan(qms.root / "signed.pdf", "signed")
    qms("record", "sign", number, "--scan", scan, "--signer", "王海涛")
    out = qms.fail("record", "sign", number, "--scan", scan, "--signer", "王海涛")
    assert "already signed" in out and len(out.strip().splitlines()) == 1
    doc = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"))
    log = len(qms.log())
    out = qms.fail("doc", "release", doc, "--issued", "2026-03-13", "--effective", "2026-03-20", "--no-pdf")
    assert "already released" in out and len(out.strip().splitlines()) == 1
    assert len(qms.log()) == log
