"""A controlled procedure written in Word → a procedure source (the YAML docsource parses).

The cover or header table gives number, title, kind, department and basis. Clauses come from
numbers typed by hand ("5.1.2 交付活动", "4.1.1交付前的活动要求"), from Heading styles, or from
Word's list numbering; a number is taken as a clause only where it continues the clauses before
it (5.1 → 5.1.1, 5.2 or 6), so "1. 是本过程的主管部门…" inside a clause stays text. A 术语 clause
gives `terms`, 相关文件 `references`, 记录 `records`; tables take the caption before them, figures
the caption after them, and their images are written beside the YAML. Whatever could not be
placed is listed with its paragraph number, never dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..base.errors import InvalidInput
from ..store.workspace import Workspace
from .procedure_context import SCOPE_TITLES, TERM_SECTION_TITLES, TERMS_TITLE
from .wordread import Para, Tbl, WordFile, read_word
from ..domain.forms import load_forms_quietly
import tempfile
from ..store import outputs
from ..domain.docsource import parse_source_text
from ..domain.results import Change

REFERENCE_TITLES = ("相关文件", "引用文件", "支持性文件", "相关文件和资料", "参考文件")
RECORD_TITLES = ("记录", "质量记录", "相关记录", "记录表格")
COVER_KEYS = ("文件编号", "编号", "文件类别", "文件类型", "编制部门", "主管部门", "归口部门", "部门", "版本", "版次",
              "受控状态", "发放编号", "生效日期", "发布日期", "实施日期", "页数")
HISTORY_HEADS = ("修订记录", "版本", "修订内容", "修改记录")
# a number at the start of a paragraph: "5.1.2 标题", "5.1.2标题", "1. 目的", "3、职责"
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,5})(?:[.．、](?!\d))?[ \t\u3000]*(?=\S)(.*)$", re.S)
# what may follow a number without being a clause: 2 套, 10台, 5年, 3) …
_NOT_CLAUSE = re.compile(r"^[)）%％年月日台套个项次份天条款章节]")
_SENTENCE_END = re.compile(r"[。；;：:！？!?]$")
_CAPTION_TABLE = re.compile(r"^表\s*[0-9A-Za-z一二三四五六七八九十][0-9.\-]*")
_CAPTION_FIGURE = re.compile(r"^图\s*[0-9A-Za-z一二三四五六七八九十][0-9.\-]*")
_BASIS = re.compile(r"^[（(]?\s*依据\s*(.+?)\s*(?:标准)?编制\s*[）)]?$")
_TERM = re.compile(r"^(.{1,40}?)\s*[：:]\s*(.+)$", re.S)


@dataclass
class Clause:
    number: tuple[int, ...]
    title: str
    para: int
    body: list[str] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    children: list["Clause"] = field(default_factory=list)
    titled: bool = True


@dataclass
class Imported:
    source: dict                  # number, title, kind, department, basis, terms, sections, references, records
    images: dict[str, bytes]      # relative path → bytes, written beside the YAML
    unplaced: list[str]           # "paragraph N: …" for what was not placed
    notes: list[str]              # what was read on purpose and left out (cover, signatures, history)
    clauses: int = 0
    tables: int = 0

    def yaml_text(self) -> str:
        return source_yaml(self.source, self.unplaced)


class _Bad(Exception):
    """A Word file that cannot be made into a procedure (numbering jumps, merged cells …)."""


def import_word(ws: Workspace, path: Path | str) -> Imported:
    word = read_word(path)
    try:
        return _build(ws, word)
    except _Bad as exc:
        raise InvalidInput(str(exc), file=path) from None


_TOC_LINE = re.compile(r"^\d+(?:\.\d+)*.*?(?:\t|[.…·]{2,}|\s{2,})\s*\d+$")


def _without_toc(blocks: list, notes: list[str]) -> list:
    """A table of contents (目录: TOC styles, or "1 目的……1" lines) is Word's, not the procedure's."""
    toc = [b for b in blocks if isinstance(b, Para) and (b.style.lower().startswith(("toc", "目录"))
                                                          or (b.text and _TOC_LINE.match(b.text)))]
    if toc:
        notes.append(f"paragraphs {toc[0].index}–{toc[-1].index}: the table of contents (目录); qms makes none")
        toc_ids = {id(b) for b in toc}
        blocks = [b for b in blocks if id(b) not in toc_ids
                  and not (isinstance(b, Para) and _clean_title(b.text) in ("目录", "目次") and b.index < toc[-1].index)]
    return blocks


def _clause_list(blocks: list) -> str:
    """Which of Word's lists numbers the clauses: one with second-level labels (1.1), else the list of
    the first label that reads as a clause title. Other lists (1. 2. inside a clause) are text."""
    labelled = [b for b in blocks if isinstance(b, Para) and b.label_is_clause and b.text]
    deep = next((b.num_id for b in labelled if "." in b.label.rstrip(".")), "")
    if deep:
        return deep
    return next((b.num_id for b in labelled if b.label.rstrip(".") == "1" and _titled(b, b.text)), "")


def _build(ws: Workspace, word: WordFile) -> Imported:
    toc_notes: list[str] = []
    blocks = _without_toc(word.blocks, toc_notes)
    clause_list = _clause_list(blocks)
    for b in blocks:     # a numbered list that is not the clauses' own reads as text (1. 是本过程…)
        if isinstance(b, Para) and b.label_is_clause and not b.heading and b.num_id != clause_list:
            b.label_is_clause = False
    first = _first_clause(blocks)
    if first is None:
        raise _Bad("no numbered clauses (1 目的, 2 范围 … typed, as headings or as Word list numbers) were found; "
                   "this does not read as a procedure")
    cover, body = blocks[:first], blocks[first:]
    meta, unplaced, notes = _cover(ws, cover, word.header_cells)
    notes += toc_notes
    root = Clause((), "", 0)
    images: dict[str, bytes] = {}
    stack: list[Clause] = [root]
    last: tuple[int, ...] = ()
    seen: dict[tuple[int, ...], int] = {}
    pending_caption: Para | None = None
    last_figure: dict | None = None
    for i, b in enumerate(body):
        cur = stack[-1]
        if isinstance(b, Tbl):
            if b.merged and cur.number[:1] and not _is_records_title(_top_title(stack)):
                raise _Bad(f"table {b.number} (after paragraph {b.index}) has merged cells; split them so every "
                           "row has one cell per column")
            if not b.rows:
                continue
            if _is_history(b):
                notes.append(f"table {b.number} (after paragraph {b.index}): the 修订记录; qms keeps its own")
                continue
            caption = ""
            if pending_caption is not None:
                caption = pending_caption.text
                pending_caption = None
            width = max(len(r) for r in b.rows)
            columns = b.rows[0] + [""] * (width - len(b.rows[0]))
            rows = [r + [""] * (width - len(r)) for r in b.rows[1:]]
            cur.tables.append({"caption": caption, "columns": columns, "rows": rows, "para": b.index})
            continue
        if pending_caption is not None:     # a 表 caption not followed by a table is text
            cur.body.append(pending_caption.text)
            pending_caption = None
        if not b.text and not b.images:
            continue
        if b.images:
            for img in b.images:
                if img.data is None:
                    unplaced.append(f"paragraph {b.index}: a picture linked from outside the file "
                                    f"({img.link[:80]}); not fetched")
                    continue
                ext = ".jpg" if img.ext in (".jpg", ".jpeg") else img.ext
                if ext not in (".png", ".jpg"):
                    unplaced.append(f"paragraph {b.index}: a {img.ext or 'unknown'} picture; only PNG and JPEG "
                                    "figures are kept (save it as PNG)")
                    continue
                name = f"figures/figure-{len(images) + 1}{ext}"
                images[name] = img.data
                last_figure = {"image": name, "caption": "", "width_cm": img.width_cm, "para": b.index}
                cur.figures.append(last_figure)
            if not b.text:
                continue
        if last_figure is not None and last_figure["para"] == b.index - 1 and _is_caption(b, _CAPTION_FIGURE):
            last_figure["caption"] = b.text
            last_figure = None
            continue
        last_figure = None
        number, rest, titled = _clause_of(b, last)
        if number is not None and number not in _next_numbers(last):
            # out of sequence: a list item (a Word list, "1. 合格" typed) is text; a clause line
            # ("5.3 标题" after 5.1, "3 职责" again) is a numbering error
            listed = not b.heading and (b.label_is_clause or (len(number) == 1 and re.match(r"^\d+[.．]\D", b.text)))
            if not listed and number in seen:
                raise _Bad(f"paragraph {b.index}: clause {_dotted(number)} repeats the clause of paragraph "
                           f"{seen[number]}; renumber the clauses")
            if not listed and _jumps(number, last):
                raise _Bad(f"paragraph {b.index}: clause {_dotted(number)} follows {_dotted(last)}; expected "
                           f"one of {', '.join(_dotted(n) for n in _next_numbers(last))} (the numbering jumps)")
            number = None
        if number is not None:
            while len(stack) > 1 and len(stack[-1].number) >= len(number):
                stack.pop()
            clause = Clause(number, rest if titled else "", b.index, titled=titled)
            if not titled and rest:
                clause.body.append(rest)
            stack[-1].children.append(clause)
            stack.append(clause)
            seen[number] = b.index
            last = number
            continue
        if _is_caption(b, _CAPTION_TABLE) and _next_is_table(body, i):
            pending_caption = b
            continue
        if _is_caption(b, _CAPTION_TABLE) and cur.tables and not cur.tables[-1]["caption"] \
                and _follows_table(body, i):
            cur.tables[-1]["caption"] = b.text          # a caption written under its table
            continue
        cur.body.append(b.shown)
    if pending_caption is not None:
        stack[-1].body.append(pending_caption.text)
    source = dict(meta)
    terms, references, records, sections = [], [], [], []
    top = root.children
    for pos, c in enumerate(top):
        title = _clean_title(c.title)
        if c.titled and title in TERM_SECTION_TITLES and not c.tables and not c.figures:
            got, rest = _terms_of(c)
            terms += got
            if rest or c.children and not got:
                sections.append(_section(c, rest))
            elif c.title.strip() != TERMS_TITLE or not _terms_go_here(top, pos):
                sections.append({"title": c.title})      # qms would print them elsewhere: keep the clause
            continue
        if c.titled and title in REFERENCE_TITLES and pos >= len(top) - 3:
            references += _references_of(ws, c, unplaced)
            continue
        if c.titled and title in RECORD_TITLES and pos >= len(top) - 3:
            records += _records_of(c, unplaced)
            continue
        sections.append(_section(c))
    source["sections"] = sections
    if terms:
        source["terms"] = terms
    if references:
        source["references"] = references
    if records:
        source["records"] = _plain_records(ws, records)
    source = _ordered(source)
    clauses = sum(1 for _ in _walk(top))
    tables = sum(("table" in s) + len(s.get("tables", [])) for s in _walk_sections(sections))
    return Imported(source, images, unplaced + word.notes, notes, clauses, tables)


# ---------------------------------------------------------------- clauses

def _dotted(number: tuple[int, ...]) -> str:
    return ".".join(map(str, number)) or "(start)"


def _next_numbers(last: tuple[int, ...]) -> list[tuple[int, ...]]:
    """What may follow clause `last`: its first child, its next sibling, or the next of a parent."""
    if not last:
        return [(1,)]
    out = [last + (1,)]
    for depth in range(len(last), 0, -1):
        out.append(last[:depth - 1] + (last[depth - 1] + 1,))
    return out


def _jumps(number: tuple[int, ...], last: tuple[int, ...]) -> bool:
    """A clause number that skips: same parent as some open clause, a higher count than next."""
    for depth in range(1, len(number) + 1):
        if number[:depth - 1] == last[:depth - 1] and depth <= len(last) + 1:
            expect = last[depth - 1] + 1 if depth <= len(last) else 1
            if len(number) == depth and number[depth - 1] > expect:
                return True
    return False


def _clause_of(p: Para, last: tuple[int, ...]) -> tuple[tuple[int, ...] | None, str, bool]:
    """(number, title or first sentence, titled?) when the paragraph opens a clause."""
    text = p.text
    if p.label and p.label_is_clause:
        number = tuple(int(x) for x in p.label.rstrip(".").split(".") if x.isdigit())
        return number, text, _titled(p, text)
    m = _NUMBERED.match(text)
    if m and not _NOT_CLAUSE.match(m.group(2)) and not p.label:
        number = tuple(int(x) for x in m.group(1).split("."))
        if len(number) == 2 and number[1] == 0:     # "5.0程序要求": the top clause, as many companies number it
            number = number[:1]
        rest = m.group(2).strip()
        titled = _titled(p, rest)
        if "." not in m.group(1) and not p.heading and not titled:
            return None, text, False    # "1. 是本过程的主管部门…。", "3套设备…": a list item or a count
        return number, rest, titled
    if p.heading and text and not p.label:
        # a Heading without a typed or list number: numbered by its place
        depth = p.heading
        if depth <= len(last) + 1:
            base = list(last[:depth])
            while len(base) < depth:
                base.append(0)
            base[depth - 1] += 1
            return tuple(base), text, True
    return None, text, False


def _titled(p: Para, rest: str) -> bool:
    """A clause's own line is its title when it is a heading, or short and not a sentence."""
    if p.heading and p.style.lower().startswith(("heading", "标题")):
        return True
    if p.style == "Clause Text":
        return False
    return len(rest) <= 30 and not _SENTENCE_END.search(rest) and "\n" not in rest


