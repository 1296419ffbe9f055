"""What the index holds: the user-facing field names, the documents going in (IndexDoc), the hits
coming out (Hit) and how an IndexDoc becomes the stored field values. No whoosh here: the
whoosh field types are built from these names in the adapter module (_whoosh)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ..base.errors import InvalidInput
from .analysis import SEP, field_segments, normalize

# Bump when the schema or the analysis changes: an old index must be rebuilt.
INDEX_VERSION = "qms-index-3"   # 2: codes also indexed by their runs of parts
# 3: digits and letters glued to Chinese or digits are runs (substrings); form fields; dates
VERSION_FILE = "QMS_INDEX_VERSION"

# Fields users can name in a query (and Chinese aliases for them).
TEXT_FIELDS = ("text", "title", "customer", "department", "people")
ID_FIELDS = ("number", "form", "kind", "status")
ALIASES = {
    "number": ["编号", "文件编号", "记录编号"], "form": ["表单", "表格"],
    "customer": ["客户"], "department": ["部门"], "people": ["人员", "签名"],
    "status": ["状态"], "kind": ["类型"], "title": ["标题"], "text": ["正文", "内容"],
}
KIND_ALIASES = {"文件": "doc", "文档": "doc", "记录": "record", "document": "doc"}
# The index field holding every form field's values, each term prefixed by the field's name.
FORM_FIELD = "fv"


@dataclass(frozen=True)
class FieldMap:
    """The forms' fields a query may name before a colon: typed key (label or name, normalised)
    → the field names it means (a label can belong to fields of several forms)."""
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    chinese: bool = True
    hidden: tuple[str, ...] = ()       # keys of fields a form keeps out of search (searchable: false)

    def names(self, key: str) -> tuple[str, ...] | None:
        key = normalize(key)
        for k, names in self.keys:
            if k == key:
                return names
        return None

    def unknown(self, key: str) -> str:
        if normalize(key) in self.hidden:
            if self.chinese:
                return f"字段“{key}”不参与检索（表单定义为 searchable: false）"
            return f"field '{key}' is kept out of search (searchable: false in its form)"
        top = [k for k, _ in self.keys if "." not in k]          # table columns left out of the hint
        labels = [k for k in top if not k.isascii()] or top
        builtin = ["客户", "部门", "人员", "标题", "编号", "表单", "状态"] if self.chinese else \
            ["customer", "department", "people", "title", "number", "form", "status"]
        shown = builtin + labels[:12] + (["…"] if len(labels) > 12 else [])
        if self.chinese:
            return (f"检索字段“{key}”不存在：没有哪张表单有这个字段（可用：{'、'.join(shown)}）；"
                    f"要找“{key}：…”这段文字本身，请加英文双引号")
        return (f"unknown search field '{key}': no form has it (known: {', '.join(shown)}); "
                f"to find the text '{key}:…' itself, put it in double quotes")


# ---------------------------------------------------------------------------
# Public data types

@dataclass
class IndexDoc:
    number: str
    kind: str
    title: str
    text: str
    form: str = ""
    department: str = ""
    customer: str = ""
    people: list[str] = field(default_factory=list)
    date: datetime.date | None = None
    status: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)   # form field name -> its values


@dataclass
class Hit:
    number: str
    kind: str
    form: str
    title: str
    date: str
    status: str
    score: float
    highlight: list[tuple[str, bool]]   # the passage: (text, is a hit) spans, see highlight.py


def fields_for(doc: IndexDoc) -> dict:
    number = (doc.number or "").strip()
    if not number:
        raise InvalidInput("cannot index a document without a number")
    people = [p for p in (doc.people or []) if p]
    body = SEP.join([doc.title or "", doc.text or "", doc.form or "", number,
                      doc.customer or "", doc.department or "", *people])
    day = doc.date.toordinal() if doc.date else 0
    out = {
        "text": body, "text1": body,
        "number": normalize(number),
        "kind": normalize((doc.kind or "").strip()),
        "day": day,
        "key": f"{number}{SEP}{doc.status or ''}".encode("utf-8"),
        "s": (number, doc.kind or "", doc.form or "", doc.title or "",
              doc.date.isoformat() if doc.date else "", doc.status or "",
              doc.text or ""),   # whoosh zlib-compresses stored fields
    }
    # ID fields hold normalised values: the query side normalises the same way
    if doc.form:
        out["form"] = normalize(doc.form.strip())
    if doc.status:
        out["status"] = normalize(doc.status.strip())
    for name, value in (("title", doc.title), ("customer", doc.customer),
                        ("department", doc.department)):
        if value:
            out[name] = out[name + "1"] = value
    if people:
        out["people"] = out["people1"] = SEP.join(people)
    if doc.fields:
        value = field_segments(doc.fields)
        if value:
            out[FORM_FIELD] = out[FORM_FIELD + "1"] = value
    return out


