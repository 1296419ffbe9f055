"""A person's department and e-mail address: changed by an admin, each a journal event. A person
moved into a department gets that department's current reading assignments in the same batch
(qms.training.assign follows user.department)."""

from __future__ import annotations

import re

from ..base.errors import Conflict, InvalidInput
from ..store.workspace import Workspace
from ..store.writer import writing
from .departments import check_department
from .permissions import User, require
from .users import find_user

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def edit_user(ws: Workspace, login: str, *, actor: User, department: str | None = None,
              email: str | None = None) -> dict:
    require(actor, "users.manage")
    user = find_user(ws, login)
    events = []
    if department is not None:
        department = check_department(ws, department)
        if department != user.department:
            events.append({"action": "user.department", "target": login,
                           "data": {"department": department, "previous": user.department}})
    if email is not None:
        email = email.strip()
        if not EMAIL_RE.match(email):
            raise InvalidInput(f"电子邮件地址 {email!r} 无效（例如 liming@example.com）", field="email")
        events.append({"action": "user.email", "target": login, "data": {"email": email}})
    if not events:
        raise Conflict(f"{login} 没有任何变化（部门已是 {user.department or '—'}）", field="department")
    with writing(ws, purpose="user edit") as w:
        entries = w.commit(events, actor=actor.actor)
        assigned = w.cat.all("SELECT number, revision FROM training WHERE login=? AND acked_at IS NULL", login)
    return {"login": login, "department": department if department is not None else user.department,
            "email": email, "seq": entries[-1].seq,
            "to_read": [f"{r['number']} {r['revision']}" for r in assigned]}