def _first_clause(blocks: list) -> int | None:
    for i, b in enumerate(blocks):
        if isinstance(b, Para) and b.text:
            number, rest, _ = _clause_of(b, ())
            if number == (1,) and rest:
                return i
    return None


def _is_caption(p: Para, pattern: re.Pattern) -> bool:
    """表1 … / 图1 …: a short line in the Caption style or starting so."""
    return len(p.text) <= 60 and (p.style.lower() in ("caption", "题注") or bool(pattern.match(p.text)))


def _next_is_table(body: list, i: int) -> bool:
    for b in body[i + 1:]:
        if isinstance(b, Tbl):
            return True
        if b.text or b.images:
            return False
    return False


def _follows_table(body: list, i: int) -> bool:
    for b in reversed(body[:i]):
        if isinstance(b, Tbl):
            return True
        if b.text or b.images:
            return False
    return False


def _is_history(t: Tbl) -> bool:
    head = " ".join(t.rows[0])
    return any(h in head for h in HISTORY_HEADS) and ("修订" in head or "版本" in head) and "日期" in head \
        or head.startswith("修订记录")


def _top_title(stack: list[Clause]) -> str:
    return _clean_title(stack[1].title) if len(stack) > 1 else ""


def _is_records_title(title: str) -> bool:
    return title in RECORD_TITLES


