"""Several people at once (issue 10): filings go on while the catalog is rebuilt, and verify run
beside four filing processes raises no false alarm."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from conftest import Qms, example_data, write_data

FILER = textwrap.dedent("""
    import sys
    from qms.store.workspace import find_workspace
    from qms.records import file_record
    from qms.startup import start
    start()          # a program on the library subscribes the services, as the CLI does
    ws = find_workspace(sys.argv[1])
    for i in range(int(sys.argv[3])):
        file_record(ws, "QR-SV-022-04", sys.argv[2], actor="filer-" + sys.argv[4], pdf=False)
    print("done")
""")


def start_filers(q: Qms, n: int, each: int) -> list[subprocess.Popen]:
    data = write_data(q, example_data("QR-SV-022-04"), "call.yaml")
    return [subprocess.Popen([sys.executable, "-c", FILER, str(q.root), str(data), str(each), str(i)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]


def finish(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "done" in out, err


def test_rebuild_while_two_processes_file_loses_nothing(qms):
    qms("record", "file", "QR-SV-022-04", "--no-pdf", "--data",
        write_data(qms, example_data("QR-SV-022-04"), "first.yaml"))
    procs = start_filers(qms, 2, 12)
    rebuilds = 0
    while any(p.poll() is None for p in procs):
        qms("rebuild")
        rebuilds += 1
    finish(procs)
    assert rebuilds >= 1
    listed = qms.records("--form", "QR-SV-022-04")
    assert len(listed) == 25
    seqs = sorted(int(r["number"].rsplit("-", 1)[1]) for r in listed)
    assert seqs == list(range(1, 26))
    assert qms.json("verify")["ok"]


def test_verify_beside_four_filers_raises_no_false_alarm(qms):
    procs = start_filers(qms, 4, 8)
    runs = []
    deadline = time.monotonic() + 240
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        runs.append(qms.json("verify", ok=False))
    finish(procs)
    assert runs, "the filers finished before verify ran once"
    assert [r["problems"] for r in runs if not r["ok"]] == []
    assert len(qms.records()) == 32
    assert qms.json("verify")["ok"]
