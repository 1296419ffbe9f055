"""Start-up: wall time of `qms --help` and `qms record show N` as a user feels it (process start included).

    python -m bench.startup [--runs 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import median, print_table


def wall(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def run(runs: int = 7) -> list[list]:
    import yaml
    from qms.records import file_record
    from qms.store.workspace import init_workspace
    from bench.common import phone_rows
    qms = str(Path(sys.executable).with_name("qms"))
    with tempfile.TemporaryDirectory(prefix="qms-bench-start-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        data = Path(tmp) / "row.yaml"
        data.write_text(yaml.safe_dump(phone_rows(1)[0], allow_unicode=True), encoding="utf-8")
        number = file_record(ws, "QR-SV-022-04", data, actor="bench", pdf=False).data["number"]
        python = wall([sys.executable, "-c", "pass"], runs)
        help_t = wall([qms, "--help"], runs)
        show_t = wall([qms, "-w", str(ws.root), "record", "show", number], runs)
    return [["python -c pass (floor)", f"{median(python) * 1000:.0f} ms", ""],
            ["qms --help", f"{median(help_t) * 1000:.0f} ms", "goal ≤ 300 ms"],
            ["qms record show N", f"{median(show_t) * 1000:.0f} ms", "goal ≤ 500 ms"]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    print_table("start-up (median wall time)", ["command", "time", "goal"], run(a.runs))


if __name__ == "__main__":
    main()