def _clean_title(title: str) -> str:
    return re.sub(r"[\s\u3000]+", "", title)


def _walk(clauses: list[Clause]):
    for c in clauses:
        yield c
        yield from _walk(c.children)


def _walk_sections(sections: list[dict]):
    for s in sections:
        yield s
        yield from _walk_sections(s.get("sections", []))


def _section(c: Clause, body: list[str] | None = None) -> dict:
    out: dict = {}
    if c.titled and c.title:
        out["title"] = c.title
    body = c.body if body is None else body
    if body:
        out["body"] = "\n".join(body)
    tables = [{k: v for k, v in (("caption", t["caption"]), ("columns", t["columns"]), ("rows", t["rows"])) if k != "caption" or v}
              for t in c.tables]
    if len(tables) == 1:
        out["table"] = tables[0]
    elif tables:
        out["tables"] = tables
    figures = []
    for f in c.figures:
        fig = {"image": f["image"]}
        if f["caption"]:
            fig["caption"] = f["caption"]
        if f["width_cm"] and 1 <= f["width_cm"] <= 16:
            fig["width_cm"] = f["width_cm"]
        figures.append(fig)
    if len(figures) == 1:
        out["figure"] = figures[0]
    elif figures:
        out["figures"] = figures
    if c.children:
        out["sections"] = [_section(ch) for ch in c.children]
    if not out:
        out["title"] = c.title or ""
    return out


