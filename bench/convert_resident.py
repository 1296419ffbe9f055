"""A single `record file` with its PDF/A: the resident converter warm vs the cold `soffice` path,
in the same run; and a batch import with PDF through each.

    python -m bench.convert_resident [--filings 20] [--cold 8] [--import-rows 100]

Each filing is the library call `qms record file` makes (file_record: validate, number, render,
PDF/A-2b, QR stamp, hash, journal, catalog, index). `convert.resident` is switched in process:
`on` (one converter started first, then kept warm) and `off` (`soffice --convert-to` per filing,
today's path). Cold and warm filings alternate in rounds, so load on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import median, p95, phone_rows, print_table, write_csv
from qms.adapters import resident
from qms.adapters.convert import soffice_available
from qms.adapters.pdf import pdfa_part
from qms.integrity.governance import apply_config
from qms.records import file_record, import_records
from qms.store.workspace import init_workspace


def _workspace(root: Path):
    ws = init_workspace(root)
    apply_config(ws, actor=None)
    return ws


def _file(ws, path: Path, pdf: bool = True) -> float:
    start = time.perf_counter()
    change = file_record(ws, "QR-SV-022-04", path, actor="bench", pdf=pdf)
    took = time.perf_counter() - start
    assert not change.data.get("pdf_pending"), change.message
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filings", type=int, default=20, help="warm resident filings (default 20)")
    ap.add_argument("--cold", type=int, default=8, help="cold soffice filings (default 8)")
    ap.add_argument("--import-rows", type=int, default=100, help="rows of the import with PDF (0: skip)")
    args = ap.parse_args()
    if not soffice_available() or not resident.available():
        print("LibreOffice or /usr/bin/python3 with python3-uno not found", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="qms-bench-resident-") as tmp:
        root = Path(tmp)
        ws = _workspace(root / "ws")
        files = []
        for i, row in enumerate(phone_rows(2 * args.filings + args.cold + 2, seed=5)):
            path = root / f"call-{i}.yaml"
            path.write_text(yaml.safe_dump(row, allow_unicode=True), encoding="utf-8")
            files.append(path)
        feed = iter(files)

        resident.configure("off")
        _file(ws, next(feed))                      # this process's soffice profile made: neither pays it
        resident.configure("on")
        first = _file(ws, next(feed))              # starts the resident converter
        warm, cold, bare = [], [], []
        rounds = max(args.filings, args.cold)
        for i in range(rounds):
            if i < args.filings:
                resident.configure("on")
                warm.append(_file(ws, next(feed)))
                bare.append(_file(ws, next(feed), pdf=False))
            if i < args.cold:
                resident.configure("off")
                cold.append(_file(ws, next(feed)))
        resident.configure("on")
        assert resident.starts == 1, resident.starts
        last = sorted((ws.archive_dir / "records").rglob("*.pdf"))[-1]
        kind = pdfa_part(last)
        load = os.getloadavg()
        rows = [["warm resident", len(warm), f"{median(warm) * 1000:.0f} ms", f"{p95(warm) * 1000:.0f} ms"],
                ["cold soffice", len(cold), f"{median(cold) * 1000:.0f} ms", f"{p95(cold) * 1000:.0f} ms"],
                ["first (starts the converter)", 1, f"{first * 1000:.0f} ms", ""],
                ["floor: the same filing, --no-pdf", len(bare), f"{median(bare) * 1000:.0f} ms",
                 f"{p95(bare) * 1000:.0f} ms"]]
        print_table(f"one `record file` with PDF/A ({kind}), load average {load[0]:.2f} {load[1]:.2f}",
                    ["path", "filings", "p50", "p95"], rows)
        print(f"cold / warm p50: {median(cold) / median(warm):.1f}x")

        if args.import_rows:
            took = {}
            for mode in ("on", "off"):
                resident.configure(mode)
                iws = _workspace(root / f"import-{mode}")
                csv_path = root / f"rows-{mode}.csv"
                write_csv(csv_path, phone_rows(args.import_rows, seed=9))
                start = time.perf_counter()
                filed = import_records(iws, "QR-SV-022-04", csv_path, actor="bench", pdf=True)
                took[mode] = time.perf_counter() - start
                assert len(filed) == args.import_rows
                assert len(list((iws.archive_dir / "records").rglob("*.pdf"))) == args.import_rows
            print_table(f"`record import` of {args.import_rows} rows with PDF/A, load average "
                        f"{os.getloadavg()[0]:.2f}", ["converter", "total", "per record"],
                        [[f"resident (warm)" if m == "on" else "soffice in chunks of 100", f"{t:.1f} s",
                          f"{t / args.import_rows * 1000:.0f} ms"] for m, t in took.items()])
        resident.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
