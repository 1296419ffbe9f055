"""Filing: validate, number, render and stage records, log them in one batch; and CSV/XLSX import.

Numbers are assigned inside the catalog transaction that files the record, so a
failure at any step leaves no gap and no half-written folder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..store import audit
from ..domain import recordstate
from ..base.dates import now_iso, parse_date, today
from ..base.errors import Conflict, InvalidInput, InvalidRows, NotFound, QmsError
from ..domain.forms import FormSchema, load_form, validate_data
from ..base.input_limits import short, control_char_error, inside, safe_id, read_bytes, key_name
from ..papercode import stamp_record
from ..domain.results import Change
from ..store.workspace import Workspace
from ..store.writer import writing
from ..base.yaml_source import dump_yaml
from .record_context import record_context, render
from .fieldvalues import scalar_fields
from .inputs import MAX_IMPORT_BYTES, read_data_file, read_rows
from .pdfs import PdfPending, convert_pending
from ..store.archive import MANIFEST
from ..adapters.convert import to_pdf, warm_up
from ..adapters.resident import ConverterLost
from .filer_signature import filer_fields, others_named, sign_as_filer
import hashlib
from ..adapters.xlsx_tables import merge_tables, table_sheets
from ..store.catalog import reading


@dataclass
class Filing:
    """One record ready to be filed: validated data and where it came from."""
    form: FormSchema
    data: dict
    record_date: dt.date
    attachments: list[Path] = field(default_factory=list)
    origin: str = ""            # file (and row) the data came from, for the audit log
    esign: list[dict] = field(default_factory=list)   # the filer's electronic signatures (filer_signature.py)
    warnings: list[str] = field(default_factory=list)  # said to the filer and kept in the journal





def record_date_for(form: FormSchema, data: dict, on: str | dt.date | None) -> dt.date:
    """The date the record was made: --on, else the form's date field, else today."""
    if on is not None:
        return on if isinstance(on, dt.date) else parse_date(on, field="--on")
    if form.date_field and data.get(form.date_field):
        return dt.date.fromisoformat(str(data[form.date_field])[:10])
    return today()


def prepare(ws: Workspace, form_id: str, data_file: Path | str, *, on=None,
            attachments: list[Path | str] = (), prefill: dict | None = None) -> Filing:
    form = load_form(ws, form_id)
    path = Path(data_file)
    raw, src = read_data_file(path)
    if prefill and isinstance(raw, dict):
        # values filled from the session (the filer's own signature fields) where the data leaves them empty
        raw = {**raw, **{k: v for k, v in prefill.items() if raw.get(k) in (None, "")}}
    data = validate_data(form, raw, file=path, src=src)
    atts = []
    for a in attachments:
        a = Path(a)
        if not a.is_file():
            raise NotFound("attachment not found", file=a, field="attach")
        _check_attachment_name(a)
        atts.append(a)
    if len({a.name for a in atts}) != len(atts):
        raise InvalidInput("two attachments have the same file name; rename one", field="attach")
    return Filing(form=form, data=data, record_date=record_date_for(form, data, on), attachments=atts,
                  origin=str(path))


def _check_attachment_name(a: Path) -> None:
    """An attachment keeps its name inside the record folder: never one qms gives meaning to."""
    name = a.name
    if name == MANIFEST or name.startswith(".") or control_char_error(name) is not None or len(name) > 200:
        raise InvalidInput(f"an attachment may not be called {short(name)} (reserved, hidden or unprintable); "
                       "rename the file", file=a, field="attach")

# ------------------------------------------------------------------ numbering, folders

def sequence_key(form: FormSchema, day: dt.date) -> str:
    """The sequence a record's number counts in: per form, and per year or month when its pattern says."""
    key = form.id
    if "{year" in form.numbering:
        key += f":{day.year}"
    if "{month" in form.numbering:
        key += f"-{day.month:02d}"
    return key


def _folder(ws: Workspace, form_id: str, number: str, day: dt.date, version: int) -> Path:
    folder = (ws.archive_dir / "records" / safe_id(form_id, "form id") / str(day.year)
              / safe_id(number, "record number") / f"v{version}")
    inside(folder, ws.archive_dir, "record folder")
    return folder


def _data_doc(filing: Filing, number: str, version: int, actor: str, at: str, reason: str = "") -> bytes:
    doc = {"number": number, "form": filing.form.id, "form_title": filing.form.title, "version": version,
           "record_date": filing.record_date.isoformat(), "filed_at": at, "filed_by": actor}
    if reason:
        doc["amendment_reason"] = reason
    if filing.esign:
        doc["esign"] = filing.esign
    doc["data"] = filing.data
    return dump_yaml(doc).encode("utf-8")