# ---------------------------------------------------------------- terms, references, records

def _terms_of(c: Clause) -> tuple[list[dict], list[str]]:
    """Terms as qms prints them (术语：定义, a full-width colon), or as typed clauses 3.1 术语：定义;
    other paragraphs stay the clause's body."""
    terms, rest = [], []
    lines = list(c.body)
    for ch in c.children:
        lines += ([ch.title] if ch.titled and ch.title else []) + ch.body
    for line in lines:
        m = re.match(r"^(.{1,40}?)：\s*(.+)$", line, re.S) or (re.match(r"^(.{1,40}?):\s*(.+)$", line, re.S)
                                                             if any(ch for ch in c.children) else None)
        if m:
            terms.append({"term": m.group(1).strip(), "definition": m.group(2).strip()})
        else:
            rest.append(line)
    return terms, rest


def _terms_go_here(top: list[Clause], pos: int) -> bool:
    """qms prints a source's terms in a 术语 clause right after 范围 (else 目的), or at the end:
    a 术语 clause in that place needs no clause of its own in the source."""
    titles = [_clean_title(c.title) for c in top]
    others = [t for i, t in enumerate(titles) if i != pos]
    after = next((i for i, t in enumerate(others) if t in SCOPE_TITLES), None)
    if after is None:
        after = next((i for i, t in enumerate(others) if t == "目的"), None)
    if after is None:
        tail = [i for i, t in enumerate(titles) if t in REFERENCE_TITLES + RECORD_TITLES]
        return pos == (tail[0] - 1 if tail else len(titles) - 1)
    return pos == after + 1


