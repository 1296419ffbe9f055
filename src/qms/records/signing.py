"""Signatures and amendments on a filed record.

- The customer's wet signature: the signed scan, kept byte-for-byte (a phone photo is put on a
  PDF page first: scans.py), filed into the version it signed (sign).
- The filer's electronic signature: a `signed_by: filer` field (e.g. 服务工程师) is filled from
  the authenticated user's record, after their password, never typed. The manifestation (field,
  name, login, time in the workspace's time zone) goes into the record's data.yaml (`esign`)
  and its record.file event.
- An amendment: a new version beside the original, with the reason (amend). A signature covers
  the version it was given for: an amended record that needs the customer's signature waits for it
  again, and the new version's form says which version the earlier signatures cover.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..store.catalog import reading
from ..base.dates import cn_date, now_iso, parse_date, today
from ..domain.recordstate import SCAN_NAME, record_row
from ..base.errors import Conflict, InvalidInput, NotFound
from ..domain.forms import FormSchema, load_form, validate_data
from ..papercode import stamp_record
from ..domain.results import Change
from ..store.workspace import Workspace
from ..store.writer import writing
from ..base.yaml_source import load_archived, dump_yaml
from .fieldvalues import scalar_fields
from .filing import Filing, customer, retention_until, stage_version
from .filer_signature import filer_fields
from .inputs import read_data_file
from .scans import scan_as_pdf
from ..domain.labels import chinese, status_label
from ..adapters.convert import to_pdf
from ..domain import recordstate
from .record_views import signature_list
from .record_context import signed_when
import yaml
from ..jobs.queue import queued_event
from ..adapters.pdf import pdf_text

if TYPE_CHECKING:
    from ..identity import User


# ------------------------------------------------------------------ the customer's signed scan

def sign(ws: Workspace, number: str, *, scan: Path | str, signers: list[tuple[str, str]], actor: str,
         signed_on: str | None = None, scan_name: str | None = None) -> Change:
    """Attach the signed scan (a PDF kept byte-for-byte, or a phone photo put on a PDF page) with
    who signed it on paper — one or several (name, role), e.g. the customer and the engineer — and
    the date signed; the current version becomes valid. `scan_name`: the name the user knows the
    file by (an upload's), for messages and the journal."""
    scan = Path(scan)
    signers = [(n.strip(), (r or "").strip()) for n, r in signers if n and n.strip()]
    if not signers:
        raise InvalidInput("the signer's name is needed", field="signer")
    day = parse_date(signed_on, field="signed-on").isoformat() if signed_on else today().isoformat()
    if not scan.is_file():
        raise NotFound("scan not found", file=scan_name or scan, field="scan")
    with tempfile.TemporaryDirectory(prefix="qms-scan-") as tmp:
        pdf = scan_as_pdf(scan, Path(tmp), shown=scan_name)       # a phone photo becomes a one-page PDF
        with writing(ws, purpose="record sign") as w:
            row = record_row(w.cat, number)
            form = load_form(ws, row["form"])
            if not form.signature_required:
                raise Conflict(f"{number} ({form.title}) needs no customer signature; nothing to sign")
            if row["status"] != "awaiting_signature":
                raise Conflict(f"{number} is already signed (status {row['status']})")
            if day < row["record_date"]:
                raise InvalidInput(f"signed on {day}, before the record date {row['record_date']}", field="signed-on")
            folder, version = row["folder"], row["version"]
            st = w.stage()
            # the scan goes into the current version's folder: it covers that version only
            sha = st.copy_in(f"{folder}/{SCAN_NAME}", pdf)
            st.manifest(folder, now=now_iso())
            (entry, *_) = w.commit([{"action": "record.sign", "target": number,
                                     "data": {"signer": signers[0][0], "role": signers[0][1],
                                              "signers": [{"name": n, "role": r} for n, r in signers],
                                              "signed_on": day, "version": version, "scan": f"{folder}/{SCAN_NAME}",
                                              "sha256": sha, "scan_name": scan_name or scan.name,
                                              **st.promise(folder)}}] + _ocr_job(pdf, number, version, folder),
                                   actor=actor)
    who = "、".join(f"{n}{' ' + r if r else ''}" for n, r in signers)
    return Change(f"signed {number}: scan attached ({who}, signed {day}) → filed"
                  + (f" (version {version})" if version > 1 else ""),
                  {"number": number, "status": "filed", "scan": f"{folder}/{SCAN_NAME}", "version": version,
                   "signers": [{"name": n, "role": r} for n, r in signers], "signed_on": day}, seq=entry.seq)


def _ocr_job(pdf: Path, number: str, version: int, folder: str) -> list[dict]:
    """A scan with no text layer (a photo, an image-only scan) is OCR'd in the background for search
    (issue 22): the job is queued in the same batch as the signature, so it is never lost."""
    try:
        if pdf_text(pdf).strip():
            return []
    except Exception:       # unreadable text layer: OCR may still read the page images
        pass
    return [queued_event(f"ocr:{number}:v{version}", "ocr", number, {"scan": f"{folder}/{SCAN_NAME}"})]


# ------------------------------------------------------------------ amending

def _apply_sets(ws: Workspace, form: FormSchema, row, sets: list[str]) -> dict:
    """The record's latest data with `field=value` changes (a field's name or label; an empty
    value clears it; a table field takes a YAML/JSON list of rows)."""
    current = dict((load_archived(ws.root / row["folder"] / "data.yaml") or {}).get("data", {}))
    by_label = {f.label: f for f in form.fields}
    for item in sets:
        key, eq, value = item.partition("=")
        f = form.field(key.strip()) or by_label.get(key.strip())
        if not eq or f is None:
            names = ", ".join(x.name for x in form.fields)
            raise InvalidInput(f"expected --set FIELD=VALUE with a field of {form.id}: {names}", field=key.strip() or "set")
        if f.type == "table" and value.strip():
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise InvalidInput("expected a list of rows, e.g. [{part: 压缩机, qty: 1}]", field=f.name) from None
        current[f.name] = value
    return current


def _same_data(ws: Workspace, row, data: dict) -> bool:
    """The latest version's data, as data.yaml holds it, equals `data` (compared as written)."""
    current = (load_archived(ws.root / row["folder"] / "data.yaml") or {}).get("data", {})
    return dump_yaml(current) == dump_yaml(data)


def amend(ws: Workspace, number: str, data_file: Path | str | None = None, *, reason: str, actor: str,
          pdf: bool = True, sets: list[str] | None = None) -> Change:
    """A new version beside the original, with the reason and who made it; the original stays.
    The new data is a whole file (--data), or the latest version with some fields changed (--set)."""
    if not reason or not reason.strip():
        raise InvalidInput("an amendment needs --reason", field="reason")
    if bool(data_file) == bool(sets):
        raise InvalidInput("give either --data FILE (the whole record) or --set FIELD=VALUE (what changed)",
                       field="data")
    with reading(ws) as cat:
        row = record_row(cat, number)
    form = load_form(ws, row["form"])
    if sets:
        path = Path(f"--set {' '.join(sets)}")
        data = validate_data(form, _apply_sets(ws, form, row, sets), file="--set")
    else:
        path = Path(data_file)
        raw, src = read_data_file(path)
        data = validate_data(form, raw, file=path, src=src)
    filing = Filing(form=form, data=data, record_date=dt.date.fromisoformat(row["record_date"]), origin=str(path))
    with writing(ws, purpose="record amend") as w:
        row = record_row(w.cat, number)
        if _same_data(ws, row, filing.data):
            # a re-run after a crash (or a second click) must not make v3 identical to v2
            raise Conflict(f"{number}: the amendment changes nothing (the data equals version {row['version']}); "
                           "nothing was filed")
        version = row["version"] + 1
        before = _earlier_signatures(ws, w.cat, number)
        # the customer's signature covers the version they saw: an amended record waits for it again
        status = "awaiting_signature" if form.signature_required else None
        at = now_iso()
        st = w.stage()
        rel = stage_version(ws, st, filing, number, version, actor, at, reason=reason.strip(),
                            history=_history(ws, version, reason.strip(), before, awaiting=status is not None))
        if pdf:
            to_pdf([st.at(f"{rel}/{number}.docx")])
            stamp_record(ws, st.at(f"{rel}/{number}.pdf"), number, version)   # the QR the scan inbox reads
            st.add(f"{rel}/{number}.pdf", synced=True)     # (the stamp wrote it with an fsync)
        st.manifest(rel, now=at)
        (entry,) = w.commit([{"action": "record.amend", "target": number,
                              "data": {"version": version, "reason": reason.strip(), "folder": rel,
                                       "retention_until": retention_until(filing), "customer": customer(filing),
                                       "pdf_pending": not pdf, **({"status": status} if status else {}),
                                       "fields": scalar_fields(form, data),
                                       **st.promise(rel)}}], actor=actor)
    message = f"amended {number}: version {version} ({reason.strip()})"
    scanned = sorted({s["version"] for s in before if s["kind"] == "scan"})
    if status:
        message += f" → {status_label(status, ws.config.locale)}"
        if scanned:
            message += (f"; the customer's signature covers version {scanned[-1]} only — "
                        f"attach the scan signed for version {version} (qms record sign)")
    return Change(message, {"number": number, "version": version, "status": status or row["status"],
                            "signed_version": scanned[-1] if scanned else None}, seq=entry.seq)


def _earlier_signatures(ws: Workspace, cat, number: str) -> list[dict]:
    docs = {v["version"]: load_archived(ws.root / v["folder"] / "data.yaml") or {}
            for v in recordstate.versions(cat, number)}
    return signature_list(ws, cat, number, docs)


def _history(ws: Workspace, version: int, reason: str, before: list[dict], *,
             awaiting: bool) -> str:
    """The line an amended version's form prints under its note: which version the earlier
    signatures cover, and that this one is valid once the customer signs it (true before and after
    they do: the PDF is written once) — so a printed v2 never stands beside a signature given for
    v1 without saying so. Empty when nothing was signed before."""
    if not before:
        return ""
    zh = chinese(ws.config.locale)
    parts = []
    for v in sorted({s["version"] for s in before if s["version"]}):
        who = []
        for s in (x for x in before if x["version"] == v):
            if s["kind"] == "electronic":
                who.append(f"{s['role']} {s['name']} " + ("电子签名 " if zh else "e-signed ") + signed_when(ws, s["at"]))
            elif zh:
                who.append(f"{s['name']}{'（' + s['role'] + '）' if s['role'] else ''}签字 "
                           f"{cn_date(s['signed_on'], ws.config.locale)}")
            else:
                who.append(f"{s['name']}{' (' + s['role'] + ')' if s['role'] else ''} signed on paper {s['signed_on']}")
        parts.append(f"第{v}版的签字：" + "，".join(who) if zh else f"Signed for version {v}: " + ", ".join(who))
    if zh:
        return (f"本记录为第{version}版（修改原因：{reason}）。" + "；".join(parts) + "。以上签字仅对所签版本有效"
                + (f"，第{version}版须经用户重新签字后方为有效。" if awaiting else "。"))
    return (f"This is version {version} (amended: {reason}). " + "; ".join(parts)
            + ". Each signature covers only the version it was given for"
            + (f"; version {version} is valid once the customer signs it again." if awaiting else "."))
