"""The redline (修订对照) of a procedure between two revisions, clause by clause.

Clauses are matched by content, not by number (an inserted clause renumbers the ones after it
without changing them): identical clauses first, then by title, then untitled ones by likeness.
A matched clause out of order among its siblings, or under another parent, is *moved*. Inside
a clause, paragraphs are aligned and each changed one is diffed by characters for Chinese and
by words for Latin text (difflib over tokens), runs of one kind merged; tables row by row and
cell by cell. Terms, 相关文件 and 记录 are compared as clauses of their own.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field

from ..domain import docstate
from ..store.catalog import reading
from ..domain.docsource import DocumentSource, parse_source_text
from ..base.errors import NotFound
from ..store.workspace import Workspace
from .procedure_context import _blocks_with_terms

Segments = list[tuple[str, str]]     # ("=", text) | ("+", inserted) | ("-", deleted)


@dataclass
class Unit:
    key: str                  # the printed clause number, or 术语 / 相关文件 / 记录
    title: str
    paragraphs: list[str]
    tables: list[tuple[str, list[str], list[list[str]]]]     # caption, columns, rows
    figures: list[str]
    parent: int | None = None   # index of the parent unit
    index: int = 0

    def content(self) -> tuple:
        return (self.title, tuple(self.paragraphs),
                tuple((c, tuple(cols), tuple(map(tuple, rows))) for c, cols, rows in self.tables), tuple(self.figures))


@dataclass
class RowDiff:
    status: str                 # same | changed | inserted | deleted
    cells: list[Segments]


@dataclass
class TableDiff:
    caption: Segments
    columns: RowDiff
    rows: list[RowDiff]


@dataclass
class ParaDiff:
    status: str                 # same | changed | inserted | deleted
    segments: Segments


@dataclass
class ClauseDiff:
    status: str                 # same | changed | inserted | deleted
    old: str                    # the old number ("" when inserted)
    new: str                    # the new number ("" when deleted)
    title: Segments
    moved: bool = False
    paragraphs: list[ParaDiff] = field(default_factory=list)
    tables: list[TableDiff] = field(default_factory=list)
    figures: list[ParaDiff] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.status != "same" or self.moved


@dataclass
class Redline:
    number: str
    title: str
    old_revision: str
    new_revision: str
    change: str
    clauses: list[ClauseDiff]

    @property
    def changes(self) -> list[ClauseDiff]:
        return [c for c in self.clauses if c.changed]


# ---------------------------------------------------------------- units

def units(doc: DocumentSource) -> list[Unit]:
    """The source as printed clauses (numbers as the rendered procedure shows them)."""
    out: list[Unit] = []
    stack: list[tuple[int, int]] = []     # (level, unit index)
    for b in _blocks_with_terms(doc):
        t = b["type"]
        if t in ("heading", "clause"):
            level = b["level"]
            while stack and stack[-1][0] >= level:
                stack.pop()
            u = Unit(b["number"], b["text"] if t == "heading" else "",
                     [b["text"]] if t == "clause" else [], [], [], stack[-1][1] if stack else None, len(out))
            out.append(u)
            stack.append((level, u.index))
        elif not out:
            continue
        elif t == "paragraph":
            out[-1].paragraphs.append(b["text"])
        elif t == "table":
            out[-1].tables.append((b["caption"], list(b["columns"]), [list(r) for r in b["rows"]]))
        elif t == "figure":
            out[-1].figures.append(f"{b['caption']} ({b['image']})")
        elif t == "terms":
            out[-1].paragraphs += [f"{x.term}：{x.definition}" for x in doc.terms]
    if doc.terms and not any(b["type"] == "terms" for b in _blocks_with_terms(doc)):
        out.append(Unit("术语", "术语", [f"{x.term}：{x.definition}" for x in doc.terms], [], [], None, len(out)))
    if doc.references:
        out.append(Unit("相关文件", "相关文件", [f"{r.number}　{r.title}".strip() for r in doc.references], [], [],
                        None, len(out)))
    if doc.records:
        out.append(Unit("记录", "记录", [f"{r.id}　{r.title}".strip() for r in doc.records], [], [], None, len(out)))
    return out


# ---------------------------------------------------------------- words

_TOKEN = re.compile(r"[A-Za-z0-9_./\-]+|\s+|.", re.S)


def tokens(text: str) -> list[str]:
    """Chinese one character a token; Latin words, numbers and clause numbers whole."""
    return _TOKEN.findall(text)


def diff_text(old: str, new: str) -> Segments:
    a, b = tokens(old), tokens(new)
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    raw: Segments = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            raw.append(("=", "".join(a[i1:i2])))
        else:
            if i2 > i1:
                raw.append(("-", "".join(a[i1:i2])))
            if j2 > j1:
                raw.append(("+", "".join(b[j1:j2])))
    return _merge(_absorb(raw))


def _absorb(segs: Segments) -> Segments:
    """A single equal character between two changes reads as noise: fold it into both sides."""
    out: Segments = []
    i = 0
    while i < len(segs):
        op, text = segs[i]
        if op == "=" and len(text) <= 1 and 0 < i < len(segs) - 1 and segs[i - 1][0] != "=" and segs[i + 1][0] != "=":
            out.append(("-", text))
            out.append(("+", text))
        else:
            out.append((op, text))
        i += 1
    # gather the deletions of a changed stretch before its insertions
    result: Segments = []
    run: Segments = []
    for seg in out + [("=", "")]:
        if seg[0] == "=":
            result += [s for s in run if s[0] == "-"] + [s for s in run if s[0] == "+"]
            run = []
            if seg[1]:
                result.append(seg)
        else:
            run.append(seg)
    return result


def _merge(segs: Segments) -> Segments:
    out: Segments = []
    for op, text in segs:
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        elif text:
            out.append((op, text))
    return out


def _same(text: str) -> Segments:
    return [("=", text)] if text else []


# ---------------------------------------------------------------- paragraphs and tables

def diff_paragraphs(old: list[str], new: list[str]) -> list[ParaDiff]:
    out: list[ParaDiff] = []
    sm = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out += [ParaDiff("same", _same(p)) for p in old[i1:i2]]
            continue
        a, b = old[i1:i2], new[j1:j2]
        for k in range(max(len(a), len(b))):
            if k < len(a) and k < len(b):
                out.append(ParaDiff("changed", diff_text(a[k], b[k])))
            elif k < len(a):
                out.append(ParaDiff("deleted", [("-", a[k])]))
            else:
                out.append(ParaDiff("inserted", [("+", b[k])]))
    return out


def _row(old: list[str] | None, new: list[str] | None) -> RowDiff:
    if old is None:
        return RowDiff("inserted", [[("+", c)] if c else [] for c in new])
    if new is None:
        return RowDiff("deleted", [[("-", c)] if c else [] for c in old])
    if old == new:
        return RowDiff("same", [_same(c) for c in new])
    width = max(len(old), len(new))
    a, b = old + [""] * (width - len(old)), new + [""] * (width - len(new))
    return RowDiff("changed", [diff_text(x, y) for x, y in zip(a, b)])


def diff_table(old, new) -> TableDiff:
    if old is None:
        cap, cols, rows = new
        return TableDiff([("+", cap)] if cap else [], _row(None, cols), [_row(None, r) for r in rows])
    if new is None:
        cap, cols, rows = old
        return TableDiff([("-", cap)] if cap else [], _row(cols, None), [_row(r, None) for r in rows])
    out: list[RowDiff] = []
    sm = difflib.SequenceMatcher(None, [tuple(r) for r in old[2]], [tuple(r) for r in new[2]], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out += [_row(r, r) for r in old[2][i1:i2]]
            continue
        a, b = old[2][i1:i2], new[2][j1:j2]
        for k in range(max(len(a), len(b))):
            out.append(_row(a[k] if k < len(a) else None, b[k] if k < len(b) else None))
    return TableDiff(diff_text(old[0], new[0]), _row(old[1], new[1]), out)


def _tables(old: list, new: list) -> list[TableDiff]:
    return [diff_table(old[k] if k < len(old) else None, new[k] if k < len(new) else None)
            for k in range(max(len(old), len(new)))]


# ---------------------------------------------------------------- clauses

def _match(old: list[Unit], new: list[Unit]) -> dict[int, int]:
    """new index → old index: identical content first (in order), then the same title, then
    untitled clauses whose text is most alike (ratio ≥ 0.5)."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    by_content: dict[tuple, list[int]] = {}
    for u in old:
        by_content.setdefault(u.content(), []).append(u.index)
    for u in new:
        cands = [i for i in by_content.get(u.content(), []) if i not in used]
        if cands:
            best = min(cands, key=lambda i: (old[i].key != u.key, abs(i - u.index)))
            pairs[u.index] = best
            used.add(best)
    for u in new:
        if u.index in pairs or not u.title:
            continue
        cands = [o.index for o in old if o.index not in used and o.title == u.title]
        if cands:
            best = min(cands, key=lambda i: (old[i].key != u.key, abs(i - u.index)))
            pairs[u.index] = best
            used.add(best)
    for u in new:
        if u.index in pairs or u.title:
            continue
        text = "".join(u.paragraphs)
        scored = []
        for o in old:
            if o.index in used or o.title:
                continue
            r = difflib.SequenceMatcher(None, "".join(o.paragraphs), text, autojunk=False).ratio()
            scored.append((r, -abs(o.index - u.index), o.index))
        if scored:
            r, _, best = max(scored)
            if r >= 0.5:
                pairs[u.index] = best
                used.add(best)
    return pairs