def _references_of(ws: Workspace, c: Clause, unplaced: list[str]) -> list:
    out = []
    lines = list(c.body) + [x for ch in c.children for x in ([ch.title] if ch.title else []) + ch.body]
    for line in lines:
        line = line.strip().lstrip("\u3000").strip()
        line = re.sub(r"^(?:[-•·]|\d+\)|[a-z]\))\s*", "", line)
        head, _, rest = _split_ref(line)
        if head and re.match(ws.config.number_pattern, head):
            out.append({"number": head, "title": rest.strip()})
        elif line:
            out.append(line)
    for t in c.tables:
        cols = t["columns"]
        ni = next((i for i, h in enumerate(cols) if "编号" in h), None)
        ti = next((i for i, h in enumerate(cols) if "名称" in h), None)
        if ni is None and ti is None:
            unplaced.append(f"paragraph {t['para']}: a table in 相关文件 without 编号/名称 columns")
            continue
        for r in t["rows"]:
            out.append({"number": r[ni] if ni is not None else "", "title": r[ti] if ti is not None else ""})
    return out


def _split_ref(line: str) -> tuple[str, str, str]:
    m = re.match(r"^(\S+?)[\u3000\t ]+(.*)$", line)
    return (m.group(1), " ", m.group(2)) if m else (line, "", "")


def _records_of(c: Clause, unplaced: list[str]) -> list:
    out = []
    for t in c.tables:
        cols = t["columns"]
        ni = next((i for i, h in enumerate(cols) if "编号" in h), None)
        ti = next((i for i, h in enumerate(cols) if "名称" in h), None)
        if ni is None:
            unplaced.append(f"paragraph {t['para']}: a table in 记录 without a 记录编号 column")
            continue
        for r in t["rows"]:
            if r[ni]:
                out.append({"id": r[ni], "title": r[ti] if ti is not None else ""})
    lines = list(c.body) + [x for ch in c.children for x in ([ch.title] if ch.title else []) + ch.body]
    for line in lines:
        m = re.match(r"^(?:\d+\)|[a-z]\)|[-•·])?\s*([A-Z][A-Za-z0-9/]*(?:-[A-Za-z0-9.]+)+)[\s\u3000]*(.*)$", line.strip())
        if m:
            out.append({"id": m.group(1), "title": m.group(2).strip(" 《》\u3000")})
        elif line.strip():
            unplaced.append(f"记录: {line.strip()[:60]!r} names no form id; not placed")
    return out


