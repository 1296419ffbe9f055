"""What every route answers with: a page from the templates, or the CLI's JSON bytes."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from .. import todo
from .auth import current_user


def render(request: Request, name: str, status_code: int = 200, **context) -> Response:
    user = current_user(request)
    context.setdefault("user", user)
    context.setdefault("csrf_token", user.csrf_token if user else "")
    context.setdefault("org", request.app.state.ws.config.org_name)
    if user is not None and "todo_counts" not in context:
        context["todo_counts"] = _todo_counts(request, user)
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


def _todo_counts(request: Request, user) -> dict | None:
    """The menu's 我的待办 (N): the home page passes its own; other pages ask the count kept per catalog
    head (re-counted only after a commit or on a new day), and never fail for it."""
    try:
        return todo.menu_counts(request.app.state.ws, user.identity)
    except Exception:
        return None


def json_response(data, status_code: int = 200) -> Response:
    """The CLI's --json bytes (ensure_ascii=False, default=str), so API and CLI compare equal."""
    return Response(json.dumps(data, ensure_ascii=False, default=str), status_code=status_code,
                    media_type="application/json")
