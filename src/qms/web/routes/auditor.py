"""Read-only pages (every logged-in user, the auditor's whole job): search, documents, records,
the audit trail, the master list, disposal certificates, verify."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ... import documents, downloads, records, retention, trail
from ...forms import load_forms_quietly
from ...search import search_page
from ..app import render
from ..auth import READ, require
from .common import PAGE_SIZE, arg, date_arg, int_arg


def home(request: Request):
    require(request, READ)
    return RedirectResponse("/search", status_code=303)


def search(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    q = arg(request, "q")
    filters = {"kind": arg(request, "kind"), "form": arg(request, "form"), "status": arg(request, "status"),
               "date_from": date_arg(request, "from"), "date_to": date_arg(request, "to")}
    page = int_arg(request, "page", 1, lo=1)
    result = {"total": 0, "hits": []}
    if q:
        result = search_page(ws, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                             index=request.app.state.indexes.get(), **filters)
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "search.html", q=q or "", params=params, result=result, page=page,
                  pages=min(pages, 1000 // PAGE_SIZE), forms=load_forms_quietly(ws),
                  page_url=lambda n: "/search?" + urlencode({**params, "page": n}))


def document_list(request: Request):
    require(request, READ)
    items = documents.list_documents(request.app.state.ws, as_of=date_arg(request, "as_of"),
                                     status=arg(request, "status"))
    return render(request, "documents.html", items=items, as_of=arg(request, "as_of") or "")


def master_list_xlsx(request: Request):
    require(request, READ)
    from ...reports import master_list
    items = documents.list_documents(request.app.state.ws, as_of=date_arg(request, "as_of"))
    buf = io.BytesIO()
    master_list(items, "xlsx", buf)
    return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": "attachment; filename*=UTF-8''%E5%8F%97%E6%8E%A7%E6%96%87"
                             "%E4%BB%B6%E6%B8%85%E5%8D%95.xlsx"})   # 受控文件清单.xlsx


def document_page(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    number = request.path_params["number"]
    as_of = date_arg(request, "as_of")
    d = documents.show(ws, number, revision=arg(request, "revision"), as_of=as_of)
    kind = ws.kind(d["kind"] or "")
    return render(request, "document.html", d=d, as_of=arg(request, "as_of") or "", kind_label=kind.label if kind else "",
                  copies=documents.copies(ws, number, as_of=as_of),
                  files=downloads.listed_files(ws, number), number=number)


def record_list(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    year = arg(request, "year")
    items = records.list_records(ws, form=arg(request, "form"), status=arg(request, "status"),
                                 year=int_arg(request, "year", 0) or None, columns=False)
    page = int_arg(request, "page", 1, lo=1)
    shown = records.with_columns(ws, items[(page - 1) * 100: page * 100])   # the page's records' data only
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "records.html", items=shown, total=len(items), page=page,
                  pages=max(1, -(-len(items) // 100)), forms=load_forms_quietly(ws), params=params, year=year or "",
                  page_url=lambda n: "/records?" + urlencode({**params, "page": n}))


def record_page(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    number = request.path_params["number"]
    r = records.show(ws, number)
    form = load_forms_quietly(ws).get(r["form"])
    return render(request, "record.html", r=r, form=form, files=downloads.listed_files(ws, number), number=number)


def log_page(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    entries = trail.trail(ws, target=arg(request, "target"), actor=arg(request, "actor"),
                          action=arg(request, "action"), date_from=date_arg(request, "from"),
                          date_to=date_arg(request, "to"))
    page = int_arg(request, "page", 1, lo=1)
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "log.html", entries=entries[(page - 1) * 100: page * 100], total=len(entries),
                  page=page, pages=max(1, -(-len(entries) // 100)), params=params,
                  page_url=lambda n: "/log?" + urlencode({**params, "page": n}))


def disposals_page(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    items = retention.disposal_list(ws)
    for item in items:
        item["number"] = item["certificate"]
    return render(request, "disposals.html", items=items)


def verify_page(request: Request):
    require(request, READ)
    report = None
    if arg(request, "run"):
        from ...verify import verify
        report = verify(request.app.state.ws, deep=bool(arg(request, "deep")))
    return render(request, "verify.html", report=report)


ROUTES = [
    Route("/", home),
    Route("/search", search),
    Route("/documents", document_list),
    Route("/documents.xlsx", master_list_xlsx),
    Route("/documents/{number}", document_page),
    Route("/records", record_list),
    Route("/records/{number}", record_page),
    Route("/log", log_page),
    Route("/disposals", disposals_page),
    Route("/verify", verify_page),
]
