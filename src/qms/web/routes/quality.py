"""The quality manager: upload a procedure source (errors name file, field and line), submit,
release with 发布/实施 dates, issue and recall controlled copies, withdraw (作废)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.routing import Route

from ... import documents
from ...base.errors import InvalidInput, QmsError
from ..pages import render
from ..auth import DOC_COPY, DOC_OBSOLETE, DOC_RELEASE, DOC_SUBMIT, DOC_WITHDRAW, WebUser, flash_message, require
from ..form_posts import post_form
from starlette.exceptions import HTTPException
from ...documents.wordimport import import_docx

MAX_SOURCE = 20 * 1024 * 1024     # a Word procedure with its pictures


def _any_manager(request: Request) -> WebUser:
    user = require(request)
    if not any(user.can(p) for p in (DOC_SUBMIT, DOC_RELEASE, DOC_COPY, DOC_OBSOLETE, DOC_WITHDRAW)):
        raise HTTPException(403, "没有文件管理权限")
    return user


def manage(request: Request, *, flash: str = "", error: str = "", status_code: int = 200):
    _any_manager(request)
    ws = request.app.state.ws
    items = documents.list_documents(ws)
    for item in items:
        d = documents.show(ws, item["number"])
        item["newest"] = d["revisions"][-1]
        item["copies"] = documents.copies(ws, item["number"], outstanding=True)
    return render(request, "manage.html", status_code, items=items, error=error,
                  flash=flash or flash_message(request))


def _safe_name(name: str) -> str:
    """The uploaded file's own name (errors name it), without any folder part."""
    base = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", Path(name or "source.yaml").name)
    return base if base.lower().endswith((".yaml", ".yml", ".docx", ".docm")) else base + ".yaml"


def _submit(ws, name: str, content: bytes, *, actor: str, change: str, major: bool, check_only: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="qms-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            if path.suffix.lower() in (".docx", ".docm"):     # a Word procedure: imported, then as a YAML
                path = Path(import_docx(ws, path, path.with_suffix(".yaml")).data["output"])
            if check_only:
                d = documents.check(ws, path)
                return f"{name}：校验通过 — {d.number} {d.title}，{len(d.sections)} 个一级章节"
            return documents.submit(ws, path, actor=actor, change=change or None, major=major).message
        except QmsError as exc:
            # name the file as the user knows it, not the server's temporary folder
            if exc.file and Path(exc.file).parent == Path(tmp):
                shown = name if Path(exc.file).name == name else f"{Path(exc.file).name}（由 {name} 导入）"
                kind = type(exc) if type(exc).__init__ is QmsError.__init__ else QmsError   # keep its rung
                raise kind(exc.message.replace(str(exc.file), shown), file=shown, field=exc.field,
                           line=exc.line, row=exc.row) from None
            raise


def _source(form):
    source = form.get("source")
    if source is None or not hasattr(source, "read"):
        raise InvalidInput("请选择程序文件源文件（YAML）", field="source")


async def upload(request: Request):
    def call(ws, form, user):
        source = form.get("source")
        return _submit(ws, _safe_name(source.filename), source.file.read(), actor=user.actor,
                       change=(form.get("change") or "").strip(), major=bool(form.get("major")),
                       check_only=form.get("action") == "check")
    return await post_form(request, DOC_SUBMIT, call, done="/manage", check=_source, max_part_size=MAX_SOURCE,
                     page=lambda exc: manage(request, error=exc.format(), status_code=400))


def _action(request: Request, perm: str, fn):
    number = request.path_params["number"]
    return post_form(request, perm, lambda ws, form, user: fn(ws, number, form, user).message, done="/manage",
                     page=lambda exc: manage(request, error=f"{number}：{exc.format()}", status_code=400))


async def release(request: Request):
    return await _action(request, DOC_RELEASE, lambda ws, n, f, u: documents.release(
        ws, n, issued=f.get("issued", ""), effective=f.get("effective", ""), actor=u.actor))


async def issue_copy(request: Request):
    return await _action(request, DOC_COPY, lambda ws, n, f, u: documents.issue_copy(
        ws, n, holder=f.get("holder", ""), actor=u.actor))


def _copy_no(form) -> int:
    try:
        return int(form.get("copy_no", ""))
    except ValueError:
        raise InvalidInput("请给出受控副本的发放编号", field="copy") from None


async def recall(request: Request):
    return await _action(request, DOC_COPY, lambda ws, n, f, u: documents.recall(
        ws, n, copy_no=_copy_no(f), actor=u.actor))


async def obsolete(request: Request):
    return await _action(request, DOC_OBSOLETE, lambda ws, n, f, u: documents.obsolete(
        ws, n, reason=f.get("reason", ""), actor=u.actor))


async def withdraw(request: Request):
    """Discard an unreleased draft (it stays in the archive and the log, marked withdrawn)."""
    return await _action(request, DOC_WITHDRAW, lambda ws, n, f, u: documents.withdraw(
        ws, n, reason=f.get("reason", ""), actor=u.actor))


ROUTES = [
    Route("/manage", lambda request: manage(request)),
    Route("/manage/upload", upload, methods=["POST"]),
    Route("/manage/{number}/release", release, methods=["POST"]),
    Route("/manage/{number}/issue-copy", issue_copy, methods=["POST"]),
    Route("/manage/{number}/recall", recall, methods=["POST"]),
    Route("/manage/{number}/obsolete", obsolete, methods=["POST"]),
    Route("/manage/{number}/withdraw", withdraw, methods=["POST"]),
]
