"""PDF pipeline against the real stack: python-docx -> LibreOffice -> pypdf/fpdf2.

One LibreOffice run (session fixture) converts a small batch; everything else
works on those PDFs.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_BREAK
from docx.oxml.ns import qn
from pypdf import PdfReader, PdfWriter

from qms.adapters.convert import INSTALL_HINT, soffice_available, to_pdf
from qms.base.errors import QmsError
from qms.adapters.pdf import is_pdf, make_table_pdf, merge_with_bookmarks, pdf_text, pdfa_part
from qms.adapters.stamp import stamp_pdf

needs_soffice = pytest.mark.skipif(not soffice_available(), reason="LibreOffice not installed")


def _docx(path: Path, paragraphs: list[str], east_asia_font: str, *, page_break_after: int | None = None) -> Path:
    """A .docx whose runs name a Chinese font the way Word files do (w:eastAsia)."""
    doc = Document()
    for i, text in enumerate(paragraphs):
        run = doc.add_paragraph().add_run(text)
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asia_font)
        if page_break_after == i:
            run.add_break(WD_BREAK.PAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    if not soffice_available():
        pytest.skip("LibreOffice not installed")
    root = tmp_path_factory.mktemp("docs")
    song = _docx(root / "a" / "服务报告.docx",
                 ["现场服务报告 甲方存档", "直骨角：字形须为简体中文", "客户签字后生效"], "宋体")
    hei = _docx(root / "b" / "服务报告.docx",
                ["售后服务通知单 乙方存档", "直骨角 黑体测试"], "黑体")
    proc = _docx(root / "QP-SV-022 服务过程控制程序.docx",
                 ["服务过程控制程序", "1 目的", "为规范售后服务过程，特制定本程序。",
                  "2 适用范围", "适用于本公司产品的售后服务。"], "宋体", page_break_after=2)
    docs = {"song": song, "hei": hei, "proc": proc}
    pdfs = to_pdf(list(docs.values()))
    return {name: (src, pdf) for (name, src), pdf in zip(docs.items(), pdfs)}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- convert

def test_batch_writes_pdfs_beside_inputs_even_with_the_same_name(converted):
    song_src, song_pdf = converted["song"]
    hei_src, hei_pdf = converted["hei"]
    assert song_pdf == song_src.with_suffix(".pdf") and song_pdf.is_file()
    assert hei_pdf == hei_src.with_suffix(".pdf") and hei_pdf.is_file()
    # Same file name in two folders: each PDF carries its own document's text.
    assert "现场服务报告" in pdf_text(song_pdf) and "售后服务通知单" not in pdf_text(song_pdf)
    assert "售后服务通知单" in pdf_text(hei_pdf) and "现场服务报告" not in pdf_text(hei_pdf)
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", str(song_pdf), "-"], capture_output=True, text=True).stdout
        assert "客户签字后生效" in out


def test_output_is_pdfa_2b(converted):
    for _src, pdf in converted.values():
        assert is_pdf(pdf)
        assert pdfa_part(pdf) == "2B"
    assert not is_pdf(converted["song"][0])  # the .docx itself


def _noto_faces_for(pdf: Path, char: str) -> set[str]:
    """Noto CJK faces whose glyph for `char` is the glyph embedded in the PDF.

    LibreOffice names every Noto CJK face after the collection's shared CFF font
    ("NotoSerifCJKjp-Regular"), so the font *name* cannot tell SC from JP; the
    glyph can: 直 is cid27746 in Noto Serif CJK SC and cid27745 in its JP face.
    """
    faces: set[str] = set()
    for page in PdfReader(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            base = str(font["/BaseFont"])
            if "CJK" not in base or "/ToUnicode" not in font:
                continue
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            m = re.search(r"<([0-9A-Fa-f]+)>\s*<%04X>" % ord(char), cmap)
            if not m:
                continue
            program = font["/FontDescriptor"].get_object()["/FontFile"].get_object().get_data()
            glyph = re.search(rb"dup %d /(\S+) put" % int(m.group(1), 16), program).group(1).decode()
            ttc = "NotoSerifCJK-Regular.ttc" if "Serif" in base else "NotoSansCJK-Regular.ttc"
            faces |= {face for face, g in _noto_glyphs(ttc, char).items() if g == glyph}
    return faces


@functools.lru_cache(maxsize=None)
def _noto_glyphs(ttc: str, char: str) -> dict[str, str]:
    """{face family: glyph name for `char`} for each face of a Noto CJK collection."""
    from fontTools.ttLib import TTCollection

    return {face["name"].getDebugName(1): face.getBestCmap().get(ord(char))
            for face in TTCollection(f"/usr/share/fonts/opentype/noto/{ttc}", lazy=True).fonts}


@pytest.mark.skipif(not Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc").exists(),
                    reason="Debian fonts-noto-cjk layout needed to read glyph ids")
def test_chinese_fonts_render_with_simplified_chinese_glyphs(converted):
    # 宋体 -> Noto Serif CJK SC and 黑体 -> Noto Sans CJK SC through fonts.conf.
    song = _noto_faces_for(converted["song"][1], "直")
    assert "Noto Serif CJK SC" in song and "Noto Serif CJK JP" not in song
    hei = _noto_faces_for(converted["hei"][1], "直")
    assert "Noto Sans CJK SC" in hei and "Noto Sans CJK JP" not in hei
    # 骨 tells SC from TC too.
    bone = _noto_faces_for(converted["song"][1], "骨")
    assert "Noto Serif CJK SC" in bone and not bone & {"Noto Serif CJK JP", "Noto Serif CJK TC"}


@needs_soffice
def test_failed_conversion_names_the_file_and_writes_nothing(tmp_path, converted):
    good = converted["hei"][0]
    broken = tmp_path / "损坏.docx"
    broken.write_bytes(good.read_bytes()[:4000])  # a truncated zip
    outs = [tmp_path / "good.pdf", tmp_path / "broken.pdf"]
    with pytest.raises(QmsError) as err:
        to_pdf([good, broken], outs)
    assert err.value.file == str(broken)
    assert not any(p.exists() for p in outs)
    assert not list(tmp_path.glob(".*.tmp"))


def test_missing_soffice_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("QMS_SOFFICE", str(tmp_path / "no-such-soffice"))
    doc = _docx(tmp_path / "x.docx", ["测试"], "宋体")
    with pytest.raises(QmsError) as err:
        to_pdf([doc])
    assert INSTALL_HINT in str(err.value)
    assert "libreoffice-writer-nogui fonts-noto-cjk" in str(err.value)


# --------------------------------------------------------------------------- stamps

def test_controlled_copy_stamp_is_real_text_on_a_new_file(tmp_path, converted):
    src = converted["proc"][1]
    before = _sha(src)
    out = stamp_pdf(src, tmp_path / "copy-3.pdf", "受控副本 No.3", style="copy")
    assert _sha(src) == before
    pages = PdfReader(out).pages
    assert len(pages) == len(PdfReader(src).pages) == 2
    for page in pages:  # every page carries the stamp and keeps its own text
        text = page.extract_text().replace("\x00", "")
        assert "受控副本" in text and "No.3" in text
    assert "服务过程控制程序" in pdf_text(out)
    # The stamp's font is the embedded Simplified Chinese face (fpdf2 names it so).
    fonts = {str(f.get_object()["/BaseFont"]) for f in pages[0]["/Resources"]["/Font"].values()}
    assert any(name.endswith("NotoSansCJKSC") for name in fonts), fonts


@pytest.mark.parametrize("style,words", [("obsolete", ("作废", "OBSOLETE")), ("draft", ("草稿", "DRAFT"))])
def test_obsolete_and_draft_stamps_on_every_page(tmp_path, converted, style, words):
    src = converted["proc"][1]
    before = _sha(src)
    out = stamp_pdf(src, tmp_path / f"{style}.pdf", style=style)
    assert _sha(src) == before
    for page in PdfReader(out).pages:
        text = page.extract_text().replace("\x00", "")
        assert all(w in text for w in words)


def test_stamp_never_overwrites_the_original(converted):
    src = converted["song"][1]
    before = _sha(src)
    with pytest.raises(QmsError):
        stamp_pdf(src, src, "受控副本 No.1", style="copy")
    with pytest.raises(QmsError):
        stamp_pdf(src, src.with_name("x.pdf"), "受控副本", style="nonsense")
    assert _sha(src) == before


def test_stamp_on_rotated_page_and_shared_content(tmp_path, converted):
    # Two pages sharing one content stream, the second displayed rotated 90°.
    reader = PdfReader(converted["song"][1])
    writer = PdfWriter()
    writer.add_page(reader.pages[0])
    writer.add_page(reader.pages[0]).rotate(90)
    mixed = tmp_path / "mixed.pdf"
    writer.write(mixed)
    out = stamp_pdf(mixed, tmp_path / "mixed-copy.pdf", "受控副本 No.7", style="copy")
    pages = PdfReader(out).pages
    assert [p.rotation for p in pages] == [0, 90]
    for page in pages:  # exactly one stamp per page, not one per sharer
        assert page.extract_text().replace("\x00", "").count("受控副本") == 1


def test_the_record_qr_keeps_the_pdfa_claim_and_the_page_as_libreoffice_made_them(tmp_path, converted):
    # The QR goes over page 1 through qpdf (pikepdf, adapters.stamp.overlay_first_pages). What that
    # relies on: the XMP metadata (the PDF/A-2b claim) is written back byte for byte, the page's own
    # content stream is kept unchanged, and a stream page 1 shares with page 2 gets no QR there.
    import pikepdf
    import pypdfium2 as pdfium

    from qms.papercode.qrstamp import add_qr
    from qms.scan._zxing import read_qr
    record = tmp_path / "record.pdf"                    # LibreOffice's PDF/A, two pages
    shutil.copy(converted["proc"][1], record)
    shared = tmp_path / "shared.pdf"                    # page 2 shares page 1's content stream
    writer = PdfWriter()
    writer.add_page(PdfReader(converted["song"][1]).pages[0])
    writer.add_page(PdfReader(converted["song"][1]).pages[0])
    writer.write(shared)
    text = "QMS1:R:ABCD1234:QR-SV-022-04-2026-0001:1:0123456789AB"
    for path in (record, shared):
        with pikepdf.open(path) as before:
            xmp = before.Root.get("/Metadata") and before.Root.Metadata.read_bytes()
            content = [page.obj.Contents.read_bytes() for page in before.pages]
        add_qr(path, text, "QR-SV-022-04-2026-0001")
        with pikepdf.open(path) as after:
            assert (after.Root.get("/Metadata") and after.Root.Metadata.read_bytes()) == xmp, path.name
            assert after.pages[0].obj.Contents[1].read_bytes() == content[0]     # kept, between q and the QR
            assert after.pages[1].obj.Contents.read_bytes() == content[1]        # page 2 untouched
        pages = pdfium.PdfDocument(str(path))
        assert read_qr(pages[0].render(scale=150 / 72).to_pil()) == [text], path.name
        assert read_qr(pages[1].render(scale=150 / 72).to_pil()) == [], path.name
        assert "QR-SV-022-04-2026-0001" in PdfReader(path).pages[0].extract_text().replace("\x00", "")
    assert pdfa_part(record) == "2B"
    assert "为规范售后服务过程" in pdf_text(record)


# --------------------------------------------------------------------------- merge, tables

def test_merge_with_bookmarks(tmp_path, converted):
    cover = make_table_pdf(tmp_path / "cover.pdf", "2026年度 记录汇编", ["质量部"],
                           ["部分", "份数"], [["服务报告", "2"], ["程序文件", "1"]], [])
    done: list[int] = []
    out = tmp_path / "volume.pdf"
    n = merge_with_bookmarks(
        [("现场服务报告", [converted["song"][1], ("QR-2026-0002", converted["hei"][1])]),
         ("程序文件", [converted["proc"][1]])],
        out, front=[cover], progress=done.append)
    reader = PdfReader(out)
    assert n == len(reader.pages) == 1 + 1 + 1 + 2
    assert done == [1, 2, 3, 4]
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [str(b.title) for b in top] == ["现场服务报告", "程序文件"]
    assert [reader.get_destination_page_number(b) for b in top] == [1, 3]
    children = reader.outline[1]  # the list after its parent holds the children
    assert [str(c.title) for c in children] == ["QR-2026-0002"]
    assert reader.get_destination_page_number(children[0]) == 2
    assert "服务过程控制程序" in reader.pages[3].extract_text()


def test_table_pdf_round_trips_chinese_and_flows_to_more_pages(tmp_path):
    rows = [[f"QR-SV-022-01-2026-{i:04d}", f"售后服务通知单 第{i}号", "2021-03-01", "2026-03-01"]
            for i in range(1, 61)]
    out = make_table_pdf(tmp_path / "销毁记录.pdf", "记录销毁记录", ["依据：记录控制程序", "授权人：王质量"],
                         ["记录编号", "名称", "归档日期", "保存期满"], rows,
                         ["销毁人：张三    监销人：李四", "销毁日期：2026年03月20日"],
                         col_widths=[4, 5, 2.5, 2.5])
    text = pdf_text(out)
    assert "记录销毁记录" in text and "授权人：王质量" in text
    assert "售后服务通知单 第60号" in text and "QR-SV-022-01-2026-0060" in text
    assert "监销人：李四" in text
    pages = PdfReader(out).pages
    assert len(pages) > 1
    assert "记录编号" in pages[1].extract_text().replace("\x00", "")  # heading row repeated
    assert f"共 {len(pages)} 页" in text
