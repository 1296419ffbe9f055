"""Controlled copies (发放/回收) and the stamped reading copies beside a master PDF:
受控副本 No.N for a holder, 已替代 when superseded, 作废 when withdrawn."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from ..domain import docstate
from ..store.catalog import reading
from ..base.dates import cn_date, now_iso, today
from ..base.errors import Conflict, InvalidInput, NotFound
from ..domain.results import Change
from ..domain.revisions import folder_name, safe_name
from ..store.workspace import Workspace
from ..store.writer import writing
from .procedure_context import released_context, render_docx
from .receipts import resolve_holder
from ..adapters.stamp import stamp_pdf
from ..adapters.convert import to_pdf


def stamp_obsolete(ws: Workspace, st, rev) -> str | None:
    """A reading copy stamped 作废 beside the original PDF (which stays untouched)."""
    if not rev["pdf"]:
        return None
    name = f"{Path(rev['pdf']).stem}_作废.pdf"
    stamp_pdf(ws.root / rev["folder"] / rev["pdf"], st.at(f"{rev['folder']}/{name}"), "作废 OBSOLETE",
              style="obsolete")
    st.add(f"{rev['folder']}/{name}")
    return name


def superseded_name(rev) -> str:
    return f"{Path(rev['pdf']).stem}_已替代.pdf"


def stamp_superseded(ws: Workspace, st, rev, effective: dt.date) -> dict:
    """The master of the revision a new one replaces gets a reading copy stamped 已替代 with the
    date it stops being valid (the original PDF stays as released); `show` finds it in the folder."""
    name = superseded_name(rev)
    if (ws.root / rev["folder"] / name).exists():
        return {}
    stamp_pdf(ws.root / rev["folder"] / rev["pdf"], st.at(f"{rev['folder']}/{name}"),
              f"已替代 SUPERSEDED\n{cn_date(effective, ws.config.locale)}起", style="obsolete")
    st.add(f"{rev['folder']}/{name}")
    return {"superseded": {"revision": rev["revision"], "file": name}}


def issue_copy(ws: Workspace, number: str, *, holder: str, actor: str, responsible: str | None = None) -> Change:
    """The next distribution number (发放编号) for NUMBER and a PDF stamped 受控副本 No.N.

    The holder is a person (their login) who signs 签收 and 回收, or a department with a
    `responsible` person who signs for it; other text is a holder without a login (a keeper
    records the paper's return)."""
    if not holder or not holder.strip():
        raise InvalidInput("a controlled copy needs --holder", field="holder")
    holder_fields = resolve_holder(ws, holder.strip(), responsible)
    holder = holder_fields.pop("holder")
    with writing(ws, purpose="doc issue-copy") as w:
        cat = w.cat
        _, revs, statuses, rev = docstate.current(ws, cat, number, today())
        # a release dated later (待发布) is distributed before its 发布 date, so holders have it on the day
        waiting = [r for r in revs if statuses[r["revision"]] == "pending_release"]
        rev = waiting[-1] if waiting else rev
        if statuses[rev["revision"]] not in ("effective", "released", "pending_release"):
            raise Conflict(f"{number} has no released revision to copy (current {rev['revision']} is "
                           f"{statuses[rev['revision']]})")
        if not rev["pdf"]:
            raise Conflict(f"{number} {rev['revision']} has no PDF (released with --no-pdf)")
        copy_no = docstate.last_copy_no(cat, number) + 1
        folder = rev["folder"]
        name = f"copies/{safe_name(number)}_{folder_name(rev['revision'])}_copy-{copy_no:03d}.pdf"
        on = today()
        st = w.stage()
        # the copy is the released revision rendered again with its 发放编号 on the cover, then
        # stamped; the master PDF stays as released
        ctx = released_context(ws, cat, number, rev)
        ctx["copy_no"] = f"{copy_no:03d}"
        tmp = Path(tempfile.mkdtemp(prefix="copy-"))     # inside the command's private temp folder
        docx = render_docx(ws, ctx, tmp / "copy-master.docx")
        (pdf,) = to_pdf([docx])
        stamp_pdf(pdf, st.at(f"{folder}/{name}"),
                  f"受控副本 No.{copy_no}\n{holder.strip()}\n发放日期 {cn_date(on, ws.config.locale)}", style="copy")
        st.add(f"{folder}/{name}")
        st.manifest(folder, now=now_iso())
        (entry,) = w.commit([{"action": "doc.issue_copy", "target": number,
                   "data": {"copy_no": copy_no, "revision": rev["revision"], "holder": holder.strip(), **holder_fields,
                            "file": f"{folder}/{name}", **st.promise(folder)}}], actor=actor)
    return Change(f"issued controlled copy No.{copy_no} of {number} {rev['revision']} to {holder.strip()} → "
                  f"{folder}/{name}",
                  {"copy_no": copy_no, "holder": holder.strip(), "revision": rev["revision"],
                   "file": f"{folder}/{name}"}, seq=entry.seq)


def copies(ws: Workspace, number: str, *, outstanding: bool = False, as_of: dt.date | None = None) -> list[dict]:
    """Controlled copies of NUMBER; copies of a revision no longer current are flagged for recall."""
    as_of = as_of or today()
    with reading(ws) as cat:
        doc = docstate.doc_row(cat, number)
        revs = docstate.revisions(cat, number)
        _, statuses = docstate.status_map(ws, cat, doc, revs, as_of)
        rows = docstate.copy_rows(cat, number)
    out = []
    for r in rows:
        status = statuses.get(r["revision"], "")
        item = {"copy_no": r["copy_no"], "holder": r["holder"], "revision": r["revision"],
                "holder_login": r["holder_login"], "holder_department": r["holder_department"],
                "received_at": r["received_at"], "received_by": r["received_by"],
                "returned_at": r["returned_at"], "returned_by": r["returned_by"], "return_reason": r["return_reason"],
                "revision_status": status, "issued_at": r["issued_at"], "recalled": r["recalled_at"] is not None,
                "recalled_at": r["recalled_at"], "file": r["file"],
                "to_recall": r["recalled_at"] is None and status in ("superseded", "obsolete")}
        if not outstanding or not item["recalled"]:
            out.append(item)
    return out


def recall(ws: Workspace, number: str, *, copy_no: int, actor: str) -> Change:
    with writing(ws, purpose="doc recall") as w:
        docstate.doc_row(w.cat, number)
        row = docstate.copy_row(w.cat, number, copy_no)
        if row is None:
            raise NotFound(f"{number} has no controlled copy No.{copy_no}", field="copy")
        if row["recalled_at"]:
            raise Conflict(f"copy No.{copy_no} of {number} was already recalled on {row['recalled_at'][:10]}")
        (entry,) = w.commit([{"action": "doc.recall", "target": number,
                              "data": {"copy_no": copy_no, "revision": row["revision"], "holder": row["holder"]}}],
                            actor=actor)
    return Change(f"recalled controlled copy No.{copy_no} of {number} {row['revision']} from {row['holder']}",
                  {"copy_no": copy_no, "recalled_at": entry.at}, seq=entry.seq)
