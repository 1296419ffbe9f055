"""A batch import with PDF of any size (issue 11): every row filed and every PDF made.

LibreOffice 7.4 stops silently after 243 files in one --convert-to call; qms converts in
chunks of 100 (qms.adapters.convert.CHUNK). This bench imports N rows with PDF in one call and
counts the PDFs in the archive and the pending flags in the catalog.

    python -m bench.import_pdf --rows 1000        # the 10,000-row run: --rows 10000 (idle machine only)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import phone_rows, print_table, write_csv


def run(rows: int) -> dict:
    from qms.store.catalog import open_catalog
    from qms.records import import_records
    from qms.store.workspace import init_workspace
    with tempfile.TemporaryDirectory(prefix="qms-bench-import-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        from qms.integrity.governance import apply_config
        apply_config(ws, actor=None)      # as qms init does
        csv_path = Path(tmp) / f"rows-{rows}.csv"
        write_csv(csv_path, phone_rows(rows))
        start = time.perf_counter()
        filed = import_records(ws, "QR-SV-022-04", csv_path, actor="bench", pdf=True)
        took = time.perf_counter() - start
        pdfs = sum(1 for _ in (ws.archive_dir / "records").rglob("*.pdf"))
        with open_catalog(ws.catalog_path, create=False) as cat:
            pending = cat.one("SELECT COUNT(*) AS n FROM records WHERE pdf_pending=1")["n"]
    return {"rows": rows, "filed": len(filed), "pdfs": pdfs, "pending": pending, "seconds": took}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1000)
    args = ap.parse_args()
    r = run(args.rows)
    print_table(f"import of {r['rows']} rows with PDF", ["rows", "records filed", "PDFs in the archive", "pending", "time", "per record"],
                [[r["rows"], r["filed"], r["pdfs"], r["pending"], f"{r['seconds']:.1f} s",
                  f"{1000 * r['seconds'] / r['rows']:.0f} ms"]])
    assert r["filed"] == r["pdfs"] == r["rows"] and r["pending"] == 0, r


if __name__ == "__main__":
    main()
