"""The monthly report's summary: one row per KPI (and group) for the month, and how a target and
its state read. Shared by the report (its Change data) and the .docx and .xlsx writers below it."""

from __future__ import annotations

from .compute import fmt


def _state(met) -> str:
    return {True: "达标", False: "未达标", None: "—"}[met]


def _target(k) -> str:
    return f"{'≥' if k.direction == '>=' else '≤'} {fmt(k, k.target)}" if k.target is not None else "—"


def summary_rows(data: dict) -> list[list[str]]:
    rows = []
    for item in data["kpis"]:
        k = item["series"].kpi
        for c in item["now"] or []:
            rows.append([k.title + (f"（{c.group}）" if c.group else ""), _target(k), fmt(k, c.value), _state(c.met),
                         str(c.n), str(len(c.missing))])
        if not item["now"]:
            rows.append([k.title, _target(k), "—", "—", "0", "0"])
    return rows
