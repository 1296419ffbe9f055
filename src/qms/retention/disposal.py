"""销毁审批: disposal is a decision of two people, dated today and never later.

A keeper proposes (`propose`) what is due today and not held — a request numbered DR-YYYY-NNNN,
with the appraisal opinion (鉴定意见) and the method (销毁方式). Another person holding
records.dispose.approve approves it with their password (`approve`): only then are the records
destroyed, in the two-phase purge event retention.py has always used, and the disposal
certificate names the proposer, the approver, the witness, the method and the opinion. The
proposer never approves their own request, whatever roles they hold. `reject` closes a request.

A record that became held, signed, amended or no longer due between proposal and approval is
left out of the destruction and named in the result and on the certificate."""

from __future__ import annotations

import posixpath

from ..domain import recordstate
from ..store.catalog import reading
from ..base.dates import now_iso, today
from ..base.errors import Conflict, InvalidInput, NotFound, Refused
from ..domain.results import Change
from ..store.workspace import Workspace
from ..store.writer import writing
from ..store.object_sync import plan_destroy
from .periods import certificate_files, due_from_journal, not_after_today, report
from ..identity.esign import confirm_password
from ..identity import require
import json

APPROVE = "records.dispose.approve"
DEFAULT_OPINION = "保存期限已满，经鉴定无继续保存价值，拟予销毁"
DEFAULT_METHOD = "删除电子档案（文件、目录与检索索引）"
STATES = {"pending": "待审批", "approved": "已批准销毁", "rejected": "已驳回"}


def _text(value: str | None, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"a disposal proposal needs {what} (--{field})", field=field)
    if len(value) > 2000:
        raise InvalidInput(f"--{field} is {len(value)} characters; at most 2000", field=field)
    return value


def _snapshot(d: dict) -> dict:
    """What the approval compares against: a record amended or signed since is left out."""
    return {k: d[k] for k in ("number", "form", "record_date", "retention_until", "version", "signatures",
                              "status")}


def propose(ws: Workspace, *, actor: str, opinion: str, method: str, witness: str | None = None,
            form: str | None = None, as_of=None) -> Change:
    """A request to destroy what is due at `as_of` (today, or an earlier day; never later) and unheld."""
    as_of = not_after_today(as_of or today())
    opinion, method = _text(opinion, "opinion", "an appraisal opinion 鉴定意见"), _text(method, "method",
                                                                                   "a method 销毁方式")
    witness = (witness or "").strip() or None
    with writing(ws, purpose="disposal propose") as w:
        last = recordstate.last_disposal_as_of(w.cat)
        if last and as_of.isoformat() < last:
            raise InvalidInput(f"--as-of {as_of} is before the earlier purge as of {last}; "
                               "disposal dates only move forward", field="as-of")
        # from a replay of the journal: an edited catalog row cannot make a record due early
        due = due_from_journal(ws, w.cat, as_of, form)
        pending = recordstate.pending_disposal_numbers(w.cat)
        due = [d for d in due if d["number"] not in pending]
        if not due:
            return Change(f"nothing to dispose of as of {as_of}"
                          + (f" ({len(pending)} already in a pending proposal)" if pending else ""),
                          {"proposal": None, "proposed": [], "certificate": None, "disposed": [],
                           "as_of": as_of.isoformat()})
        year = today().year
        seq = w.next_seq(f"DISPOSAL-REQUEST:{year}")
        number = f"DR-{year}-{seq:04d}"
        records = [_snapshot(d) for d in due]
        (entry,) = w.commit([{"action": "disposal.propose", "target": number,
                              "data": {"sequence": f"DISPOSAL-REQUEST:{year}", "seq": seq, "as_of": as_of.isoformat(),
                                       "form": form, "opinion": opinion, "method": method, "witness": witness,
                                       "records": records}}], actor=actor)
    numbers = [r["number"] for r in records]
    return Change(f"proposed {number}: destroy {len(numbers)} records due as of {as_of}; "
                  f"awaiting approval by another person holding {APPROVE} (qms disposal approve {number})",
                  {"proposal": number, "proposed": numbers, "certificate": None, "disposed": [],
                   "as_of": as_of.isoformat()}, seq=entry.seq)


def _request(cat, number: str) -> dict:
    row = recordstate.disposal_request(cat, number)
    if row is None:
        raise NotFound(f"unknown disposal proposal {number!r} (qms disposal list shows them)", field="number")
    return row


def _pending(cat, number: str) -> dict:
    req = _request(cat, number)
    if req["status"] != "pending":
        raise Conflict(f"{number} is already {STATES[req['status']]} ({req['status']}) "
                       f"by {req['decided_by']} on {(req['decided_at'] or '')[:10]}", field="number")
    return req


