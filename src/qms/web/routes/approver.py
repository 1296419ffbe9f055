"""The approver's inbox 待我签署: drafts a role of theirs may sign now; sign (password again,
meaning) or reject (reason)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from ... import documents
from ...worklist import inbox
from ...base.errors import InvalidInput
from ..pages import json_response, render
from ..auth import DOC_SIGN, WebUser, check_csrf, flash_message, require
from ..form_posts import post_form
from .common import in_thread, json_body
import tempfile
from pathlib import Path
from starlette.responses import Response
from .drafts import redline_fragment


def _may_sign(user: WebUser):
    return lambda role_key: user.can(f"doc.sign.{role_key}")


def inbox_page(request: Request):
    user = require(request, DOC_SIGN)
    items = inbox.drafts_to_sign(request.app.state.ws, _may_sign(user), name=user.name)
    for item in items:
        item["redline"] = redline_fragment(request.app.state.ws, item["number"])
    return render(request, "inbox.html", items=items, flash=flash_message(request),
                  labels={r.key: r.label for r in request.app.state.ws.config.roles})


def _sign(ws, user: WebUser, number: str, role: str, meaning: str, password: str) -> dict:
    """The library checks the password (a wrong one is journaled and counts toward the lockout),
    separation of duties and the content binding; the route refuses a role the user lacks with 403."""
    the_role = ws.role(role)
    if not user.can(f"doc.sign.{the_role.key}"):
        raise HTTPException(403, f"没有以 {the_role.label} 身份签署的权限")
    return documents.sign(ws, number, role=the_role.key, user=user.identity, password=password,
                          meaning=meaning or None).data


def _inbox_with(request: Request, number: str):
    """The inbox again, the error of NUMBER's signature or rejection on it (status 400)."""
    def page(exc):
        ws, user = request.app.state.ws, require(request, DOC_SIGN)
        items = inbox.drafts_to_sign(ws, _may_sign(user), name=user.name)
        return render(request, "inbox.html", 400, items=items, error=f"{number}：{exc.message}",
                      labels={r.key: r.label for r in ws.config.roles})
    return page


async def sign_page(request: Request):
    number = request.path_params["number"]

    def call(ws, form, user):
        _sign(ws, user, number, form.get("role", ""), form.get("meaning", ""), form.get("password", ""))
        return f"已签署 {number}"
    return await post_form(request, DOC_SIGN, call, done="/inbox", page=_inbox_with(request, number))


def _reason(form) -> str:
    reason = (form.get("reason") or "").strip()
    if not reason:
        raise InvalidInput("驳回需要填写原因", field="reason")
    return reason


async def reject_page(request: Request):
    """A rejection is journaled with its reason; the author revises and submits the draft again."""
    number = request.path_params["number"]

    def call(ws, form, user):
        res = documents.reject(ws, number, user=user.identity, password=form.get("password", ""), reason=_reason(form))
        return res.message          # put into words by post_form (messages.result)
    return await post_form(request, DOC_SIGN, call, done="/inbox", check=_reason, page=_inbox_with(request, number))


def _preview_pdf(ws, number: str) -> bytes:
    d = documents.show(ws, number)
    newest = d["revisions"][-1]["revision"]
    d = documents.show(ws, number, revision=newest)
    with tempfile.TemporaryDirectory(prefix="qms-preview-") as tmp:
        out = documents.preview(ws, ws.root / d["files"]["source"], Path(tmp) / f"{number}-draft.pdf")
        return Path(out).read_bytes()


async def preview(request: Request):
    """The newest draft as a PDF stamped 草稿 DRAFT, rendered on demand (nothing is archived)."""
    require(request, DOC_SIGN)
    number = request.path_params["number"]
    pdf = await in_thread(_preview_pdf, request.app.state.ws, number)
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f"inline; filename={number}-draft.pdf"})


async def api_sign(request: Request):
    """POST /api/documents/{number}/sign {role, meaning, password} → the CLI's `doc sign --json`."""
    user = require(request, DOC_SIGN)
    check_csrf(request, user)
    body = await json_body(request, "{role, meaning, password}")
    data = await in_thread(_sign, request.app.state.ws, user, request.path_params["number"],
                           str(body.get("role", "")), str(body.get("meaning") or ""), str(body.get("password", "")))
    return json_response(data)


ROUTES = [
    Route("/inbox", inbox_page),
    Route("/inbox/{number}/sign", sign_page, methods=["POST"]),
    Route("/inbox/{number}/reject", reject_page, methods=["POST"]),
    Route("/preview/{number}", preview),
    Route("/api/documents/{number}/sign", api_sign, methods=["POST"]),
]
