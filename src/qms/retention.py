"""Retention, legal holds and disposal (ISO 13485 §4.2.5, ISO 15489): what is due, what is
held, and a purge that destroys only what is due and unheld and keeps a certificate of it."""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
from pathlib import Path

from .archive import read_manifest
from .catalog import open_catalog
from .dates import now_iso, today
from .errors import Integrity, QmsError
from .records import record_row
from .workspace import Workspace
from .writer import writing


def _due(cat, as_of: dt.date, form: str | None) -> list[dict]:
    sql = ("SELECT r.number, r.form, r.record_date, r.retention_until, r.folder, r.status, "
           "EXISTS(SELECT 1 FROM holds h WHERE h.number=r.number AND h.released_at IS NULL) AS held "
           "FROM records r WHERE r.retention_until IS NOT NULL AND r.retention_until < ?")
    args: list = [as_of.isoformat()]
    if form:
        sql += " AND r.form=?"
        args.append(form)
    return [dict(r) | {"held": bool(r["held"])} for r in cat.all(sql + " ORDER BY r.form, r.number", *args)]


def report(ws: Workspace, *, as_of: dt.date | None = None, form: str | None = None) -> dict:
    """Records past their retention end at `as_of`, held ones marked, grouped by form."""
    as_of = as_of or today()
    with open_catalog(ws.catalog_path, create=False) as cat:
        due = _due(cat, as_of, form)
    items = [{"number": d["number"], "form": d["form"], "record_date": d["record_date"],
              "retention_until": d["retention_until"], "held": d["held"]} for d in due]
    by_form: dict[str, list[str]] = {}
    for d in items:
        by_form.setdefault(d["form"], []).append(d["number"])
    return {"as_of": as_of.isoformat(), "due": items, "by_form": by_form,
            "disposable": sum(1 for d in items if not d["held"]), "held": sum(1 for d in items if d["held"])}


# ------------------------------------------------------------------ legal holds

def hold_add(ws: Workspace, number: str, *, reason: str, actor: str) -> str:
    if not reason or not reason.strip():
        raise QmsError("a legal hold needs --reason", field="reason")
    with writing(ws, purpose="hold add") as w:
        record_row(w.cat, number)
        if w.cat.one("SELECT 1 FROM holds WHERE number=? AND released_at IS NULL", number):
            raise QmsError(f"{number} is already on hold")
        w.commit([{"action": "hold.add", "target": number, "data": {"reason": reason.strip()}}], actor=actor)
    return f"hold placed on {number}: {reason.strip()}"


def hold_release(ws: Workspace, number: str, *, reason: str, actor: str) -> str:
    if not reason or not reason.strip():
        raise QmsError("releasing a hold needs --reason", field="reason")
    with writing(ws, purpose="hold release") as w:
        record_row(w.cat, number)
        if not w.cat.one("SELECT 1 FROM holds WHERE number=? AND released_at IS NULL", number):
            raise QmsError(f"{number} is not on hold")
        w.commit([{"action": "hold.release", "target": number, "data": {"reason": reason.strip()}}], actor=actor)
    return f"hold released on {number}: {reason.strip()}"


def hold_list(ws: Workspace) -> list[dict]:
    with open_catalog(ws.catalog_path, create=False) as cat:
        return [dict(r) for r in cat.all(
            "SELECT h.number, r.form, h.reason, h.added_at, h.added_by FROM holds h "
            "LEFT JOIN records r ON r.number=h.number WHERE h.released_at IS NULL ORDER BY h.number")]


# ------------------------------------------------------------------ purge

