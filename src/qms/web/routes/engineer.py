"""The service engineer: a record form generated from its schema, the record as PDF, the
customer-signed scan (a PDF or a phone photo), and "my records awaiting signature"."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.routing import Route

from ...worklist import inbox
from ... import records
from ...base.errors import InvalidInput, QmsError
from ...domain.forms import load_form, load_forms_quietly
from .. import messages
from ..pages import json_response, render
from ..auth import RECORD_FILE, RECORD_SIGN, check_csrf, flash_redirect, require
from .common import in_thread, json_body
from .auditor import record_view

MAX_UPLOAD = 30 * 1024 * 1024


def form_data(form, submitted) -> dict:
    """The HTML form's fields → record data; a table's cells come as parallel lists (name.column)."""
    data: dict = {}
    for f in form.fields:
        if f.signed_by == "filer":
            continue            # filled from the login after the password, never typed
        if f.type == "table":
            cols = {c.name: submitted.getlist(f"{f.name}.{c.name}") for c in f.columns}
            count = max((len(v) for v in cols.values()), default=0)
            rows = []
            for i in range(count):
                row = {c: (vals[i].strip() if i < len(vals) else "") for c, vals in cols.items()}
                if any(row.values()):
                    rows.append({k: v for k, v in row.items() if v != ""})
            if rows:
                data[f.name] = rows
        else:
            value = (submitted.get(f.name) or "").strip()
            if value:
                data[f.name] = value
    return data


def choose_form(request: Request):
    require(request, RECORD_FILE)
    return render(request, "forms.html", forms=load_forms_quietly(request.app.state.ws))


async def file_page(request: Request):
    user = require(request, RECORD_FILE)
    ws = request.app.state.ws
    form = load_form(ws, request.path_params["form"])
    if request.method == "GET":
        return render(request, "file.html", form=form, values={}, error="")
    submitted = await request.form()
    check_csrf(request, user, submitted)
    data = form_data(form, submitted)
    signs = any(f.signed_by == "filer" for f in form.fields)
    try:
        res = await in_thread(records.file_record_data, ws, form.id, data, actor=user.actor,
                              signer=user.identity if signs else None,
                              password=submitted.get("sign_password", "") if signs else None)
    except QmsError as exc:
        return render(request, "file.html", 400, form=form, values=data, error=messages.error(ws, exc).format())
    return flash_redirect(f"/records/{res.data['number']}", user, messages.result(ws, res))


def _attach_scan(ws, number: str, name: str, content: bytes, signer: str, role: str, actor: str,
                 signed_on: str | None = None):
    """The upload as a file for records.sign, which takes a PDF or a phone photo (as the CLI does)."""
    with tempfile.TemporaryDirectory(prefix="qms-scan-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(content)
        return records.sign(ws, number, scan=path, signers=[(signer, role)], actor=actor,
                            signed_on=signed_on or None, scan_name=Path(name).name or "scan")


async def scan_page(request: Request):
    user = require(request, RECORD_SIGN)
    submitted = await request.form(max_part_size=MAX_UPLOAD)
    check_csrf(request, user, submitted)
    number = request.path_params["number"]
    ws = request.app.state.ws
    upload = submitted.get("scan")
    try:
        if upload is None or not hasattr(upload, "read"):
            raise InvalidInput("请选择签字扫描件（PDF 或照片）", field="scan")
        content = await upload.read()
        res = await in_thread(_attach_scan, ws, number, upload.filename or "scan", content,
                              (submitted.get("signer") or "").strip(), (submitted.get("signer_role") or "").strip(),
                              user.actor, (submitted.get("signed_on") or "").strip())
    except QmsError as exc:       # shown on the record page it came from, not an error page
        return record_view(request, number, error=messages.error(ws, exc).format(), status_code=400)
    return flash_redirect(f"/records/{number}", user, messages.result(ws, res))


def mine(request: Request):
    user = require(request, RECORD_FILE)
    items = inbox.records_awaiting_signature(request.app.state.ws, filed_by=user.actor)
    return render(request, "mine.html", items=items)


async def api_file(request: Request):
    """POST /api/records {form, data} → {number, status} (the CLI's `record file --json`)."""
    user = require(request, RECORD_FILE)
    check_csrf(request, user)
    body = await json_body(request, "{form, data}")
    if not isinstance(body.get("data"), dict):
        raise InvalidInput("expected a JSON body {form, data} with data a mapping of field → value")
    password = body.get("password")       # given: the form's signed_by: filer fields are signed by the caller
    res = await in_thread(records.file_record_data, request.app.state.ws, str(body.get("form", "")),
                          body["data"], actor=user.actor, origin="api", pdf=bool(body.get("pdf", True)),
                          signer=user.identity if password is not None else None,
                          password=str(password) if password is not None else None, filer=user.identity)
    return json_response({"number": res.data["number"], "status": res.data["status"],
                          **({"warnings": res.data["warnings"]} if res.data.get("warnings") else {})})


ROUTES = [
    Route("/file", choose_form),
    Route("/file/{form}", file_page, methods=["GET", "POST"]),
    Route("/records/{number}/scan", scan_page, methods=["POST"]),
    Route("/mine", mine),
    Route("/api/records", api_file, methods=["POST"]),
]