def _moved(old: list[Unit], new: list[Unit], pairs: dict[int, int]) -> set[int]:
    """New indexes of matched clauses that moved: under another parent, or out of order among
    their siblings (the longest run kept in order stays; the rest moved)."""
    moved: set[int] = set()
    groups: dict[int | None, list[int]] = {}
    for n, o in pairs.items():
        parent_new = new[n].parent
        parent_old = old[o].parent
        if (parent_new is None) != (parent_old is None) or (parent_new is not None and pairs.get(parent_new) != parent_old):
            moved.add(n)
        else:
            groups.setdefault(parent_new, []).append(n)
    for members in groups.values():
        members.sort()
        seq = [pairs[n] for n in members]
        keep = _increasing(seq)
        moved |= {n for n, o in zip(members, seq) if o not in keep}
    return moved


def _increasing(seq: list[int]) -> set[int]:
    """The longest increasing subsequence of distinct numbers (as a set)."""
    if not seq:
        return set()
    best = [1] * len(seq)
    prev = [-1] * len(seq)
    for i in range(len(seq)):
        for j in range(i):
            if seq[j] < seq[i] and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    i = max(range(len(seq)), key=best.__getitem__)
    out = set()
    while i >= 0:
        out.add(seq[i])
        i = prev[i]
    return out