def _plain_records(ws: Workspace, records: list[dict]) -> list:
    """A form this workspace has, under the title it has, is named by its id alone (the 记录
    table prints the form's own title); any other keeps its title from the Word file."""
    forms = load_forms_quietly(ws)
    return [r["id"] if r["id"] in forms and forms[r["id"]].title == r["title"] or not r["title"] else r
            for r in records]


# ---------------------------------------------------------------- cover

def _cover(ws: Workspace, cover: list, header: list[str]) -> tuple[dict, list[str], list[str]]:
    """number, title, kind, department, basis from the cover table (文件编号 | XX-XX-022) or the
    header ("文件编号：XX-XX-022"); the cover's other lines are the company and the series."""
    pairs: dict[str, str] = {}
    notes: list[str] = []
    for b in cover:
        if isinstance(b, Tbl):
            for row in b.rows:
                for k, v in zip(row, row[1:]):
                    key = _clean_title(k).rstrip("：:")
                    if key and key not in pairs and v.strip():
                        pairs[key] = v.strip()
                for cell in row:
                    m = re.match(r"^([^：:]{2,6})[：:]\s*(.+)$", cell.strip())
                    if m:
                        pairs.setdefault(_clean_title(m.group(1)), m.group(2).strip())
    for b in cover:        # "文件编号：QP-PR-003" typed as a cover line
        if isinstance(b, Para):
            m = re.match(r"^([^：:]{2,6})[：:]\s*(\S.*)$", b.text.strip())
            if m and _clean_title(m.group(1)) in COVER_KEYS:
                pairs.setdefault(_clean_title(m.group(1)), m.group(2).strip())
    for cell in header:
        for line in cell.splitlines():
            m = re.match(r"^([^：:]{2,6})[：:]\s*(.+)$", line.strip())
            if m:
                pairs.setdefault(_clean_title(m.group(1)), m.group(2).strip())
    number = pairs.get("文件编号") or pairs.get("编号") or ""
    kind_label = pairs.get("文件类别") or pairs.get("文件类型") or ""
    department = pairs.get("编制部门") or pairs.get("主管部门") or pairs.get("归口部门") or pairs.get("部门") or ""
    title = next((b.text for b in cover if isinstance(b, Para) and b.style.lower() == "title" and b.text), "")
    basis = ""
    company = ws.config.org_name
    series = {k.series for k in ws.config.kinds.values()}
    labels = {k.label: k.key for k in ws.config.kinds.values()}
    unplaced: list[str] = []
    for b in cover:
        if not isinstance(b, Para) or not b.text:
            continue
        text = b.text.strip()
        m = _BASIS.match(text)
        if m:
            basis = m.group(1).strip()
            continue
        if not title and 2 <= len(text) <= 40 and text.endswith(("程序", "规定", "手册", "指导书", "办法", "制度", "细则")):
            title = text
            continue
        if text in (title, company) or text in series or text.startswith(("受控状态", "发放编号")):
            continue
        m = re.match(r"^([^：:]{2,6})[：:]", text)
        if m and _clean_title(m.group(1)) in COVER_KEYS:
            continue
        if text in labels and not kind_label:
            kind_label = text
            continue
        if re.search(r"(编制|会签|审定|标审|批准|发布|实施)", text) and len(text) <= 80:
            notes.append(f"paragraph {b.index}: cover line {text[:40]!r} (signatures and dates come from qms)")
            continue
        unplaced.append(f"paragraph {b.index}: cover text {text[:60]!r}; not placed")
    if not title:
        title = next((h for h in header if h.endswith(("程序", "规定", "手册", "指导书", "办法"))), "")
    kind = labels.get(kind_label) or next((k for k, v in ((x.key, x.label) for x in ws.config.kinds.values())
                                           if v and v in title), "") or "procedure"
    if "procedure" not in ws.config.kinds and kind == "procedure":
        kind = next(iter(ws.config.kinds), "procedure")
    meta = {"number": number, "title": title, "kind": kind, "department": department}
    if basis:
        meta["basis"] = basis
    missing = [k for k in ("number", "title", "department") if not meta[k]]
    if missing:
        notes.append("not found on the cover or in the header: " + ", ".join(missing) + " (fill them in the YAML)")
    return meta, unplaced, notes


