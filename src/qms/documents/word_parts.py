"""The parts of a procedure source that are not clauses, read from a Word procedure: its terms,
references and records (from their clauses) and its cover (number, title, kind, department,
basis). Used by `wordimport`."""

from __future__ import annotations

import re

from ..domain.forms import load_forms_quietly
from ..store.workspace import Workspace
from .procedure_context import SCOPE_TITLES
from .word_clauses import RECORD_TITLES, REFERENCE_TITLES, Clause, _clean_title
from .wordread import Para, Tbl

COVER_KEYS = ("文件编号", "编号", "文件类别", "文件类型", "编制部门", "主管部门", "归口部门", "部门", "版本", "版次",
              "受控状态", "发放编号", "生效日期", "发布日期", "实施日期", "页数")
_BASIS = re.compile(r"^[（(]?\s*依据\s*(.+?)\s*(?:标准)?编制\s*[）)]?$")


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
