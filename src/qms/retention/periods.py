"""Retention, legal holds and disposal (ISO 13485 §4.2.5, ISO 15489): what is due, what is
held, and a purge that destroys only what is due and unheld and keeps a certificate of it."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from ..base.paging import Page, bounds
from ..domain import recordstate
from ..store.archive import read_manifest
from ..store.catalog import reading
from ..base.dates import local_time, today
from ..base.errors import Conflict, Integrity, InvalidInput, Refused
from ..domain.recordstate import record_row
from ..store.workspace import Workspace
from ..store.writer import writing
from ..domain.forms import load_forms_quietly
from ..store.replay import replay_in_memory
from ..adapters.pdf import make_register_pdf
from ..domain.results import Change


def report(ws: Workspace, *, as_of: dt.date | None = None, form: str | None = None) -> dict:
    """Records past their retention end at `as_of`, held ones marked, grouped by form."""
    as_of = as_of or today()
    with reading(ws) as cat:
        due = recordstate.due(cat, as_of, form)
    items = [{"number": d["number"], "form": d["form"], "record_date": d["record_date"],
              "retention_until": d["retention_until"], "held": d["held"]} for d in due]
    by_form: dict[str, list[str]] = {}
    for d in items:
        by_form.setdefault(d["form"], []).append(d["number"])
    return {"as_of": as_of.isoformat(), "due": items, "by_form": by_form, "rules": _rules(ws, by_form),
            "disposable": sum(1 for d in items if not d["held"]), "held": sum(1 for d in items if d["held"])}


def _rules(ws: Workspace, form_ids) -> dict[str, str]:
    """Each due form's retention rule as a person reads it (自记录当年年末起5年 in a zh-CN workspace)."""
    if not form_ids:
        return {}
    forms = load_forms_quietly(ws)
    return {fid: forms[fid].retention.reads(ws.config.locale, forms[fid]) for fid in form_ids if fid in forms}


# ------------------------------------------------------------------ legal holds

def hold_add(ws: Workspace, number: str, *, reason: str, actor: str) -> str:
    if not reason or not reason.strip():
        raise InvalidInput("a legal hold needs --reason", field="reason")
    with writing(ws, purpose="hold add") as w:
        record_row(w.cat, number)
        if recordstate.open_hold(w.cat, number):
            raise Conflict(f"{number} is already on hold")
        w.commit([{"action": "hold.add", "target": number, "data": {"reason": reason.strip()}}], actor=actor)
    return f"hold placed on {number}: {reason.strip()}"


def hold_release(ws: Workspace, number: str, *, reason: str, actor: str) -> str:
    if not reason or not reason.strip():
        raise InvalidInput("releasing a hold needs --reason", field="reason")
    with writing(ws, purpose="hold release") as w:
        record_row(w.cat, number)
        if not recordstate.open_hold(w.cat, number):
            raise Conflict(f"{number} is not on hold")
        w.commit([{"action": "hold.release", "target": number, "data": {"reason": reason.strip()}}], actor=actor)
    return f"hold released on {number}: {reason.strip()}"


def hold_list(ws: Workspace) -> list[dict]:
    with reading(ws) as cat:
        return recordstate.holds(cat)


# ------------------------------------------------------------------ purge

def not_after_today(as_of: dt.date) -> dt.date:
    """Anything that destroys is dated today or earlier: a later --as-of would destroy records
    years before their retention ends (reports and dry runs may look ahead)."""
    if as_of > today():
        raise InvalidInput(f"--as-of {as_of} is after today ({today()}): nothing is destroyed before its "
                           "retention ends; a report or --dry-run may look ahead", field="as-of")
    return as_of


def certificate_files(ws: Workspace, w, rel: str, body: dict, at: str):
    """Stage the certificate (JSON with the SHA-256 of every file to destroy, and its PDF) under
    `rel`; (stage, the JSON's SHA-256). The purge event that follows promises them."""
    for r in body["records"]:
        r["files"] = _manifested_files(ws, r["folder"])
    st = w.stage()
    st.folder(rel)
    cert_sha = st.write(f"{rel}/certificate.json", _certificate_json(body))
    _certificate_pdf(ws, body, cert_sha, st.at(f"{rel}/certificate.pdf"))
    st.add(f"{rel}/certificate.pdf")
    st.manifest(rel, now=at)
    return st, cert_sha


