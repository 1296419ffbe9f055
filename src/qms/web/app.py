"""The ASGI application: routes of every job, templates, static files, security headers, errors."""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..base.errors import QmsError, NotFound
from ..adapters import resident
from ..adapters.convert import warm_up
from ..notify.scheduler import start_background
from ..startup import start
from ..store.workspace import Workspace, open_workspace
from ..store.catalog import keep_read_connections
from . import assets, filters, messages
from .pages import json_response, render
from .routes import ROUTES
from ..search import index_exists, open_backend
from .routes.capa import install_globals

HERE = Path(__file__).parent
# Which worker process answered (a random id, not the pid): lets tests and benches see that requests
# land on every worker of `qms serve --workers N`. Set by app_from_env only.
WORKER = b""
MAX_BODY = 32 * 1024 * 1024     # a scan or a phone photo; anything larger is refused (413)

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"private, no-store"),      # pages, API, downloads; /static/ is cached (assets.py)
]


class SecurityHeaders:
    """Adds the headers to every response, pages, API, files and errors alike."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                cached = assets.cache_control(scope["path"], scope.get("query_string", b"")) \
                    if message.get("status") in (200, 304) else None
                if cached is not None:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"] + [(b"cache-control", cached)]
                names = {k.lower() for k, _ in headers}
                message["headers"] = headers + [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if WORKER:
                    message["headers"].append((b"x-qms-worker", WORKER))
            await send(message)
        await self.app(scope, receive, send_with_headers)


def _templates(ws: Workspace | None = None) -> Jinja2Templates:
    # auto_reload off: the templates are part of the installed qms (a new version restarts the
    # server); checking every template's mtime on every page was 12% of the audit trail's time
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    filters.install(env, ws)
    install_globals(env, ws)       # record.html links the CAPAs opened from a record (issue 23)
    return Jinja2Templates(env=env)


class SearchIndexes(threading.local):
    """One open SearchIndex per worker thread (a SearchIndex is not thread-safe; opening one per
    request would re-read every segment)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.index = None

    def get(self):
        if self.index is None and index_exists(self.ws):
            self.index = open_backend(self.ws)      # whoosh, or PostgreSQL with storage.database
        return self.index


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _http_error(request: Request, exc: HTTPException):
    if _wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    if exc.status_code == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303) \
            if request.method == "GET" else render(request, "error.html", 401, message=exc.detail, code=401)
    return render(request, "error.html", exc.status_code, message=_STATUS_ZH.get(exc.detail, exc.detail),
                  code=exc.status_code)


# Starlette's own words for a path or method it does not know, or a body too large
_STATUS_ZH = {"Not Found": "没有这个页面", "Method Not Allowed": "不支持这种请求方式",
              "Request Entity Too Large": "上传的文件太大（上限 32 MB）", "Content Too Large": "上传的文件太大（上限 32 MB）"}


async def _qms_error(request: Request, exc: QmsError):
    """A mistake the user can fix: the one-line message (file, field, line), status 400; an unknown
    number is 404. Pages say it in the workspace's language; the API keeps the CLI's words."""
    code = 404 if isinstance(exc, NotFound) else 400
    if _wants_json(request):
        return JSONResponse({"error": exc.format()}, status_code=code)
    return render(request, "error.html", code, message=messages.error(request.app.state.ws, exc).format(), code=code)


def app_from_env() -> Starlette:
    """The factory uvicorn calls in each worker (`qms serve`): the workspace comes from $QMS_WORKSPACE.
    Each worker runs the scheduler of reminders and due items: exactly once across workers (the journal)."""
    global WORKER
    WORKER = secrets.token_hex(4).encode()
    app = create_app(os.environ["QMS_WORKSPACE"])
    keep_read_connections()          # a worker lives long: each thread keeps its catalog read connection
    start_background(app.state.ws)
    resident.configure(app.state.ws.config.convert_resident, keep=True)   # each worker keeps its own warm
    warm_up()
    return app


def create_app(root: str | Path | Workspace) -> Starlette:
    start()
    ws = root if isinstance(root, Workspace) else open_workspace(root)
    app = Starlette(routes=[*ROUTES, Mount("/static", StaticFiles(directory=HERE / "static"), name="static")],
                    exception_handlers={HTTPException: _http_error, QmsError: _qms_error},
                    max_body_size=MAX_BODY)
    app.state.ws = ws
    app.state.templates = _templates(ws)
    app.state.indexes = SearchIndexes(ws)
    app.add_middleware(SecurityHeaders)
    return app


__all__ = ["create_app", "render", "json_response", "HTMLResponse"]