def compare(old_doc: DocumentSource, new_doc: DocumentSource) -> list[ClauseDiff]:
    old, new = units(old_doc), units(new_doc)
    pairs = _match(old, new)
    moved = _moved(old, new, pairs)
    matched_old = set(pairs.values())
    diffs_new: list[ClauseDiff] = []
    for u in new:
        if u.index not in pairs:
            diffs_new.append(ClauseDiff("inserted", "", u.key, [("+", u.title)] if u.title else [],
                                        paragraphs=[ParaDiff("inserted", [("+", p)]) for p in u.paragraphs],
                                        tables=_tables([], u.tables),
                                        figures=[ParaDiff("inserted", [("+", f)]) for f in u.figures]))
            continue
        o = old[pairs[u.index]]
        same = o.content() == u.content()
        diffs_new.append(ClauseDiff("same" if same else "changed", o.key, u.key,
                                    _same(u.title) if o.title == u.title else diff_text(o.title, u.title),
                                    moved=u.index in moved,
                                    paragraphs=diff_paragraphs(o.paragraphs, u.paragraphs),
                                    tables=_tables(o.tables, u.tables),
                                    figures=diff_paragraphs(o.figures, u.figures)))
    # a deleted clause is shown where it stood: after the clause that followed its old predecessor
    out: list[ClauseDiff] = []
    old_to_new = {o: n for n, o in pairs.items()}
    deleted_after: dict[int, list[Unit]] = {}
    for o in old:
        if o.index in matched_old:
            continue
        anchor = -1
        for prev in range(o.index - 1, -1, -1):
            if prev in old_to_new:
                anchor = old_to_new[prev]
                break
        deleted_after.setdefault(anchor, []).append(o)

    def emit_deleted(anchor: int) -> None:
        for o in deleted_after.get(anchor, []):
            out.append(ClauseDiff("deleted", o.key, "", [("-", o.title)] if o.title else [],
                                  paragraphs=[ParaDiff("deleted", [("-", p)]) for p in o.paragraphs],
                                  tables=_tables(o.tables, []),
                                  figures=[ParaDiff("deleted", [("-", f)]) for f in o.figures]))
    emit_deleted(-1)
    for n, d in enumerate(diffs_new):
        out.append(d)
        emit_deleted(n)
    return out


