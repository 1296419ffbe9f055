"""KPI values, always recomputed from the catalog (records and their field values), never stored.

One SQL query per form reads the fields a KPI needs (record_fields is keyed by number and field
name), then one pass in Python groups the records by period and group. A record whose value
cannot be measured (a date missing, no linked record) is counted as missing in its cell, never
dropped silently.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
from dataclasses import dataclass, field

from ..store.catalog import Catalog
from .definition import FieldRef, Kpi

EMPTY_GROUP = "（空）"


@dataclass
class Cell:
    period: str
    group: str = ""
    records: list[str] = field(default_factory=list)      # every record counted in the cell
    missing: list[str] = field(default_factory=list)      # records whose value could not be measured
    values: list[float] = field(default_factory=list)
    hits: int = 0
    detail: list[tuple] = field(default_factory=list)     # (number, value or None), when asked for
    value: float | None = None
    met: bool | None = None

    @property
    def n(self) -> int:
        return len(self.records)

    def to_json(self) -> dict:
        return {"period": self.period, "group": self.group, "value": self.value, "n": self.n,
                "measured": self.n - len(self.missing), "missing": len(self.missing), "met": self.met}


@dataclass
class Series:
    kpi: Kpi
    cells: list[Cell]
    periods: list[str]
    groups: list[str]

    def cell(self, period: str, group: str = "") -> Cell | None:
        return next((c for c in self.cells if c.period == period and c.group == group), None)

    def latest(self) -> list[Cell]:
        """The cells of the last period (one per group)."""
        return [c for c in self.cells if self.periods and c.period == self.periods[-1]]

    def to_json(self) -> dict:
        k = self.kpi
        return {"key": k.key, "title": k.title, "form": k.form.id, "measure": k.measure, "unit": k.unit,
                "period": k.period, "by": k.by.label if k.by else None, "target": k.target,
                "direction": k.direction if k.target is not None else None,
                "values": [c.to_json() for c in self.cells]}


def period_of(day: str, period: str) -> str:
    """'2026-03-14' → 2026-03 (month), 2026-Q1 (quarter), 2026 (year)."""
    if period == "year":
        return day[:4]
    if period == "quarter":
        return f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"
    return day[:7]


def _next(p: str, period: str) -> str:
    if period == "year":
        return str(int(p) + 1)
    if period == "quarter":
        y, q = int(p[:4]), int(p[-1])
        return f"{y + 1}-Q1" if q == 4 else f"{y}-Q{q + 1}"
    y, m = int(p[:4]), int(p[5:7])
    return f"{y + 1}-01" if m == 12 else f"{y}-{m + 1:02d}"


def period_range(first: str, last: str, period: str) -> list[str]:
    out, p = [], first
    while p <= last and len(out) < 10000:
        out.append(p)
        p = _next(p, period)
    return out


def period_span(p: str) -> tuple[str, str]:
    """The first and last day of a period, as ISO text (compared as text with record dates)."""
    if len(p) == 4:
        return f"{p}-01-01", f"{p}-12-31"
    if "Q" in p:
        q = int(p[-1])
        return f"{p[:4]}-{3 * q - 2:02d}-01", f"{p[:4]}-{3 * q:02d}-31"
    return f"{p}-01", f"{p}-31"


def _rows(cat: Catalog, form: str, refs: list[FieldRef], first: str | None = None, last: str | None = None,
          link: FieldRef | None = None, other: str = "", lrefs: tuple = ()) -> list[tuple]:
    """(number, record_date, each ref's value …, each linked ref's value …) for every record of the
    form (within the periods when given). record_fields is keyed (form, field, number): each value
    is one index probe inside SQLite; `link` names this form's field holding the number of the
    `other` form's record whose `lrefs` are read."""
    cols, joins, args = [], [], []
    for i, ref in enumerate(refs):
        if ref.name in ("number", "record_date"):
            cols.append(f"r.{ref.name}")
        else:
            cols.append(f"v{i}.value")
            joins.append(f"LEFT JOIN record_fields v{i} ON v{i}.form=r.form AND v{i}.name=? AND v{i}.number=r.number")
            args.append(ref.name)
    if link is not None:
        joins.append("LEFT JOIN record_fields lk ON lk.form=r.form AND lk.name=? AND lk.number=r.number")
        args.append(link.name)
        for i, ref in enumerate(lrefs):
            cols.append(f"o{i}.value")
            joins.append(f"LEFT JOIN record_fields o{i} ON o{i}.form=? AND o{i}.name=? AND o{i}.number=lk.value")
            args += [other, ref.name]
    where, wargs = "", []
    if first:
        where += " AND r.record_date >= ?"
        wargs.append(period_span(first)[0])
    if last:
        where += " AND r.record_date <= ?"
        wargs.append(period_span(last)[1])
    cur = cat.conn.cursor()
    cur.row_factory = None              # plain tuples: a sqlite3.Row per row costs more than the row
    sql = (f"SELECT r.number, r.record_date{''.join(', ' + c for c in cols)} FROM records r {' '.join(joins)} "
           f"WHERE r.form=?{where}")
    return cur.execute(sql, (*args, form, *wargs)).fetchall()


