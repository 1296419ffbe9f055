"""The one way a page's form post runs: permission, CSRF, the library call off the event loop, then
a 303 to the page with the result flashed, or the page again with the error and status 400 — both in
the workspace's language (messages.py)."""

from __future__ import annotations

from starlette.requests import Request

from ..base.errors import QmsError
from . import messages
from .auth import check_csrf, flash_redirect, require
from .routes.common import in_thread


async def post_form(request: Request, permission: str, call, *, done: str, page,
                    check=None, max_part_size: int | None = None):
    """`call(ws, form, user)` returns the one-line message flashed on `done`; a QmsError from it
    re-renders the page: `page(exc)`. `check(form)` refuses before any work (the error page)."""
    user = require(request, permission)
    form = await (request.form() if max_part_size is None else request.form(max_part_size=max_part_size))
    check_csrf(request, user, form)
    if check is not None:
        check(form)
    ws = request.app.state.ws
    try:
        message = await in_thread(call, ws, form, user)
    except QmsError as exc:
        return page(messages.error(ws, exc))
    return flash_redirect(done, user, messages.result(ws, message))
