"""The scan inbox: QR decoding per page, pages filed per minute from a 60-page bundle, OCR seconds
per page — each beside its floor (zxing-cpp alone on the same image; tesseract alone on the same page).

    python -m bench.scan [--pages 60] [--ocr-pages 1]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import print_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _record_pdf(tmp: Path, ws, number: str) -> Path:
    """A one-page A4 PDF with the record's QR stamped by the PDF stage (as a printed record)."""
    from fpdf import FPDF

    from qms.papercode import stamp_record
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for i in range(30):
        pdf.cell(0, 8, f"line {i} of the service report {number}", new_x="LMARGIN", new_y="NEXT")
    out = tmp / f"{number}.pdf"
    out.write_bytes(bytes(pdf.output()))
    return stamp_record(ws, out, number, 1)


def qr_decode(tmp: Path, ws, runs: int = 20) -> list[list]:
    import pypdfium2 as pdfium
    import zxingcpp

    from qms.scan import page_images as pg
    from qms.scan._zxing import read_qr
    pdf = _record_pdf(tmp, ws, "QR-SV-022-02-2026-0001")
    rows = []
    for dpi in (150, 300):
        img = pdfium.PdfDocument(str(pdf))[0].render(scale=dpi / 72, grayscale=True).to_pil()
        floor, ours, full = [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert read_qr(img)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            src = pg.open_source(pdf, max_pages=10)
            assert read_qr(pg.page_image(src, 0, dpi=dpi))
            src.close()
            full.append(time.perf_counter() - t)
        rows.append([f"{dpi} dpi page", f"{statistics.median(ours) * 1000:.1f}",
                     f"{statistics.median(floor) * 1000:.1f}", f"{statistics.median(full) * 1000:.1f}"])
    # a scanned JPEG page (200 dpi, turned 3°, q60): what the inbox reads most
    from PIL import Image
    from scanpages import as_scanned
    img = pdfium.PdfDocument(str(pdf))[0].render(scale=200 / 72).to_pil()
    jpeg = Image.open(io.BytesIO(as_scanned(img))).convert("L")
    floor, ours = [], []
    for _ in range(runs):
        t = time.perf_counter()
        zxingcpp.read_barcodes(jpeg, formats=zxingcpp.BarcodeFormat.QRCode)
        floor.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert read_qr(jpeg)
        ours.append(time.perf_counter() - t)
    rows.append(["200 dpi JPEG q60, 3°", f"{statistics.median(ours) * 1000:.1f}",
                 f"{statistics.median(floor) * 1000:.1f}", "-"])
    # pdftoppm, the alternative rasteriser
    t = time.perf_counter()
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-f", "1", "-l", "1", str(pdf), str(tmp / "ppm")], check=True)
    rows.append(["pdftoppm 150 dpi (rasterise only)", "-", "-", f"{(time.perf_counter() - t) * 1000:.1f}"])
    return rows


def bundle(tmp: Path, n_pages: int) -> list[list]:
    import yaml

    from qms.records import file_record
    from qms.scan import consume_file
    from qms.store.workspace import init_workspace
    from scanpages import page, pdf_of, sign_on
    from qms.integrity.governance import apply_config
    ws = init_workspace(tmp / "bundle-ws")
    apply_config(ws, actor=None)          # what governs it journaled first, as qms init does
    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples/records/QR-SV-022-02.yaml").read_text())
    src = tmp / "r.yaml"
    src.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    from qms.papercode import record_text
    reports = n_pages // 3
    numbers = [file_record(ws, "QR-SV-022-02", src, actor="bench", pdf=False).data["number"] for _ in range(reports)]
    pages = []
    for n in numbers:
        pages += [sign_on(page(record_text(ws, n, 1), n)), page(None, "2"), page(None, "3")]
    inbox = tmp / "inbox"
    inbox.mkdir()
    f = pdf_of(pages, inbox / "bundle.pdf")
    t = time.perf_counter()
    out = consume_file(ws, f, actor="bench")
    took = time.perf_counter() - t
    assert len(out.filed) == reports, out.message
    return [[f"{len(pages)}-page bundle, {reports} reports", f"{took:.1f}", f"{len(pages) / took * 60:.0f}",
             f"{took / len(pages) * 1000:.0f}"]]


def ocr(tmp: Path, n: int) -> list[list]:
    from PIL import ImageDraw, ImageFont

    from qms.adapters.pdf import cjk_font
    from qms.records._img2pdf import images_to_pdf
    from qms.adapters.ocr import ocr_pdf
    from scanpages import page
    font = cjk_font()
    im = page(None)
    d = ImageDraw.Draw(im)
    for i in range(12):
        d.text((150, 300 + 90 * i), "现场检查发现油冷却器翅片积尘堵塞严重，温控阀阀芯卡滞。", fill=0,
                font=ImageFont.truetype(str(font.path), 48, index=font.index))
    png = tmp / "page.png"
    im.save(png, dpi=(200, 200))
    pdf = tmp / "page.pdf"
    pdf.write_bytes(images_to_pdf([png.read_bytes()]))
    ours, floor = [], []
    for i in range(n):
        t = time.perf_counter()
        ocr_pdf(pdf, tmp / f"o{i}.pdf", tmp / f"o{i}.txt")
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(["tesseract", str(png), str(tmp / f"t{i}"), "-l", "chi_sim+eng"], check=True,
                       capture_output=True)
        floor.append(time.perf_counter() - t)
    return [["one A4 page, 12 lines of Chinese", f"{statistics.median(ours):.1f}", f"{statistics.median(floor):.1f}"]]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--ocr-pages", type=int, default=1)
    a = ap.parse_args()
    from qms.store.workspace import init_workspace
    with tempfile.TemporaryDirectory(prefix="qms-bench-scan-") as tmp:
        tmp = Path(tmp)
        ws = init_workspace(tmp / "ws")
        print_table("QR decode per page (ms, median)", ["page", "qms read_qr", "zxing-cpp alone", "rasterise + read"],
                    qr_decode(tmp, ws))
        print_table("Pages filed per minute", ["input", "seconds", "pages/min", "ms/page"], bundle(tmp, a.pages))
        if a.ocr_pages:
            print_table("OCR seconds per page", ["page", "qms (OCRmyPDF, PDF/A + sidecar)", "tesseract alone"],
                        ocr(tmp, a.ocr_pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
