"""Filing throughput: one by one and by import, with and without PDF; and batch filing against
a naive floor (a fresh DocxTemplate per record + a bare whoosh add of the same data).

    python -m bench.filing [--records 1000] [--pdf-records 200] [--one-by-one-pdf 10]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import phone_rows, print_table, write_csv


_RUNS = itertools.count(1)


def _workspace(tmp: Path, name: str):
    """A fresh workspace per measure (two measures of the same size must not share one)."""
    from qms.integrity.governance import apply_config
    from qms.store.workspace import init_workspace
    ws = init_workspace(tmp / f"{name}-{next(_RUNS)}")
    apply_config(ws, actor=None)          # what governs it journaled first, as qms init does
    return ws


def batch_import(tmp: Path, n: int, pdf: bool) -> float:
    from qms.records import import_records
    ws = _workspace(tmp, f"import-{n}-{pdf}")
    csv_path = tmp / f"rows-{n}.csv"
    write_csv(csv_path, phone_rows(n))
    start = time.perf_counter()
    filed = import_records(ws, "QR-SV-022-04", csv_path, actor="bench", pdf=pdf)
    took = time.perf_counter() - start
    assert len(filed) == n
    return took


def one_by_one(tmp: Path, n: int, pdf: bool) -> float:
    """Each record its own filing: its own transaction, fsyncs, audit entry and index commit."""
    import yaml
    from qms.records import file_record
    ws = _workspace(tmp, f"single-{n}-{pdf}")
    files = []
    for i, row in enumerate(phone_rows(n, seed=11)):
        path = tmp / f"single-{pdf}-{i}.yaml"
        path.write_text(yaml.safe_dump(row, allow_unicode=True), encoding="utf-8")
        files.append(path)
    start = time.perf_counter()
    for path in files:
        file_record(ws, "QR-SV-022-04", path, actor="bench", pdf=pdf)
    return time.perf_counter() - start


def naive_floor(tmp: Path, n: int) -> float:
    """The bare libraries: a fresh DocxTemplate per record, then one whoosh writer adding the text.
    (whoosh is imported here, outside the qms package, only to measure the floor.)"""
    from docxtpl import DocxTemplate
    from whoosh import fields, index
    from qms.domain.forms import load_form
    from qms.records import record_context
    from qms.store.workspace import open_workspace
    ws = _workspace(tmp, f"floor-{n}")
    form = load_form(ws, "QR-SV-022-04")
    rows = phone_rows(n)
    template = ws.templates_dir / "record.docx"
    out_dir = tmp / "floor-out"
    out_dir.mkdir()
    idx_dir = tmp / "floor-index"
    idx_dir.mkdir()
    schema = fields.Schema(number=fields.ID(stored=True, unique=True), text=fields.TEXT)
    import jinja2
    from qms.base.textfmt import nobreak
    jinja_env = jinja2.Environment()             # the forms' templates use one filter of qms's own
    jinja_env.filters["nobreak"] = nobreak
    start = time.perf_counter()
    ix = index.create_in(idx_dir, schema)
    writer = ix.writer()
    for i, row in enumerate(rows, 1):
        number = f"QR-SV-022-04-2026-{i:04d}"
        tpl = DocxTemplate(template)
        tpl.render(record_context(ws, form, row, number=number), jinja_env)
        tpl.save(out_dir / f"{number}.docx")
        writer.add_document(number=number, text="\n".join(str(v) for v in row.values()))
    writer.commit()
    took = time.perf_counter() - start
    del open_workspace
    return took


def run(records: int = 1000, pdf_records: int = 200, one_by_one_pdf: int = 10, floor_records: int = 2000) -> list[list]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="qms-bench-filing-") as tmp:
        tmp = Path(tmp)
        t_floor = naive_floor(tmp, floor_records)
        t_batch2k = batch_import(tmp, floor_records, pdf=False)
        rows.append([f"batch filing {floor_records}, no PDF (qms import)", f"{t_batch2k:.1f} s",
                     f"{floor_records / t_batch2k:.0f}/s", f"{t_batch2k / t_floor:.2f}× floor"])
        rows.append([f"naive floor {floor_records} (DocxTemplate per record + whoosh add)", f"{t_floor:.1f} s",
                     f"{floor_records / t_floor:.0f}/s", "1.00×"])
        t = batch_import(tmp, records, pdf=False)
        rows.append([f"import {records}, no PDF", f"{t:.1f} s", f"{records / t:.0f}/s", ""])
        t = one_by_one(tmp, records, pdf=False)
        rows.append([f"one by one {records}, no PDF (library calls)", f"{t:.1f} s", f"{records / t:.0f}/s", ""])
        t = batch_import(tmp, pdf_records, pdf=True)
        rows.append([f"import {pdf_records} with PDF/A (one LibreOffice run)", f"{t:.1f} s",
                     f"{pdf_records / t:.1f}/s", ""])
        t = one_by_one(tmp, one_by_one_pdf, pdf=True)
        rows.append([f"one by one {one_by_one_pdf} with PDF/A (a LibreOffice start each)", f"{t:.1f} s",
                     f"{one_by_one_pdf / t:.2f}/s",
                     f"→ {records} would take ~{records * t / one_by_one_pdf / 60:.0f} min"])
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--pdf-records", type=int, default=200)
    ap.add_argument("--one-by-one-pdf", type=int, default=10)
    ap.add_argument("--floor-records", type=int, default=2000)
    a = ap.parse_args()
    print_table("filing throughput", ["measure", "time", "rate", "ratio / note"],
                run(a.records, a.pdf_records, a.one_by_one_pdf, a.floor_records))


if __name__ == "__main__":
    main()