def purge(ws: Workspace, *, actor: str, as_of: dt.date | None = None, form: str | None = None,
          dry_run: bool = False, progress=None) -> dict:
    """Dispose of every due, unheld record; keep a disposal certificate (销毁记录) permanently.

    Two phases: the certificate event, listing every folder to destroy, is logged first; the
    deletion follows it (and recovery finishes it after a crash). What is due comes from the
    journal itself, never from a catalog row someone could have edited."""
    as_of = as_of or today()
    with open_catalog(ws.catalog_path, create=False) as cat:
        last = cat.one("SELECT MAX(as_of) AS d FROM disposals")["d"]
        if last and as_of.isoformat() < last:
            raise QmsError(f"--as-of {as_of} is before the earlier purge as of {last}; "
                           "disposal dates only move forward", field="as-of")
        due = [d for d in _due(cat, as_of, form) if not d["held"]]
    numbers = [d["number"] for d in due]
    if dry_run or not due:
        return {"certificate": None, "disposed": numbers, "dry_run": dry_run, "as_of": as_of.isoformat()}

    with writing(ws, purpose="purge") as w:
        # Under the lock, from a replay of the log: a hold, signature or amendment made since the
        # read above counts, and an edited catalog row cannot make a record due early.
        due = _due_from_journal(ws, w.cat, as_of, form)
        numbers = [d["number"] for d in due]
        if not due:
            return {"certificate": None, "disposed": [], "dry_run": False, "as_of": as_of.isoformat()}
        destroyed = [{"number": d["number"], "form": d["form"], "record_date": d["record_date"],
                      "retention_until": d["retention_until"], "folder": posixpath.dirname(d["folder"]),
                      "files": _manifested_files(ws, posixpath.dirname(d["folder"]))} for d in due]
        at = now_iso()
        seq = w.next_seq(f"DISPOSAL:{as_of.year}")
        cert = f"DC-{as_of.year}-{seq:04d}"
        rel = ws.rel(ws.archive_dir / "disposals" / cert)
        body = {"certificate": cert, "title": "记录销毁证明 / Records disposal certificate",
                "organisation": ws.config.org_name, "as_of": as_of.isoformat(), "disposed_at": at,
                "authorised_by": actor, "form_filter": form, "count": len(destroyed), "records": destroyed}
        st = w.stage()
        st.folder(rel)
        cert_sha = st.write(f"{rel}/certificate.json", _certificate_json(body))
        _certificate_pdf(ws, body, cert_sha, st.at(f"{rel}/certificate.pdf"))
        st.add(f"{rel}/certificate.pdf")
        st.manifest(rel, now=at)
        record_dirs = [d["folder"] for d in destroyed]
        w.commit([{"action": "purge", "target": cert,
                   "data": {"as_of": as_of.isoformat(), "form": form, "folder": rel, "disposed": numbers,
                            "certificate_sha256": cert_sha, "sequence": f"DISPOSAL:{as_of.year}", "seq": seq,
                            "records": [{k: d[k] for k in ("number", "form", "record_date", "retention_until",
                                                           "folder")} for d in destroyed],
                            "destroy": record_dirs, **st.promise(rel)}}], actor=actor)
        if progress:
            progress(len(record_dirs))
    return {"certificate": cert, "disposed": numbers, "dry_run": False, "as_of": as_of.isoformat(),
            "file": f"{rel}/certificate.pdf"}


def _due_from_journal(ws: Workspace, live, as_of: dt.date, form: str | None) -> list[dict]:
    """What is due according to a replay of the journal; refuses when the live catalog says
    otherwise (someone edited it: verify names the rows)."""
    from .rebuild import replay_in_memory
    with replay_in_memory(ws) as truth:
        due = [d for d in _due(truth, as_of, form) if not d["held"]]
    live_due = [d["number"] for d in _due(live, as_of, form) if not d["held"]]
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
    from .pdf import make_register_pdf
    by_form: dict[str, int] = {}
    for d in body["records"]:
        by_form[d["form"]] = by_form.get(d["form"], 0) + 1
    rows = ([i, d["number"], d["form"], d["record_date"], d["retention_until"], len(d["files"])]
            for i, d in enumerate(body["records"], 1))
    make_register_pdf(
        out, f"记录销毁证明  {body['certificate']}",
        [ws.config.org_name,
         f"保存期限届满（早于 {body['as_of']}）且未被冻结的记录 / records past retention as of {body['as_of']}, not on hold",
         f"销毁时间 / disposed at {body['disposed_at']}    批准人 / authorised by {body['authorised_by']}",
         f"共 {body['count']} 份记录 / records: " + "，".join(f"{k} {v}" for k, v in sorted(by_form.items())),
         f"每个被销毁文件的 SHA-256 见 certificate.json（SHA-256 {json_sha}）"],
        [("序号", 8), ("记录编号", 30), ("表单", 16), ("记录日期", 12), ("保存期至", 12), ("文件数", 6)],
        rows,
        ["本证明永久保存。This certificate is kept permanently.", "批准人签字：", "监销人签字："])


def disposal_list(ws: Workspace) -> list[dict]:
    with open_catalog(ws.catalog_path, create=False) as cat:
        return [dict(r) for r in cat.all("SELECT certificate, at, as_of, actor, count, folder FROM disposals "
                                         "ORDER BY at")]


# ------------------------------------------------------------------ yearly volume

