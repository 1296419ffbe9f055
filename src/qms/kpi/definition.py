"""KPI definitions: `kpis/*.yaml` in the workspace, checked against the forms.

A definition is data (README, "KPI YAML reference"): what is measured over which form's records,
how records are grouped (month/quarter/year, optionally by a field), the target and its direction.
Every error names the file, the line and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from pathlib import Path

from ..domain.forms import FormSchema, load_forms
from ..store.workspace import Workspace
from ..base.yaml_source import YamlSource, check_keys, load_yaml, top_mapping
from ..base.errors import NotFound

KEYS = ("title", "description", "form", "measure", "field", "choices", "duration", "link", "filter",
        "period", "by", "target", "direction", "unit", "decimals")
MEASURES = ("count", "sum", "mean", "median", "share")
PERIODS = ("month", "quarter", "year")
DURATION_UNITS = {"days": 86400, "天": 86400, "day": 86400, "hours": 3600, "小时": 3600, "hour": 3600,
                  "minutes": 60, "分钟": 60, "minute": 60}
DURATION_ZH = {86400: "天", 3600: "小时", 60: "分钟"}
HIGHER, LOWER = ">=", "<="
DIRECTIONS = {">=": HIGHER, "≥": HIGHER, "higher": HIGHER, "越高越好": HIGHER,
              "<=": LOWER, "≤": LOWER, "lower": LOWER, "越低越好": LOWER}
# record attributes every form has (the catalog's own columns), usable like fields
PSEUDO = {"number": "编号", "record_date": "日期"}
ALIASES = {"客户": "customer", "用户": "customer", "部门": "department", "产品": "product"}


@dataclass
class FieldRef:
    form: str            # form id
    name: str            # field name (or a PSEUDO name)
    label: str
    type: str            # text, date, datetime, number, choice, signature (pseudo: text/date)


@dataclass
class Link:
    form: str            # the linked form's id
    field: FieldRef      # this record's field holding the key
    to: FieldRef         # the linked record's field it equals (number: the record number)


@dataclass
class Kpi:
    key: str             # file stem
    path: Path
    title: str
    form: FormSchema
    measure: str
    period: str = "month"
    field: FieldRef | None = None
    choices: list[str] = dc_field(default_factory=list)
    start: FieldRef | None = None        # duration: from
    end: FieldRef | None = None          # duration: to
    seconds: int = 0                     # duration unit
    link: Link | None = None
    filters: list[tuple[FieldRef, list[str]]] = dc_field(default_factory=list)
    by: FieldRef | None = None
    target: float | None = None
    direction: str = HIGHER
    unit: str = ""
    decimals: int = 1
    description: str = ""
    line: int = 1

    @property
    def is_duration(self) -> bool:
        return self.start is not None

    def met(self, value: float | None) -> bool | None:
        """None when there is no target or no value."""
        if self.target is None or value is None:
            return None
        return value >= self.target if self.direction == HIGHER else value <= self.target


def kpis_dir(ws: Workspace) -> Path:
    return ws.root / ws.config.paths.get("kpis", "kpis")


def load_kpis(ws: Workspace, forms: dict[str, FormSchema] | None = None) -> list[Kpi]:
    """Every definition in kpis/, in file-name order; the first bad one is refused."""
    folder = kpis_dir(ws)
    if not folder.is_dir():
        return []
    forms = forms if forms is not None else load_forms(ws)
    return [load_kpi(p, ws, forms) for p in sorted(folder.glob("*.yaml"))]


def load_kpi(path: Path | str, ws: Workspace, forms: dict[str, FormSchema] | None = None) -> Kpi:
    forms = forms if forms is not None else load_forms(ws)
    return parse_kpi(load_yaml(path), forms)


def find_kpi(ws: Workspace, name: str) -> Kpi:
    kpis = load_kpis(ws)
    for k in kpis:
        if name in (k.key, k.title):
            return k
    raise NotFound(f"no KPI {name!r}; the KPIs are: " + "、".join(k.title for k in kpis))


def _form(src: YamlSource, forms: dict[str, FormSchema], text, *path) -> FormSchema:
    text = str(text or "").strip()
    for f in forms.values():
        if text in (f.id, f.title):
            return f
    known = "、".join(f"{f.id} {f.title}" for f in forms.values())
    raise src.error(f"unknown form {text!r}; expected a form id or title: {known}", *path)


def _field(src: YamlSource, form: FormSchema, text, *path, types=None) -> FieldRef:
    name = str(text or "").strip()
    name = ALIASES.get(name, name) if not _find(form, name) else name
    ref = _find(form, name)
    if ref is None:
        known = "、".join(f"{f.name} {f.label}" for f in form.fields if f.type != "table")
        raise src.error(f"unknown field {name!r} of {form.id} {form.title}; expected one of: {known}", *path)
    if types and ref.type not in types:
        raise src.error(f"{ref.label} ({ref.name}) is a {ref.type} field; expected a {' or '.join(types)} field "
                        f"of {form.id}", *path)
    return ref


def _find(form: FormSchema, name: str) -> FieldRef | None:
    for f in form.fields:
        if name in (f.name, f.label) and f.type != "table":
            return FieldRef(form.id, f.name, f.label, f.type)
    if name in PSEUDO or name in PSEUDO.values():
        key = name if name in PSEUDO else next(k for k, v in PSEUDO.items() if v == name)
        return FieldRef(form.id, key, PSEUDO[key], "date" if key == "record_date" else "text")
    return None


def _dotted(src, forms, main: FormSchema, text, *path) -> FieldRef:
    """FIELD of the measured form, or FORM.FIELD (id or title) of a linked one."""
    text = str(text or "").strip()
    if "." in text:
        head, _, tail = text.rpartition(".")
        other = next((f for f in forms.values() if head in (f.id, f.title)), None)
        if other is not None:
            return _field(src, other, tail, *path, types=("date", "datetime"))
        if _find(main, text) is None:
            return _field(src, _form(src, forms, head, *path), tail, *path)
    return _field(src, main, text, *path, types=("date", "datetime"))


def parse_kpi(src: YamlSource, forms: dict[str, FormSchema]) -> Kpi:
    data = top_mapping(src, KEYS, "a KPI mapping with title, form and measure")
    for key in ("title", "form"):
        if not data.get(key):
            raise src.error("missing; required", key)
    form = _form(src, forms, data["form"], "form")
    kpi = Kpi(key=Path(src.path).stem, path=Path(src.path), title=str(data["title"]).strip(), form=form,
              measure="", description=str(data.get("description") or "").strip(), line=src.line("title") or 1)
    measure = str(data.get("measure") or "count").strip()
    if measure not in MEASURES:
        raise src.error(f"unknown measure {measure!r}; expected one of: {', '.join(MEASURES)}", "measure")
    kpi.measure = measure
    if data.get("duration") is not None:
        _duration(src, forms, kpi, data)
    elif measure in ("sum", "mean", "median"):
        if not data.get("field"):
            raise src.error(f"measure {measure} needs a number `field` (or a `duration`)", "measure")
        kpi.field = _field(src, form, data["field"], "field", types=("number",))
    elif measure == "share":
        if not data.get("field"):
            raise src.error("measure share needs a `field` and the `choices` that count", "measure")
        kpi.field = _field(src, form, data["field"], "field", types=("choice", "text"))
        choices = data.get("choices")
        if isinstance(choices, (str, int, float)):
            choices = [choices]
        if not isinstance(choices, list) or not choices:
            raise src.error("expected the list of choices that count, e.g. [满意, 基本满意]", "choices")
        kpi.choices = [str(c) for c in choices]
        allowed = next(f.choices for f in form.fields if f.name == kpi.field.name) if kpi.field.type == "choice" else []
        for i, c in enumerate(kpi.choices):
            if allowed and c not in allowed:
                raise src.error(f"{c!r} is not a choice of {kpi.field.label}: {'、'.join(allowed)}", "choices", i)
    elif data.get("field") is not None:
        raise src.error("measure count counts records; it takes no `field` (use `filter`)", "field")
    if data.get("link") is not None and kpi.link is None:
        raise src.error("a link joins the record to another form's record for a `duration`; none names it", "link")
    kpi.filters = _filters(src, form, data.get("filter"))
    period = str(data.get("period") or "month").strip()
    period = {"月": "month", "月度": "month", "季度": "quarter", "季": "quarter", "年": "year", "年度": "year"}.get(
        period, period)
    if period not in PERIODS:
        raise src.error(f"unknown period {period!r}; expected month, quarter or year", "period")
    kpi.period = period
    if data.get("by") is not None:
        kpi.by = _field(src, form, data["by"], "by")
    if data.get("target") is not None:
        t = data["target"]
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise src.error(f"expected a number, got {t!r}", "target")
        kpi.target = float(t)
        direction = str(data.get("direction") or "").strip()
        if direction not in DIRECTIONS:
            raise src.error("a target needs a direction: \">=\" (at least the target) or \"<=\" (at most)",
                            "direction" if "direction" in data else "target")
        kpi.direction = DIRECTIONS[direction]
    elif data.get("direction") is not None:
        raise src.error("a direction without a target", "direction")
    kpi.unit = str(data.get("unit") or ("%" if measure == "share" else
                                        DURATION_ZH.get(kpi.seconds, "") if kpi.is_duration else "")).strip()
    dec = data.get("decimals", 1)
    if isinstance(dec, bool) or not isinstance(dec, int) or not 0 <= dec <= 4:
        raise src.error("expected a whole number of decimals from 0 to 4", "decimals")
    kpi.decimals = dec
    return kpi


def _duration(src, forms, kpi: Kpi, data: dict) -> None:
    d = data["duration"]
    if kpi.measure not in ("mean", "median", "sum"):
        raise src.error(f"a duration is measured by mean, median or sum, not {kpi.measure}", "measure")
    if not isinstance(d, dict):
        raise src.error("expected {from: FIELD or FORM.FIELD, to: FIELD, unit: 小时}", "duration")
    check_keys(src, d, ("from", "to", "unit"), "duration")
    for key in ("from", "to"):
        if not d.get(key):
            raise src.error("missing; expected a date field (FIELD, or FORM.FIELD of the linked record)",
                            "duration", key)
    kpi.start = _dotted(src, forms, kpi.form, d["from"], "duration", "from")
    kpi.end = _dotted(src, forms, kpi.form, d["to"], "duration", "to")
    unit = str(d.get("unit") or "days").strip()
    if unit not in DURATION_UNITS:
        raise src.error(f"unknown unit {unit!r}; expected 天, 小时 or 分钟 (days, hours, minutes)", "duration", "unit")
    kpi.seconds = DURATION_UNITS[unit]
    others = {r.form for r in (kpi.start, kpi.end) if r.form != kpi.form.id}
    if len(others) > 1:
        raise src.error("a duration spans this form and one linked form", "duration")
    if others:
        other = forms[others.pop()]
        link = data.get("link")
        if link is None:
            raise src.error(f"{other.id} {other.title} is another form: a `link` names the field of "
                            f"{kpi.form.id} that holds its record's number", "duration")
        if isinstance(link, str):
            link = {"field": link}
        if not isinstance(link, dict):
            raise src.error("expected link: FIELD, or {field: FIELD, to: FIELD of the linked form}", "link")
        check_keys(src, link, ("field", "to"), "link")
        mine = _field(src, kpi.form, link.get("field"), "link", "field")
        theirs = _field(src, other, link.get("to") or "number", "link", "to")
        kpi.link = Link(form=other.id, field=mine, to=theirs)


def _filters(src, form: FormSchema, value) -> list[tuple[FieldRef, list[str]]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise src.error("expected a mapping of field: value (or [values])", "filter")
    out = []
    for key, want in value.items():
        ref = _field(src, form, key, "filter", key)
        wants = want if isinstance(want, list) else [want]
        wants = [str(w) for w in wants]
        if ref.type == "choice":
            allowed = next(f.choices for f in form.fields if f.name == ref.name)
            for w in wants:
                if w not in allowed:
                    raise src.error(f"{w!r} is not a choice of {ref.label}: {'、'.join(allowed)}", "filter", key)
        out.append((ref, wants))
    return out
