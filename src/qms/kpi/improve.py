"""流程改进: a KPI that missed its target for a finished period proposes a CAPA, once per KPI,
period and group (journal event kpi.capa_proposed), on the quality manager's to-do; accepting
it opens the CAPA (qms.capa), with the KPI, period and records behind the miss in its description."""

from __future__ import annotations

import json

from ..capa.capas import open_capa
from ..identity.users import get_user
from ..store.catalog import reading
from ..base.dates import today
from ..base.errors import Conflict, NotFound
from ..domain.results import Change
from ..store.workspace import Workspace
from ..store.writer import writing
from .compute import fmt, missed, period_of
from .definition import load_kpis
from .measures import series

MAX_RECORDS = 500      # the records attached to a proposal (the drill-down lists them all)



def proposal_key(kpi: str, period: str, group: str = "") -> str:
    return f"{kpi}/{period}" + (f"/{group}" if group else "")


def misses(ws: Workspace) -> list[dict]:
    """Every finished period (before the current one) of every KPI with a target that it missed."""
    now = today().isoformat()
    out = []
    for s in series(ws, detail=True):
        k = s.kpi
        if k.target is None:
            continue
        current = period_of(now, k.period)
        for c in s.cells:
            if c.period >= current or c.met is not False:
                continue
            out.append({"key": proposal_key(k.key, c.period, c.group), "kpi": k.key, "title": k.title,
                        "period": c.period, "group": c.group, "value": c.value, "target": k.target,
                        "direction": k.direction, "shown": fmt(k, c.value), "target_shown": fmt(k, k.target),
                        "records": missed(k, c)[:MAX_RECORDS]})
    return out


def propose(ws: Workspace, *, actor: str) -> Change:
    """Journal a proposal for each miss not proposed before (idempotent: run it any time)."""
    found = misses(ws)
    with writing(ws, purpose="kpi proposals") as w:
        have = {r["key"] for r in w.cat.all("SELECT key FROM kpi_proposals")}
        new = [m for m in found if m["key"] not in have]
        if new:
            w.commit([{"action": "kpi.capa_proposed", "target": m["key"],
                       "data": {k: m[k] for k in ("kpi", "title", "period", "group", "value", "target",
                                                  "direction", "records")}} for m in new], actor=actor)
    words = "、".join(f"{m['title']} {m['period']}" + (f"（{m['group']}）" if m["group"] else "") for m in new)
    return Change(message=f"提出 {len(new)} 项纠正预防措施建议" + (f"：{words}" if words else "（无新的未达标指标）"),
                  data={"proposed": new})


def proposals(ws: Workspace, status: str | None = "proposed") -> list[dict]:
    """The proposals (default: those waiting for a decision), newest period first."""
    with reading(ws) as cat:
        rows = cat.all("SELECT * FROM kpi_proposals" + (" WHERE status=?" if status else "")
                       + " ORDER BY period DESC, key", *((status,) if status else ()))
    titles = {k.key: k for k in load_kpis(ws)}
    out = []
    for r in rows:
        k = titles.get(r["kpi"])
        out.append({"key": r["key"], "kpi": r["kpi"], "title": k.title if k else r["kpi"], "period": r["period"],
                    "group": r["grp"] or "", "value": r["value"], "target": r["target"],
                    "shown": fmt(k, r["value"]) if k else str(r["value"]),
                    "target_shown": fmt(k, r["target"]) if k else str(r["target"]),
                    "records": json.loads(r["records"] or "[]"), "status": r["status"],
                    "proposed_at": r["proposed_at"], "capa": r["capa"]})
    return out


def _open_capa(ws: Workspace, actor: str, row: dict) -> str:
    """The CAPA a proposal asks for: the KPI, its period and value against the target, the records."""
    user = get_user(ws, actor.split(" ", 1)[0])
    records = json.loads(row.get("records") or "[]")
    what = f"指标 {row['kpi']} {row['period']}" + (f"（{row['grp']}）" if row.get("grp") else "")
    res = open_capa(ws, title=f"{what} 未达目标", user=user, source="kpi",
                    description=f"{what}：数值 {row.get('value')}，目标 {row.get('target')}；"
                                f"相关记录 {'、'.join(records[:20]) or '无'}" + ("等" if len(records) > 20 else ""))
    return res.data["number"]


def decide(ws: Workspace, key: str, *, actor: str, accept: bool, reason: str = "") -> Change:
    """Accept (opens the CAPA, qms.capa) or dismiss a proposal."""
    def pending(cat) -> dict:
        row = cat.one("SELECT * FROM kpi_proposals WHERE key=?", key)
        if row is None:
            raise NotFound(f"没有纠正预防措施建议 {key}（qms kpi proposals 列出）")
        if row["status"] != "proposed":
            raise Conflict(f"建议 {key} 已处理（{'已接受' if row['status'] == 'accepted' else '不采纳'}）")
        return dict(row)
    with reading(ws) as cat:
        row = pending(cat)
    # the CAPA is its own journaled change (numbered CAPA-YYYY-NNNN); the decision names it
    capa = _open_capa(ws, actor, row) if accept else None
    with writing(ws, purpose="kpi proposal") as w:
        pending(w.cat)
        data = {"capa": capa} if capa else {}
        if reason:
            data["reason"] = reason
        w.commit([{"action": "kpi.capa_accepted" if accept else "kpi.capa_dismissed", "target": key,
                   "data": data}], actor=actor)
    msg = f"已接受建议 {key}，开立 {capa}" if accept else f"不采纳建议 {key}"
    return Change(message=msg, data={"key": key, "accepted": accept, "capa": capa})


def todo_items(ws: Workspace, user, on=None) -> list[dict]:
    """The to-do source (qms.todo): proposals wait on the quality manager (who may release documents)."""
    if not (user.may("doc.release") or user.may("kpi.capa")):
        return []
    return [{"kind": "kpi.capa", "kind_zh": "纠正预防措施建议",
             "title": f"{p['title']} {p['period']}" + (f"（{p['group']}）" if p["group"] else "")
             + f" 未达目标：{p['shown']}（目标 {p['target_shown']}）",
             "due": None, "link": f"/kpi/proposals#{p['key']}", "key": p["key"]} for p in proposals(ws)]