def due_from_journal(ws: Workspace, live, as_of: dt.date, form: str | None) -> list[dict]:
    """What is due according to a replay of the journal; refuses when the live catalog says
    otherwise (someone edited it: verify names the rows)."""
    with replay_in_memory(ws) as truth:
        due = [d for d in recordstate.due(truth, as_of, form) if not d["held"]]
    live_due = [d["number"] for d in recordstate.due(live, as_of, form) if not d["held"]]
    if sorted(live_due) != sorted(d["number"] for d in due):
        odd = sorted(set(live_due) ^ {d["number"] for d in due})
        raise Integrity(f"the catalog disagrees with the journal about what is due ({', '.join(odd[:3])}"
                        f"{' …' if len(odd) > 3 else ''}); nothing was disposed — run qms verify",
                        file=ws.rel(ws.catalog_path))
    return due


def _manifested_files(ws: Workspace, record_folder: str) -> list[dict]:
    """Every file of every version of a record, with the SHA-256 its manifest holds."""
    top = os.path.join(ws.root, record_folder)
    files = []
    for version in sorted(v for v in os.listdir(top) if os.path.isdir(os.path.join(top, v))):
        for name, entry in sorted(read_manifest(Path(top, version)).files.items()):
            files.append({"file": f"{version}/{name}", "sha256": entry["sha256"], "size": entry.get("size")})
    return files


def _certificate_json(body: dict) -> bytes:
    """One destroyed record per line: readable, and json's C encoder (indent=None) does the work."""
    head = {k: v for k, v in body.items() if k != "records"}
    lines = [json.dumps(r, ensure_ascii=False) for r in body["records"]]
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "records": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"
    return text.encode("utf-8")


def _certificate_pdf(ws: Workspace, body: dict, json_sha: str, out: Path) -> None:
    """The printable certificate: who, when, why, and one line per destroyed record.
    The SHA-256 of every destroyed file is in certificate.json, whose own hash is printed here."""
    by_form: dict[str, int] = {}
    for d in body["records"]:
        by_form[d["form"]] = by_form.get(d["form"], 0) + 1
    rows = ([i, d["number"], d["form"], d["record_date"], d["retention_until"], len(d["files"])]
            for i, d in enumerate(body["records"], 1))
    appr = body.get("approval") or {}
    head = [ws.config.org_name,
            f"保存期限届满（截至 {body['as_of']}）且未被冻结的记录 / records past retention as of {body['as_of']}, not on hold",
            f"销毁审批单 / proposal {body.get('proposal') or '—'}    提出人 / proposed by {body.get('proposed_by') or '—'}"
            f"  {local_time(body.get('proposed_at'), ws, chinese=True) if body.get('proposed_at') else ''}",
            f"批准人 / approved by {body['authorised_by']}  "
            f"{local_time(appr['signed_at'], ws, chinese=True) if appr.get('signed_at') else ''}    "
            f"监销人 / witness {body.get('witness') or '—'}",
            f"鉴定意见 / opinion: {body.get('opinion') or '—'}",
            f"销毁方式 / method: {body.get('method') or '—'}    销毁时间 / disposed at {local_time(body['disposed_at'], ws, chinese=True)}",
            f"共 {body['count']} 份记录 / records: " + "，".join(f"{k} {v}" for k, v in sorted(by_form.items()))]
    if body.get("left_out"):
        head.append("未销毁（审批后状态已变）/ left out: "
                    + "；".join(f"{x['number']} {x['reason']}" for x in body["left_out"]))
    head.append(f"每个被销毁文件的 SHA-256 见 certificate.json（SHA-256 {json_sha}）")
    make_register_pdf(
        out, f"记录销毁证明  {body['certificate']}", head,
        [("序号", 8), ("记录编号", 30), ("表单", 16), ("记录日期", 12), ("保存期至", 12), ("文件数", 6)],
        rows,
        ["本证明永久保存。This certificate is kept permanently.",
         f"提出人签字：{body.get('proposed_by') or ''}", f"批准人签字：{body['authorised_by']}",
         f"监销人签字：{body.get('witness') or ''}"])


def disposal_list(ws: Workspace) -> list[dict]:
    with reading(ws) as cat:
        return recordstate.disposals(cat)


def disposal_page(ws: Workspace, *, limit: int | None = None, offset: int | None = None) -> Page:
    """One page of the disposal certificates (销毁证明), newest first, counted and cut in SQL."""
    limit, offset = bounds(limit, offset)
    with reading(ws) as cat:
        total, items = recordstate.disposals_page(cat, limit, offset)
    return Page(total, items, offset, limit)
