"""The yearly volume (每年汇编成册): a form's records of one year bound into one PDF —
cover and contents, each record's PDF (its signed scan after it) in number order, one
bookmark per record, and running page numbers 第N页 共M页 across the volume.

Each record's own PDF numbers its pages 第 1 页 共 1 页 in its footer; bound into a
volume that number must become the volume's. Every page gets, in its footer's right
corner, a white patch over the record's own number with the volume's number on it.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path


from ..domain import recordstate
from ..store import outputs
from ..store.archive import atomic_write
from ..store.catalog import reading
from ..base.dates import cn_date, today
from ..base.errors import NotFound, QmsError
from ..adapters.pdf import add_cjk_font, read_pdf, make_table_pdf, merge_with_bookmarks
from ..store.workspace import Workspace
from ..store.writer import writing
from ..adapters.stamp import page_geometry, unshare_contents
from ..domain.forms import load_form
from ..records import SCAN_NAME, PdfPending, convert_pending
from ..domain.labels import status_label
from ..base.yaml_source import load_archived

# Where the record template's footer puts its page number (right cell, 1.5 cm above the
# bottom edge, 2.5 cm margins): the patch covers it, in points from the bottom-right corner.
_PATCH_RIGHT, _PATCH_W = 62.0, 150.0
_PATCH_BOTTOM, _PATCH_H = 30.0, 30.0
_SIZE = 9.0


def _overlays(sizes: list[tuple[float, float]]) -> PdfReader:
    from pypdf import PdfReader, PdfWriter, Transformation    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    from fpdf import FPDF
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    family = add_cjk_font(pdf)
    total = len(sizes)
    for n, (w, h) in enumerate(sizes, 1):
        pdf.add_page(orientation="L" if w > h else "P", format=(min(w, h), max(w, h)))
        x, y = w - _PATCH_RIGHT - _PATCH_W, h - _PATCH_BOTTOM - _PATCH_H
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(x, y, _PATCH_W, _PATCH_H, style="F")
        pdf.set_font(family, size=_SIZE)
        text = f"第 {n} 页 共 {total} 页"
        pdf.text(x + _PATCH_W - pdf.get_string_width(text) - 6, y + _PATCH_H / 2 + 0.35 * _SIZE, text)
    return PdfReader(io.BytesIO(bytes(pdf.output())))


def number_pages(path: Path) -> int:
    """Rewrite `path` (a finished volume) with 第N页 共M页 on every page; returns M."""
    from pypdf import PdfReader, PdfWriter, Transformation    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    writer = PdfWriter(clone_from=read_pdf(path))
    unshare_contents(writer)
    geometry = [page_geometry(page) for page in writer.pages]
    overlays = _overlays([size for size, _ in geometry])
    for page, overlay, (_, ctm) in zip(writer.pages, overlays.pages, geometry):
        page.merge_transformed_page(overlay, Transformation(ctm), over=True)
        page.compress_content_streams()
    buf = io.BytesIO()
    writer.write(buf)
    atomic_write(Path(path), buf.getvalue(), replace=True)
    return len(writer.pages)


def compile_volume(ws: Workspace, *, form: str, year: int, out: Path | str, actor: str, progress=None) -> dict:
    """每年汇编成册: cover + contents, then each record's PDF (its signed scan after it),
    in number order, one bookmark per record."""
    the_form = load_form(ws, form)
    out = outputs.check(ws, out, (".pdf",))
    with reading(ws) as cat:
        # Number order: a monthly pattern ({month}) restarts its sequence every month.
        rows = recordstate.year_of_form(cat, form, year, monthly="{month" in the_form.numbering)
        versions = {r["number"]: recordstate.version_folders(cat, r["number"]) for r in rows}
        # the date the customer wrote by each version's signature (signed_on), for the scan's bookmark
        signed_on = {r["number"]: {s["version"]: s["signed_on"] for s in recordstate.signatures(cat, r["number"])
                                   if s["signed_on"]} for r in rows}
    if not rows:
        raise NotFound(f"no records of {form} ({the_form.title}) in {year}", field="year")
    pending = [r["number"] for r in rows if r["pdf_pending"]]
    if pending:
        try:
            convert_pending(ws, actor=actor, numbers=pending)
        except PdfPending as exc:    # no volume without every record's PDF: a plain refusal (exit 1)
            raise QmsError(f"cannot compile {form} {year}: {exc.message}") from None
    loc = ws.config.locale
    # the contents' 4th column: 用户单位, or for a form without one (领料单) its first required field
    who = the_form.field("customer") or next(
        (f for f in the_form.fields if f.required and f.type in ("text", "choice")), None)
    who_label = who.label if who else "用户单位"

    def who_value(r) -> str:
        if who is None:
            return ""
        if who.name == "customer" and r["customer"]:
            return r["customer"]
        return str(((load_archived(ws.root / r["folder"] / "data.yaml") or {}).get("data") or {}).get(who.name) or "")
    parts, contents, page = [], [], 0
    unsigned = 0
    earlier: list[str] = []        # records whose signature covers an earlier version than the one bound
    for i, r in enumerate(rows, 1):
        folder = ws.root / r["folder"]
        items: list = [folder / f"{r['number']}.pdf"]
        # a scan lies in the folder of the version it signed: the volume says which one
        current = len(versions[r["number"]])
        scans = [(n, ws.root / v / SCAN_NAME) for n, v in enumerate(versions[r["number"]], 1)
                 if (ws.root / v / SCAN_NAME).exists()]
        items += [(f"{r['number']} 签字扫描件（第{n}版"
                   + (f"，{cn_date(signed_on[r['number']][n], loc)}签字" if signed_on[r["number"]].get(n) else "")
                   + "）", s) for n, s in scans]
        waiting = r["status"] == "awaiting_signature"
        unsigned += waiting
        signed = scans[-1][0] if scans else None
        mark = "（未经用户签字）" if waiting else ""
        if signed and signed != current:
            mark = f"（第{current}版{'未经用户签字' if waiting else ''}，用户签字签于第{signed}版）"
            earlier.append(f"{r['number']}：现行第{current}版{'尚未经用户签字' if waiting else ''}；"
                           f"所附签字扫描件签于第{signed}版，不涵盖其后的修改。")
        elif current > 1 and signed == current:
            mark = f"（第{current}版，已经用户签字）"
        party = who_value(r)
        parts.append((f"{r['number']}  {party}{mark}".strip(), items))
        first = page
        page += sum(len(read_pdf(p if not isinstance(p, tuple) else p[1]).pages) for p in items)
        contents.append([str(i), r["number"], r["record_date"], party,
                         status_label(r["status"], loc) + ("※" if waiting else ""), first])
    with tempfile.TemporaryDirectory(prefix="qms-volume-") as tmp:
        cover = Path(tmp) / "cover.pdf"
        subtitle = [ws.config.org_name, f"表单 {the_form.id}　　依据程序文件 {the_form.procedure or '-'}",
                    f"共 {len(rows)} 份记录　　汇编日期 {today().isoformat()}　　汇编人 {actor}"]
        note = ["目录：每份记录在 PDF 书签中各有一条，页码为本册页码。"]
        if unsigned:
            note.append(f"※ 其中 {unsigned} 份记录尚未经用户签字（状态：待用户签字），按规定尚不生效。")
        note += earlier

        def build_cover(offset: int) -> int:
            make_table_pdf(cover, f"{the_form.title}　{year}年度汇编", subtitle,
                           ["序号", "记录编号", "记录日期", who_label, "状态", "页码"],
                           [c[:5] + [str(c[5] + offset + 1)] for c in contents], note,
                           col_widths=[0.6, 2.6, 1.3, 3.0, 1.5, 0.7], numbered=False)
            return len(read_pdf(cover).pages)
        # the contents' page numbers count the cover's own pages: build until they agree
        n_cover = build_cover(1)
        if build_cover(n_cover) != n_cover:
            n_cover = build_cover(n_cover + 1)
        built = Path(tmp) / "volume.pdf"
        merge_with_bookmarks(parts, built, front=[cover], title=f"{the_form.title} {year}", progress=progress)
        pages = number_pages(built)
        outputs.install(ws, built, out, (".pdf",))
    with writing(ws, purpose="compile") as w:
        w.commit([{"action": "record.compile", "target": form,
                   "data": {"year": int(year), "records": len(rows), "pages": pages, "output": str(out)}}],
                 actor=actor)
    return {"form": form, "year": int(year), "records": len(rows), "pages": pages, "file": str(out)}