# ---------------------------------------------------------------- revisions

def _source_of(ws: Workspace, rev) -> DocumentSource:
    folder = ws.root / rev["folder"]
    path = folder / rev["source"]
    return parse_source_text(path.read_text(encoding="utf-8"), path, ws)


def redline_for(ws: Workspace, number: str, from_rev: str | None = None, to_rev: str | None = None) -> Redline:
    """`qms doc diff NUMBER [--from A/0] [--to A/1]`: by default the newest revision against the
    one before it (withdrawn drafts skipped)."""
    with reading(ws) as cat:
        if docstate.find_document(cat, number) is None:
            raise NotFound(f"no document {number}", field="number")
        revs = [r for r in docstate.revisions(cat, number)]
    live = [r for r in revs if r["state"] != "withdrawn"] or revs

    def pick(label: str, what: str):
        found = [r for r in revs if r["revision"] == label]
        if not found:
            raise NotFound(f"{number} has no revision {label!r}; it has " + ", ".join(r["revision"] for r in revs),
                           field=what)
        return found[-1]
    new = pick(to_rev, "to") if to_rev else live[-1]
    if from_rev:
        old = pick(from_rev, "from")
    else:
        earlier = [r for r in live if r["seq"] < new["seq"]]
        if not earlier:
            raise NotFound(f"{number} {new['revision']} is its first revision; there is nothing to compare it with",
                           field="from")
        old = earlier[-1]
    return compare_revisions(ws, number, old, new)


def compare_revisions(ws: Workspace, number: str, old, new) -> Redline:
    old_doc, new_doc = _source_of(ws, old), _source_of(ws, new)
    return Redline(number, new_doc.title, old["revision"], new["revision"], new["change"] or "",
                   compare(old_doc, new_doc))


# ---------------------------------------------------------------- text and HTML

STATUS_ZH = {"changed": "修改", "inserted": "新增", "deleted": "删除", "same": "未改", "moved": "移动"}


def clause_label(c: ClauseDiff) -> str:
    """"5.2 → 5.3" when renumbered, else the one number."""
    if c.old and c.new and c.old != c.new:
        return f"{c.old} → {c.new}"
    return c.new or c.old


def clause_status(c: ClauseDiff) -> str:
    words = [STATUS_ZH[c.status]] if c.status != "same" else []
    if c.moved:
        words.insert(0, "移动")
    return "、".join(words) or "未改"