def compile_volume(ws: Workspace, *, form: str, year: int, out: Path | str, actor: str, progress=None) -> dict:
    """每年汇编成册: cover + contents, then each record's PDF (its signed scan after it),
    in number order, one bookmark per record."""
    from .forms import load_form
    from .records import SCAN_NAME, convert_pending
    the_form = load_form(ws, form)
    from . import outputs
    out = outputs.check(ws, out, (".pdf",))
    # Number order: a monthly pattern ({month}) restarts its sequence every month.
    order = "substr(record_date, 6, 2), seq, number" if "{month" in the_form.numbering else "seq, number"
    with open_catalog(ws.catalog_path, create=False) as cat:
        rows = [dict(r) for r in cat.all("SELECT number, record_date, status, folder, customer, pdf_pending "
                                         f"FROM records WHERE form=? AND year=? ORDER BY {order}", form, int(year))]
        versions = {r["number"]: [v["folder"] for v in cat.all(
            "SELECT folder FROM record_versions WHERE number=? ORDER BY version", r["number"])] for r in rows}
    if not rows:
        raise QmsError(f"no records of {form} ({the_form.title}) in {year}", field="year")
    pending = [r["number"] for r in rows if r["pdf_pending"]]
    if pending:
        from .records import PdfPending
        try:
            convert_pending(ws, actor=actor, numbers=pending)
        except PdfPending as exc:    # no volume without every record's PDF: a plain refusal (exit 1)
            raise QmsError(f"cannot compile {form} {year}: {exc.message}") from None
    import tempfile
    from .labels import status_label
    from .pdf import make_table_pdf, merge_with_bookmarks, read_pdf
    from .volume import number_pages
    loc = ws.config.locale
    # the contents' 4th column: 用户单位, or for a form without one (领料单) its first required field
    who = the_form.field("customer") or next(
        (f for f in the_form.fields if f.required and f.type in ("text", "choice")), None)
    who_label = who.label if who else "用户单位"

    def who_value(r) -> str:
        if who is None:
            return ""
        if who.name == "customer" and r["customer"]:
            return r["customer"]
        from .yamlsrc import load_yaml
        return str((load_yaml(ws.root / r["folder"] / "data.yaml").data.get("data") or {}).get(who.name) or "")
    parts, contents, page = [], [], 0
    unsigned = 0
    for i, r in enumerate(rows, 1):
        folder = ws.root / r["folder"]
        items: list = [folder / f"{r['number']}.pdf"]
        scans = [ws.root / v / SCAN_NAME for v in versions[r["number"]] if (ws.root / v / SCAN_NAME).exists()]
        items += [(f"{r['number']} 签字扫描件", s) for s in scans]
        waiting = r["status"] == "awaiting_signature"
        unsigned += waiting
        mark = "（未经用户签字）" if waiting else ""
        party = who_value(r)
        parts.append((f"{r['number']}  {party}{mark}".strip(), items))
        first = page
        page += sum(len(read_pdf(p if not isinstance(p, tuple) else p[1]).pages) for p in items)
        contents.append([str(i), r["number"], r["record_date"], party,
                         status_label(r["status"], loc) + ("※" if waiting else ""), first])
    with tempfile.TemporaryDirectory(prefix="qms-volume-") as tmp:
        cover = Path(tmp) / "cover.pdf"
        subtitle = [ws.config.org_name, f"表单 {the_form.id}　　依据程序文件 {the_form.procedure or '-'}",
                    f"共 {len(rows)} 份记录　　汇编日期 {today().isoformat()}　　汇编人 {actor}"]
        note = ["目录：每份记录在 PDF 书签中各有一条，页码为本册页码。"]
        if unsigned:
            note.append(f"※ 其中 {unsigned} 份记录尚未经用户签字（状态：待用户签字），按规定尚不生效。")

        def build_cover(offset: int) -> int:
            make_table_pdf(cover, f"{the_form.title}　{year}年度汇编", subtitle,
                           ["序号", "记录编号", "记录日期", who_label, "状态", "页码"],
                           [c[:5] + [str(c[5] + offset + 1)] for c in contents], note,
                           col_widths=[0.6, 2.6, 1.3, 3.0, 1.5, 0.7], numbered=False)
            return len(read_pdf(cover).pages)
        # the contents' page numbers count the cover's own pages: build until they agree
        n_cover = build_cover(1)
        if build_cover(n_cover) != n_cover:
            n_cover = build_cover(n_cover + 1)
        built = Path(tmp) / "volume.pdf"
        merge_with_bookmarks(parts, built, front=[cover], title=f"{the_form.title} {year}", progress=progress)
        pages = number_pages(built)
        outputs.install(ws, built, out, (".pdf",))
    with writing(ws, purpose="compile") as w:
        w.commit([{"action": "record.compile", "target": form,
                   "data": {"year": int(year), "records": len(rows), "pages": pages, "output": str(out)}}],
                 actor=actor)
    return {"form": form, "year": int(year), "records": len(rows), "pages": pages, "file": str(out)}


# ------------------------------------------------------------------ purge, for an interface

def dispose(ws: Workspace, *, actor: str, as_of: dt.date | None = None, form: str | None = None,
            dry_run: bool = False, confirm=None, progress=None):
    """`qms purge`: the report first, so `confirm(report)` (a person at a terminal) sees the count
    and may decline; then purge; one line saying what happened, the JSON its details.

    `progress(done, total)` counts disposed records against the report's count."""
    from .errors import Refused
    from .results import Change
    rep = report(ws, as_of=as_of, form=form)
    if not dry_run and confirm is not None and rep["disposable"] and not confirm(rep):
        raise Refused("purge cancelled; nothing changed")
    total = 0 if dry_run else rep["disposable"]
    res = purge(ws, actor=actor, as_of=as_of, form=form, dry_run=dry_run,
                progress=(lambda done: progress(done, total)) if progress else None)
    data = {"certificate": res["certificate"], "disposed": res["disposed"], "dry_run": dry_run}
    if dry_run:
        message = (f"dry run: would dispose of {len(res['disposed'])} records: " + ", ".join(res["disposed"][:20])
                   + (" …" if len(res["disposed"]) > 20 else ""))
    elif res["certificate"]:
        message = f"disposed of {len(res['disposed'])} records; certificate {res['certificate']} → {res['file']}"
    else:
        message = f"nothing to dispose of as of {res['as_of']}"
    return Change(message, data, files=[res["file"]] if res.get("file") else [])