def stage_version(ws: Workspace, st, filing: Filing, number: str, version: int, actor: str, at: str,
                   *, reason: str = "", history: str = "") -> str:
    """Stage one record version's folder: data.yaml, the rendered .docx, attachments.
    `history`: what the signatures of earlier versions cover, printed on the form (amend).
    Returns the folder, relative to the workspace."""
    rel = ws.rel(_folder(ws, filing.form.id, number, filing.record_date, version))
    staged = st.folder(rel)
    st.write(f"{rel}/data.yaml", _data_doc(filing, number, version, actor, at, reason), sync=st._sync)
    ctx = record_context(ws, filing.form, filing.data, number=number, record_date=filing.record_date,
                         esign=filing.esign, history=history)
    render(ws, filing.form, ctx, staged / f"{number}.docx")
    st.add(f"{rel}/{number}.docx")
    for a in filing.attachments:
        st.copy_in(f"{rel}/attachments/{a.name}", a)
    return rel


def retention_until(filing: Filing) -> str | None:
    until = filing.form.retention.until(filing.record_date, filing.data)
    return until.isoformat() if until else None


def customer(filing: Filing) -> str:
    return str(filing.data.get("customer") or "")


def file_records(ws: Workspace, filings: list[Filing], *, actor: str, pdf: bool = True,
                  progress=None, batch: str | None = None, extra: dict | None = None) -> list[dict]:
    """Number, render and stage every record, log them in one batch, then place them.

    Either every record is filed or none is (and no number is consumed)."""
    if not filings:
        return []
    many = len(filings) > 1
    filed: list[dict] = []
    with writing(ws, purpose="record import" if many else "record file") as w:
        st = w.stage()
        st._sync = not many            # a batch pays one os.sync() instead of one fsync per file
        events: list[dict] = []
        for i, filing in enumerate(filings, 1):
            key = sequence_key(filing.form, filing.record_date)
            seq = w.next_seq(key)
            number = filing.form.numbering.format(form=filing.form.id, year=filing.record_date.year,
                                                  month=filing.record_date.month, seq=seq)
            if recordstate.number_used(w.cat, number):
                raise Conflict(f"number {number} is already taken; the numbering pattern "
                               f"{filing.form.numbering!r} of {filing.form.id} is not unique",
                               file=filing.form.path, field="numbering")
            at = now_iso()
            mark = st.mark()
            rel = stage_version(ws, st, filing, number, 1, actor, at)
            pdf_done, lost = False, None
            if pdf and not many:
                try:
                    to_pdf([st.at(f"{rel}/{number}.docx")], fallback=False)
                    stamp_record(ws, st.at(f"{rel}/{number}.pdf"), number, 1)     # the QR the scan inbox reads
                    st.add(f"{rel}/{number}.pdf", synced=True)     # (the stamp wrote it with an fsync)
                    pdf_done = True
                except ConverterLost as exc:
                    # the resident converter died or hung: the record is filed, its PDF made later
                    # (qms record pdf --pending); the next conversion starts a new converter
                    lost = exc.message
            st.manifest(rel, now=at)
            status = "awaiting_signature" if filing.form.signature_required else "filed"
            events.append({"action": "record.file", "target": number,
                           "data": {"form": filing.form.id, "record_date": filing.record_date.isoformat(),
                                    "status": status, "version": 1, "folder": rel, "origin": filing.origin,
                                    "seq": seq, "sequence": key, "retention_until": retention_until(filing),
                                    "customer": customer(filing), "pdf_pending": not pdf_done,
                                    "fields": scalar_fields(filing.form, filing.data),
                                    **({"batch": batch} if batch else {}), **(extra or {}),
                                    **({"esign": filing.esign} if filing.esign else {}),
                                    **({"warnings": filing.warnings} if filing.warnings else {}),
                                    **st.promise_since(mark)}})
            filed.append({"number": number, "status": status, "form": filing.form.id,
                          "record_date": filing.record_date.isoformat(), "folder": rel,
                          **({"pdf_pending": True, "pdf_error": lost} if lost else {})})
            if progress:
                progress(i, len(filings))
        w.commit(events, actor=actor, sync="all" if many else "each")
    return filed


def file_record(ws: Workspace, form_id: str, data_file, *, actor: str, on=None, attachments=(),
                pdf: bool = True, signer=None, password=None, filer=None) -> Change:
    """File one record; with `signer` (the authenticated filer) and their password, the form's
    `signed_by: filer` fields are signed electronically by them. Without, `filer` (the
    authenticated user) is warned of such a field naming someone else."""
    prefill = None
    if signer is not None:
        prefill = {f.name: signer.name for f in filer_fields(load_form(ws, form_id))}
    filing = prepare(ws, form_id, data_file, on=on, attachments=attachments, prefill=prefill)
    return _file_one(ws, filing, actor=actor, pdf=pdf, signer=signer, password=password, filer=filer)


def _file_one(ws: Workspace, filing: Filing, *, actor: str, pdf: bool, signer, password, filer) -> Change:
    if signer is not None:
        sign_as_filer(ws, filing, signer, password)
    elif filer is not None:
        filing.warnings += others_named(ws, filing, filer)
    (rec,) = file_records(ws, [filing], actor=actor, pdf=pdf)
    if filing.warnings:
        rec["warnings"] = filing.warnings
    said = f"filed {rec['number']} ({filing.form.title}) → {rec['status']}"
    if rec.get("pdf_pending"):
        said += f"; its PDF is pending ({rec['pdf_error']}) — run `qms record pdf --pending`"
    return Change(said, rec)


