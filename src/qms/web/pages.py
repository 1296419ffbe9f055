"""What every route answers with: a page from the templates, or the CLI's JSON bytes."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from .auth import current_user


def render(request: Request, name: str, status_code: int = 200, **context) -> Response:
    user = current_user(request)
    context.setdefault("user", user)
    context.setdefault("csrf_token", user.csrf_token if user else "")
    context.setdefault("org", request.app.state.ws.config.org_name)
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


def json_response(data, status_code: int = 200) -> Response:
    """The CLI's --json bytes (ensure_ascii=False, default=str), so API and CLI compare equal."""
    return Response(json.dumps(data, ensure_ascii=False, default=str), status_code=status_code,
                    media_type="application/json")
