"""Controlled-document source YAML → DocumentSource, validated against the workspace config.

Every error names the file, the field path and the line. Shapes are lenient where a
quality manager's hand-written YAML is likely to vary (a body as text or a list, terms
as a list or a mapping, references as text or {number, title}).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import InvalidInput
from .policy import load_policy
from ..store.workspace import Workspace
from ..base.input_limits import read_text, short, _CONTROL, _SAFE_ID, MAX_TEXT_CHARS, too_long, MAX_SOURCE_CHARS
from ..base.yaml_source import YamlSource, check_keys, listed, load_yaml, top_mapping, parse_yaml_text
from .flows import parse_flow

REQUIRED = ("number", "title", "kind", "department", "sections")
# The keys each mapping of a source may hold: anything else is refused with the nearest match.
SOURCE_KEYS = REQUIRED + ("title_en", "basis", "terms", "references", "records",
                          "review", "training")     # issue 23: review period (months), who must read it
SECTION_KEYS = ("title", "body", "table", "tables", "sections", "figure", "figures", "flow")
TABLE_KEYS = ("caption", "title", "columns", "rows")
TERM_KEYS = ("term", "name", "definition", "text")
REFERENCE_KEYS = ("number", "title")
RECORD_KEYS = ("id", "form", "number", "title")
TYPED_CLAUSE = re.compile(r"^\s*\d+(\.\d+)*\s*[.、．]?\s+(?=\S)|^\s*\d+(\.\d+)+(?=[^\d.])")


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    image: str        # path relative to the source file (and, archived, to the revision folder)
    caption: str = ""
    width_cm: float | None = None


@dataclass
class Section:
    title: str
    body: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    sections: list["Section"] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    flows: list = field(default_factory=list)       # flows.Flow: flow charts drawn from the source


@dataclass
class Term:
    term: str
    definition: str


@dataclass
class Reference:
    number: str
    title: str


@dataclass
class FormRef:
    id: str
    title: str = ""


@dataclass
class DocumentSource:
    path: Path
    number: str
    title: str
    kind: str
    department: str
    sections: list[Section]
    title_en: str = ""
    basis: str = ""
    terms: list[Term] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    records: list[FormRef] = field(default_factory=list)
    review: int | None = None         # months between periodic reviews (定期评审); None: the kind's period
    training: dict = field(default_factory=dict)   # {departments: [...], roles: [...]} who must read it
    text: str = ""                    # the raw YAML text, archived as it was given
    warnings: list[str] = field(default_factory=list)


def _text(src: YamlSource, value, *path, what="text") -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise src.error(f"expected {what}, got {type(value).__name__}", *path)
    text = str(value)
    bad = _CONTROL.search(text)
    if bad:     # escaped in the YAML ("\v"): reaches the value itself
        raise src.error(f"a control character (U+{ord(bad.group()):04X}) is not allowed in text; "
                        "delete it or retype the text", *path)
    long = too_long(text, MAX_TEXT_CHARS, "one text (split it into sections)")
    if long:           # checked here so that nothing `check` accepts is slow to render
        raise src.error(long, *path)
    return text.strip()


def _paragraphs(src: YamlSource, value, *path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        out = []
        for i, item in enumerate(value):
            out.extend(_paragraphs(src, item, *path, i))
        return out
    text = _text(src, value, *path, what="text or a list of paragraphs")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _table(src: YamlSource, value, *path) -> Table:
    if not isinstance(value, dict):
        raise src.error("expected a table mapping with columns and rows", *path)
    check_keys(src, value, TABLE_KEYS, *path)
    columns = value.get("columns")
    if not isinstance(columns, list) or not columns:
        raise src.error("expected a non-empty list of column titles", *path, "columns")
    columns = [_text(src, c, *path, "columns", i) for i, c in enumerate(columns)]
    rows_in = value.get("rows") or []
    if not isinstance(rows_in, list):
        raise src.error("expected a list of rows", *path, "rows")
    rows = []
    for r, row in enumerate(rows_in):
        if isinstance(row, dict):
            unknown = [k for k in row if str(k) not in columns]
            if unknown:
                raise src.error(f"unknown column {unknown[0]!r}; columns are {columns}", *path, "rows", r)
            cells = [_text(src, row.get(c), *path, "rows", r, c) for c in columns]
        elif isinstance(row, list):
            if len(row) > len(columns):
                raise src.error(f"row has {len(row)} cells but the table has {len(columns)} columns",
                                *path, "rows", r)
            cells = [_text(src, c, *path, "rows", r, i) for i, c in enumerate(row)]
            cells += [""] * (len(columns) - len(cells))
        else:
            raise src.error("expected a row as a list of cells or a mapping of column → cell", *path, "rows", r)
        rows.append(cells)
    caption = _text(src, value.get("caption") or value.get("title"), *path, "caption")
    return Table(caption=caption, columns=columns, rows=rows)


def _section(src: YamlSource, value, warnings: list[str], *path) -> Section:
    if isinstance(value, str):
        return Section(title="", body=_paragraphs(src, value, *path))
    if not isinstance(value, dict):
        raise src.error("expected a section with title and/or body", *path)
    check_keys(src, value, SECTION_KEYS, *path)
    if not any(k in value for k in ("title", "body", "table", "tables", "sections", "figure", "figures", "flow")):
        raise src.error("a section needs a title and/or body (or a table, figure or sections)", *path)
    title = _text(src, value.get("title"), *path, "title")
    if title and TYPED_CLAUSE.match(title):
        warnings.append(f"{src.path}, line {src.line(*path, 'title')}: title {title!r} seems to start "
                        "with a typed clause number; clause numbers are generated")
    tables = []
    if value.get("table") is not None:
        tables.append(_table(src, value["table"], *path, "table"))
    if value.get("tables") is not None:
        if not isinstance(value["tables"], list):
            raise src.error("expected a list of tables", *path, "tables")
        tables += [_table(src, t, *path, "tables", i) for i, t in enumerate(value["tables"])]
    figures = []
    if value.get("figure") is not None:
        figures.append(_figure(src, value["figure"], *path, "figure"))
    if value.get("figures") is not None:
        if not isinstance(value["figures"], list):
            raise src.error("expected a list of figures", *path, "figures")
        figures += [_figure(src, f, *path, "figures", i) for i, f in enumerate(value["figures"])]
    flows = []
    if value.get("flow") is not None:       # a flow chart drawn from YAML (issue 24)
        flows.append(parse_flow(src, value["flow"], *path, "flow"))
    subs = value.get("sections") or []
    if not isinstance(subs, list):
        raise src.error("expected a list of sections", *path, "sections")
    return Section(title=title, body=_paragraphs(src, value.get("body"), *path, "body"), tables=tables,
                   sections=[_section(src, s, warnings, *path, "sections", i) for i, s in enumerate(subs)],
                   figures=figures, flows=flows)


FIGURE_TYPES = (".png", ".jpg", ".jpeg")
RESERVED_NAMES = ("source", "manifest.json", "copies")


def _figure(src: YamlSource, value, *path) -> Figure:
    """{image: flow.png, caption: 图1 …, width_cm: 12}; the image path is relative to the source
    file and stays inside its folder (it is archived beside the source, under the same path)."""
    if isinstance(value, str):
        value = {"image": value}
    if not isinstance(value, dict):
        raise src.error("expected a figure: {image: FILE.png, caption: 图1 …}", *path)
    check_keys(src, value, ("image", "caption", "width_cm"), *path)
    image = _text(src, value.get("image"), *path, "image")
    if not image:
        raise src.error("missing; expected the image file (PNG or JPEG), relative to this file", *path, "image")
    rel = Path(image)
    if rel.is_absolute() or ".." in rel.parts or "\\" in image:
        raise src.error(f"{image!r}: expected a path relative to this file, inside its folder", *path, "image")
    if rel.suffix.lower() not in FIGURE_TYPES:
        raise src.error(f"{image!r}: expected a .png or .jpg image", *path, "image")
    if rel.parts[0] in RESERVED_NAMES or rel.name.startswith("source") or rel.parts[0].startswith("."):
        raise src.error(f"{image!r}: this name is reserved in the archive; rename the image", *path, "image")
    full = Path(src.path).parent / rel
    if not full.is_file():
        raise src.error(f"image not found: {full}", *path, "image")
    width = value.get("width_cm")
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float)) or not 1 <= width <= 16):
        raise src.error("expected a width in centimetres between 1 and 16", *path, "width_cm")
    return Figure(image=rel.as_posix(), caption=_text(src, value.get("caption"), *path, "caption"),
                  width_cm=float(width) if width is not None else None)


def _terms(src: YamlSource, value) -> list[Term]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [Term(str(k), _text(src, v, "terms", k)) for k, v in value.items()]
    if not isinstance(value, list):
        raise src.error("expected a list of {term, definition}", "terms")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            if len(item) > 1 or any(k in TERM_KEYS for k in item):    # not the one-pair {术语: 定义} form
                check_keys(src, item, TERM_KEYS, "terms", i)
            term = item.get("term") or item.get("name")
            if term is None and len(item) == 1:
                term, definition = next(iter(item.items()))
            else:
                definition = item.get("definition") or item.get("text") or ""
            if not term:
                raise src.error("missing; expected the term", "terms", i, "term")
            out.append(Term(str(term), _text(src, definition, "terms", i)))
        else:
            text = _text(src, item, "terms", i)
            m = re.match(r"^(.*?)[:：](.*)$", text)
            term, definition = (m.group(1), m.group(2)) if m else (text, "")
            out.append(Term(term.strip(), definition.strip()))
    return out


def _references(src: YamlSource, value, pattern: str) -> list[Reference]:
    out = []
    for i, item in listed(src, value, "references", "documents"):
        if isinstance(item, dict):
            check_keys(src, item, REFERENCE_KEYS, "references", i)
            out.append(Reference(_text(src, item.get("number"), "references", i, "number"),
                                 _text(src, item.get("title"), "references", i, "title")))
        else:
            text = _text(src, item, "references", i)
            head, _, rest = text.partition(" ")
            if re.match(pattern, head):
                out.append(Reference(head, rest.strip()))
            else:
                out.append(Reference("", text))
    return out


def _records(src: YamlSource, value) -> list[FormRef]:
    out = []
    for i, item in listed(src, value, "records", "form ids"):
        if isinstance(item, dict):
            check_keys(src, item, RECORD_KEYS, "records", i)
            fid = item.get("id") or item.get("form") or item.get("number") or ""
            out.append(FormRef(_text(src, fid, "records", i, "id"), _text(src, item.get("title"), "records", i)))
        else:
            out.append(FormRef(_text(src, item, "records", i)))
    return out


def parse_source(src: YamlSource, ws: Workspace) -> DocumentSource:
    data = top_mapping(src, SOURCE_KEYS, "a mapping with number, title, kind, department, sections")
    for key in REQUIRED:
        if key not in data or data[key] in (None, "", []):
            what = "a list of sections" if key == "sections" else "text"
            raise InvalidInput(f"missing required field; expected {what}", file=src.path, field=key,
                           line=src.line(key))
    number = _text(src, data["number"], "number")
    if not re.match(ws.config.number_pattern, number) or not _safe_number(number):
        raise src.error(f"{short(number)} does not match the document number pattern "
                        f"{ws.config.number_pattern} (e.g. QP-SC-015)", "number")
    kind_text = _text(src, data["kind"], "kind")
    kind = ws.kind(kind_text)
    if kind is None:
        known = ", ".join(f"{k.key} ({k.label})" for k in ws.config.kinds.values())
        raise src.error(f"unknown kind {kind_text!r}; expected one of: {known}", "kind")
    if not isinstance(data["sections"], list):
        raise src.error("expected a list of sections", "sections")
    warnings: list[str] = []
    sections = [_section(src, s, warnings, "sections", i) for i, s in enumerate(data["sections"])]
    doc = DocumentSource(
        path=src.path, number=number, title=_text(src, data["title"], "title"), kind=kind.key,
        department=_text(src, data["department"], "department"), sections=sections,
        title_en=_text(src, data.get("title_en"), "title_en"), basis=_text(src, data.get("basis"), "basis"),
        terms=_terms(src, data.get("terms")),
        references=_references(src, data.get("references"), ws.config.number_pattern),
        records=_records(src, data.get("records")), warnings=warnings,
        review=_review(src, data.get("review")), training=_training(src, data.get("training"), ws))
    long = too_long(plain_text(doc), MAX_SOURCE_CHARS, "a document")
    if long:
        raise src.error(f"{long} (about 150 pages); split it into several documents", "sections")
    return doc


def _review(src: YamlSource, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 120:
        raise src.error(f"expected the review period in months, a whole number from 1 to 120 (review: 24), "
                        f"got {short(str(value))}", "review")
    return value


def _training(src: YamlSource, value, ws: Workspace) -> dict:
    """Who must read this document (read-and-understood): departments and/or roles, each a list of names."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise src.error("expected a mapping {departments: [客户服务部], roles: [clerk]}", "training")
    check_keys(src, value, ("departments", "roles", "due_days"), "training")
    out: dict = {}
    for key in ("departments", "roles"):
        items = value.get(key) or []
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise src.error("expected a list of names", "training", key)
        out[key] = [i.strip() for i in items]
    known = ws.config.quality.get("departments") or []
    for i, dep in enumerate(out["departments"]):
        if known and dep not in known:
            raise src.error(f"未知部门 {short(dep)}；config.yaml 的 departments 列有：{'、'.join(known)}",
                            "training", "departments", i)
    if out["roles"]:
        roles = load_policy(ws).roles
        for i, role in enumerate(out["roles"]):
            if role.split("@", 1)[0] not in roles:
                raise src.error(f"未知角色 {short(role)}；config.yaml identity.roles 有：{'、'.join(roles)}",
                                "training", "roles", i)
    if "due_days" in value:
        days = value["due_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise src.error("expected a whole number of days from 1 to 365", "training", "due_days")
        out["due_days"] = days
    return out


def _safe_number(number: str) -> bool:
    """A document number names its archive folder: whatever the configured pattern allows,
    never a path separator, '..' or a control character. A '/' between parts (HX/QP-05) is kept in
    folder names as a full-width ／ (revisions.folder_name), never a separator."""
    # a '/' (HX/QP-05) is stored as a full-width solidus in names (revisions.safe_name)
    return bool(_SAFE_ID.match(number.replace("/", "-"))) and ".." not in number


def load_source(path: Path | str, ws: Workspace) -> DocumentSource:
    src = load_yaml(path)
    doc = parse_source(src, ws)
    doc.text = read_text(path, what="YAML file")
    return doc


def parse_source_text(text: str, path: Path, ws: Workspace) -> DocumentSource:
    doc = parse_source(parse_yaml_text(text, path), ws)
    doc.text = text
    return doc


def flatten(sections: list[Section], prefix: str = "", level: int = 1) -> list[dict]:
    """Sections → reading-order blocks with generated clause numbers 1 / 1.1 / 1.1.1.

    A clause without a title reads as procedures print it: its number and its first
    paragraph on one line (`3.1 招商部提供招商管理服务…`), a `clause` block."""
    blocks: list[dict] = []
    for i, sec in enumerate(sections, 1):
        number = f"{prefix}{i}"
        body = list(sec.body)
        if not sec.title and body:
            blocks.append({"type": "clause", "level": min(level, 4), "number": number, "text": body.pop(0)})
        else:
            blocks.append({"type": "heading", "level": min(level, 4), "number": number, "text": sec.title})
        blocks += [{"type": "paragraph", "text": p} for p in body]
        blocks += [{"type": "table", "caption": t.caption, "columns": t.columns, "rows": t.rows}
                   for t in sec.tables]
        blocks += [{"type": "figure", "image": f.image, "caption": f.caption, "width_cm": f.width_cm}
                   for f in sec.figures]
        # a flow's "image" is its steps in words: what a redline compares (the picture is drawn from them)
        blocks += [{"type": "figure", "image": f.summary(), "flow": f, "caption": f.caption or f.title,
                    "width_cm": f.width_cm} for f in sec.flows]
        blocks += flatten(sec.sections, number + ".", level + 1)
    return blocks


def figure_paths(doc: "DocumentSource") -> list[str]:
    """Every image the source's figures name, relative to the source file, in reading order."""
    out: list[str] = []

    def walk(sections: list[Section]) -> None:
        for sec in sections:
            out.extend(f.image for f in sec.figures if f.image not in out)
            walk(sec.sections)
    walk(doc.sections)
    return out


def plain_text(doc: DocumentSource) -> str:
    """Everything a reader can search for in the source: titles, clauses, tables, terms, lists."""
    parts = [doc.number, doc.title, doc.title_en, doc.department, doc.basis]
    for b in flatten(doc.sections):
        if b["type"] == "figure":
            parts.append(b["caption"])
            if b.get("flow") is not None:
                parts += b["flow"].texts()
        elif b["type"] == "table":
            parts.append(b["caption"])
            parts.append(" ".join(b["columns"]))
            parts += [" ".join(r) for r in b["rows"]]
        else:
            parts.append(b["text"])
    parts += [f"{t.term} {t.definition}" for t in doc.terms]
    parts += [f"{r.number} {r.title}" for r in doc.references]
    parts += [f"{r.id} {r.title}" for r in doc.records]
    return "\n".join(p for p in parts if p)
