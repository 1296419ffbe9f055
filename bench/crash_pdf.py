"""Random kill -9 during an import *with* PDF (issue 19, "nothing lost quietly"): after the next
command, every record must have its PDF or `qms verify` must name it as pending — and
`qms record pdf --pending` must then make every one.

    python -m bench.crash_pdf [--trials 30] [--rows 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import bench_session, phone_rows, print_table, write_csv
from bench.crash import init_workspace_of, kill_after, qms


def trial(base: Path, work: Path, csv: Path, rows: int, delay: float) -> tuple[bool, str, int]:
    """(good, what happened, records left pending after the next command)."""
    ws = work / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(base, ws)
    rc = kill_after(ws, delay, "record", "import", "QR-SV-022-04", str(csv))
    nxt = qms(ws, "recover")                           # the next command
    if nxt.returncode != 0:
        return False, f"recover failed: {nxt.stderr.strip()[:80]}", 0
    if (ws / "archive" / ".staging").exists():
        return False, ".staging/ left behind", 0
    ver = json.loads(qms(ws, "verify", "--json").stdout)
    if not ver["ok"]:
        return False, "verify: " + "; ".join(ver["problems"][:2]), 0
    listed = json.loads(qms(ws, "record", "list", "--json").stdout)
    pending = set(ver["pdf_pending"])
    pdfs = {p.stem for p in (ws / "archive" / "records").rglob("*.pdf")}
    silent = [r["number"] for r in listed if r["number"] not in pdfs and r["number"] not in pending]
    if silent:
        return False, f"{len(silent)} records without PDF and not named by verify (e.g. {silent[0]})", len(pending)
    if pending and "record pdf --pending" not in nxt.stdout + nxt.stderr:
        return False, "recover did not name `qms record pdf --pending`", len(pending)
    if pending:
        made = qms(ws, "record", "pdf", "--pending")
        if made.returncode != 0 or json.loads(qms(ws, "verify", "--json").stdout)["pdf_pending"]:
            return False, f"record pdf --pending failed: {made.stderr.strip()[:80]}", len(pending)
    return True, "killed" if rc == -9 else "finished", len(pending)


def run(trials: int, rows: int, seed: int = 19) -> list[list]:
    from qms.store.workspace import init_workspace
    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="qms-bench-crashpdf-") as tmp:
        tmp = Path(tmp)
        base = init_workspace(tmp / "base").root
        bench_session(init_workspace_of(base), tmp / "config")
        csv = tmp / "calls.csv"
        write_csv(csv, phone_rows(rows))
        probe = tmp / "probe"
        shutil.copytree(base, probe)
        start = time.perf_counter()
        full = qms(probe, "record", "import", "QR-SV-022-04", str(csv))
        total = time.perf_counter() - start
        assert full.returncode == 0, full.stderr
        ok = killed = left_pending = 0
        failures = []
        for n in range(trials):
            delay = rnd.uniform(0.2, total * 1.05)
            work = tmp / "work"
            work.mkdir(exist_ok=True)
            good, what, pending = trial(base, work, csv, rows, delay)
            ok += good
            killed += what == "killed"
            left_pending += pending > 0
            if not good:
                failures.append(what)
            print(f"trial {n + 1}: delay {delay:.1f} s — {'ok' if good else 'FAILED'} ({what}; "
                  f"{pending} pending)", flush=True)
    return [[f"kill -9 during import with PDF ({rows} records, {total:.1f} s)", trials, killed, left_pending,
             trials - ok, failures[0][:60] if failures else ""]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--rows", type=int, default=40)
    a = ap.parse_args()
    print_table(f"random kill -9 during an import with PDF, {a.rows} records",
                ["what", "trials", "killed mid-way", "left PDFs pending", "lost quietly or failed", "first failure"],
                run(a.trials, a.rows))


if __name__ == "__main__":
    os.environ.pop("QMS_CRASH_AT", None)
    main()
