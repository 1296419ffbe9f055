"""Record form schemas (schemas/<id>.yaml) and validation of record data against them.

A user adds a form by adding one YAML file; nothing here is specific to a form.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..base.dates import parse_date, parse_datetime, cn_date
from ..base.errors import QmsError
from ..store.workspace import Workspace
from ..base.input_limits import control_char_error, key_name, period_error, safe_id, short, _CONTROL
from .labels import chinese
from ..base.textfmt import table
from ..base.yaml_source import YamlSource, check_keys, load_yaml, top_mapping
import json
from ..base.input_limits import MAX_FIELD_CHARS, MAX_RECORD_CHARS, MAX_TABLE_ROWS, too_long

FIELD_TYPES = ("text", "date", "datetime", "number", "choice", "table", "signature")
_PERIOD = re.compile(r"^\s*(\d+)\s*([ymd])\s*$", re.I)
_UNIT_ZH = {"y": "年", "m": "个月", "d": "天"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The keys a form schema's mappings may hold; anything else is refused with the nearest match.
FORM_KEYS = ("id", "title", "title_en", "procedure", "date_field", "numbering", "retention",
             "signature_required", "template", "note", "fields",
             "revision", "department", "signer_noun", "list_columns")
FIELD_KEYS = ("name", "label", "type", "required", "searchable", "choices", "columns", "signed_by", "lines")
DEFAULT_FORM_REVISION = "A/0"   # a form is a controlled document too: its 版本 prints in the header
DEFAULT_SIGNER_NOUN = "用户"      # who signs the paper copy: 待用户签字 (signer_noun: 业主 → 待业主签字)
LIST_COLUMNS = 3                # record lists show the form's first few searchable fields by default
MAX_LINES = 20
LONG_TEXT_LINES = 3
LONG_LABEL = re.compile(r"内容|描述|现象|过程|结果|意见|建议|措施|分析|信息|备注|处理|需求|说明|情况")
COLUMN_KEYS = ("name", "label", "type")
RETENTION_KEYS = ("period", "from")


@dataclass
class Column:
    name: str
    label: str
    type: str = "text"


@dataclass
class FormField:
    name: str
    label: str
    type: str
    required: bool = False
    searchable: bool = True
    choices: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    signed_by: str = ""       # "filer": a signature field filled from the filer's login (record file --sign)
    lines: int = 0            # writing lines a blank printed form gives the field (0: decided by its label)

    @property
    def writing_lines(self) -> int:
        """Lines a blank printed form leaves for the field: `lines`, else several for free text
        whose label names content, a description, a result or an opinion (as the web's textarea)."""
        if self.lines:
            return self.lines
        return LONG_TEXT_LINES if self.type == "text" and LONG_LABEL.search(self.label or "") else 1


@dataclass
class Retention:
    period: str               # as written: 5y, 18m, 30d, permanent
    anchor: str               # filed | year_end | field
    anchor_field: str = ""

    def until(self, record_date: dt.date, data: dict) -> dt.date | None:
        """Retention end = anchor + period; None when kept permanently."""
        if self.period == "permanent":
            return None
        if self.anchor == "year_end":
            start = dt.date(record_date.year, 12, 31)
        elif self.anchor == "field":
            value = data.get(self.anchor_field)
            start = dt.date.fromisoformat(str(value)[:10]) if value else record_date
        else:
            start = record_date
        n, unit = _PERIOD.match(self.period).groups()
        return add_period(start, int(n), unit.lower())

    def describe(self) -> str:
        anchor = {"filed": "filed", "year_end": "year_end"}.get(self.anchor, f"field:{self.anchor_field}")
        return f"{self.period} from {anchor}"

    def reads(self, locale: str, form: "FormSchema | None" = None) -> str:
        """The rule as a person reads it: 自记录当年年末起5年 in a zh-CN workspace, else describe()."""
        if not chinese(locale):
            return self.describe()
        if self.period == "permanent":
            return "永久保存"
        n, unit = _PERIOD.match(self.period).groups()
        span = f"{n}{_UNIT_ZH[unit.lower()]}"
        if self.anchor == "year_end":
            return f"自记录当年年末起{span}"
        if self.anchor == "field":
            f = form.field(self.anchor_field) if form else None
            return f"自{f.label if f else self.anchor_field}起{span}"
        return f"自记录日期起{span}"    # "filed": counted from the record's date (until())


def add_period(start: dt.date, n: int, unit: str) -> dt.date:
    if unit == "d":
        return start + dt.timedelta(days=n)
    months = n * 12 if unit == "y" else n
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass
class FormSchema:
    id: str
    title: str
    fields: list[FormField]
    retention: Retention
    numbering: str
    path: Path
    title_en: str = ""
    procedure: str = ""
    signature_required: bool = False
    template: str = "record.docx"
    date_field: str = ""
    note: str = ""
    revision: str = DEFAULT_FORM_REVISION
    department: str = ""      # 保存部门: who keeps the records (printed in the procedure's 记录 table)
    signer_noun: str = DEFAULT_SIGNER_NOUN
    list_columns: list[str] = field(default_factory=list)

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    def listed_fields(self) -> list[FormField]:
        """The fields a record list shows: `list_columns`, else the first few searchable scalar
        fields other than the record date (which the list shows anyway)."""
        if self.list_columns:
            return [f for f in (self.field(n) for n in self.list_columns) if f is not None]
        return [f for f in self.fields if f.searchable and f.type in ("text", "choice", "number")
                and f.name != self.date_field][:LIST_COLUMNS]

    def to_json(self) -> dict:
        fields = []
        for f in self.fields:
            item = {"name": f.name, "label": f.label, "type": f.type, "required": f.required,
                    "searchable": f.searchable}
            if f.type == "choice":
                item["choices"] = list(f.choices)
            if f.type == "table":
                item["columns"] = [{"name": c.name, "label": c.label, "type": c.type} for c in f.columns]
            if f.signed_by:
                item["signed_by"] = f.signed_by
            if f.lines:
                item["lines"] = f.lines
            fields.append(item)
        return {"id": self.id, "title": self.title, "title_en": self.title_en, "procedure": self.procedure,
                "fields": fields, "numbering": self.numbering, "date_field": self.date_field,
                "retention": {"period": self.retention.period, "from": self.retention.describe().split(" from ")[1]},
                "signature_required": self.signature_required, "template": self.template,
                "revision": self.revision, "department": self.department, "signer_noun": self.signer_noun,
                "list_columns": [f.name for f in self.listed_fields()]}


# ------------------------------------------------------------------ loading schemas

def _field(src: YamlSource, raw, i: int) -> FormField:
    path = ("fields", i)
    if not isinstance(raw, dict):
        raise src.error("expected a field mapping with name, label, type", *path)
    check_keys(src, raw, FIELD_KEYS, *path)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise src.error("expected a field name of letters, digits and _", *path, "name")
    ftype = raw.get("type", "text")
    if ftype not in FIELD_TYPES:
        raise src.error(f"unknown field type {ftype!r}; expected one of {', '.join(FIELD_TYPES)}", *path, "type")
    f = FormField(name=name, label=str(raw.get("label") or name), type=ftype,
                  required=bool(raw.get("required", False)), searchable=bool(raw.get("searchable", True)))
    if raw.get("signed_by") is not None:
        if ftype != "signature" or raw.get("signed_by") != "filer":
            raise src.error("signed_by: filer is the one value, on a field of type signature", *path, "signed_by")
        f.signed_by = "filer"
    if raw.get("lines") is not None:
        lines = raw.get("lines")
        if ftype != "text" or isinstance(lines, bool) or not isinstance(lines, int) or not 1 <= lines <= MAX_LINES:
            raise src.error(f"lines: a whole number from 1 to {MAX_LINES}, on a field of type text "
                            "(the writing lines a blank form gives it)", *path, "lines")
        f.lines = lines
    if ftype == "choice":
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices:
            raise src.error("a choice field needs a list of choices", *path, "choices")
        f.choices = [str(c) for c in choices]
    if ftype == "table":
        cols = raw.get("columns")
        if not isinstance(cols, list) or not cols:
            raise src.error("a table field needs a list of columns", *path, "columns")
        for j, c in enumerate(cols):
            if isinstance(c, str):
                f.columns.append(Column(name=c, label=c))
            elif isinstance(c, dict) and c.get("name"):
                check_keys(src, c, COLUMN_KEYS, *path, "columns", j)
                ctype = c.get("type", "text")
                if ctype not in ("text", "number", "date"):
                    raise src.error(f"unknown column type {ctype!r}; expected text, number or date",
                                    *path, "columns", j, "type")
                f.columns.append(Column(name=str(c["name"]), label=str(c.get("label") or c["name"]), type=ctype))
            else:
                raise src.error("expected a column name or {name, label, type}", *path, "columns", j)
    return f


def parse_form(src: YamlSource, ws: Workspace) -> FormSchema:
    data = top_mapping(src, FORM_KEYS, "a form mapping with id, title, fields")
    for key in ("id", "title", "fields"):
        if not data.get(key):
            raise QmsError("missing required field", file=src.path, field=key, line=src.line(key))
    # the id names the records' folders: validated before any path is built from it
    safe_id(data["id"], "form id", file=src.path, field="id", line=src.line("id"))
    if not isinstance(data["fields"], list):
        raise src.error("expected a list of fields", "fields")
    fields = [_field(src, f, i) for i, f in enumerate(data["fields"])]
    seen = set()
    for i, f in enumerate(fields):
        if f.name in seen:
            raise src.error(f"field name {f.name!r} is used twice", "fields", i, "name")
        seen.add(f.name)
    ret = data.get("retention") or ws.config.record_retention
    if not isinstance(ret, dict):
        raise src.error("expected {period: 5y, from: filed | year_end | field:<name>}", "retention")
    if "retention" in data:
        check_keys(src, ret, RETENTION_KEYS, "retention")
    period = str(ret.get("period", "5y")).strip().lower()
    bad = period_error(period)
    if bad:
        if "retention" not in data:           # the default of config.yaml (load_config checks it too)
            raise QmsError(bad, file=ws.root / "config.yaml", field="records.retention.period")
        raise src.error(bad, "retention", "period")
    anchor_text = str(ret.get("from", "year_end"))
    if anchor_text.startswith("field:"):
        anchor, anchor_field = "field", anchor_text[6:]
        target = next((f for f in fields if f.name == anchor_field), None)
        if target is None or target.type not in ("date", "datetime"):
            raise src.error(f"{anchor_text!r} must name a date field of this form", "retention", "from")
    elif anchor_text in ("filed", "year_end"):
        anchor, anchor_field = anchor_text, ""
    else:
        raise src.error(f"expected filed, year_end or field:<name>, got {anchor_text!r}", "retention", "from")
    date_field = str(data.get("date_field") or "")
    if date_field:
        target = next((f for f in fields if f.name == date_field), None)
        if target is None or target.type not in ("date", "datetime"):
            raise src.error(f"{date_field!r} must name a date field of this form", "date_field")
    numbering = str(data.get("numbering") or ws.config.record_numbering)
    try:
        numbering.format(form="F", year=2026, seq=1, month=1)
    except (KeyError, ValueError, IndexError) as exc:
        raise src.error(f"numbering pattern {numbering!r} is not valid ({exc}); "
                        "use {form}, {year}, {month}, {seq:04d}", "numbering") from None
    safe_id(numbering.format(form=str(data["id"]), year=2026, seq=1, month=1), "a record number made by the pattern",
            file=src.path, field="numbering", line=src.line("numbering"))
    if "{seq" not in numbering:
        raise src.error("numbering pattern needs {seq} (e.g. {form}-{year}-{seq:04d})", "numbering")
    list_columns = data.get("list_columns")
    if list_columns is not None:
        names = {f.name: f for f in fields} | {f.label: f for f in fields}
        if not isinstance(list_columns, list) or not list_columns:
            raise src.error("expected a list of field names (the columns of record lists)", "list_columns")
        for i, n in enumerate(list_columns):
            if str(n) not in names or names[str(n)].type in ("table", "signature"):
                raise src.error(f"{n!r} is not a text, date, number or choice field of this form; expected one of: "
                                + ", ".join(f.name for f in fields if f.type not in ("table", "signature")),
                                "list_columns", i)
        list_columns = [names[str(n)].name for n in list_columns]
    texts = {}
    for key in ("revision", "department", "signer_noun"):
        value = data.get(key)
        if value is not None and (isinstance(value, (dict, list)) or not str(value).strip()):
            raise src.error("expected a short text", key)
        texts[key] = str(value).strip() if value is not None else ""
    template = str(data.get("template") or "record.docx")
    tpl_path = (ws.templates_dir / template).resolve()
    try:
        tpl_path.relative_to(ws.root.resolve())
    except ValueError:
        raise src.error(f"template {template!r} lies outside the workspace", "template") from None
    return FormSchema(
        id=str(data["id"]), title=str(data["title"]), title_en=str(data.get("title_en") or ""),
        procedure=str(data.get("procedure") or ""), fields=fields,
        retention=Retention(period=period, anchor=anchor, anchor_field=anchor_field),
        numbering=numbering, path=src.path, signature_required=bool(data.get("signature_required", False)),
        template=template, date_field=date_field, note=str(data.get("note") or ""),
        revision=texts["revision"] or DEFAULT_FORM_REVISION, department=texts["department"],
        signer_noun=texts["signer_noun"] or DEFAULT_SIGNER_NOUN, list_columns=list_columns or [])


_CACHE: dict[tuple, FormSchema] = {}


def _load(path: Path, ws: Workspace) -> FormSchema:
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = parse_form(load_yaml(path), ws)
    return _CACHE[key]


def load_forms(ws: Workspace) -> dict[str, FormSchema]:
    forms = {}
    for path in sorted(ws.schemas_dir.glob("*.yaml")):
        form = _load(path, ws)
        if form.id in forms:
            raise QmsError(f"form id {form.id} is also defined in {forms[form.id].path.name}", file=path, field="id")
        forms[form.id] = form
    return forms


def load_forms_quietly(ws: Workspace) -> dict[str, FormSchema]:
    try:
        return load_forms(ws)
    except QmsError:
        return {}


def load_form(ws: Workspace, form_id: str) -> FormSchema:
    safe_id(form_id, "form id", field="form")
    path = ws.schemas_dir / f"{form_id}.yaml"
    if path.is_file():
        form = _load(path, ws)
        if form.id == form_id:
            return form
    forms = load_forms(ws)
    if form_id not in forms:
        known = ", ".join(f"{f.id} {f.title}" for f in forms.values()) or "none"
        raise QmsError(f"unknown form {short(form_id)}; known forms: {known}", field="form")
    return forms[form_id]


# ------------------------------------------------------------------ validating data

def _number(value, **where):
    if isinstance(value, bool):
        raise QmsError(f"expected a number, got {value!r}", **where)
    if isinstance(value, (int, float)):
        number = value
    else:
        text = str(value).strip().replace(",", "")
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise QmsError(f"expected a number, got {value!r}", **where) from None
    if isinstance(number, float) and not math.isfinite(number):    # float() takes "nan" and "inf"
        raise QmsError(f"expected a number, got {value!r}", **where)
    return number


def _scalar_text(value, **where) -> str:
    if isinstance(value, (dict, list)):
        raise QmsError(f"expected text, got a {'mapping' if isinstance(value, dict) else 'list'}", **where)
    text = str(value)
    # escaped in YAML ("\v") or JSON ("\u000b"), a control character reaches the value itself
    err = control_char_error(text.replace("\r\n", "\n"), **{k: v for k, v in where.items() if k != "line"})
    if err is not None:
        raise QmsError(f"a control character (U+{ord(_first_control(text)):04X}) is not allowed in text; "
                       "delete it or retype the text", **where)
    return text.strip()


def _first_control(text: str) -> str:
    return _CONTROL.search(text).group()


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def validate_data(form: FormSchema, data, *, file=None, row: int | None = None,
                  src: YamlSource | None = None) -> dict:
    """Check record data against the form; returns it normalised (ISO dates, numbers as numbers).

    Raises QmsError naming the file, row (for imports), field and line (for YAML).
    """
    if not isinstance(data, dict):
        raise QmsError("expected a mapping of field name → value", file=file, row=row)

    def where(name, *sub):
        return {"file": file, "row": row, "field": ".".join([name, *map(str, sub)]),
                "line": src.line(name, *sub) if src else None}

    by_label = {f.label: f for f in form.fields}
    out: dict = {}
    for key, value in data.items():
        f = form.field(str(key)) or by_label.get(str(key))
        if f is None:
            names = ", ".join(x.name for x in form.fields)
            raise QmsError(f"unknown field for {form.id} {form.title}; expected one of: {names}",
                           **{**where(str(key)), "field": key_name(key)})
        if _empty(value):
            continue
        w = where(str(key))
        if f.type == "text" or f.type == "signature":
            out[f.name] = _scalar_text(value, **w)
        elif f.type == "date":
            out[f.name] = parse_date(value, **w).isoformat()
        elif f.type == "datetime":
            out[f.name] = parse_datetime(value, **w).isoformat(timespec="minutes")
        elif f.type == "number":
            out[f.name] = _number(value, **w)
        elif f.type == "choice":
            text = _scalar_text(value, **w)
            if text not in f.choices:
                raise QmsError(f"{text!r} is not one of the choices: {', '.join(f.choices)}", **w)
            out[f.name] = text
        elif f.type == "table":
            out[f.name] = _table(f, value, str(key), where)
    for f in form.fields:
        if f.required and f.name not in out:
            raise QmsError(f"missing required field ({f.label}, {f.type})", **where(f.name))
    _check_sizes(out, where, file=file, row=row)
    return {f.name: out[f.name] for f in form.fields if f.name in out}


def _check_sizes(out: dict, where, *, file, row) -> None:
    """Bounded text, so that a record `check` accepts renders in seconds (limits in qms.base.input_limits)."""
    total = 0
    for name, value in out.items():
        cells = [((), value)] if isinstance(value, str) else []
        if isinstance(value, list):
            if len(value) > MAX_TABLE_ROWS:
                raise QmsError(f"{len(value):,} rows; a table may hold at most {MAX_TABLE_ROWS:,}", **where(name))
            cells = [((i, c), v) for i, r in enumerate(value) for c, v in r.items() if isinstance(v, str)]
        for sub, text in cells:
            bad = too_long(text, MAX_FIELD_CHARS, "a field" if not sub else "a table cell")
            if bad:
                raise QmsError(bad, **where(name, *sub))
            total += len(text)
    if total > MAX_RECORD_CHARS:
        raise QmsError(f"the record holds {total:,} characters of text; a record may hold at most "
                       f"{MAX_RECORD_CHARS:,} (attach long texts as files)", file=file, row=row)


def _table(f: FormField, value, key: str, where) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise QmsError("expected a list of rows (in CSV: a JSON list of objects)", **where(key)) from None
    if not isinstance(value, list):
        raise QmsError("expected a list of rows, each a mapping of column → value", **where(key))
    by_name = {c.name: c for c in f.columns}
    by_label = {c.label: c for c in f.columns}
    rows = []
    for i, raw in enumerate(value):
        if not isinstance(raw, dict):
            raise QmsError("expected a row mapping of column → value", **where(key, i))
        row = {}
        for ck, cv in raw.items():
            col = by_name.get(str(ck)) or by_label.get(str(ck))
            if col is None:
                raise QmsError(f"unknown column; expected one of: {', '.join(by_name)}", **where(key, i, ck))
            if _empty(cv):
                continue
            w = where(key, i, ck)
            if col.type == "number":
                row[col.name] = _number(cv, **w)
            elif col.type == "date":
                row[col.name] = parse_date(cv, **w).isoformat()
            else:
                row[col.name] = _scalar_text(cv, **w)
        rows.append({c.name: row[c.name] for c in f.columns if c.name in row})
    return rows


def format_value(f: FormField, value, locale: str = "zh-CN") -> str:
    """A value as printed on the form."""
    if value is None or value == "":
        return ""
    if f.type == "date":
        return cn_date(value, locale)
    if f.type == "datetime":
        d = dt.datetime.fromisoformat(str(value))
        return f"{cn_date(d.date(), locale)} {d:%H:%M}"
    if f.type == "number":
        return f"{value:g}" if isinstance(value, float) else str(value)
    if f.type == "table":
        return "；".join("，".join(str(v) for v in row.values()) for row in value)
    return str(value)


# ------------------------------------------------------------------ what a person reads

# Field types as a zh-CN workspace prints them (data and --json keep the English names).
TYPE_ZH = {"text": "文本", "date": "日期", "datetime": "日期时间", "number": "数值", "choice": "选项",
           "table": "表格", "signature": "签名"}


def forms_table(forms, locale: str) -> str:
    """`qms form list`: every form with its retention rule, in the workspace's language."""
    zh = chinese(locale)
    rows = [[f.id, f.title, f.procedure, f.retention.reads(locale, f),
             ("是" if zh else "yes") if f.signature_required else ""] for f in forms]
    return table(["表单编号", "名称", "程序文件", "保存期限", "需用户签字"] if zh
                 else ["id", "title", "procedure", "retention", "signature"], rows)


def form_sheet(form: FormSchema, locale: str) -> str:
    """`qms form show`: a form's numbering, retention and field table, in the workspace's language."""
    d = form.to_json()
    if not chinese(locale):
        head = (f"{d['id']}  {d['title']}  (procedure {d['procedure'] or '-'})\n"
                f"numbering {d['numbering']}  retention {d['retention']['period']} from {d['retention']['from']}"
                f"  signature required: {'yes' if d['signature_required'] else 'no'}\n")
        rows = [[f["name"], f["label"], f["type"], "yes" if f["required"] else "",
                 " / ".join(f.get("choices", [])) or ", ".join(c["name"] for c in f.get("columns", []))]
                for f in d["fields"]]
        return head + table(["name", "label", "type", "required", "choices/columns"], rows)
    head = (f"{d['id']}  {d['title']}  版本 {form.revision}  （依据程序文件 {d['procedure'] or '-'}）\n"
            f"编号规则 {d['numbering']}  保存期限 {form.retention.reads(locale, form)}"
            f"{'  保存部门 ' + form.department if form.department else ''}"
            f"  需{form.signer_noun}签字：{'是' if d['signature_required'] else '否'}\n")
    rows = [[f["name"], f["label"], TYPE_ZH.get(f["type"], f["type"]), "是" if f["required"] else "",
             " / ".join(f.get("choices", [])) or "、".join(c["label"] for c in f.get("columns", []))]
            for f in d["fields"]]
    return head + table(["字段", "名称", "类型", "必填", "选项/列"], rows)


def form_summaries(forms) -> list[dict]:
    """The forms as `qms form list --json` gives them: id, title, procedure, retention, signature required."""
    return [{"id": f.id, "title": f.title, "procedure": f.procedure, "retention": f.retention.describe(),
             "signature_required": f.signature_required} for f in forms]


def field_labels(ws: Workspace, form_id: str) -> dict[str, str]:
    """Field name → printed label (table columns as `field.column`); empty for a form no longer
    loadable, so an old record still shows."""
    form = load_forms_quietly(ws).get(form_id)
    labels = {f.name: f.label for f in form.fields} if form else {}
    labels.update({f"{f.name}.{c.name}": c.label for f in (form.fields if form else []) for c in f.columns})
    return labels
