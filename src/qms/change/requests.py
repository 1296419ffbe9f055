"""Change requests: open (numbered CR-2026-0001 without gaps), approve by signature, show with the
revisions drafted, signed and released under it; closed when every affected document has a released
revision under it, or cancelled."""

from __future__ import annotations

import json

from ..domain import docstate
from ..store.catalog import reading
from ..base.dates import today
from ..base.errors import Conflict, InvalidInput, NotFound, Refused
from ..identity import User, require
from ..identity.users import get_user
from ..domain.results import Change
from ..identity.completion import completion_signature
from ..store.workspace import Workspace
from ..store.writer import writing

MEANING = "批准变更"
STATUS_ZH = {"pending": "待批准", "approved": "已批准", "closed": "已关闭", "cancelled": "已取消"}


def names(text: str | list) -> list[str]:
    items = text if isinstance(text, list) else str(text or "").replace("，", ",").replace("、", ",").split(",")
    return [i.strip() for i in items if i and i.strip()]


def open_request(ws: Workspace, *, title: str, reason: str, affects, approvers, user: User,
                 description: str = "", impact: str = "") -> Change:
    require(user, "doc.submit")
    if not title or not title.strip():
        raise InvalidInput("变更申请须有标题（--title）", field="title")
    if not reason or not reason.strip():
        raise InvalidInput("变更申请须说明变更原因（--reason）", field="reason")
    affects, approvers = names(affects), names(approvers)
    if not affects:
        raise InvalidInput("变更申请须列出受影响的文件（--affects QP-SC-015,…）", field="affects")
    if not approvers:
        raise InvalidInput("变更申请须指定批准人（--approvers 登录名,…）", field="approvers")
    people = []
    for login in approvers:
        person = get_user(ws, login)
        if person is None or person.disabled:
            raise NotFound(f"没有用户 {login!r}（批准人须是在用的登录名）", field="approvers")
        people.append({"login": person.login, "name": person.name})
    with writing(ws, purpose="cr new") as w:
        for number in affects:
            doc = w.cat.one("SELECT * FROM documents WHERE number=?", number)
            if doc is None:
                raise NotFound(f"没有文件 {number}（qms doc list 列出文件）", field="affects")
            if doc["obsolete_on"]:
                raise Conflict(f"文件 {number} 已于 {doc['obsolete_on']} 作废，不能再变更", field="affects")
        year = today().year
        key = f"CR-{year}"
        seq = w.next_seq(key)
        number = f"CR-{year}-{seq:04d}"
        (entry,) = w.commit([{"action": "cr.opened", "target": number,
                              "data": {"sequence": key, "seq": seq, "title": title.strip(), "reason": reason.strip(),
                                       "description": description.strip(), "impact": impact.strip(),
                                       "affects": affects, "approvers": people}}], actor=user.actor)
    return Change(f"已提出变更申请 {number}：{title.strip()}（影响 {'、'.join(affects)}）",
                  {"number": number, "affects": affects, "approvers": people}, seq=entry.seq)


def _row(cat, number: str):
    row = cat.one("SELECT * FROM change_requests WHERE number=?", number)
    if row is None:
        raise NotFound(f"没有变更申请 {number}（qms cr list 列出）", field="cr")
    return row


def _details(ws: Workspace, cat, row) -> dict:
    approvers = json.loads(row["approvers"])
    signed = {a["login"]: dict(a) for a in cat.all("SELECT * FROM cr_approvals WHERE cr=?", row["number"])}
    affects = json.loads(row["affects"])
    revisions = []
    released_docs = set()
    for link in cat.all("SELECT * FROM cr_revisions WHERE cr=? ORDER BY number, revision", row["number"]):
        rev = cat.one("SELECT * FROM revisions WHERE number=? AND revision=?", link["number"], link["revision"])
        if rev is None:
            continue
        signatures = docstate.approvals(cat, rev["id"])
        state = rev["state"] if rev["state"] != "draft" else ("in_review" if signatures else "draft")
        if rev["state"] == "released":
            released_docs.add(link["number"])
        revisions.append({"number": link["number"], "revision": link["revision"], "state": state,
                          "state_zh": {"draft": "草稿", "in_review": "签署中", "released": "已发布",
                                       "withdrawn": "已撤回"}.get(state, state),
                          "signatures": [f"{a['role_label']} {a['name']}" for a in signatures]})
    if row["cancelled_at"]:
        status = "cancelled"
    elif any(a["login"] not in signed for a in approvers):
        status = "pending"
    elif all(n in released_docs for n in affects):
        status = "closed"
    else:
        status = "approved"
    return {"number": row["number"], "title": row["title"], "reason": row["reason"],
            "description": row["description"], "impact": row["impact"], "affects": affects,
            "approvers": [{**a, "signed": signed.get(a["login"])} for a in approvers],
            "opened_at": row["opened_at"], "opened_by": row["opened_by"], "status": status,
            "status_zh": STATUS_ZH[status], "revisions": revisions}