def _left_out(proposed: list[dict], due: dict[str, dict], cat) -> tuple[list[dict], list[dict]]:
    """(still to destroy, left out with the reason) — `due` is what is due today and unheld."""
    keep, out = [], []
    for r in proposed:
        n = r["number"]
        now = due.get(n)
        if now is None:
            if recordstate.find(cat, n) is None:
                why = "已不存在 / no longer in the archive"
            elif recordstate.open_hold(cat, n):
                why = "已冻结 / on hold"
            else:
                why = "未到期 / no longer due"
        elif now["version"] != r["version"]:
            why = f"已修改 / amended (v{r['version']} → v{now['version']})"
        elif now["signatures"] != r["signatures"] or now["status"] != r["status"]:
            why = "已签字 / signed since the proposal"
        elif now["retention_until"] != r["retention_until"]:
            why = "保存期限已变 / retention changed"
        else:
            keep.append(now)
            continue
        out.append({"number": n, "reason": why})
    return keep, out


def approve(ws: Workspace, number: str, *, user, password, progress=None) -> Change:
    """Approve a pending proposal with the approver's password; destroys what is still due today and
    unheld, and writes the disposal certificate naming both people."""
    require(user, APPROVE)
    with reading(ws) as cat:
        req = _pending(cat, number)
    if req["proposer_login"] == user.login:
        raise Refused(f"{user.login} ({user.name}) proposed {number}; disposal is a decision of two people — "
                      f"another person holding {APPROVE} approves it", field="number")
    # the password last (as doc sign): a refusal for another reason never asks for it nor counts
    when = confirm_password(ws, user, password, purpose="dispose")
    as_of = today()
    with writing(ws, purpose="disposal approve") as w:
        req = _pending(w.cat, number)
        due = {d["number"]: d for d in due_from_journal(ws, w.cat, as_of, None)}
        destroy, left_out = _left_out(req["records"], due, w.cat)
        if not destroy:
            raise Conflict(f"nothing of {number} can be destroyed now: "
                           + "; ".join(f"{x['number']} {x['reason']}" for x in left_out)
                           + f" — reject it (qms disposal reject {number} --reason …)", field="number")
        destroyed = [{"number": d["number"], "form": d["form"], "record_date": d["record_date"],
                      "retention_until": d["retention_until"], "folder": posixpath.dirname(d["folder"])}
                     for d in destroy]
        # the object store's word before anything is written: a locked or held version refuses the
        # whole approval (its clock, not the catalog's dates); the certificate lists each version deleted
        objects = plan_destroy(ws, [d["folder"] for d in destroyed])
        year = as_of.year
        seq = w.next_seq(f"DISPOSAL:{year}")
        cert = f"DC-{year}-{seq:04d}"
        rel = ws.rel(ws.archive_dir / "disposals" / cert)
        at = now_iso()
        approval = {"name": user.name, "login": user.login, "meaning": "批准销毁 / approves the destruction",
                    "signed_at": when.isoformat()}
        body = {"certificate": cert, "title": "记录销毁证明 / Records disposal certificate",
                "organisation": ws.config.org_name, "as_of": req["as_of"], "disposed_at": at,
                "proposal": number, "proposed_by": req["proposed_by"], "proposed_at": req["proposed_at"],
                "authorised_by": user.actor, "approval": approval, "witness": req["witness"],
                "opinion": req["opinion"], "method": req["method"], "form_filter": req["form"],
                "count": len(destroyed), "left_out": left_out,
                "records": [d | {"files": []} | _objects_of(d["folder"], objects) for d in destroyed]}
        st, cert_sha = certificate_files(ws, w, rel, body, at)
        numbers = [d["number"] for d in destroyed]
        w.commit([{"action": "purge", "target": cert,
                   "data": {"as_of": req["as_of"], "form": req["form"], "folder": rel, "disposed": numbers,
                            "proposal": number, "proposed_by": req["proposed_by"], "approval": approval,
                            "opinion": req["opinion"], "method": req["method"], "witness": req["witness"],
                            "left_out": left_out, "certificate_sha256": cert_sha,
                            "sequence": f"DISPOSAL:{year}", "seq": seq, "records": destroyed,
                            "destroy": [d["folder"] for d in destroyed], **st.promise(rel),
                            **({"objects": objects} if objects else {})}}], actor=user.actor)
        if progress:
            progress(len(destroyed), len(destroyed))
    skipped = ("; left out: " + ", ".join(f"{x['number']} ({x['reason']})" for x in left_out)) if left_out else ""
    return Change(f"approved {number}: disposed of {len(numbers)} records; certificate {cert} → "
                  f"{rel}/certificate.pdf{skipped}",
                  {"proposal": number, "certificate": cert, "disposed": numbers, "left_out": left_out,
                   "proposed_by": req["proposed_by"], "approved_by": user.actor},
                  files=[f"{rel}/certificate.pdf"])


