"""Login and logout (pages and API): the session cookie is HttpOnly, SameSite=Strict, Path=/."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from ...base.errors import QmsError
from ..pages import json_response, render
from ..auth import COOKIE, check_csrf, current_user, require
from .common import in_thread, json_body
from .. import backend
import secrets


def _set_cookie(request: Request, response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never '//evil.example' or 'https://…'."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


LOGIN_CSRF = "qms_login_csrf"


def _login_form(request: Request, status: int, *, nxt: str, error: str = "", token: str | None = None):
    """The login page with its CSRF token: the same token as the cookie (double submit). There is no
    session yet, so the token is a random value in a SameSite=Strict cookie that a page on another
    site can neither read nor send. After a failure the page is the same whatever went wrong (the
    login typed is not echoed), so its body tells nothing about which logins exist."""
    token = token or request.cookies.get(LOGIN_CSRF) or ""
    if len(token) < 20:
        token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status, next=nxt, error=error, login_csrf=token)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", path="/login",
                        secure=request.url.scheme == "https")
    return response


async def login_page(request: Request):
    if request.method == "GET":
        return _login_form(request, 200, nxt=_safe_next(request.query_params.get("next")))
    form = await request.form()
    nxt = _safe_next(form.get("next"))
    sent, kept = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF) or ""
    if not kept or not hmac.compare_digest(sent, kept):
        return _login_form(request, 403, nxt=nxt, error="CSRF 校验失败，请刷新页面后重试")
    client = request.client.host if request.client else None
    try:
        user = await in_thread(backend.login, request.app.state.ws, form.get("login", ""), form.get("password", ""),
                               client)
    except QmsError as exc:
        return _login_form(request, 401, nxt=nxt, error=exc.message, token=kept)
    response = RedirectResponse(nxt, status_code=303)
    _set_cookie(request, response, user.token)
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


async def logout(request: Request):
    user = current_user(request)
    if user is not None:
        check_csrf(request, user, await request.form())
        await in_thread(backend.logout, request.app.state.ws, user.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def api_login(request: Request):
    """{login, password} → {login, name, roles, csrf_token} and the session cookie; the token is
    also returned so a script may send `Authorization: Bearer <token>` instead of the cookie."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        # a form on another site can post text/plain that parses as JSON; application/json it cannot
        # send without the browser asking first — so no login CSRF through the API either
        return json_response({"error": "expected Content-Type: application/json"}, 415)
    body = await json_body(request, "{login, password}")
    try:
        user = await in_thread(backend.login, request.app.state.ws, str(body.get("login", "")),
                               str(body.get("password", "")), request.client.host if request.client else None)
    except QmsError as exc:
        return json_response({"error": exc.message}, 401)
    response = json_response({"login": user.login, "name": user.name, "roles": user.roles,
                              "csrf_token": user.csrf_token, "token": user.token})
    _set_cookie(request, response, user.token)
    return response


async def api_logout(request: Request):
    user = require(request)
    check_csrf(request, user)
    await in_thread(backend.logout, request.app.state.ws, user.token)
    response = json_response({"logged_out": user.login})
    response.delete_cookie(COOKIE, path="/")
    return response


ROUTES = [
    Route("/login", login_page, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/api/login", api_login, methods=["POST"]),
    Route("/api/logout", api_logout, methods=["POST"]),
]
