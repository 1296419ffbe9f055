"""The catalog rows of the KPI events (流程改进): a proposed CAPA per KPI, period and group.
Only qms.store.projection calls these (register_handlers)."""

from __future__ import annotations

import json

ACTIONS = ("kpi.capa_proposed", "kpi.capa_accepted", "kpi.capa_dismissed")


def _proposed(cat, e, d):
    # INSERT OR IGNORE: a second event for the same key (two writers racing) changes nothing
    cat.execute("INSERT OR IGNORE INTO kpi_proposals(key, kpi, period, grp, value, target, records, status, "
                "proposed_at) VALUES(?,?,?,?,?,?,?,?,?)", e.target, d["kpi"], d["period"], d.get("group") or "",
                d.get("value"), d.get("target"),
                json.dumps(d.get("records") or [], ensure_ascii=False, sort_keys=True), "proposed", e.at)


def _decided(status):
    def handler(cat, e, d):
        cat.execute("UPDATE kpi_proposals SET status=?, decided_at=?, decided_by=?, capa=? WHERE key=?",
                    status, e.at, e.actor, d.get("capa"), e.target)
    return handler


def register_handlers(register) -> None:
    register("kpi.capa_proposed", _proposed)
    register("kpi.capa_accepted", _decided("accepted"))
    register("kpi.capa_dismissed", _decided("dismissed"))
