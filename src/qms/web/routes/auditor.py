"""Read-only pages (every logged-in user, the auditor's whole job): search, documents, records,
the audit trail, the master list, disposal certificates, verify."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from starlette.exceptions import HTTPException

from ... import documents, records
from ...store import downloads
from ...retention import periods as retention
from ...domain import trail
from ...store.catalog import reading
from ...base.errors import NotFound, QmsError
from ...domain.forms import load_forms_quietly
from ...domain.recordstate import recent
from ...search import search_page
from .. import messages
from ..pages import render
from ..auth import READ, flash_message, require
from .common import PAGE_SIZE, arg, date_arg, int_arg
from ...documents.reports import master_list
from ...integrity.verify import verify

LOG_PAGE = 50
DOCUMENT_PAGE = 100    # the master list on screen, a page at a time (the XLSX is whole)
RECORD_PAGE = 50      # was 100 cut from every record in Python; now one page read in SQL
# the audit trail's action filter: what a person looks for → the prefix of the journal's actions
LOG_ACTIONS = [("doc.", "文件（全部）"), ("doc.submit", "提交"), ("doc.sign", "签署"), ("doc.reject", "驳回"),
               ("doc.release", "发布"), ("doc.issue_copy", "发放受控副本"), ("doc.recall", "回收受控副本"),
               ("doc.obsolete", "作废"), ("record.", "记录（全部）"), ("record.file", "归档"),
               ("record.sign", "客户签字"), ("record.amend", "修改记录"), ("hold.", "法律保全"),
               ("purge", "销毁"), ("user.", "用户管理"), ("login.", "登录失败与锁定")]


def _in_place(request: Request, fn):
    """Run FN (which reads the query); a mistake in the query is shown on the same page, the query
    kept, as `error` — never a separate error page."""
    try:
        return fn(), ""
    except NotFound:
        raise
    except QmsError as exc:
        return None, messages.error(request.app.state.ws, exc).format()


def home(request: Request):
    require(request, READ)
    return RedirectResponse("/search", status_code=303)


def search(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    q = arg(request, "q")
    page = int_arg(request, "page", 1, lo=1, hi=1_000_000)
    cap = ws.config.search_count_cap
    reachable = max(1, -(-cap // PAGE_SIZE))      # the ranking and the total reach the first `cap` hits
    note = ""
    if page > reachable:                          # a typed or old link: the last page there is, saying so
        note = f"只能翻到前 {cap:,} 条结果（第 {reachable} 页）；请加筛选条件缩小范围，或换一种排序"
        page = reachable

    def run(page):
        filters = {"kind": arg(request, "kind"), "form": arg(request, "form"), "status": arg(request, "status"),
                   "date_from": date_arg(request, "from"), "date_to": date_arg(request, "to")}
        return search_page(ws, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, sort=arg(request, "sort") or "relevance",
                           index=request.app.state.indexes.get(), **filters)
    result, error = _in_place(request, lambda: run(page)) if q else (None, "")
    result = result or {"total": 0, "hits": []}
    pages = min(max(1, -(-result["total"] // PAGE_SIZE)), reachable)
    if q and not error and page > pages:          # beyond the last page of these results
        note = note or f"共 {pages} 页，已显示最后一页"
        page = pages
        result, error = _in_place(request, lambda: run(page))
        result = result or {"total": 0, "hits": []}
    latest = []
    if not q:           # the landing page: what was filed last, and how to search
        with reading(ws) as cat:
            latest = recent(cat, 10)
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "search.html", 400 if error else 200, q=q or "", params=params, result=result, page=page,
                  pages=pages, forms=load_forms_quietly(ws), error=error, latest=latest, note=note,
                  page_url=lambda n: "/search?" + urlencode({**params, "page": n}))


def document_list(request: Request):
    require(request, READ)
    page = int_arg(request, "page", 1, lo=1, hi=10**7)
    found, error = _in_place(request, lambda: documents.document_page(
        request.app.state.ws, as_of=date_arg(request, "as_of"), status=arg(request, "status"),
        limit=DOCUMENT_PAGE, offset=(page - 1) * DOCUMENT_PAGE))
    total = found.total if found else 0
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "documents.html", 400 if error else 200, items=found.items if found else [],
                  as_of=arg(request, "as_of") or "", error=error, total=total, page=page,
                  pages=max(1, -(-total // DOCUMENT_PAGE)),
                  page_url=lambda n: "/documents?" + urlencode({**params, "page": n}))


def master_list_xlsx(request: Request):
    require(request, READ)
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
    as_of, error = _in_place(request, lambda: date_arg(request, "as_of"))
    try:
        d = documents.show(ws, number, revision=arg(request, "revision"), as_of=as_of)
    except NotFound as exc:
        raise HTTPException(404, messages.error(ws, exc).message) from None
    kind = ws.kind(d["kind"] or "")
    return render(request, "document.html", 400 if error else 200, d=d, as_of=arg(request, "as_of") or "",
                  kind_label=kind.label if kind else "", error=error,
                  copies=documents.copies(ws, number, as_of=as_of),
                  files=downloads.listed_files(ws, number), number=number)


def record_list(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    year = arg(request, "year")
    page = int_arg(request, "page", 1, lo=1, hi=10**7)
    found, error = _in_place(request, lambda: records.list_page(
        ws, form=arg(request, "form"), status=arg(request, "status"), year=int_arg(request, "year", 0) or None,
        customer=arg(request, "customer"), limit=RECORD_PAGE, offset=(page - 1) * RECORD_PAGE))
    total = found.total if found else 0
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "records.html", 400 if error else 200, items=found.items if found else [], total=total,
                  page=page, error=error, pages=max(1, -(-total // RECORD_PAGE)), forms=load_forms_quietly(ws),
                  params=params, year=year or "", customer=arg(request, "customer") or "",
                  page_url=lambda n: "/records?" + urlencode({**params, "page": n}))


def record_page(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    return record_view(request, request.path_params["number"])


def record_view(request: Request, number: str, *, error: str = "", status_code: int = 200):
    """The record page; `error` is a mistake of a form posted from it (a scan upload), shown in place."""
    ws = request.app.state.ws
    try:
        r = records.show(ws, number)
    except NotFound as exc:
        raise HTTPException(404, messages.error(ws, exc).message) from None
    form = load_forms_quietly(ws).get(r["form"])
    return render(request, "record.html", status_code, r=r, form=form, files=downloads.listed_files(ws, number),
                  number=number, error=error, flash=flash_message(request))


def log_page(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    page = int_arg(request, "page", 1, lo=1)
    found, error = _in_place(request, lambda: trail.trail_page(
        ws, limit=LOG_PAGE, offset=(page - 1) * LOG_PAGE, target=arg(request, "target"), actor=arg(request, "actor"),
        action=arg(request, "action"), date_from=date_arg(request, "from"), date_to=date_arg(request, "to")))
    found = found or trail.TrailPage(0, [])
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "log.html", 400 if error else 200, entries=found.entries, total=found.total,
                  page=page, pages=max(1, -(-found.total // LOG_PAGE)), params=params, error=error,
                  actions=LOG_ACTIONS, page_url=lambda n: "/log?" + urlencode({**params, "page": n}))


def disposals_page(request: Request):
    require(request, READ)
    ws = request.app.state.ws
    page = int_arg(request, "page", 1, lo=1, hi=10**7)
    found = retention.disposal_page(ws, limit=DOCUMENT_PAGE, offset=(page - 1) * DOCUMENT_PAGE)
    for item in found.items:
        item["number"] = item["certificate"]
    return render(request, "disposals.html", items=found.items, total=found.total, page=page,
                  pages=max(1, -(-found.total // DOCUMENT_PAGE)), page_url=lambda n: f"/disposals?page={n}")


def verify_page(request: Request):
    require(request, READ)
    report = None
    if arg(request, "run"):
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
