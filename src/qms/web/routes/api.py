"""The JSON API: the same shapes as the CLI's --json (the tests compare them byte for byte after
parsing). Session cookie or `Authorization: Bearer <token>`; state changes carry X-CSRF-Token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from ... import documents, records
from ...domain import trail
from ...search import search_page
from ..pages import json_response
from ..auth import READ, require
from .common import arg, date_arg, int_arg, limit_offset, page_json


def api_search(request: Request):
    require(request, READ)
    q = arg(request, "q") or ""
    res = search_page(request.app.state.ws, q, kind=arg(request, "kind"), form=arg(request, "form"),
                      status=arg(request, "status"), date_from=date_arg(request, "from"),
                      date_to=date_arg(request, "to"), limit=int_arg(request, "limit", 20, hi=1000),
                      offset=int_arg(request, "offset", 0, hi=1_000_000), sort=arg(request, "sort") or "relevance",
                      index=request.app.state.indexes.get())
    return json_response(res)


def api_documents(request: Request):
    require(request, READ)
    limit, offset = limit_offset(request)
    page = documents.document_page(request.app.state.ws, as_of=date_arg(request, "as_of"),
                                   status=arg(request, "status"), limit=limit, offset=offset)
    return json_response(page_json(request, page))


def api_document(request: Request):
    require(request, READ)
    return json_response(documents.show(request.app.state.ws, request.path_params["number"],
                                        revision=arg(request, "revision"), as_of=date_arg(request, "as_of")))


def api_records(request: Request):
    require(request, READ)
    limit, offset = limit_offset(request)
    page = records.list_page(request.app.state.ws, form=arg(request, "form"), status=arg(request, "status"),
                             year=int_arg(request, "year", 0) or None, customer=arg(request, "customer"),
                             limit=limit, offset=offset)
    return json_response(page_json(request, page))


def api_record(request: Request):
    require(request, READ)
    return json_response(records.show(request.app.state.ws, request.path_params["number"]))


def api_log(request: Request):
    require(request, READ)
    limit, offset = limit_offset(request)
    page = trail.query(request.app.state.ws, limit=limit, offset=offset, target=arg(request, "target"),
                       actor=arg(request, "actor"), action=arg(request, "action"),
                       date_from=date_arg(request, "from"), date_to=date_arg(request, "to"))
    return json_response(page_json(request, page))


ROUTES = [
    Route("/api/search", api_search),
    Route("/api/documents", api_documents),
    Route("/api/documents/{number}", api_document),
    Route("/api/records", api_records),
    Route("/api/records/{number}", api_record),
    Route("/api/log", api_log),
]
