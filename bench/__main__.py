"""`make bench` / `python -m bench`: every measure, each beside its floor, in one run.

Data is generated (nothing large is committed). Each part prints its own table; the
figures of the latest run are recorded in bench/README.md.

    python -m bench            # the full run (under 15 minutes on 2 cores)
    python -m bench --quick    # smaller sizes, to check the benches themselves
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

FULL = [
    ("filing", ["bench.filing", "--records", "1000", "--pdf-records", "200", "--one-by-one-pdf", "10",
                "--floor-records", "2000"]),
    ("search", ["bench.search", "--n", "100000"]),
    ("pdf", ["bench.pdf_convert", "--n", "50"]),
    ("resident converter", ["bench.convert_resident", "--filings", "20", "--cold", "8", "--import-rows", "100"]),
    ("import with PDF", ["bench.import_pdf", "--rows", "1000"]),
    ("verify+purge 10k", ["bench.archive_ops", "--records", "10000"]),
    ("purge 100k", ["bench.archive_ops", "--records", "100000"]),
    ("start-up", ["bench.startup", "--runs", "7"]),
    ("web", ["bench.web", "--records", "100000", "--clients", "20", "--seconds", "30"]),
    ("kpi", ["bench.kpi", "--records", "10000", "--records", "100000"]),
    ("scan", ["bench.scan", "--pages", "60", "--ocr-pages", "2"]),
    ("scale", ["bench.scale", "--n", "100000"]),
]
QUICK = [
    ("filing", ["bench.filing", "--records", "200", "--pdf-records", "20", "--one-by-one-pdf", "2",
                "--floor-records", "300"]),
    ("search", ["bench.search", "--n", "5000"]),
    ("pdf", ["bench.pdf_convert", "--n", "6"]),
    ("resident converter", ["bench.convert_resident", "--filings", "5", "--cold", "3", "--import-rows", "20"]),
    ("import with PDF", ["bench.import_pdf", "--rows", "150"]),
    ("verify+purge", ["bench.archive_ops", "--records", "2000"]),
    ("start-up", ["bench.startup", "--runs", "3"]),
    ("web", ["bench.web", "--records", "2000", "--clients", "20", "--seconds", "10"]),
    ("kpi", ["bench.kpi", "--records", "2000"]),
    ("scan", ["bench.scan", "--pages", "15", "--ocr-pages", "0"]),
    ("scale", ["bench.scale", "--n", "2000"]),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", help="comma-separated part names")
    args = ap.parse_args()
    parts = QUICK if args.quick else FULL
    if args.only:
        wanted = set(args.only.split(","))
        parts = [p for p in parts if p[0] in wanted]
    took = []
    for name, cmd in parts:
        print(f"\n=================== {name}: python -m {' '.join(cmd)}", flush=True)
        start = time.perf_counter()
        rc = subprocess.run([sys.executable, "-m", *cmd]).returncode
        took.append((name, time.perf_counter() - start, rc))
    print("\n## bench parts")
    for name, secs, rc in took:
        print(f"  {name:<20} {secs:7.1f} s  {'ok' if rc == 0 else f'FAILED ({rc})'}")
    print(f"  {'total':<20} {sum(t for _, t, _ in took):7.1f} s")
    return 0 if all(rc == 0 for *_, rc in took) else 1


if __name__ == "__main__":
    sys.exit(main())