_ORDER = ("number", "title", "title_en", "kind", "department", "basis", "terms", "sections", "references", "records")


def _ordered(source: dict) -> dict:
    return {k: source[k] for k in _ORDER if k in source}


# ---------------------------------------------------------------- YAML

class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper, value: list):
    """A short list of one-line cells reads best on one line: [序号, 单位, 职责]."""
    flow = bool(value) and all(isinstance(v, str) and "\n" not in v for v in value) \
        and sum(len(v) + 2 for v in value) <= 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def source_yaml(source: dict, unplaced: list[str]) -> str:
    head = ["# Imported from Word by qms doc import: check it (qms doc check) before submitting."]
    if unplaced:
        head.append("# Not placed (read the Word file for these):")
        head += [f"#   {u}" for u in unplaced]
    body = yaml.dump(source, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=4096,
                     default_flow_style=False)
    return "\n".join(head) + "\n" + body


# ---------------------------------------------------------------- the service

def import_docx(ws: Workspace, path: Path | str, output: Path | str | None = None, *, check: bool = False):
    """`qms doc import FILE.docx [-o FILE.yaml] [--check]`: the source YAML (and its figures in
    NAME-figures/ beside it); --check writes nothing. The YAML is checked as `doc check` would;
    a source that needs filling in (no number found) is written with a warning."""
    path = Path(path)
    if path.suffix.lower() not in (".docx", ".docm", ".dotx", ".dotm"):
        raise InvalidInput("expected a Word .docx file", file=path)
    out = Path(output) if output else path.with_suffix(".yaml")
    if not check:
        out = outputs.check(ws, out, (".yaml", ".yml"))
    imp = import_word(ws, path)
    prefix = f"{out.stem}-figures/"
    _rename_images(imp, prefix)
    text = imp.yaml_text()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qms-import-") as tmp:
        staged = Path(tmp) / out.name
        staged.write_text(text, encoding="utf-8")
        for name, data in imp.images.items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_bytes(data)
        try:
            doc = parse_source_text(text, staged, ws)
            problems += doc.warnings
        except InvalidInput as exc:
            problems.append(exc.message + (f" (line {exc.line})" if exc.line else ""))
        if not check:
            for name, data in imp.images.items():
                (out.parent / name).parent.mkdir(parents=True, exist_ok=True)
                outputs.write(ws, out.parent / name, data)
            outputs.install(ws, staged, out)
    n_terms, n_refs, n_recs = (len(imp.source.get(k, [])) for k in ("terms", "references", "records"))
    counts = (f"{imp.clauses} clauses, {imp.tables} tables, {len(imp.images)} figures, {n_terms} terms, "
              f"{n_refs} references, {n_recs} records")
    what = f"would make {out}" if check else f"wrote {out}"
    message = f"imported {path.name}: {what} — {counts}"
    if imp.unplaced:
        message += f"; {len(imp.unplaced)} not placed (listed in the YAML's first lines)"
    data = {"file": str(path), "output": str(out), "written": not check, "number": imp.source.get("number"),
            "title": imp.source.get("title"), "clauses": imp.clauses, "tables": imp.tables,
            "figures": sorted(str(out.parent / n) for n in imp.images), "terms": n_terms, "references": n_refs,
            "records": n_recs, "unplaced": imp.unplaced, "notes": imp.notes, "warnings": problems}
    if check:
        data["source"] = text
    return Change(message, data)


def _rename_images(imp: Imported, prefix: str) -> None:
    renamed = {}
    for name, data in imp.images.items():
        renamed[prefix + name.split("/", 1)[1]] = data
    imp.images = renamed

    def walk(sections):
        for s in sections:
            for f in ([s["figure"]] if "figure" in s else []) + s.get("figures", []):
                f["image"] = prefix + f["image"].split("/", 1)[1]
            walk(s.get("sections", []))
    walk(imp.source.get("sections", []))
