"""When each document is next reviewed, and closing a review (继续有效 / 需修订 / 作废) by signature.

The due date is computed on demand from the catalog (the current revision's 实施 date, the period,
the reviews closed so far): nothing stored can drift from the documents it describes."""

from __future__ import annotations

import calendar
import datetime as dt

from ..domain import docstate
from ..store.catalog import reading
from ..change.requests import names, open_request
from ..documents.lifecycle import obsolete
from ..base.dates import parse_date, today
from ..base.errors import Conflict, InvalidInput, NotFound, Refused
from ..identity import User, require
from ..identity.users import get_user
from ..domain.results import Change
from ..identity.completion import completion_signature
from ..store.workspace import Workspace
from ..store.writer import writing
from ..base.yaml_source import parse_yaml_text

DEFAULT_PERIOD = 24          # months, when config.yaml names none for the kind
DEFAULT_AHEAD = 30           # days before the due date the review appears on the owner's to-do
OUTCOMES = {"继续有效": "continue", "需修订": "revise", "作废": "obsolete"}
OUTCOME_ALIASES = {"continue": "继续有效", "revise": "需修订", "obsolete": "作废"}
STATE_ZH = {"scheduled": "未到期", "due": "待评审", "overdue": "逾期"}


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def settings(ws: Workspace) -> dict:
    r = ws.config.quality.get("review") or {}
    return {"periods": dict(r.get("periods") or {}), "default": int(r.get("default") or DEFAULT_PERIOD),
            "ahead_days": int(r.get("ahead_days", DEFAULT_AHEAD))}


def _own_period(ws: Workspace, rev) -> int | None:
    path = ws.root / rev["folder"] / (rev["source"] or "source.yaml")
    try:
        value = (parse_yaml_text(path.read_text(encoding="utf-8"), path).data or {}).get("review")
    except Exception:          # an unreadable source is for verify to report
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _owner(rev) -> str:
    """The document's owner: who submitted its current revision (the actor is 'login name')."""
    return (rev["submitted_by"] or "").split(" ", 1)[0]


def schedule(ws: Workspace, cat, doc, *, on: dt.date | None = None) -> dict | None:
    """The next review of a document in force, or None (never released, or withdrawn)."""
    on = on or today()
    if doc["obsolete_on"]:
        return None
    revs = docstate.revisions(cat, doc["number"])
    released = [r for r in revs if r["state"] == "released" and r["effective"]]
    if not released:
        return None
    rev = released[-1]
    s = settings(ws)
    period = _own_period(ws, rev) or int(s["periods"].get(doc["kind"]) or s["default"])
    effective = dt.date.fromisoformat(rev["effective"])
    due = add_months(effective, period)
    last = cat.one("SELECT * FROM reviews WHERE number=? ORDER BY due DESC LIMIT 1", doc["number"])
    if last is not None and last["next_due"] and last["next_due"] > due.isoformat():
        due = dt.date.fromisoformat(last["next_due"])
    opens = due - dt.timedelta(days=s["ahead_days"])
    state = "overdue" if on > due else "due" if on >= opens else "scheduled"
    owner = _owner(rev)
    person = cat.one("SELECT name FROM users WHERE login=?", owner)
    return {"number": doc["number"], "title": doc["title"], "kind": doc["kind"], "revision": rev["revision"],
            "effective": rev["effective"], "period_months": period, "due": due.isoformat(),
            "opens": opens.isoformat(), "state": state, "state_zh": STATE_ZH[state], "owner": owner,
            "owner_name": person["name"] if person else owner,
            "last_review": dict(last) if last is not None else None}


def review_list(ws: Workspace, *, due_before: str | None = None) -> list[dict]:
    limit = parse_date(due_before, field="--due-before").isoformat() if due_before else None
    with reading(ws) as cat:
        out = [s for d in docstate.all_documents(cat) if (s := schedule(ws, cat, d))]
    if limit:
        out = [s for s in out if s["due"] <= limit]
    return sorted(out, key=lambda s: (s["due"], s["number"]))


