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
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import InvalidInput
from ..store.workspace import Workspace
from .procedure_context import TERM_SECTION_TITLES, TERMS_TITLE
from .word_clauses import (_CAPTION_FIGURE, _CAPTION_TABLE, RECORD_TITLES, REFERENCE_TITLES, Clause, _clause_list,
                           _clause_of, _clean_title, _dotted, _first_clause, _follows_table, _is_caption, _is_history,
                           _is_records_title, _jumps, _next_is_table, _next_numbers, _section, _top_title, _walk,
                           _walk_sections, _without_toc)
from .word_parts import _cover, _ordered, _plain_records, _records_of, _references_of, _terms_go_here, _terms_of
from .word_yaml import source_yaml
from .wordread import Para, Tbl, WordFile, read_word
from ..store import outputs
from ..domain.docsource import parse_source_text
from ..domain.results import Change

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
