"""The records keeper: the retention report, legal holds, disposal in two steps (销毁审批: the keeper
proposes what is due today after a confirmation showing it; another person holding
records.dispose.approve approves with their password, or rejects), and the yearly volumes
(每年汇编成册)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...retention import disposal, periods as retention, volumes
from ...base.dates import parse_date, today
from ...base.errors import Conflict, InvalidInput, QmsError
from ...domain.forms import load_forms_quietly
from .. import messages
from ..pages import render
from ..auth import COMPILE, DISPOSE_APPROVE, HOLD, PURGE, WebUser, check_csrf, flash_message, require
from ..form_posts import post_form
from .common import arg, date_arg, in_thread
from starlette.exceptions import HTTPException


def _keeper(request: Request) -> WebUser:
    user = require(request)
    if not any(user.can(p) for p in (HOLD, PURGE, COMPILE, DISPOSE_APPROVE)):
        raise HTTPException(403, "没有记录保管权限")
    return user


def keeper(request: Request, *, error: str = "", status_code: int = 200):
    _keeper(request)
    ws = request.app.state.ws
    as_of = date_arg(request, "as_of") or today()
    rep = retention.report(ws, as_of=as_of, form=arg(request, "form"))
    return render(request, "keeper.html", status_code, rep=rep, holds=retention.hold_list(ws), error=error,
                  forms=load_forms_quietly(ws), flash=flash_message(request),
                  form_id=arg(request, "form") or "", year=today().year - 1,
                  # a later date is a look ahead: the page offers no disposal for it
                  ahead=as_of > today(), pending=disposal.listing(ws, status="pending"),
                  default_opinion=disposal.DEFAULT_OPINION, default_method=disposal.DEFAULT_METHOD)


def _post(request: Request, perm: str, fn):
    return post_form(request, perm, fn, done="/keeper",
                     page=lambda exc: keeper(request, error=exc.format(), status_code=400))


async def hold_add(request: Request):
    return await _post(request, HOLD, lambda ws, f, u: retention.hold_add(
        ws, (f.get("number") or "").strip(), reason=f.get("reason", ""), actor=u.actor))


async def hold_release(request: Request):
    return await _post(request, HOLD, lambda ws, f, u: retention.hold_release(
        ws, (f.get("number") or "").strip(), reason=f.get("reason", ""), actor=u.actor))


def _purge(ws, form, user) -> str:
    """Proposes only what the keeper saw: the confirmed count must still be what is due. Never for a
    date after today (retention.not_after_today refuses it, as on the CLI)."""
    as_of = parse_date(form.get("as_of", ""), field="as_of")
    retention.not_after_today(as_of)
    fid = (form.get("form") or "").strip() or None
    if form.get("confirm") != "yes":
        raise InvalidInput("提交销毁审批前须勾选确认", field="confirm")
    rep = retention.report(ws, as_of=as_of, form=fid)
    if str(rep["disposable"]) != str(form.get("expected", "")):
        raise Conflict(f"待销毁记录已变化（确认时 {form.get('expected')} 条，现在 {rep['disposable']} 条）；"
                       "请重新查看后再确认", field="expected")
    res = disposal.propose(ws, actor=user.actor, opinion=form.get("opinion", ""), method=form.get("method", ""),
                           witness=form.get("witness"), form=fid, as_of=as_of)
    if not res.data["proposal"]:
        return f"截至 {as_of} 没有到期可销毁的记录（或已在待审批的销毁审批单中）"
    return (f"已提交销毁审批单 {res.data['proposal']}（{len(res.data['proposed'])} 条记录）；"
            "须由另一位有批准权限的人员审批后才会销毁")


async def purge(request: Request):
    return await _post(request, PURGE, _purge)


def _approve(ws, form, user) -> str:
    res = disposal.approve(ws, (form.get("proposal") or "").strip(), user=user.identity,
                           password=form.get("password", ""))
    d = res.data
    left = f"；未销毁 {len(d['left_out'])} 条（状态已变）：" + "、".join(x["number"] for x in d["left_out"]) \
        if d["left_out"] else ""
    return f"已批准 {d['proposal']}：销毁 {len(d['disposed'])} 条记录；销毁证明 {d['certificate']}{left}"


async def approve(request: Request):
    return await _post(request, DISPOSE_APPROVE, _approve)


def _reject(ws, form, user) -> str:
    res = disposal.reject(ws, (form.get("proposal") or "").strip(), user=user.identity,
                          reason=form.get("reason", ""))
    return f"已驳回 {res.data['proposal']}：{res.data['reason']}；未销毁任何记录"


async def reject(request: Request):
    return await _post(request, DISPOSE_APPROVE, _reject)


def _volume(ws, form_id: str, year: int, actor: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="qms-volume-") as tmp:
        out = Path(tmp) / f"{form_id}-{year}.pdf"
        volumes.compile_volume(ws, form=form_id, year=year, out=out, actor=actor)
        return out.read_bytes()


async def volume(request: Request):
    user = require(request, COMPILE)
    form = await request.form()
    check_csrf(request, user, form)
    form_id = (form.get("form") or "").strip()
    try:
        try:
            year = int(form.get("year", ""))
        except ValueError:
            raise InvalidInput("年份应为四位数字，如 2026", field="year") from None
        pdf = await in_thread(_volume, request.app.state.ws, form_id, year, user.actor)
    except QmsError as exc:         # shown on the keeper page, not an error page
        return keeper(request, error=messages.error(request.app.state.ws, exc).format(), status_code=400)
    name = quote(f"{year}{form_id}汇编.pdf")
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f"attachment; filename*=UTF-8''{name}"})


ROUTES = [
    Route("/keeper", lambda request: keeper(request)),
    Route("/keeper/hold", hold_add, methods=["POST"]),
    Route("/keeper/release-hold", hold_release, methods=["POST"]),
    Route("/keeper/purge", purge, methods=["POST"]),
    Route("/keeper/approve", approve, methods=["POST"]),
    Route("/keeper/reject", reject, methods=["POST"]),
    Route("/keeper/volume", volume, methods=["POST"]),
]