def close(ws: Workspace, number: str, *, outcome: str, comment: str, user: User, password,
          approvers: str | list | None = None) -> Change:
    """The owner (or whoever may release documents) closes the open review with a signature.
    继续有效: the next review moves on by the period; 需修订: a revision is to be drafted; 作废: the
    document is then withdrawn (qms doc obsolete) by the caller."""
    outcome = OUTCOME_ALIASES.get(outcome, outcome)
    if outcome not in OUTCOMES:
        raise InvalidInput(f"评审结论 {outcome!r} 无效；应为 继续有效、需修订 或 作废", field="outcome")
    if not comment or not comment.strip():
        raise InvalidInput("评审意见不能为空（--comment）", field="comment")
    with reading(ws) as cat:
        doc = cat.one("SELECT * FROM documents WHERE number=?", number)
        if doc is None:
            raise NotFound(f"没有文件 {number}（qms doc list 列出文件）", field="number")
        s = schedule(ws, cat, doc)
    if s is None:
        raise Conflict(f"{number} 没有现行版本，无需定期评审", field="number")
    if s["state"] == "scheduled":
        raise Conflict(f"{number} 的定期评审 {s['due']} 尚未开始（{s['opens']} 起）", field="number")
    if user.login != s["owner"] and not user.may("doc.release"):
        raise Refused(f"{number} 的定期评审由文件负责人 {s['owner_name']}（{s['owner']}）关闭", field="number")
    if outcome == "作废" and not user.may("doc.obsolete"):
        raise Refused(f"{user.name}（{user.login}）无权作废文件（doc.obsolete）；请由文控人员关闭", field="outcome")
    if outcome == "需修订" and not approvers:
        raise InvalidInput("需修订：请用 --approvers 指定变更申请的批准人（将据此提出变更申请）", field="approvers")
    if outcome == "需修订":              # checked before the signature: the change request must then succeed
        require(user, "doc.submit")
        for login in names(approvers):
            if get_user(ws, login) is None:
                raise NotFound(f"没有用户 {login!r}（批准人须是在用的登录名）", field="approvers")
    sig = completion_signature(ws, user, password, f"定期评审：{outcome}")
    due = dt.date.fromisoformat(s["due"])
    next_due = None if outcome == "作废" else add_months(due, s["period_months"]).isoformat()
    with writing(ws, purpose="review close") as w:
        if w.cat.one("SELECT 1 FROM reviews WHERE number=? AND due=?", number, s["due"]):
            raise Conflict(f"{number} 的定期评审（{s['due']}）已关闭", field="number")
        (entry,) = w.commit([{"action": "review.closed", "target": number,
                              "data": {"due": s["due"], "outcome": outcome, "comment": comment.strip(),
                                       "revision": s["revision"], "next_due": next_due, **sig}}],
                            actor=user.actor)
    then = f"，下次评审 {next_due}" if next_due else ""
    follow_up = {}
    if outcome == "需修订":            # the revision it calls for starts as a change request
        cr = open_request(ws, title=f"{number} 定期评审：需修订", reason=comment.strip(), affects=[number],
                          approvers=approvers, user=user, description=f"定期评审（到期 {s['due']}）结论：需修订")
        follow_up = {"cr": cr.data["number"]}
        then += f"，已提出变更申请 {cr.data['number']}"
    elif outcome == "作废":
        obsolete(ws, number, reason=f"定期评审：{comment.strip()}", actor=user.actor)
        follow_up = {"obsolete": True}
        then += "，文件已作废"
    return Change(f"{number} 定期评审已关闭：{outcome}{then}",
                  {"number": number, "due": s["due"], "outcome": outcome, "next_due": next_due, **sig, **follow_up},
                  seq=entry.seq)
