"""The quality manager edits a procedure's source in the browser (checked as typed, previewed,
submitted as `qms doc submit`); the approver reads the redline beside the draft's PDF."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...documents import editing, redline
from ...base.errors import NotFound
from ..pages import json_response, render
from ..auth import DOC_SIGN, DOC_SUBMIT, check_csrf, flash_message, require
from ..form_posts import post_form
from .common import in_thread, json_body
from ...worklist import inbox
import tempfile
from pathlib import Path
from ...documents.redline_pdf import write_pdf


def editor_page(request: Request, *, text: str | None = None, change: str = "", error: str = "",
                status_code: int = 200):
    require(request, DOC_SUBMIT)
    rev = editing.newest(request.app.state.ws, request.path_params["number"])
    return render(request, "editor.html", status_code, rev=rev, text=rev["text"] if text is None else text,
                  change=change, error=error, flash=flash_message(request))


async def api_check(request: Request):
    """POST /api/drafts/{number}/check {text} → {ok, errors: [{line, field, message}], warnings, summary}."""
    user = require(request, DOC_SUBMIT)
    check_csrf(request, user)
    body = await json_body(request, "{text}")
    res = await in_thread(editing.check_text, request.app.state.ws, request.path_params["number"],
                          str(body.get("text", "")))
    return json_response({"ok": res.ok, "errors": res.errors, "warnings": res.warnings, "summary": res.summary})


async def preview(request: Request):
    """The edited text as a draft PDF (草稿 DRAFT), rendered on demand; nothing is archived."""
    user = require(request, DOC_SUBMIT)
    form = await request.form(max_part_size=editing.MAX_TEXT * 2)
    check_csrf(request, user, form)
    number = request.path_params["number"]
    pdf = await in_thread(editing.preview_text, request.app.state.ws, number, str(form.get("text", "")))
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f"inline; filename={number}-edit.pdf"})


async def submit(request: Request):
    number = request.path_params["number"]
    form_seen: dict = {}

    def call(ws, form, user):
        form_seen.update(text=str(form.get("text", "")), change=str(form.get("change", "")).strip())
        return editing.submit_text(ws, number, form_seen["text"], actor=user.actor,
                                   change=form_seen["change"] or None, major=bool(form.get("major"))).message
    return await post_form(request, DOC_SUBMIT, call, done="/manage",
                           page=lambda exc: editor_page(request, text=form_seen.get("text"),
                                                        change=form_seen.get("change", ""),
                                                        error=exc.format(), status_code=400))


def review_page(request: Request):
    """The approver's view of a draft: the change note and the redline beside the PDF preview."""
    user = require(request, DOC_SIGN)
    ws, number = request.app.state.ws, request.path_params["number"]
    items = [d for d in inbox.drafts_to_sign(ws, lambda r: user.can(f"doc.sign.{r}"), name=user.name)
             if d["number"] == number]
    rev = editing.newest(ws, number)
    return render(request, "review.html", rev=rev, item=items[0] if items else None,
                  redline=redline_fragment(ws, number),
                  labels={r.key: r.label for r in ws.config.roles})


def _redline_pdf(ws, number: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="qms-redline-") as tmp:
        return Path(write_pdf(ws, redline.redline_for(ws, number), Path(tmp) / "redline.pdf")).read_bytes()


async def redline_pdf(request: Request):
    """The 修订对照表 of the newest revision against the one before it (to attach to a change request)."""
    require(request)
    number = request.path_params["number"]
    pdf = await in_thread(_redline_pdf, request.app.state.ws, number)
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": "inline; filename=redline.pdf"})


def redline_fragment(ws, number: str) -> str:
    """The newest revision against the one before it, as HTML (escaped inside); "" for a first issue."""
    try:
        return redline.as_html_fragment(redline.redline_for(ws, number))
    except NotFound:
        return ""


ROUTES = [
    Route("/drafts/{number:path}/edit", lambda request: editor_page(request)),
    Route("/drafts/{number:path}/preview", preview, methods=["POST"]),
    Route("/drafts/{number:path}/submit", submit, methods=["POST"]),
    Route("/api/drafts/{number:path}/check", api_check, methods=["POST"]),
    Route("/review/{number:path}", review_page),
    Route("/redline/{number:path}", redline_pdf),
]
