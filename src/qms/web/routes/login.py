"""Login and logout (pages and API): the session cookie is HttpOnly, SameSite=Strict, Path=/."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from ...errors import QmsError
from ..pages import json_response, render
from ..auth import COOKIE, check_csrf, current_user, require
from .common import in_thread, json_body
from .. import backend


def _set_cookie(request: Request, response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never '//evil.example' or 'https://…'."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def login_page(request: Request):
    if request.method == "GET":
        return render(request, "login.html", next=_safe_next(request.query_params.get("next")), error="")
    form = await request.form()
    nxt = _safe_next(form.get("next"))
    try:
        user = await in_thread(backend.login, request.app.state.ws, form.get("login", ""), form.get("password", ""))
    except QmsError as exc:
        return render(request, "login.html", 401, next=nxt, error=exc.message, login=form.get("login", ""))
    response = RedirectResponse(nxt, status_code=303)
    _set_cookie(request, response, user.token)
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
    body = await json_body(request, "{login, password}")
    try:
        user = await in_thread(backend.login, request.app.state.ws, str(body.get("login", "")),
                               str(body.get("password", "")))
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