def show(ws: Workspace, number: str) -> dict:
    with reading(ws) as cat:
        return _details(ws, cat, _row(cat, number))


def list_requests(ws: Workspace) -> list[dict]:
    with reading(ws) as cat:
        return [_details(ws, cat, r) for r in cat.all("SELECT * FROM change_requests ORDER BY number")]


def approve(ws: Workspace, number: str, *, user: User, password, comment: str = "") -> Change:
    d = show(ws, number)
    mine = next((a for a in d["approvers"] if a["login"] == user.login), None)
    if mine is None:
        raise Refused(f"{user.name}（{user.login}）不是 {number} 的批准人", field="cr")
    if mine["signed"]:
        raise Conflict(f"{user.name} 已批准 {number}", field="cr")
    if d["status"] == "cancelled":
        raise Conflict(f"{number} 已取消", field="cr")
    sig = completion_signature(ws, user, password, MEANING)
    with writing(ws, purpose="cr approve") as w:
        if w.cat.one("SELECT 1 FROM cr_approvals WHERE cr=? AND login=?", number, user.login):
            raise Conflict(f"{user.name} 已批准 {number}", field="cr")
        (entry,) = w.commit([{"action": "cr.approved", "target": number,
                              "data": {**sig, **({"comment": comment.strip()} if comment.strip() else {})}}],
                            actor=user.actor)
    return Change(f"{user.name} 已批准变更申请 {number}", {"number": number, **sig}, seq=entry.seq)


def check_submit(ws: Workspace, cat, cr: str, document: str) -> None:
    """`doc submit --cr`: the request exists, is approved, affects the document."""
    d = _details(ws, cat, _row(cat, cr))
    if document not in d["affects"]:
        raise Conflict(f"变更申请 {cr} 不涉及 {document}（涉及 {'、'.join(d['affects'])}）", field="cr")
    if d["status"] != "approved":
        raise Conflict(f"变更申请 {cr} {d['status_zh']}，不能据此起草修订", field="cr")


def to_approve(ws: Workspace, user: User, on) -> list[dict]:
    """The to-do's source: change requests waiting for this approver."""
    out = []
    for d in list_requests(ws):
        if d["status"] == "pending" and any(a["login"] == user.login and not a["signed"] for a in d["approvers"]):
            out.append({"kind": "cr", "kind_zh": "待批准变更申请", "title": f"{d['number']} {d['title']}",
                        "due": None, "link": f"/cr/{d['number']}", "number": d["number"]})
    return out


def cancel(ws: Workspace, number: str, *, reason: str, user: User) -> Change:
    """A change request no longer wanted (its drafts stay as they are; withdraw them separately)."""
    require(user, "doc.submit")
    if not reason or not reason.strip():
        raise InvalidInput("取消变更申请须说明原因（--reason）", field="reason")
    d = show(ws, number)
    if d["status"] in ("cancelled", "closed"):
        raise Conflict(f"{number} {d['status_zh']}，不能取消", field="cr")
    with writing(ws, purpose="cr cancel") as w:
        (entry,) = w.commit([{"action": "cr.cancelled", "target": number, "data": {"reason": reason.strip()}}],
                            actor=user.actor)
    return Change(f"已取消变更申请 {number}：{reason.strip()}", {"number": number, "status": "cancelled"},
                  seq=entry.seq)
