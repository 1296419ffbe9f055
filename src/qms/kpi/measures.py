"""What the CLI and the web ask of the KPIs: check the definitions, compute the series, the
records behind a number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..store.catalog import reading
from ..base.errors import InvalidInput, QmsError
from ..domain.forms import load_forms
from ..store.workspace import Workspace
from ..base.yaml_source import YamlSource, load_yaml
from .compute import EMPTY_GROUP, Series, compute, fmt, missed, period_of
from .definition import Kpi, find_kpi, kpis_dir, load_kpis, parse_kpi
from .definition import _field as resolve_field


@dataclass
class CheckResult:
    kpis: list[Kpi]
    errors: list[QmsError]


def check(ws: Workspace) -> CheckResult:
    """Every kpis/*.yaml checked against the forms; each bad file's first problem, with its line."""
    forms = load_forms(ws)
    ok, errors = [], []
    folder = kpis_dir(ws)
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            ok.append(parse_kpi(load_yaml(path), forms))
        except QmsError as exc:
            errors.append(exc)
    return CheckResult(ok, errors)


def _period_bounds(kpi: Kpi, period: str | None) -> tuple[str | None, str | None]:
    """`--period 2026-03` (or 2026-Q1, 2026) → the KPI's own periods covering it."""
    if not period:
        return None, None
    p = period.strip()
    if re.fullmatch(r"\d{4}-\d{2}", p):
        day = f"{p}-01"
        if kpi.period != "year" and kpi.period != "quarter":
            return p, p
        q = period_of(day, kpi.period)
        return q, q
    if re.fullmatch(r"\d{4}-Q[1-4]", p):
        if kpi.period == "quarter":
            return p, p
        if kpi.period == "year":
            return p[:4], p[:4]
        m = (int(p[-1]) - 1) * 3 + 1
        return f"{p[:4]}-{m:02d}", f"{p[:4]}-{m + 2:02d}"
    if re.fullmatch(r"\d{4}", p):
        if kpi.period == "year":
            return p, p
        return (f"{p}-Q1", f"{p}-Q4") if kpi.period == "quarter" else (f"{p}-01", f"{p}-12")
    raise InvalidInput(f"{period!r}: expected a month (2026-03), a quarter (2026-Q1) or a year (2026)",
                       field="period")


def series(ws: Workspace, *, period: str | None = None, by: str | None = None, kpi: str | None = None,
           first: str | None = None, last: str | None = None, detail: bool = False) -> list[Series]:
    """Each KPI's values (all of them, or the one named), recomputed from the catalog now."""
    kpis = [find_kpi(ws, kpi)] if kpi else load_kpis(ws)
    out = []
    with reading(ws) as cat:
        for k in kpis:
            lo, hi = _period_bounds(k, period) if period else (first, last)
            ref = _by(ws, k, by) if by else None
            out.append(compute(cat, k, first=lo, last=hi, by=ref, detail=detail))
    return out


def _by(ws: Workspace, kpi: Kpi, text: str):
    """`--by 客户`: a field of the KPI's form (name or label; 客户 is its customer field)."""
    src = YamlSource(path=kpi.path, data={}, lines={})
    try:
        return resolve_field(src, kpi.form, text)
    except QmsError as exc:
        raise InvalidInput(f"--by {text}: {exc.message}", field="by") from None


def show_json(ws: Workspace, **kw) -> dict:
    return {"kpis": [s.to_json() for s in series(ws, **kw)]}


def behind(ws: Workspace, key: str, period: str, group: str = "") -> dict:
    """The records behind one number of the dashboard: each with its own value (the drill-down)."""
    (s,) = series(ws, kpi=key, first=period, last=period, detail=True)
    k = s.kpi
    cell = s.cell(period, group) or s.cell(period, "")
    rows = []
    if cell is not None:
        with reading(ws) as cat:
            for number, v in cell.detail:
                r = cat.one("SELECT record_date, customer, form FROM records WHERE number=?", number)
                rows.append({"number": number, "record_date": r["record_date"] if r else "",
                             "customer": r["customer"] if r else "",
                             "value": None if v is None else (v if isinstance(v, str) else round(v, 4)),
                             "shown": "缺少数据" if v is None else (v if isinstance(v, str) else fmt(k, v)),
                             "missed": number in set(missed(k, cell))})
    return {"kpi": s.to_json(), "period": period, "group": group,
            "value": fmt(k, cell.value) if cell else "—", "records": rows}


__all__ = ["CheckResult", "EMPTY_GROUP", "behind", "check", "fmt", "series", "show_json"]
