"""我的待办 as the home page, everyone's overdue items by department (quality manager), reading
assignments (acknowledge with the password), the training matrix (page and XLSX), closing a
periodic review."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ... import todo as todo_service
from ...training import readings as training
from ..pages import json_response, render
from ..auth import flash_message, require
from ..form_posts import post_form
from .common import in_thread
import tempfile
from pathlib import Path
from ...review.reviews import close


def home(request: Request):
    user = require(request)
    data = todo_service.todo(request.app.state.ws, user.identity)
    return render(request, "todo.html", todo=data, todo_counts=data,
                  manager=todo_service.registry.may_see_all(user.identity),
                  flash=flash_message(request))


def overdue(request: Request):
    user = require(request)
    data = todo_service.overdue_by_department(request.app.state.ws, user.identity)
    return render(request, "todo_overdue.html", data=data)


def api_todo(request: Request):
    user = require(request)
    return json_response(todo_service.todo(request.app.state.ws, user.identity))


def training_page(request: Request, error: str = "", status: int = 200):
    user = require(request)
    number = request.path_params["number"]
    ws = request.app.state.ws
    mine = [a for a in training.assignments(ws, login=user.login, number=number)]
    missing = training.missing(ws, number) if todo_service.registry.may_see_all(user.identity) else None
    return render(request, "training.html", status, number=number, mine=mine, missing=missing, error=error,
                  flash=flash_message(request))


async def training_ack(request: Request):
    number = request.path_params["number"]

    def call(ws, form, user):
        return training.acknowledge(ws, number, user=user.identity, password=form.get("password", "")).message

    def page(exc):
        return training_page(request, error=exc.format(), status=400)
    return await post_form(request, "read", call, done="/", page=page)


def matrix_page(request: Request):
    require(request)
    m = training.matrix(request.app.state.ws)
    by = {(c["login"], c["number"]): c for c in m["cells"]}
    rows = [{"person": p, "cells": [by[(p["login"], d["number"])] for d in m["documents"]]} for p in m["people"]]
    return render(request, "training_matrix.html", m=m, rows=rows)


def _xlsx(ws) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "matrix.xlsx"
        training.matrix_xlsx(ws, path)
        return path.read_bytes()


async def matrix_xlsx(request: Request):
    require(request)
    data = await in_thread(_xlsx, request.app.state.ws)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": "attachment; filename=training-matrix.xlsx"})


async def review_close(request: Request):
    number = request.path_params["number"]

    def call(ws, form, user):
        return close(ws, number, outcome=form.get("outcome", ""), comment=form.get("comment", ""),
                     user=user.identity, password=form.get("password", "")).message

    def page(exc):
        return render(request, "error.html", 400, message=exc.format(), code=400)
    return await post_form(request, "read", call, done="/", page=page)


ROUTES = [
    Route("/", home),
    Route("/todo/overdue", overdue),
    Route("/api/todo", api_todo),
    Route("/training/matrix", matrix_page),
    Route("/training/matrix.xlsx", matrix_xlsx),
    Route("/training/{number}", training_page),
    Route("/training/{number}/ack", training_ack, methods=["POST"]),
    Route("/reviews/{number}/close", review_close, methods=["POST"]),
]
