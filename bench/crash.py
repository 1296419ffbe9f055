"""Random kill -9 trials (issue 10): a 500-row import and a purge are killed at random moments;
after `qms recover` the archive must verify, the import be wholly there or wholly absent, and
the same command run again must succeed.

    python -m bench.crash [--trials 30] [--rows 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_session, phone_rows, print_table


def qms(ws: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qms", "-w", str(ws), *args],
                          capture_output=True, text=True, **kw)


def kill_after(ws: Path, delay: float, *args: str) -> int:
    proc = subprocess.Popen([sys.executable, "-m", "qms", "-w", str(ws), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return proc.returncode          # finished before the kill
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return -9


def records(ws: Path) -> list[str]:
    return [r["number"] for r in json.loads(qms(ws, "record", "list", "--json").stdout)]


def check(ws: Path) -> str | None:
    rec = qms(ws, "recover")
    if rec.returncode != 0:
        return f"recover failed: {rec.stderr.strip()}"
    ver = qms(ws, "verify", "--json")
    if ver.returncode != 0:
        return "verify: " + "; ".join(json.loads(ver.stdout)["problems"][:3])
    return None


def trial_import(base: Path, work: Path, csv: Path, rows: int, delay: float) -> tuple[bool, str]:
    ws = work / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(base, ws)
    rc = kill_after(ws, delay, "record", "import", "QR-SV-022-04", str(csv), "--no-pdf")
    problem = check(ws)
    if problem:
        return False, problem
    n = len(records(ws))
    if n not in (0, rows):
        return False, f"{n} of {rows} records after the kill: not all-or-nothing"
    if n == 0:
        again = qms(ws, "record", "import", "QR-SV-022-04", str(csv), "--no-pdf")
        if again.returncode != 0 or len(records(ws)) != rows:
            return False, f"the import run again failed: {again.stderr.strip()}"
    problem = check(ws)
    return problem is None, problem or ("killed" if rc == -9 else "finished")


def trial_purge(base: Path, work: Path, delay: float, expected: int) -> tuple[bool, str]:
    ws = work / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(base, ws)
    rc = kill_after(ws, delay, "purge", "--as-of", "2026-11-23", "--yes")
    problem = check(ws)
    if problem:
        return False, problem
    left = len(records(ws))
    if left not in (0, expected):
        return False, f"{left} records left: a purge must be whole or absent"
    again = qms(ws, "purge", "--as-of", "2026-11-23", "--yes")
    if again.returncode != 0 or records(ws):
        return False, f"purge run again: {again.stderr.strip()} ({len(records(ws))} left)"
    problem = check(ws)
    return problem is None, problem or ("killed" if rc == -9 else "finished")


def init_workspace_of(root: Path):
    from qms.store.workspace import open_workspace
    return open_workspace(root)


def run(trials: int, rows: int, seed: int = 7) -> list[list]:
    from qms.store.workspace import init_workspace
    rnd = random.Random(seed)
    out = []
    with tempfile.TemporaryDirectory(prefix="qms-bench-crash-") as tmp:
        tmp = Path(tmp)
        base = init_workspace(tmp / "base").root
        bench_session(init_workspace_of(base), tmp / "config")     # copies keep the session (same workspace id)
        csv = tmp / "calls.csv"
        data = phone_rows(rows, year=2019)
        import csv as csvmod
        with open(csv, "w", newline="", encoding="utf-8") as fh:
            w = csvmod.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)
        start = time.perf_counter()
        full = qms(base, "record", "import", "QR-SV-022-04", str(csv), "--no-pdf")
        import_time = time.perf_counter() - start
        assert full.returncode == 0, full.stderr
        filled = tmp / "filled"
        shutil.copytree(base, filled)
        shutil.rmtree(base)
        base = init_workspace(tmp / "base").root
        bench_session(init_workspace_of(base), tmp / "config")
        start = time.perf_counter()
        qms(filled, "purge", "--as-of", "2026-11-23", "--yes", "--dry-run")
        purge_probe = tmp / "probe"
        shutil.copytree(filled, purge_probe)
        start = time.perf_counter()
        qms(purge_probe, "purge", "--as-of", "2026-11-23", "--yes")
        purge_time = time.perf_counter() - start
        for kind, total in (("import", import_time), ("purge", purge_time)):
            ok = killed = 0
            failures = []
            for _ in range(trials):
                delay = rnd.uniform(0.2, total * 1.05)
                work = tmp / "work"
                work.mkdir(exist_ok=True)
                good, what = (trial_import(base, work, csv, rows, delay) if kind == "import"
                              else trial_purge(filled, work, delay, rows))
                ok += good
                killed += what == "killed"
                if not good:
                    failures.append(what)
                print(f"{kind} trial {_ + 1}: delay {delay:.1f} s — {'ok' if good else 'FAILED'} ({what})",
                      flush=True)
            out.append([f"kill -9 during {kind} ({rows} records, {total:.1f} s)", trials, killed, trials - ok,
                        failures[0][:60] if failures else ""])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--rows", type=int, default=500)
    a = ap.parse_args()
    print_table(f"random kill -9 trials, {a.rows} records",
                ["what", "trials", "killed mid-way", "unrecoverable", "first failure"], run(a.trials, a.rows))


if __name__ == "__main__":
    os.environ.pop("QMS_CRASH_AT", None)
    main()
