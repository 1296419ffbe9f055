"""我的待办: everything waiting on a person, computed on demand from the catalog through a small
registry of sources (nothing stored that could drift). Another service adds its own items with
`register(source)`: scan confirmations, KPI-proposed CAPAs …

A source is `fn(ws, user, on) -> list[dict]`, each item at least {kind, kind_zh, title, due, link};
`dated=True` says it gives due dates (the quality manager's overdue view asks only those).
A source reads only what commits change (the catalog, the archive) and the day it is given: the
menu's count on every page is kept until the next commit or the next day (menu.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..base.dates import today
from ..identity import User
from ..identity.completion import may_see_all
from ..store.workspace import Workspace
from ..base.errors import Refused
from ..identity.users import list_users


@dataclass(frozen=True)
class Source:
    name: str
    fn: object
    dated: bool


SOURCES: list[Source] = []


def register(fn, *, name: str | None = None, dated: bool = True):
    """Add a source of to-do items (idempotent: a module imported twice registers once)."""
    name = name or f"{fn.__module__}.{fn.__name__}"
    if not any(s.name == name for s in SOURCES):
        SOURCES.append(Source(name, fn, dated))
    return fn


def _finish(item: dict, on: dt.date) -> dict:
    due = item.get("due")
    item["overdue"] = bool(due) and due < on.isoformat()
    item["state_zh"] = "逾期" if item["overdue"] else ("待办" if due else "待办")
    return item


def _order(item: dict):
    return (not item["overdue"], item.get("due") or "9999-12-31", item.get("kind", ""), item.get("title", ""))


def items_for(ws: Workspace, user: User, *, on: dt.date | None = None, dated_only: bool = False) -> list[dict]:
    """The person's to-do, overdue first, then by due date; items without a date last."""
    on = on or today()
    out: list[dict] = []
    for s in SOURCES:
        if dated_only and not s.dated:
            continue
        out += [_finish(dict(i), on) for i in s.fn(ws, user, on) or []]
    return sorted(out, key=_order)


def counts(items: list[dict]) -> dict:
    return {"total": len(items), "overdue": sum(1 for i in items if i["overdue"])}


def todo(ws: Workspace, user: User) -> dict:
    items = items_for(ws, user)
    return {"login": user.login, "name": user.name, "as_of": today().isoformat(), **counts(items), "items": items}


def overdue_by_department(ws: Workspace, viewer: User) -> dict:
    if not may_see_all(viewer):
        raise Refused(f"{viewer.name}（{viewer.login}）无权查看全员逾期事项（需 doc.release 或 users.manage）")
    on = today()
    groups: dict[str, list] = {}
    for u in list_users(ws):
        if u.disabled:
            continue
        late = [i for i in items_for(ws, u, on=on, dated_only=True) if i["overdue"]]
        for i in late:
            groups.setdefault(u.department or "（未分部门）", []).append({**i, "login": u.login, "name": u.name})
    return {"as_of": on.isoformat(),
            "departments": [{"department": d, "count": len(v), "items": v} for d, v in sorted(groups.items())]}
