"""Signatures and amendments on a filed record.

- The customer's wet signature: the signed scan, kept byte-for-byte (sign).
- The filer's electronic signature: a `signed_by: filer` field (e.g. 服务工程师) is filled from
  the authenticated user's record, after their password, never typed. The manifestation (field,
  name, login, time in the workspace's time zone) goes into the record's data.yaml (`esign`)
  and its record.file event.
- An amendment: a new version beside the original, with the reason (amend).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalog import reading
from ..dates import now_iso, parse_date, today
from ..search import SCAN_NAME
from ..errors import Conflict, InvalidInput, NotFound
from ..forms import FormSchema, load_form, validate_data
from ..recordstate import record_row
from ..results import Change
from ..workspace import Workspace
from ..writer import writing
from ..yamlsrc import load_archived
from .filing import Filing, customer, retention_until, stage_version
from .inputs import read_data_file

if TYPE_CHECKING:
    from ..identity import User


# ------------------------------------------------------------------ the filer's electronic signature

def filer_fields(form) -> list:
    fields = [f for f in form.fields if f.signed_by == "filer"]
    if not fields:
        raise InvalidInput(f"form {form.id} has no signature field signed by the filer "
                       "(signed_by: filer in its schema); file it without --sign", file=form.path)
    return fields


def sign_as_filer(ws: Workspace, filing, user: User, password) -> None:
    from ..esign import signing_time
    from ..identity.users import authenticate   # only when signing: identity is slow to import
    fields = filer_fields(filing.form)
    for f in fields:
        typed = filing.data.get(f.name)
        if typed not in (None, "", user.name):
            raise InvalidInput(f"{f.label} is the filer's signature, filled from your login ({user.name}); "
                           f"the data says {typed!r}", file=filing.origin, field=f.name)
    authenticate(ws, user.login, password() if callable(password) else password, purpose="sign")
    at = signing_time(ws).isoformat()
    for f in fields:
        filing.data[f.name] = user.name
        filing.esign.append({"field": f.name, "label": f.label, "name": user.name, "login": user.login,
                             "signed_at": at, "meaning": f"{f.label} / signed by the filer"})


# ------------------------------------------------------------------ the customer's signed scan

def sign(ws: Workspace, number: str, *, scan: Path | str, signers: list[tuple[str, str]], actor: str,
         signed_on: str | None = None) -> Change:
    """Attach the signed scan (kept byte-for-byte) with who signed it on paper — one or several
    (name, role), e.g. the customer and the engineer — and the date signed; the record becomes valid."""
    scan = Path(scan)
    signers = [(n.strip(), (r or "").strip()) for n, r in signers if n and n.strip()]
    if not signers:
        raise InvalidInput("the signer's name is needed", field="signer")
    day = parse_date(signed_on, field="signed-on").isoformat() if signed_on else today().isoformat()
    if not scan.is_file():
        raise NotFound("scan not found", file=scan, field="scan")
    from ..pdf import is_pdf
    if not is_pdf(scan):
        raise InvalidInput("the scan is not a PDF; scan the signed form to PDF", file=scan, field="scan")
    with writing(ws, purpose="record sign") as w:
        row = record_row(w.cat, number)
        form = load_form(ws, row["form"])
        if not form.signature_required:
            raise Conflict(f"{number} ({form.title}) needs no customer signature; nothing to sign")
        if row["status"] != "awaiting_signature":
            raise Conflict(f"{number} is already signed (status {row['status']})")
        if day < row["record_date"]:
            raise InvalidInput(f"signed on {day}, before the record date {row['record_date']}", field="signed-on")
        folder = row["folder"]
        st = w.stage()
        sha = st.copy_in(f"{folder}/{SCAN_NAME}", scan)
        st.manifest(folder, now=now_iso())
        (entry,) = w.commit([{"action": "record.sign", "target": number,
                              "data": {"signer": signers[0][0], "role": signers[0][1],
                                       "signers": [{"name": n, "role": r} for n, r in signers], "signed_on": day,
                                       "scan": f"{folder}/{SCAN_NAME}", "sha256": sha, "scan_name": scan.name,
                                       **st.promise(folder)}}], actor=actor)
    who = "、".join(f"{n}{' ' + r if r else ''}" for n, r in signers)
    return Change(f"signed {number}: scan attached ({who}, signed {day}) → filed",
                  {"number": number, "status": "filed", "scan": f"{folder}/{SCAN_NAME}",
                   "signers": [{"name": n, "role": r} for n, r in signers], "signed_on": day}, seq=entry.seq)


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
            import yaml
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise InvalidInput("expected a list of rows, e.g. [{part: 压缩机, qty: 1}]", field=f.name) from None
        current[f.name] = value
    return current


def _same_data(ws: Workspace, row, data: dict) -> bool:
    """The latest version's data, as data.yaml holds it, equals `data` (compared as written)."""
    from ..yamlsrc import dump_yaml
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
        at = now_iso()
        st = w.stage()
        rel = stage_version(ws, st, filing, number, version, actor, at, reason=reason.strip())
        if pdf:
            from ..convert import to_pdf
            to_pdf([st.at(f"{rel}/{number}.docx")])
            st.add(f"{rel}/{number}.pdf")
        st.manifest(rel, now=at)
        (entry,) = w.commit([{"action": "record.amend", "target": number,
                              "data": {"version": version, "reason": reason.strip(), "folder": rel,
                                       "retention_until": retention_until(filing), "customer": customer(filing),
                                       "pdf_pending": not pdf, **st.promise(rel)}}], actor=actor)
    return Change(f"amended {number}: version {version} ({reason.strip()})",
                  {"number": number, "version": version}, seq=entry.seq)