def _plain(segs: Segments) -> str:
    return "".join({"=": t, "+": f"[+{t}+]", "-": f"[-{t}-]"}[op] for op, t in segs)


def as_text(red: Redline) -> str:
    lines = [f"修订对照 {red.number} {red.title}：{red.old_revision} → {red.new_revision}",
             f"修订说明：{red.change or '（无）'}"]
    changes = red.changes
    if not changes:
        lines.append("两个版本内容相同。")
    for c in changes:
        lines.append("")
        lines.append(f"[{clause_status(c)}] {clause_label(c)} {_plain(c.title)}".rstrip())
        for p in c.paragraphs:
            if p.status != "same":
                lines.append(f"  {_plain(p.segments)}")
        for t in c.tables:
            head = _plain(t.caption) or "表"
            for r in ([t.columns] if t.columns.status != "same" else []) + t.rows:
                if r.status != "same":
                    lines.append(f"  {head} {STATUS_ZH[r.status]}行：" + " | ".join(_plain(x) for x in r.cells))
        for f in c.figures:
            if f.status != "same":
                lines.append(f"  图：{_plain(f.segments)}")
    return "\n".join(lines) + "\n"


def _html_segs(segs: Segments) -> str:
    out = []
    for op, t in segs:
        t = html.escape(t)
        out.append(t if op == "=" else f"<ins>{t}</ins>" if op == "+" else f"<del>{t}</del>")
    return "".join(out)


def as_html_fragment(red: Redline, *, all_clauses: bool = False) -> str:
    """The redline as an HTML fragment (class names styled by the page): changed clauses, or all."""
    parts = [f'<div class="redline"><p class="redline-head">修订对照 {html.escape(red.old_revision)} → '
             f'{html.escape(red.new_revision)}</p>']
    shown = red.clauses if all_clauses else red.changes
    if not shown:
        parts.append("<p>两个版本内容相同。</p>")
    for c in shown:
        kind = "moved" if c.moved and c.status == "same" else c.status
        parts.append(f'<section class="clause clause-{kind}"><h3><span class="tag">{clause_status(c)}</span> '
                     f'{html.escape(clause_label(c))} {_html_segs(c.title)}</h3>')
        for p in c.paragraphs:
            if p.status != "same" or all_clauses:
                parts.append(f'<p class="para-{p.status}">{_html_segs(p.segments)}</p>')
        for t in c.tables:
            parts.append(f'<table class="redline-table"><caption>{_html_segs(t.caption)}</caption>')
            parts.append(f'<tr class="row-{t.columns.status}">' + "".join(f"<th>{_html_segs(x)}</th>" for x in t.columns.cells)
                         + "</tr>")
            for r in t.rows:
                parts.append(f'<tr class="row-{r.status}">' + "".join(f"<td>{_html_segs(x)}</td>" for x in r.cells)
                             + "</tr>")
            parts.append("</table>")
        for f in c.figures:
            if f.status != "same":
                parts.append(f'<p class="para-{f.status}">图：{_html_segs(f.segments)}</p>')
        parts.append("</section>")
    parts.append("</div>")
    return "\n".join(parts)


_STYLE = ("body{font-family:'Noto Sans CJK SC',sans-serif;max-width:60em;margin:2em auto}"
          "ins{color:#0a6b2d;background:#e3f6e8;text-decoration:underline}"
          "del{color:#b00020;background:#fde7ea;text-decoration:line-through}"
          ".tag{font-size:.8em;border:1px solid #888;padding:0 .3em;margin-right:.4em}"
          "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}"
          "tr.row-deleted{background:#fde7ea}tr.row-inserted{background:#e3f6e8}")


def as_html(red: Redline) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>修订对照 {html.escape(red.number)}'
            f'</title><style>{_STYLE}</style></head><body><h1>{html.escape(red.number)} {html.escape(red.title)}</h1>'
            f'<p>修订说明：{html.escape(red.change or "（无）")}</p>{as_html_fragment(red)}</body></html>\n')
