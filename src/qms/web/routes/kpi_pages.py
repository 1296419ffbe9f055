"""流程监控 on the web (issue 24): the KPI dashboard (each KPI's trend, target line, the latest
period red/green), the records behind a number, each chart as SVG, the CAPA proposals."""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ... import kpi
from ...base.errors import NotFound
from ...kpi.compute import fmt
from ..pages import render
from ..auth import DOC_RELEASE, READ, check_csrf, flash_message, flash_redirect, require
from .common import arg
from ...kpi._matplotlib import chart


def _rows(s) -> list[dict]:
    k = s.kpi
    return [{"period": c.period, "group": c.group, "value": fmt(k, c.value), "n": c.n, "missing": len(c.missing),
             "met": c.met, "href": f"/kpi/{quote(k.key)}/{quote(c.period)}"
             + (f"?group={quote(c.group)}" if c.group else "")} for c in s.cells]


def dashboard(request: Request):
    user = require(request, READ)
    ws = request.app.state.ws
    items = []
    for s in kpi.series(ws, by=arg(request, "by")):
        k = s.kpi
        latest = s.latest()
        items.append({"key": k.key, "title": k.title, "form": k.form.title, "target": fmt(k, k.target)
                      if k.target is not None else "", "direction": "≥" if k.direction == ">=" else "≤",
                      "latest": [{"group": c.group, "value": fmt(k, c.value), "met": c.met, "period": c.period}
                                 for c in latest],
                      "rows": _rows(s)[-36:]})
    pending = kpi.proposals(ws) if user.can(DOC_RELEASE) else []
    return render(request, "kpi.html", items=items, pending=pending, by=arg(request, "by") or "",
                  flash=flash_message(request))


def chart_svg(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    try:
        (s,) = kpi.series(ws, kpi=request.path_params["key"], by=arg(request, "by"))
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    return Response(chart(s, "svg"), media_type="image/svg+xml")


def records_behind(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    try:
        res = kpi.behind(ws, request.path_params["key"], request.path_params["period"], arg(request, "group") or "")
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    return render(request, "kpi_records.html", r=res)


async def decide(request: Request):
    user = require(request, DOC_RELEASE)
    form = await request.form()
    check_csrf(request, user, form)
    ws = request.app.state.ws
    accept = form.get("decision") == "accept"
    change = kpi.decide(ws, str(form.get("key") or ""), actor=user.actor, accept=accept,
                        reason=str(form.get("reason") or ""))
    return flash_redirect("/kpi", user, change.message)


ROUTES = [
    Route("/kpi", dashboard),
    Route("/kpi/proposals", decide, methods=["POST"]),
    Route("/kpi/{key}/chart.svg", chart_svg),
    Route("/kpi/{key}/{period}", records_behind),
]
