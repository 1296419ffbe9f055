"""Controlled copies, both ends: the holder signs 签收 when the copy reaches them and 回收 when it
comes back (its revision superseded or withdrawn) — each an e-signature; or a keeper records the
paper's return with a reason for a holder without a login."""

from __future__ import annotations

from ..domain import docstate
from ..store.catalog import reading
from ..base.dates import today
from ..base.errors import Conflict, InvalidInput, NotFound, Refused
from ..identity import User
from ..identity.departments import check_department
from ..identity.users import get_user
from ..domain.results import Change
from ..identity.completion import completion_signature
from ..store.workspace import Workspace
from ..store.writer import writing

RECEIVE, RETURN = "签收", "回收"


def resolve_holder(ws: Workspace, holder: str, responsible: str | None) -> dict:
    """{holder (printed), holder_login, holder_department}; unknown people and departments refused."""
    if responsible:
        person = get_user(ws, responsible.strip())
        if person is None or person.disabled:
            raise NotFound(f"没有用户 {responsible!r}（负责人须是在用的登录名；qms user list 列出用户）",
                           field="responsible")
        department = check_department(ws, holder)
        return {"holder": f"{department}（负责人 {person.name}）", "holder_login": person.login,
                "holder_department": department}
    person = get_user(ws, holder)
    if person is not None:
        if person.disabled:
            raise Refused(f"用户 {holder} 已停用，不能持有受控副本", field="holder")
        return {"holder": person.name, "holder_login": person.login, "holder_department": person.department or None}
    if holder.isascii() and holder.replace(".", "").replace("_", "").replace("-", "").isalnum() and holder.islower():
        raise NotFound(f"没有用户 {holder!r}（持有人为人员时写登录名；为部门时加 --responsible 负责人）",
                       field="holder")
    return {"holder": holder}


def _copy(cat, number: str, copy_no: int):
    docstate.doc_row(cat, number)
    row = docstate.copy_row(cat, number, copy_no)
    if row is None:
        raise NotFound(f"{number} 没有受控副本 No.{copy_no}", field="copy")
    return row


def receive(ws: Workspace, number: str, *, copy_no: int, user: User, password) -> Change:
    """The holder (or the department's responsible person) signs for the copy: 签收."""
    with reading(ws) as cat:
        row = _copy(cat, number, copy_no)
    if row["holder_login"] != user.login:
        raise Refused(f"受控副本 No.{copy_no} 的持有人是 {row['holder']}，由其签收", field="copy")
    if row["received_at"]:
        raise Conflict(f"受控副本 No.{copy_no} 已于 {row['received_at'][:10]} 签收", field="copy")
    if row["recalled_at"]:
        raise Conflict(f"受控副本 No.{copy_no} 已回收", field="copy")
    sig = completion_signature(ws, user, password, RECEIVE)
    with writing(ws, purpose="doc receive-copy") as w:
        if _copy(w.cat, number, copy_no)["received_at"]:
            raise Conflict(f"受控副本 No.{copy_no} 已签收", field="copy")
        (entry,) = w.commit([{"action": "doc.copy_received", "target": number,
                              "data": {"copy_no": copy_no, "revision": row["revision"], **sig}}], actor=user.actor)
    return Change(f"{user.name} 已签收 {number} {row['revision']} 受控副本 No.{copy_no}",
                  {"number": number, "copy_no": copy_no, "revision": row["revision"], **sig}, seq=entry.seq)


def give_back(ws: Workspace, number: str, *, copy_no: int, user: User, password, reason: str = "") -> Change:
    """回收: the holder signs that the copy is returned; a keeper (doc.copy) may record the paper's
    return for a holder without a login, giving a reason."""
    with reading(ws) as cat:
        row = _copy(cat, number, copy_no)
        doc = docstate.doc_row(cat, number)
        _, statuses = docstate.status_map(ws, cat, doc, docstate.revisions(cat, number), today())
    if row["returned_at"] or row["recalled_at"]:
        raise Conflict(f"受控副本 No.{copy_no} 已回收", field="copy")
    own = row["holder_login"] == user.login
    if not own:
        if not user.may("doc.copy"):
            raise Refused(f"受控副本 No.{copy_no} 的持有人是 {row['holder']}，由其签署回收", field="copy")
        if not reason or not reason.strip():
            raise InvalidInput("代持有人登记回收须说明原因（--reason）", field="reason")
    sig = completion_signature(ws, user, password, RETURN)
    with writing(ws, purpose="doc return-copy") as w:
        again = _copy(w.cat, number, copy_no)
        if again["returned_at"] or again["recalled_at"]:
            raise Conflict(f"受控副本 No.{copy_no} 已回收", field="copy")
        (entry,) = w.commit([{"action": "doc.copy_returned", "target": number,
                              "data": {"copy_no": copy_no, "revision": row["revision"], "holder": row["holder"],
                                       "revision_status": statuses.get(row["revision"], ""),
                                       **({"reason": reason.strip()} if reason and reason.strip() else {}),
                                       **sig}}], actor=user.actor)
    return Change(f"{user.name} 已签署回收 {number} {row['revision']} 受控副本 No.{copy_no}",
                  {"number": number, "copy_no": copy_no, "revision": row["revision"], **sig}, seq=entry.seq)
