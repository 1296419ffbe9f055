"""Reading assignments: list, acknowledge (已阅读并理解, an e-signature), the training matrix
(people × documents) and who has not read a revision yet."""

from __future__ import annotations

import datetime as dt

from ..store.catalog import reading
from ..base.dates import today
from ..base.errors import Conflict, NotFound
from ..identity import User
from ..domain.results import Change
from ..identity.completion import completion_signature
from ..store.workspace import Workspace
from ..store.writer import writing
from .assign import current_audiences

MEANING = "已阅读并理解"
STATE_ZH = {"read": "已阅读", "due": "待阅读", "overdue": "逾期未读"}


def _state(row, on: dt.date) -> str:
    if row["acked_at"]:
        return "read"
    return "overdue" if row["due"] < on.isoformat() else "due"


def _item(row, on: dt.date) -> dict:
    state = _state(row, on)
    return {"number": row["number"], "revision": row["revision"], "title": row["title"] or "",
            "login": row["login"], "name": row["name"], "department": row["department"] or "",
            "assigned_at": row["assigned_at"], "due": row["due"], "read_on": row["acked_on"],
            "state": state, "state_zh": STATE_ZH[state]}


_SELECT = ("SELECT t.*, r.title FROM training t LEFT JOIN revisions r ON r.number=t.number AND "
           "r.revision=t.revision")


def assignments(ws: Workspace, *, login: str | None = None, number: str | None = None,
                open_only: bool = False) -> list[dict]:
    on = today()
    where, args = [], []
    if login:
        where.append("t.login=?")
        args.append(login)
    if number:
        where.append("t.number=?")
        args.append(number)
    if open_only:
        where.append("t.acked_at IS NULL")
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.due, t.number, t.login"
    with reading(ws) as cat:
        return [_item(r, on) for r in cat.all(sql, *args)]


def _latest_assigned(cat, number: str, revision: str | None):
    if revision:
        return revision
    row = cat.one("SELECT revision FROM training_audience a JOIN revisions r USING(number, revision) "
                  "WHERE a.number=? ORDER BY r.seq DESC LIMIT 1", number)
    if row is None:
        if cat.one("SELECT 1 FROM documents WHERE number=?", number) is None:
            raise NotFound(f"没有文件 {number}（qms doc list 列出文件）", field="number")
        raise NotFound(f"{number} 没有阅读培训要求（程序文件的 training: 或 config.yaml 的 training:）", field="number")
    return row["revision"]


def acknowledge(ws: Workspace, number: str, *, user: User, password, revision: str | None = None) -> Change:
    """The user signs that they have read and understood NUMBER (its latest assigned revision)."""
    with reading(ws) as cat:
        revision = _latest_assigned(cat, number, revision)
        row = cat.one("SELECT * FROM training WHERE number=? AND revision=? AND login=?", number, revision,
                      user.login)
    if row is None:
        raise NotFound(f"{user.name}（{user.login}）没有 {number} {revision} 的阅读任务", field="number")
    if row["acked_at"]:
        raise Conflict(f"{user.name} 已于 {row['acked_on']} 确认阅读 {number} {revision}", field="number")
    sig = completion_signature(ws, user, password, MEANING)       # the password is checked before the write
    with writing(ws, purpose="training ack") as w:
        again = w.cat.one("SELECT acked_at FROM training WHERE number=? AND revision=? AND login=?", number,
                          revision, user.login)
        if again["acked_at"]:
            raise Conflict(f"{user.name} 已确认阅读 {number} {revision}", field="number")
        (entry,) = w.commit([{"action": "training.ack", "target": number,
                              "data": {"revision": revision, **sig}}], actor=user.actor)
    return Change(f"{user.name} 已签署「{MEANING}」：{number} {revision}（{sig['signed_at']}）",
                  {"number": number, "revision": revision, **sig}, seq=entry.seq)


def missing(ws: Workspace, number: str, *, revision: str | None = None) -> dict:
    """Who has not read NUMBER's revision yet: the assignments without an acknowledgement."""
    with reading(ws) as cat:
        revision = _latest_assigned(cat, number, revision)
    rows = [a for a in assignments(ws, number=number) if a["revision"] == revision]
    return {"number": number, "revision": revision, "assigned": len(rows),
            "read": sum(1 for a in rows if a["state"] == "read"),
            "missing": [a for a in rows if a["state"] != "read"]}


def matrix(ws: Workspace) -> dict:
    """People × documents (the current assigned revision of each): read on / due / overdue."""
    on = today()
    with reading(ws) as cat:
        docs = [(a["number"], a["revision"]) for a in current_audiences(cat)]
        people = cat.all("SELECT login, name, department FROM users WHERE disabled=0 ORDER BY department, login")
        rows = cat.all(_SELECT)
    cells: dict = {}
    for r in rows:
        if (r["number"], r["revision"]) in docs:
            cells[(r["login"], r["number"])] = _item(r, on)
    logins = {login for login, _ in cells}
    out_people = [{"login": p["login"], "name": p["name"], "department": p["department"] or ""}
                  for p in people if p["login"] in logins]
    return {"as_of": on.isoformat(),
            "documents": [{"number": n, "revision": rv} for n, rv in docs],
            "people": out_people,
            "cells": [{"login": p["login"], "number": n,
                       **({k: cells[(p["login"], n)][k] for k in ("state", "state_zh", "due", "read_on")}
                          if (p["login"], n) in cells else {"state": "", "state_zh": "", "due": None,
                                                             "read_on": None})}
                      for p in out_people for n, _ in docs]}


def matrix_xlsx(ws: Workspace, path) -> None:
    """The matrix as a spreadsheet: one row a person, one column a document (已阅读 2026-03-21 …)."""
    from openpyxl import Workbook      # heavy: only this export needs it    # lazy: openpyxl loads in ~200 ms; only writing an .xlsx needs it
    m = matrix(ws)
    wb = Workbook()
    sh = wb.active
    sh.title = "培训矩阵"
    sh.append(["姓名", "登录名", "部门"] + [f"{d['number']} {d['revision']}" for d in m["documents"]])
    by = {(c["login"], c["number"]): c for c in m["cells"]}
    for p in m["people"]:
        row = [p["name"], p["login"], p["department"]]
        for d in m["documents"]:
            c = by[(p["login"], d["number"])]
            text = c["state_zh"]
            if c["state"] == "read":
                text += f" {c['read_on']}"
            elif c["state"]:
                text += f"（截止 {c['due']}）"
            row.append(text)
        sh.append(row)
    wb.save(path)
