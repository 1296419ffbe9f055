"""What qms relies on from each third-party library of the scan inbox, pinned (one adapter module
each: papercode/_segno.py, scan/_zxing.py, records/_img2pdf.py, scan/_ocrmypdf.py)."""

from __future__ import annotations

import io

from PIL import Image


def test_segno_makes_an_opaque_png_zxing_reads_back_qr_only():
    from qms.papercode._segno import qr_png
    from qms.scan._zxing import read_qr
    text = "QMS1:R:ABCD1234:QR-SV-022-02-2026-0001:1:0123456789AB"
    im = Image.open(io.BytesIO(qr_png(text)))
    assert im.mode in ("1", "L", "P") and "transparency" not in im.info     # no alpha: it goes on PDF/A pages
    page = Image.new("L", (1654, 2339), 255)
    page.paste(im.convert("L").resize((150, 150), Image.NEAREST), (1400, 40))
    assert read_qr(page.rotate(3, expand=True, fillcolor=255)) == [text]      # turned on the glass
    assert read_qr(Image.new("L", (800, 800), 255)) == []


def test_zxing_ignores_other_barcodes():
    import zxingcpp

    from qms.scan._zxing import read_qr
    bar = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode("12345678", zxingcpp.BarcodeFormat.Code128),
                                          scale=4)
    im = Image.fromarray(__import__("numpy").asarray(bar)) if not isinstance(bar, Image.Image) else bar
    canvas = Image.new("L", (im.width + 100, im.height + 100), 255)
    canvas.paste(im.convert("L"), (50, 50))
    assert read_qr(canvas) == []             # QR only: a product's bar code neither splits nor names


def test_img2pdf_keeps_a_jpegs_bytes_and_its_exif_rotation(tmp_path):
    from pypdf import PdfReader

    from qms.records._img2pdf import image_bytes, images_to_pdf
    photo = Image.new("RGB", (400, 300), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6                          # "rotate 90° clockwise to view"
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=70, exif=exif)
    jpeg = buf.getvalue()
    path = tmp_path / "phone.jpg"
    path.write_bytes(jpeg)
    assert image_bytes(path) == jpeg
    pdf = PdfReader(io.BytesIO(images_to_pdf([jpeg])))
    page = pdf.pages[0]
    assert page.rotation == 90
    (xobject,) = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    assert xobject["/Filter"] == "/DCTDecode" and xobject._data == jpeg    # lossless: the photo's own bytes


def test_ocrmypdf_reads_chinese_into_a_pdfa_and_a_sidecar(tmp_path):
    """One page (~3–9 s here): -l chi_sim+eng, PDF/A-2b without Ghostscript, clean sidecar text."""
    from PIL import ImageDraw, ImageFont

    from qms.adapters.pdf import cjk_font, pdfa_part
    from qms.records._img2pdf import images_to_pdf
    from qms.adapters.ocr import available, ocr_pdf
    assert available() is None
    f = cjk_font()
    im = Image.new("L", (1654, 600), 255)
    ImageDraw.Draw(im).text((100, 200), "现场服务报告 2026", fill=0, font=ImageFont.truetype(str(f.path), 72, index=f.index))
    buf = io.BytesIO()
    im.save(buf, "PNG", dpi=(200, 200))
    src = tmp_path / "in.pdf"
    src.write_bytes(images_to_pdf([buf.getvalue()]))
    ocr_pdf(src, tmp_path / "out.pdf", tmp_path / "out.txt")
    text = (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert "服务报告" in text.replace(" ", "")
    assert pdfa_part(tmp_path / "out.pdf") in ("2B", "2b", "2")