def _when(text) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _number(text) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def compute(cat: Catalog, kpi: Kpi, *, first: str | None = None, last: str | None = None,
            by: FieldRef | None = None, detail: bool = False) -> Series:
    """The KPI's cells for every period from `first` to `last` (default: its records' first and
    last), each group of `by` (default the KPI's own `by`) in each period; a period without
    records is a cell with n = 0 (count 0, other measures no value)."""
    # 100,000 rows are 100,000 new tuples: the cyclic collector would walk the whole heap again
    # and again while they are made (none of them can form a cycle)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _compute(cat, kpi, first=first, last=last, by=by, detail=detail)
    finally:
        if enabled:
            gc.enable()


def _compute(cat: Catalog, kpi: Kpi, *, first, last, by, detail) -> Series:
    by = by if by is not None else kpi.by
    refs: list[FieldRef] = []

    def need(ref: FieldRef | None) -> int | None:
        if ref is None or ref.form != kpi.form.id:
            return None
        if ref not in refs:
            refs.append(ref)
        return refs.index(ref) + 2          # after number, record_date

    i_field, i_by = need(kpi.field), need(by)
    i_filters = [(need(ref), set(wants)) for ref, wants in kpi.filters]
    i_start, i_end = need(kpi.start), need(kpi.end)
    linked: dict[str, tuple] = {}
    i_link = o_start = o_end = None
    link_sql: dict = {}
    if kpi.link is not None:
        other = [r for r in (kpi.start, kpi.end) if r.form == kpi.link.form]
        key = kpi.link.to
        if key.name == "number":        # the usual link: joined inside SQLite
            base = 2 + len(refs)
            o_start = base + other.index(kpi.start) if kpi.start in other else None
            o_end = base + other.index(kpi.end) if kpi.end in other else None
            link_sql = {"link": kpi.link.field, "other": kpi.link.form, "lrefs": tuple(other)}
        else:                           # linked by another field of theirs: a dict of their records
            i_link = need(kpi.link.field)
            for row in _rows(cat, kpi.link.form, [key] + other):
                linked.setdefault(row[2], row)
            o_start = 3 + other.index(kpi.start) if kpi.start in other else None
            o_end = 3 + other.index(kpi.end) if kpi.end in other else None

    cells: dict[tuple[str, str], Cell] = {}
    scale = kpi.seconds or 1
    for row in _rows(cat, kpi.form.id, refs, first, last, **link_sql):
        if any(row[i] not in wants for i, wants in i_filters):
            continue
        p = period_of(row[1], kpi.period)
        if (first and p < first) or (last and p > last):
            continue
        g = (row[i_by] or EMPTY_GROUP) if i_by is not None else ""
        cell = cells.get((p, g))
        if cell is None:
            cell = cells[(p, g)] = Cell(p, g)
        cell.records.append(row[0])
        if kpi.measure == "count":
            v = 1.0
        elif kpi.is_duration:
            other = (linked.get(row[i_link]) if i_link is not None else row) if kpi.link is not None else None
            a = _when(row[i_start]) if i_start is not None else (_when(other[o_start]) if other else None)
            b = _when(row[i_end]) if i_end is not None else (_when(other[o_end]) if other else None)
            v = (b - a).total_seconds() / scale if a is not None and b is not None else None
        elif kpi.measure == "share":
            v = row[i_field] if row[i_field] not in (None, "") else None
            if v is not None and v in kpi.choices:
                cell.hits += 1
        else:
            v = _number(row[i_field])
        if v is None:
            cell.missing.append(row[0])
        elif kpi.measure != "share" and kpi.measure != "count":
            cell.values.append(v)
        if detail:
            cell.detail.append((row[0], v))

    periods_seen = sorted({p for p, _ in cells})
    lo = first or (periods_seen[0] if periods_seen else None)
    hi = last or (periods_seen[-1] if periods_seen else None)
    periods = period_range(lo, hi, kpi.period) if lo and hi else []
    groups = sorted({g for _, g in cells}) if by is not None else [""]
    out = []
    for p in periods:
        for g in groups:
            cell = cells.get((p, g)) or Cell(p, g)
            cell.value = _value(kpi, cell)
            cell.met = kpi.met(cell.value)
            out.append(cell)
    return Series(kpi=kpi, cells=out, periods=periods, groups=groups)


def _value(kpi: Kpi, cell: Cell) -> float | None:
    if kpi.measure == "count":
        return float(cell.n)
    if kpi.measure == "share":
        measured = cell.n - len(cell.missing)
        return round(cell.hits / measured * 100, 6) if measured else None
    if not cell.values:
        return 0.0 if kpi.measure == "sum" else None
    if kpi.measure == "sum":
        return round(sum(cell.values), 6)
    if kpi.measure == "mean":
        return round(statistics.fmean(cell.values), 6)
    return round(statistics.median(cell.values), 6)


def missed(kpi: Kpi, cell: Cell) -> list[str]:
    """The records behind a missed target (compute(detail=True)): a share's records outside the
    choices that count, a measured record whose own value misses the target; a count's or a sum's
    records all stand behind it; a record that could not be measured always does."""
    out = []
    for number, v in cell.detail:
        if v is None:
            out.append(number)
        elif kpi.measure == "share":
            if v not in kpi.choices:
                out.append(number)
        elif kpi.measure in ("count", "sum") or kpi.met(v) is False:
            out.append(number)
    return out


def fmt(kpi: Kpi, value: float | None) -> str:
    """A value as the dashboard and the report print it: 93.3%, 18.5 小时, 42."""
    if value is None:
        return "—"
    if kpi.measure == "count":
        return f"{int(value)}"
    text = f"{value:.{kpi.decimals}f}"
    return f"{text}%" if kpi.unit == "%" else (f"{text} {kpi.unit}" if kpi.unit else text)
