"""The python-docx reading adapter: a Word file → a flat list of blocks in reading order.

Only this module opens a .docx for reading. It refuses early what it must not read (macros,
an encrypted file, a zip bomb, a file too large or with too many tables) and never follows
anything outside the package: an image linked by URL or file path is reported, not fetched;
nothing embedded (OLE objects, macros, fields) is run.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024          # a 100-page procedure with pictures is a few MB
MAX_UNZIPPED = 100 * 1024 * 1024      # the parts' declared sizes together
MAX_RATIO = 200                        # a part that inflates more than this is a zip bomb
MAX_MEMBERS = 2000
MAX_TABLES = 300
MAX_PARAGRAPHS = 20000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # an encrypted .docx is an OLE compound file

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
V = "{urn:schemas-microsoft-com:vml}"
_INVISIBLE = re.compile("[\u2060\u200b\ufeff\u00ad]")   # word joiners qms prints to keep numbers whole


@dataclass
class Image:
    data: bytes | None        # None: linked from outside the file (not fetched)
    ext: str                  # ".png", ".jpeg", … from the part name
    width_cm: float | None
    link: str = ""


@dataclass
class Para:
    index: int                # paragraph number in the body, counting from 1 (what a reader is told)
    text: str
    style: str
    heading: int = 0          # outline level from a Heading N style (1…9), 0 when not a heading
    label: str = ""           # the number Word's list numbering shows (e.g. "5.1.2", "1." or "a)"), if any
    label_is_clause: bool = False   # a decimal label (5.1.2 / 1.): maybe a clause, maybe a numbered list
    num_id: str = ""                # which of Word's lists the label comes from
    images: list[Image] = field(default_factory=list)

    @property
    def shown(self) -> str:
        """The text as Word shows it: a list item with its number or letter (a)质量保证能力)."""
        if not self.label:
            return self.text
        return self.label + ("" if self.label.endswith((")", "）")) else " ") + self.text


@dataclass
class Tbl:
    index: int                # the paragraph number it follows (for messages)
    number: int               # 1-based table count in the body
    rows: list[list[str]]
    merged: bool


@dataclass
class WordFile:
    path: Path
    blocks: list              # Para | Tbl, in reading order
    header_cells: list[str]   # text of every header table cell and header paragraph
    notes: list[str]          # things seen but not read (text boxes, embedded objects)


def _refuse(path: Path, why: str):
    raise InvalidInput(why, file=path)


def check_package(path: Path, data: bytes) -> None:
    """Refuse before parsing: not a zip, encrypted, macros, too large, too many parts, a zip bomb."""
    if len(data) > MAX_BYTES:
        _refuse(path, f"the file is {len(data) // (1024 * 1024)} MB; expected a procedure of at most "
                      f"{MAX_BYTES // (1024 * 1024)} MB (compress its pictures or split it)")
    if data[:8] == OLE_MAGIC:
        _refuse(path, "the file is encrypted (password protected) or an old .doc; save it from Word as an "
                      "unprotected .docx")
    if path.suffix.lower() in (".docm", ".dotm"):
        _refuse(path, "a macro-enabled Word file (.docm) is not read; save it as a .docx without macros")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        _refuse(path, "not a Word .docx file (not a zip package); save it from Word as .docx")
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            _refuse(path, f"the package holds {len(infos)} parts; expected at most {MAX_MEMBERS}")
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                _refuse(path, f"part {info.filename} inflates {info.file_size // max(info.compress_size, 1)} "
                              "times; refused as a zip bomb")
            if info.flag_bits & 0x1:
                _refuse(path, "the file is encrypted (password protected); save it from Word as an unprotected .docx")
            low = info.filename.lower()
            if low.endswith("vbaproject.bin") or low.endswith("vbadata.xml"):
                _refuse(path, "the file holds macros (vbaProject); save it as a .docx without macros")
        if total > MAX_UNZIPPED:
            _refuse(path, f"the package unpacks to {total // (1024 * 1024)} MB; expected at most "
                          f"{MAX_UNZIPPED // (1024 * 1024)} MB")
        names = set(zf.namelist())
        if "word/document.xml" not in names:
            _refuse(path, "not a Word document (no word/document.xml)")
        try:
            types = zf.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
            body = zf.read("word/document.xml")
        except Exception as exc:    # a damaged part: CRC, deflate or zip errors of several types
            _refuse(path, f"the Word package is damaged ({type(exc).__name__}); open it in Word and save it again")
        if b"macroEnabled" in types:
            _refuse(path, "a macro-enabled Word file (.docm) is not read; save it as a .docx without macros")
        tables = body.count(b"<w:tbl>") + body.count(b"<w:tbl ")
        if tables > MAX_TABLES:
            _refuse(path, f"the document holds {tables} tables; expected at most {MAX_TABLES} in a procedure")
        paras = body.count(b"<w:p>") + body.count(b"<w:p ")
        if paras > MAX_PARAGRAPHS:
            _refuse(path, f"the document holds {paras} paragraphs; expected at most {MAX_PARAGRAPHS}")


def read_word(path: Path | str) -> WordFile:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    check_package(path, data)
    import docx   # python-docx: imported here, with the checks done, as the one reader of Word files    # lazy: python-docx loads in ~50 ms; only reading or writing a .docx needs it
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:    # python-docx raises several types for a damaged package
        raise InvalidInput(f"cannot read the Word file: {type(exc).__name__}: {str(exc)[:120]}", file=path) from None
    numbering = _Numbering(document)
    styles = _style_info(document)
    blocks: list = []
    notes: list[str] = []
    count = tcount = 0
    part = document.part

    def walk(parent) -> None:
        nonlocal count, tcount
        for el in parent.iterchildren():
            if el.tag == W + "p":
                count += 1
                blocks.append(_para(el, count, part, styles, numbering, notes))
            elif el.tag == W + "tbl":
                tcount += 1
                blocks.append(_table(el, count, tcount, notes))
            elif el.tag in (W + "sdt", W + "sdtContent", W + "customXml"):
                walk(el)      # a content control: its paragraphs and tables read as the body's own
    walk(document.element.body)
    header: list[str] = []
    for section in document.sections:
        for hdr in (section.header, section.first_page_header):
            try:
                if hdr.is_linked_to_previous:
                    continue
                header += [_text(p._p) for p in hdr.paragraphs]
                for t in hdr.tables:
                    for tc in t._tbl.iter(W + "tc"):
                        header.append("\n".join(_text(p) for p in tc.iter(W + "p")))
            except Exception:   # a header python-docx cannot map is only a lost hint
                continue
    return WordFile(path, blocks, [h for h in header if h.strip()], notes)


def _text(p) -> str:
    """A paragraph's text: runs, tabs, breaks, inserted revisions (deleted ones hold w:delText and
    are left out); a text box inside it is skipped (and reported by _para)."""
    out: list[str] = []

    def walk(el) -> None:
        for child in el.iterchildren():
            tag = child.tag
            if tag == W + "t":
                out.append(child.text or "")
            elif tag == W + "tab":
                out.append("\t")
            elif tag in (W + "br", W + "cr"):
                out.append("\n")
            elif tag != W + "txbxContent":
                walk(child)
    walk(p)
    return _INVISIBLE.sub("", "".join(out))


def _style_info(document) -> dict:
    """style id → (name, outline level from its Heading name, its numPr (numId, ilvl) or None)."""
    info = {}
    for st in document.styles.element.iter(W + "style"):
        sid = st.get(W + "styleId")
        name_el = st.find(W + "name")
        name = name_el.get(W + "val") if name_el is not None else sid
        m = re.match(r"^(?:heading|标题)\s*(\d)$", (name or "").strip(), re.I)
        level = int(m.group(1)) if m else 0
        ppr = st.find(W + "pPr")
        num = None
        if ppr is not None:
            outline = ppr.find(W + "outlineLvl")
            if outline is not None and not level:
                level = int(outline.get(W + "val", "9")) + 1 if outline.get(W + "val", "9") != "9" else 0
            npr = ppr.find(W + "numPr")
            if npr is not None:
                nid = npr.find(W + "numId")
                ilvl = npr.find(W + "ilvl")
                if nid is not None:
                    num = (nid.get(W + "val"), int(ilvl.get(W + "val")) if ilvl is not None else max(level - 1, 0))
        based = st.find(W + "basedOn")
        info[sid] = (name, level, num, based.get(W + "val") if based is not None else None)
    return info


def _para(el, index: int, part, styles: dict, numbering: "_Numbering", notes: list[str]) -> Para:
    ppr = el.find(W + "pPr")
    sid = None
    num = None
    if ppr is not None:
        ps = ppr.find(W + "pStyle")
        sid = ps.get(W + "val") if ps is not None else None
        npr = ppr.find(W + "numPr")
        if npr is not None:
            nid, ilvl = npr.find(W + "numId"), npr.find(W + "ilvl")
            if nid is not None:
                num = (nid.get(W + "val"), int(ilvl.get(W + "val")) if ilvl is not None else 0)
    name, level, snum = "Normal", 0, None
    seen = set()
    s = sid
    while s and s in styles and s not in seen:      # the style chain (basedOn) gives level and numbering
        seen.add(s)
        n, lv, sn, based = styles[s]
        if s == sid:
            name = n
        level = level or lv
        snum = snum or sn
        s = based
    if num is None and snum is not None:
        num = snum
    label, is_clause = ("", False)
    if num is not None and num[0] != "0":
        label, is_clause = numbering.next(num[0], num[1])
    para = Para(index, _text(el).strip(), name or "Normal", level, label, is_clause,
                num_id=num[0] if num is not None else "")
    for blip in el.iter(A + "blip"):
        rid, link = blip.get(R + "embed"), blip.get(R + "link")
        extent = next(el.iter(WP + "extent"), None)
        width = round(int(extent.get("cx")) / 360000, 1) if extent is not None and extent.get("cx", "").isdigit() else None
        if rid:
            try:
                img = part.related_parts[rid]
                para.images.append(Image(img.blob, Path(str(img.partname)).suffix.lower(), width))
            except KeyError:
                para.images.append(Image(None, "", width, link="(missing part)"))
        elif link:
            target = part.rels[link].target_ref if link in part.rels else link
            para.images.append(Image(None, "", width, link=target))
    for _ in el.iter(V + "imagedata"):
        para.images.append(Image(None, "", None, link="(VML picture)"))
    if next(el.iter(W + "txbxContent"), None) is not None:
        notes.append(f"paragraph {index}: a text box; its text is not read")
    if next(el.iter(W + "object"), None) is not None:
        notes.append(f"paragraph {index}: an embedded object (OLE); not opened")
    return para


def _table(el, after: int, number: int, notes: list[str]) -> Tbl:
    rows: list[list[str]] = []
    merged = False
    for tr in el.iterchildren(W + "tr"):
        cells = []
        for tc in tr.iterchildren(W + "tc"):
            tcpr = tc.find(W + "tcPr")
            if tcpr is not None:
                span = tcpr.find(W + "gridSpan")
                if (span is not None and span.get(W + "val", "1") != "1") or tcpr.find(W + "vMerge") is not None \
                        or tcpr.find(W + "hMerge") is not None:
                    merged = True
            if tc.find(W + "tbl") is not None:
                notes.append(f"table {number} (after paragraph {after}): a table inside a cell; its text is kept "
                             "as lines of that cell")
            cells.append("\n".join(_text(p).strip() for p in tc.iter(W + "p")).strip())
        rows.append(cells)
    return Tbl(after, number, rows, merged)


class _Numbering:
    """What Word shows as a list paragraph's number: counters per list, formatted by its level's
    lvlText ("%1.%2" → 5.1; "%1)" with lowerLetter → a))."""

    def __init__(self, document):
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}   # numId → ilvl → (format, text, start)
        self.counters: dict[str, list[int]] = {}                        # abstractNumId → counters by level
        self._key: dict[str, str] = {}                                  # numId → abstractNumId
        try:
            root = document.part.numbering_part.element
        except Exception:      # no numbering part: no list numbers
            return
        abstract = {}
        for an in root.iter(W + "abstractNum"):
            lv = {}
            for lvl in an.iter(W + "lvl"):
                ilvl = int(lvl.get(W + "ilvl", "0"))
                fmt = lvl.find(W + "numFmt")
                txt = lvl.find(W + "lvlText")
                start = lvl.find(W + "start")
                lv[ilvl] = (fmt.get(W + "val") if fmt is not None else "decimal",
                            txt.get(W + "val") if txt is not None else "",
                            int(start.get(W + "val")) if start is not None else 1)
            abstract[an.get(W + "abstractNumId")] = lv
        for num in root.iter(W + "num"):
            aid = num.find(W + "abstractNumId")
            if aid is not None:
                # lists sharing an abstract definition share counters, as Word numbers them
                self.levels[num.get(W + "numId")] = abstract.get(aid.get(W + "val"), {})
                self.counters.setdefault(aid.get(W + "val"), [])
                self._key[num.get(W + "numId")] = aid.get(W + "val")

    def next(self, num_id: str, ilvl: int) -> tuple[str, bool]:
        levels = self.levels.get(num_id)
        if not levels:
            return "", False
        key = self._key[num_id]
        counters = self.counters[key]
        while len(counters) <= ilvl:
            lvl = len(counters)
            counters.append(levels.get(lvl, ("decimal", "", 1))[2] - 1)
        counters[ilvl] += 1
        for deeper in range(ilvl + 1, len(counters)):
            counters[deeper] = levels.get(deeper, ("decimal", "", 1))[2] - 1
        del counters[ilvl + 1:]
        fmt, text, _ = levels.get(ilvl, ("decimal", f"%{ilvl + 1}.", 1))
        if fmt in ("bullet", "none"):
            return "", False

        def show(m: re.Match) -> str:
            lv = int(m.group(1)) - 1
            value = counters[lv] if lv < len(counters) else 1
            f = levels.get(lv, ("decimal", "", 1))[0]
            if f == "lowerLetter":
                return chr(ord("a") + (value - 1) % 26)
            if f == "upperLetter":
                return chr(ord("A") + (value - 1) % 26)
            return str(value)
        label = re.sub(r"%(\d)", show, text).strip()
        is_clause = fmt == "decimal" and bool(re.fullmatch(r"(%\d\.)*%\d\.?", text.strip()))
        return label, is_clause
