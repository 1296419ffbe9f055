"""The scan review queue (issue 22): each queued part with its page images, and the two decisions
a person can make — file it to a record (assign) or take it out with a reason (discard)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ... import scan
from ...base.errors import QmsError
from .. import messages
from ..pages import json_response, render
from ..auth import RECORD_SIGN, check_csrf, flash_redirect, require
from .common import in_thread


def queue_page(request: Request, *, error: str = "", status_code: int = 200):
    require(request, RECORD_SIGN)
    items = scan.queue(request.app.state.ws)
    if request.query_params.get("format") == "json":
        return json_response(items)
    return render(request, "scans.html", status_code, items=items, error=error)


async def page_image(request: Request):
    require(request, RECORD_SIGN)
    png = await in_thread(scan.page_png, request.app.state.ws, request.path_params["id"],
                          int(request.path_params["page"]) - 1)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


async def _decide(request: Request, fn):
    user = require(request, RECORD_SIGN)
    submitted = await request.form()
    check_csrf(request, user, submitted)
    ws = request.app.state.ws
    try:
        res = await in_thread(fn, ws, request.path_params["id"], submitted, user.actor)
    except QmsError as exc:
        return queue_page(request, error=messages.error(ws, exc).format(), status_code=400)
    return flash_redirect("/scans", user, messages.result(ws, res))


def _assign(ws, item_id, form, actor):
    return scan.assign(ws, item_id, (form.get("number") or "").strip(),
                       signer=((form.get("signer") or "").strip(), (form.get("signer_role") or "").strip()),
                       signed_on=(form.get("signed_on") or "").strip() or None, actor=actor)


def _discard(ws, item_id, form, actor):
    return scan.discard(ws, item_id, reason=(form.get("reason") or "").strip(), actor=actor)


async def assign(request: Request):
    return await _decide(request, _assign)


async def discard(request: Request):
    return await _decide(request, _discard)


ROUTES = [
    Route("/scans", lambda request: queue_page(request)),
    Route("/scans/{id}/page/{page:int}.png", page_image),
    Route("/scans/{id}/assign", assign, methods=["POST"]),
    Route("/scans/{id}/discard", discard, methods=["POST"]),
]
