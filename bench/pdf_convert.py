"""Benchmark: LibreOffice .docx -> PDF/A, one soffice process per file vs one batched call.

    PYTHONPATH=src .venv/bin/python bench/pdf_convert.py [--n 50] [--plain]

Makes N procedure-sized Chinese .docx files (header block, 7 sections with a
table, ~3 pages) with python-docx in a temp dir, converts them with
qms.adapters.convert.to_pdf once per file and then in one call, and prints both times.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from docx import Document
from docx.oxml.ns import qn

from qms.adapters.convert import soffice_available, to_pdf
from qms.adapters.pdf import pdfa_part

SECTIONS = ["目的", "适用范围", "术语", "职责", "程序要求", "相关文件", "记录"]
PHRASES = ["客户服务中心负责售后服务通知单的接收、登记与分派", "服务工程师应在规定时间内到达现场",
           "现场服务报告须经客户签字或盖章后方为有效", "质量部负责对服务过程进行监督检查",
           "产品服务信息记录表保存期限为五年", "用户投诉应在二十四小时内予以答复",
           "服务电话及传真记录应每月汇总分析", "记录应编号、归档并每年汇编成册"]


def _set_east_asia(style, font: str) -> None:
    """Name the Chinese font as Word files do (w:eastAsia on the style's run properties)."""
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def make_procedure(path: Path, n: int, rng: random.Random) -> Path:
    doc = Document()
    _set_east_asia(doc.styles["Normal"], "宋体")
    head = doc.add_table(rows=4, cols=4)
    head.style = "Table Grid"
    cells = [("文件编号", f"QP-SV-{n:03d}"), ("受控状态", "受控"), ("版本", "A/0"), ("发放编号", f"{n:02d}"),
             ("编制", "张工"), ("审定", "李经理"), ("批准", "王总"), ("实施日期", "2026年03月20日")]
    for i, (label, value) in enumerate(cells):
        row, col = divmod(i, 2)
        head.cell(row, col * 2).text = label
        head.cell(row, col * 2 + 1).text = value
    doc.add_heading(f"服务过程控制程序（第{n}号）", level=1)
    for s, title in enumerate(SECTIONS, 1):
        doc.add_heading(f"{s} {title}", level=2)
        for p in range(rng.randint(3, 5)):
            doc.add_paragraph("；".join(rng.choice(PHRASES) for _ in range(rng.randint(4, 7))) + "。")
        if title == "记录":
            table = doc.add_table(rows=1, cols=3)
            table.style = "Table Grid"
            for c, label in enumerate(["记录名称", "表单编号", "保存期限"]):
                table.rows[0].cells[c].text = label
            for r in range(6):
                row = table.add_row().cells
                row[0].text, row[1].text, row[2].text = "售后服务通知单", f"QR-SV-{n:03d}-{r + 1:02d}", "5年"
    doc.save(path)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="number of documents (default 50)")
    ap.add_argument("--plain", action="store_true", help="plain PDF instead of PDF/A-2b")
    args = ap.parse_args()
    if not soffice_available():
        print("LibreOffice (soffice) not found", file=sys.stderr)
        return 1
    rng = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="qms-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        docs = [make_procedure(root / f"QP-SV-{i:03d}.docx", i, rng) for i in range(1, args.n + 1)]
        t_make = time.perf_counter() - t0

        # Warm-up: create this process's LibreOffice profile so neither run pays for it.
        to_pdf([docs[0]], [root / "warmup.pdf"], pdfa=not args.plain)

        single_dir, batch_dir = root / "single", root / "batch"
        single_dir.mkdir()
        batch_dir.mkdir()
        t0 = time.perf_counter()
        for doc in docs:
            to_pdf([doc], [single_dir / (doc.stem + ".pdf")], pdfa=not args.plain)
        t_single = time.perf_counter() - t0

        t0 = time.perf_counter()
        outs = to_pdf(docs, [batch_dir / (d.stem + ".pdf") for d in docs], pdfa=not args.plain)
        t_batch = time.perf_counter() - t0

        from pypdf import PdfReader
        pages = sum(len(PdfReader(p).pages) for p in outs)
        kind = "plain PDF" if args.plain else f"PDF/A ({pdfa_part(outs[0])})"
        print(f"{args.n} procedure-sized .docx made in {t_make:.2f} s "
              f"({pages / args.n:.1f} pages each), converted to {kind}")
        print(f"one soffice per file : {t_single:7.2f} s  ({t_single / args.n:.2f} s/doc)")
        print(f"one batched call     : {t_batch:7.2f} s  ({t_batch / args.n:.2f} s/doc)")
        print(f"ratio                : {t_single / t_batch:7.1f}x faster batched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
