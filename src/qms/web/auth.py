"""Who is asking: the session cookie, CSRF tokens and permission checks, over qms.identity.

Every route names the permission it needs; `require` answers 401 without a session and 403 without
the permission. The session itself (login, lockout, idle timeout, logout) belongs to qms.identity,
so the same rules hold for the CLI, the pages and the API, and for every worker process.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from . import backend
from .webuser import (READ, DOC_SIGN, DOC_SUBMIT, DOC_RELEASE, DOC_OBSOLETE, DOC_WITHDRAW, DOC_COPY, RECORD_FILE, RECORD_SIGN, HOLD, PURGE, DISPOSE_APPROVE, COMPILE,
                      WebUser, csrf_for)
from urllib.parse import urlencode

COOKIE = "qms_session"
CSRF_HEADER = "x-csrf-token"

def current_user(request: Request) -> WebUser | None:
    cached = request.scope.get("qms.user", False)
    if cached is not False:
        return cached
    token = request.cookies.get(COOKIE) or ""
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        token = bearer[7:].strip()
    user = None
    if token:
        user = backend.resume(request.app.state.ws, token)
    request.scope["qms.user"] = user
    return user


def require(request: Request, perm: str = READ) -> WebUser:
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "请先登录")
    if not user.can(perm):
        raise HTTPException(403, "没有权限")
    return user


def check_csrf(request: Request, user: WebUser, form=None) -> None:
    """The token from the form (pages) or the X-CSRF-Token header (API) must match the session's."""
    sent = request.headers.get(CSRF_HEADER) or (form.get("csrf_token") if form is not None else None) or ""
    if not hmac.compare_digest(str(sent), user.csrf_token):
        raise HTTPException(403, "CSRF 校验失败，请刷新页面后重试")


def flash_redirect(path: str, user: WebUser, message: str):
    """A 303 to PATH carrying a one-line result; signed with the session so that a link crafted by
    someone else cannot put words on our page (it would be escaped, but still read as ours)."""
    sig = hmac.new(user.token.encode(), message.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
    return RedirectResponse(f"{path}?{urlencode({'done': message, 'sig': sig})}", status_code=303)


def flash_message(request: Request) -> str:
    """The result message of the redirect that brought the user here, if it is genuinely ours."""
    user = current_user(request)
    message = request.query_params.get("done", "")
    if not user or not message:
        return ""
    sig = hmac.new(user.token.encode(), message.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
    return message if hmac.compare_digest(sig, request.query_params.get("sig", "")) else ""