def file_record_data(ws: Workspace, form_id: str, data: dict, *, actor: str, origin: str = "web form",
                     on=None, pdf: bool = True, signer=None, password=None, filer=None) -> Change:
    """File one record from data already parsed (the web form, the JSON API): the same checks as a
    file, and with `signer` and their password the `signed_by: filer` fields signed as file_record does."""
    form = load_form(ws, form_id)
    if signer is not None and isinstance(data, dict):
        data = {**data, **{f.name: signer.name for f in filer_fields(form) if data.get(f.name) in (None, "")}}
    clean = validate_data(form, data, file=origin)
    filing = Filing(form=form, data=clean, record_date=record_date_for(form, clean, on), origin=origin)
    return _file_one(ws, filing, actor=actor, pdf=pdf, signer=signer, password=password, filer=filer)


# ------------------------------------------------------------------ batch import

def _previous_import(ws: Workspace, digest: str) -> str | None:
    """'QR-…-0001 … QR-…-0300 on 2026-11-30' when a file with this SHA-256 was imported before —
    and, when some of those records still wait for their PDF (a killed import), the command that
    makes them: --again would file the rows twice, which is not what is missing."""
    hits = [e for e in audit.read(ws.audit_path)
            if e.action == "record.file" and (e.data or {}).get("source_sha256") == digest]
    if not hits:
        return None
    said = f"{hits[0].target} … {hits[-1].target} on {hits[0].at[:10]}" if len(hits) > 1 \
        else f"{hits[0].target} on {hits[0].at[:10]}"
    with reading(ws) as cat:
        pending = recordstate.pdf_pending(cat, [e.target for e in hits])
    if pending:
        said += (f"; the PDFs of {len(pending)} of them are still pending (e.g. {pending[0]['number']}) — "
                 "run `qms record pdf --pending` to make them")
    return said


def import_records(ws: Workspace, form_id: str, path: Path | str, *, actor: str, on=None, pdf: bool = True,
                   progress=None, again: bool = False, encoding: str | None = None) -> list[dict]:
    """Validate every row first; file all or none; convert PDFs in chunks at the end.

    A file already imported (same SHA-256, found in the journal) is refused unless `again`:
    a retry after a failure must never file its rows twice. When the records are filed but
    PDFs fail, PdfPending (exit status 3) says how many are filed and how many wait."""
    form = load_form(ws, form_id)
    path = Path(path)
    digest = hashlib.sha256(read_bytes(path, limit=MAX_IMPORT_BYTES, what="import file")).hexdigest()
    if not again:
        before = _previous_import(ws, digest)
        if before:
            raise Conflict(f"already imported as {before}; use --again only to file its rows once more",
                           file=path)
    rows = read_rows(path, encoding)
    if not rows:
        raise InvalidInput("no data rows to import", file=path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        merge_tables(path, rows, table_sheets(path, form), form)
    names = {f.name for f in form.fields} | {f.label for f in form.fields}
    unknown = [h for h in rows[0][1] if h not in names]
    if unknown:
        col = list(rows[0][1]).index(unknown[0]) + 1
        raise InvalidInput(f"column {col} of the header ({key_name(unknown[0])}) is not a field name or label of "
                       f"{form.id}; expected: " + ", ".join(f.name for f in form.fields), file=path, row=1)
    # A missing required column is the header's fault, not the first data row's.
    missing = [f for f in form.fields if f.required and f.name not in rows[0][1] and f.label not in rows[0][1]]
    if missing:
        raise InvalidInput(f"the header has no column for the required field {missing[0].name} ({missing[0].label})",
                       file=path, row=1, field=missing[0].name)
    filings, bad = [], []
    for n, (line, raw) in enumerate(rows, start=1):
        try:
            data = validate_data(form, raw, file=path)
            filings.append(Filing(form=form, data=data, record_date=record_date_for(form, data, on),
                                  origin=f"{path.name} row {n}"))
        except QmsError as exc:     # every bad row is reported, not only the first
            bad.append(InvalidInput(f"row {n} (line {line} of the file): {exc.message}", file=path,
                                    field=exc.field))
    if len(bad) == 1:
        raise bad[0]
    if bad:
        raise InvalidRows(f"{len(bad)} of {len(rows)} rows are not valid; nothing was imported", bad, file=path)
    batch = f"import-{now_iso()}"
    if pdf:
        warm_up()      # the resident LibreOffice starts (~1 s) while the rows are filed, not after
    filed = file_records(ws, filings, actor=actor, pdf=False, progress=progress, batch=batch,
                         extra={"source_sha256": digest})
    if pdf:
        try:
            convert_pending(ws, actor=actor, numbers=[f["number"] for f in filed])
        except PdfPending as exc:
            raise PdfPending(f"{len(filed)} records filed; PDFs pending for {len(exc.pending)} — run "
                             f"`qms record pdf --pending` ({exc.message})",
                             converted=exc.converted, pending=exc.pending) from None
    return filed

