"""The built-in sources of the to-do: drafts to sign, records awaiting the customer's signature,
disposal proposals to approve, revisions to read, reviews due, copies to sign for or return.
qms.startup registers them (by name, with the change requests and CAPA actions of the services below)."""

from __future__ import annotations



from ..domain import docstate
from ..worklist import inbox
from ..store.catalog import reading
from ..review.reviews import schedule

KIND_ZH = {"sign": "待签署文件", "customer_signature": "待客户签字记录", "disposal": "待审批销毁",
           "training": "待阅读文件", "review": "定期评审", "copy_receive": "受控副本待签收",
           "copy_return": "受控副本待回收"}


def _item(kind: str, title: str, due, link: str, **extra) -> dict:
    return {"kind": kind, "kind_zh": KIND_ZH.get(kind, kind), "title": title, "due": due, "link": link, **extra}


def drafts(ws, user, on):
    items = inbox.drafts_to_sign(ws, lambda role: user.may(f"doc.sign.{role}"), name=user.name)
    labels = {r.key: r.label for r in ws.config.roles}
    return [_item("sign", f"{d['number']} {d['revision']} {d['title']}（{'、'.join(labels.get(r, r) for r in d['roles'])}）",
                  None, "/inbox", number=d["number"]) for d in items]


def customer_signatures(ws, user, on):
    if not user.may("record.sign"):
        return []
    return [_item("customer_signature", f"{r['number']} 待客户签字", None, f"/records/{r['number']}",
                  number=r["number"]) for r in inbox.records_awaiting_signature(ws, filed_by=user.actor)]


def disposals(ws, user, on):
    if not user.may("records.dispose.approve"):
        return []
    with reading(ws) as cat:
        rows = cat.all("SELECT number, as_of, proposed_by FROM disposal_requests WHERE status='pending' ORDER BY number")
    return [_item("disposal", f"{r['number']} 销毁审批（{r['proposed_by']} 提出）", None, "/keeper",
                  number=r["number"]) for r in rows if (r["proposed_by"] or "").split(" ")[0] != user.login]


def training(ws, user, on):
    with reading(ws) as cat:
        rows = cat.all("SELECT t.number, t.revision, t.due, r.title FROM training t LEFT JOIN revisions r "
                       "USING(number, revision) WHERE t.login=? AND t.acked_at IS NULL ORDER BY t.due", user.login)
    return [_item("training", f"阅读 {r['number']} {r['revision']} {r['title'] or ''}".strip(), r["due"],
                  f"/training/{r['number']}", number=r["number"], revision=r["revision"]) for r in rows]


def reviews(ws, user, on):
    with reading(ws) as cat:
        out = []
        for d in docstate.all_documents(cat):
            s = schedule(ws, cat, d, on=on)
            if s and s["owner"] == user.login and s["state"] != "scheduled":
                out.append(_item("review", f"{s['number']} {s['title']} 定期评审", s["due"],
                                 f"/documents/{s['number']}", number=s["number"]))
    return out


def copies(ws, user, on):
    """Copies the person holds (or answers for, for a department): to sign for, and to return once
    their revision is superseded or withdrawn."""
    out = []
    with reading(ws) as cat:
        rows = cat.all("SELECT * FROM copies WHERE holder_login=? AND returned_at IS NULL AND recalled_at IS NULL "
                       "ORDER BY number, copy_no", user.login)
        for r in rows:
            doc = docstate.doc_row(cat, r["number"])
            revs = docstate.revisions(cat, r["number"])
            _, statuses = docstate.status_map(ws, cat, doc, revs, on)
            if statuses.get(r["revision"]) in ("superseded", "obsolete"):
                out.append(_item("copy_return", f"{r['number']} {r['revision']} 受控副本 No.{r['copy_no']} 待回收",
                                 None, f"/documents/{r['number']}", number=r["number"], copy_no=r["copy_no"]))
            elif not r["received_at"]:
                out.append(_item("copy_receive", f"{r['number']} {r['revision']} 受控副本 No.{r['copy_no']} 待签收",
                                 None, f"/documents/{r['number']}", number=r["number"], copy_no=r["copy_no"]))
    return out
