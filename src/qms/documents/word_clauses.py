"""Clauses read from a Word procedure: which numbers are clauses (typed, headings or Word's list
numbering, continuing the clauses before them), captions, the 修订记录 table, the table of
contents, and a clause tree made into the source's sections. Used by `wordimport`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .wordread import Para, Tbl

REFERENCE_TITLES = ("相关文件", "引用文件", "支持性文件", "相关文件和资料", "参考文件")
RECORD_TITLES = ("记录", "质量记录", "相关记录", "记录表格")
HISTORY_HEADS = ("修订记录", "版本", "修订内容", "修改记录")
# a number at the start of a paragraph: "5.1.2 标题", "5.1.2标题", "1. 目的", "3、职责"
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,5})(?:[.．、](?!\d))?[ \t\u3000]*(?=\S)(.*)$", re.S)
# what may follow a number without being a clause: 2 套, 10台, 5年, 3) …
_NOT_CLAUSE = re.compile(r"^[)）%％年月日台套个项次份天条款章节]")
_SENTENCE_END = re.compile(r"[。；;：:！？!?]$")
_CAPTION_TABLE = re.compile(r"^表\s*[0-9A-Za-z一二三四五六七八九十][0-9.\-]*")
_CAPTION_FIGURE = re.compile(r"^图\s*[0-9A-Za-z一二三四五六七八九十][0-9.\-]*")


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
