"""The records keeper: the retention report, legal holds, purge after a confirmation showing what
will be destroyed, and the yearly volumes (每年汇编成册)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ... import retention, volumes
from ...dates import parse_date, today
from ...errors import Conflict, InvalidInput, QmsError
from ...forms import load_forms_quietly
from .. import messages
from ..app import render
from ..auth import COMPILE, HOLD, PURGE, WebUser, check_csrf, flash_message, require
from ..forms import post_form
from .common import arg, date_arg, in_thread


def _keeper(request: Request) -> WebUser:
    user = require(request)
    if not any(user.can(p) for p in (HOLD, PURGE, COMPILE)):
        from starlette.exceptions import HTTPException
        raise HTTPException(403, "没有记录保管权限")
    return user


def keeper(request: Request, *, error: str = "", status_code: int = 200):
    _keeper(request)
    ws = request.app.state.ws
    as_of = date_arg(request, "as_of") or today()
    rep = retention.report(ws, as_of=as_of, form=arg(request, "form"))
    return render(request, "keeper.html", status_code, rep=rep, holds=retention.hold_list(ws), error=error,
                  forms=load_forms_quietly(ws), flash=flash_message(request),
                  form_id=arg(request, "form") or "", year=today().year - 1)


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
    """Destroys only what the keeper saw: the confirmed count must still be what is due."""
    as_of = parse_date(form.get("as_of", ""), field="as_of")
    fid = (form.get("form") or "").strip() or None
    if form.get("confirm") != "yes":
        raise InvalidInput("销毁前须勾选确认", field="confirm")
    rep = retention.report(ws, as_of=as_of, form=fid)
    if str(rep["disposable"]) != str(form.get("expected", "")):
        raise Conflict(f"待销毁记录已变化（确认时 {form.get('expected')} 条，现在 {rep['disposable']} 条）；"
                       "请重新查看后再确认", field="expected")
    res = retention.purge(ws, actor=user.actor, as_of=as_of, form=fid)
    if not res["certificate"]:
        return f"截至 {as_of} 没有到期可销毁的记录"
    return f"已销毁 {len(res['disposed'])} 条记录；销毁证明 {res['certificate']}"


async def purge(request: Request):
    return await _post(request, PURGE, _purge)


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
    Route("/keeper/volume", volume, methods=["POST"]),
]
