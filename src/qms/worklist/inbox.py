"""What waits for whom: drafts that a role may sign now (the approver's 待我签署), records that
wait for the customer-signed scan (the engineer's "my records awaiting signature")."""

from __future__ import annotations

from .. import documents, records
from ..store.workspace import Workspace
from ..store.catalog import reading


def signable_roles(ws: Workspace, signed: list[str]) -> list[str]:
    """Role keys that may sign next, given the keys already signed (the order of config.yaml)."""
    have = set(signed)
    out = []
    for i, role in enumerate(ws.config.roles):
        if role.key in have and not role.multiple:
            continue
        if any(r.key in have for r in ws.config.roles[i + 1:]):
            continue
        if any(r.required and r.key not in have for r in ws.config.roles[:i]):
            continue
        out.append(role.key)
    return out


def drafts_to_sign(ws: Workspace, may_sign=lambda role_key: True, name: str | None = None) -> list[dict]:
    """Open drafts with the roles the caller may sign now (and has not signed yet under `name`)."""
    out = []
    for item in documents.list_documents(ws):
        d = documents.show(ws, item["number"], revision=item["revision"]) if item["status"] in (
            "draft", "in_review", "approved") else None
        if d is None:
            latest = documents.show(ws, item["number"])
            newest = latest["revisions"][-1]
            if newest["status"] not in ("draft", "in_review", "approved"):
                continue
            d = documents.show(ws, item["number"], revision=newest["revision"])
        live = [a for a in d["approvals"] if not a.get("void")]     # a rejection voids the signatures
        signed = [a["role"] for a in live]
        if name and any(a["name"] == name for a in live):
            continue     # one person signs at most one role of a revision
        roles = [r for r in signable_roles(ws, signed) if may_sign(r)]
        if roles:
            out.append({"number": d["number"], "title": d["title"], "revision": d["revision"],
                        "status": d["status"], "approvals": live, "roles": roles,
                        "files": d["files"], "change": d["change"]})
    return out


def records_awaiting_signature(ws: Workspace, filed_by: str | None = None) -> list[dict]:
    items = records.list_records(ws, status="awaiting_signature")
    if filed_by is None:
        return items
    with reading(ws) as cat:
        mine = {r["number"] for r in cat.all("SELECT number FROM records WHERE status='awaiting_signature' "
                                              "AND filed_by=?", filed_by)}
    return [x for x in items if x["number"] in mine]
