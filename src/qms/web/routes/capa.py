"""A CAPA's page and a change request's page (read-only; changes are made by signature in the CLI
or the API), and the link from a record's page to the CAPAs opened from it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from ...capa import capas as capas
from ...change import requests as changes
from ..pages import render
from ..auth import require


def install_globals(env, ws) -> None:
    """`capas_of(record)` for record.html: the CAPAs opened from that record."""
    env.globals["capas_of"] = lambda number: capas.of_record(ws, number) if ws is not None else []


def capa_page(request: Request):
    require(request)
    return render(request, "capa.html", c=capas.show(request.app.state.ws, request.path_params["number"]))


def cr_page(request: Request):
    require(request)
    return render(request, "cr.html", d=changes.show(request.app.state.ws, request.path_params["number"]))


ROUTES = [Route("/capa/{number}", capa_page), Route("/cr/{number}", cr_page)]