def _objects_of(folder: str, objects: list[dict]) -> dict:
    """The bucket's versions of one record folder, as its certificate entry lists them (none in the
    embedded archive: the certificate stays as it was)."""
    mine = [{"key": o["key"], "version_id": o["version_id"]} for o in objects if o["rel"].startswith(folder + "/")]
    return {"objects": mine} if objects else {}


def reject(ws: Workspace, number: str, *, user, reason: str) -> Change:
    """Close a pending proposal without destroying anything: an approver's decision, or the proposer
    withdrawing their own request."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("rejecting a disposal proposal needs --reason", field="reason")
    with writing(ws, purpose="disposal reject") as w:
        req = _pending(w.cat, number)
        if req["proposer_login"] != user.login:
            require(user, APPROVE)
        (entry,) = w.commit([{"action": "disposal.reject", "target": number, "data": {"reason": reason}}],
                            actor=user.actor)
    return Change(f"rejected {number}: {reason}; nothing was destroyed", {"proposal": number, "status": "rejected",
                                                                        "reason": reason}, seq=entry.seq)


def listing(ws: Workspace, *, status: str | None = None) -> list[dict]:
    with reading(ws) as cat:
        rows = recordstate.disposal_requests(cat)
    return [r for r in rows if status is None or r["status"] == status]


def show(ws: Workspace, number: str) -> dict:
    """A proposal (DR-…) with its records and decision, or a certificate (DC-…) as certificate.json holds it."""
    with reading(ws) as cat:
        cert = cat.one("SELECT * FROM disposals WHERE certificate=?", number)
        if cert is None:
            return _request(cat, number)
    body = json.loads((ws.root / cert["folder"] / "certificate.json").read_text(encoding="utf-8"))
    return body | {"folder": cert["folder"], "files": [f"{cert['folder']}/certificate.pdf",
                                                       f"{cert['folder']}/certificate.json"]}


# ------------------------------------------------------------------ the proposer's shortcut (qms purge)

def purge(ws: Workspace, *, actor: str, as_of: dt.date | None = None, form: str | None = None,
          dry_run: bool = False, opinion: str | None = None, method: str | None = None,
          witness: str | None = None, progress=None) -> dict:
    """The proposer's shortcut (销毁审批, disposal.py): proposes every due, unheld record for
    destruction. It destroys nothing by itself — another person approves the proposal
    (`qms disposal approve`), and only that destroys and writes the certificate.

    A dry run lists what is due at `as_of`, which may be later than today."""
    as_of = as_of or today()
    if not dry_run:
        not_after_today(as_of)
    with reading(ws) as cat:
        last = recordstate.last_disposal_as_of(cat)
        if last and as_of.isoformat() < last:
            raise InvalidInput(f"--as-of {as_of} is before the earlier purge as of {last}; "
                           "disposal dates only move forward", field="as-of")
        due = [d for d in recordstate.due(cat, as_of, form) if not d["held"]]
    numbers = [d["number"] for d in due]
    if dry_run or not due:
        return {"certificate": None, "proposal": None, "disposed": numbers, "dry_run": dry_run,
                "as_of": as_of.isoformat()}
    res = propose(ws, actor=actor, opinion=opinion or DEFAULT_OPINION, method=method or DEFAULT_METHOD,
                  witness=witness, form=form, as_of=as_of)
    return res.data | {"dry_run": False, "message": res.message}


def dispose(ws: Workspace, *, actor: str, as_of: dt.date | None = None, form: str | None = None,
            dry_run: bool = False, confirm=None, progress=None, opinion: str | None = None,
            method: str | None = None, witness: str | None = None):
    """`qms purge`: the report first, so `confirm(report)` (a person at a terminal) sees the count
    and may decline; then the proposal (nothing is destroyed until another person approves it);
    one line saying what happened, the JSON its details."""
    if not dry_run:
        not_after_today(as_of or today())
    rep = report(ws, as_of=as_of, form=form)
    if not dry_run and confirm is not None and rep["disposable"] and not confirm(rep):
        raise Refused("purge cancelled; nothing changed")
    res = purge(ws, actor=actor, as_of=as_of, form=form, dry_run=dry_run, opinion=opinion, method=method,
                witness=witness)
    if dry_run:
        data = {"certificate": None, "disposed": res["disposed"], "dry_run": True}
        message = (f"dry run: would dispose of {len(res['disposed'])} records: " + ", ".join(res["disposed"][:20])
                   + (" …" if len(res["disposed"]) > 20 else ""))
    elif res.get("proposal"):
        data = {k: res[k] for k in ("proposal", "proposed", "certificate", "disposed", "as_of")} | {"dry_run": False}
        message = res["message"]
    else:
        data = {"proposal": None, "proposed": [], "certificate": None, "disposed": [], "dry_run": False}
        message = res.get("message") or f"nothing to dispose of as of {res['as_of']}"
    return Change(message, data)
