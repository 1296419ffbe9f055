"""Records: fill a form, number it, render it, file it write-once; signed scans; amendments.

Numbers are assigned inside the catalog transaction that files the record, so a
failure at any step leaves no gap and no half-written folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import audit
from .archive import read_manifest
from .catalog import Catalog, open_catalog
from .dates import cn_date, now_iso, parse_date, today
from .errors import QmsError
from .results import Change
from .forms import FormSchema, format_value, load_form, validate_data
from .workspace import Workspace
from .inputs import short
from .writer import writing
from .yamlsrc import dump_yaml, load_yaml

from .entries import SCAN_NAME  # noqa: E402  (one name for the scan everywhere)

MAX_IMPORT_BYTES = 100 * 1024 * 1024     # a CSV/XLSX import: far above 10,000 rows


@dataclass
class Filing:
    """One record ready to be filed: validated data and where it came from."""
    form: FormSchema
    data: dict
    record_date: dt.date
    attachments: list[Path] = field(default_factory=list)
    origin: str = ""            # file (and row) the data came from, for the audit log
    esign: list[dict] = field(default_factory=list)   # the filer's electronic signatures (record_esign.py)




# ------------------------------------------------------------------ preparing

def _read_data_file(path: Path):
    """Record data from YAML or JSON; returns (data, YamlSource or None)."""
    if path.suffix.lower() == ".json":
        return _read_json(path), None
    src = load_yaml(path)
    return src.data, src


def _read_json(path: Path):
    """JSON record data, bounded like YAML: size, encoding, control characters, depth, digits."""
    from .inputs import MAX_NUMBER_DIGITS, check_depth, read_text

    def big_int(text):
        if len(text) > MAX_NUMBER_DIGITS:
            raise QmsError(f"a number of {len(text)} digits is too long; quote it if it is text", file=path)
        return int(text)
    try:
        data = json.loads(read_text(path, what="JSON file"), parse_int=big_int)
    except json.JSONDecodeError as exc:
        raise QmsError(f"malformed JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except RecursionError:
        raise QmsError("malformed JSON: nested too deeply", file=path) from None
    check_depth(data, file=path)
    return data


def record_date_for(form: FormSchema, data: dict, on: str | dt.date | None) -> dt.date:
    """The date the record was made: --on, else the form's date field, else today."""
    if on is not None:
        return on if isinstance(on, dt.date) else parse_date(on, field="on")
    if form.date_field and data.get(form.date_field):
        return dt.date.fromisoformat(str(data[form.date_field])[:10])
    return today()


def prepare(ws: Workspace, form_id: str, data_file: Path | str, *, on=None,
            attachments: list[Path | str] = (), prefill: dict | None = None) -> Filing:
    form = load_form(ws, form_id)
    path = Path(data_file)
    raw, src = _read_data_file(path)
    if prefill and isinstance(raw, dict):
        # values filled from the session (the filer's own signature fields) where the data leaves them empty
        raw = {**raw, **{k: v for k, v in prefill.items() if raw.get(k) in (None, "")}}
    data = validate_data(form, raw, file=path, src=src)
    atts = []
    for a in attachments:
        a = Path(a)
        if not a.is_file():
            raise QmsError("attachment not found", file=a, field="attach")
        _check_attachment_name(a)
        atts.append(a)
    if len({a.name for a in atts}) != len(atts):
        raise QmsError("two attachments have the same file name; rename one", field="attach")
    return Filing(form=form, data=data, record_date=record_date_for(form, data, on), attachments=atts,
                  origin=str(path))


def _check_attachment_name(a: Path) -> None:
    """An attachment keeps its name inside the record folder: never one qms gives meaning to."""
    from .archive import MANIFEST
    from .inputs import control_char_error
    name = a.name
    if name == MANIFEST or name.startswith(".") or control_char_error(name) is not None or len(name) > 200:
        raise QmsError(f"an attachment may not be called {short(name)} (reserved, hidden or unprintable); "
                       "rename the file", file=a, field="attach")


# ------------------------------------------------------------------ rendering

_RENDERERS: dict[str, object] = {}


def _renderer(ws: Workspace, form: FormSchema):
    path = ws.templates_dir / form.template
    if not path.is_file():
        raise QmsError(f"template {form.template!r} not found in {ws.rel(ws.templates_dir)}",
                       file=form.path, field="template")
    key = f"{path}:{path.stat().st_mtime_ns}"
    if key not in _RENDERERS:
        from .render import RecordRenderer   # docxtpl is slow to import: only when rendering
        _RENDERERS[key] = RecordRenderer(path)
    return _RENDERERS[key]


def record_context(ws: Workspace, form: FormSchema, data: dict, *, number: str = "",
                   record_date: dt.date | None = None, blank: bool = False) -> dict:
    loc = ws.config.locale
    fields, signatures, values = [], [], {}
    for f in form.fields:
        value = data.get(f.name)
        if f.type == "signature":
            signatures.append({"label": f.label, "name": "" if blank else str(value or "")})
            values[f.name] = "" if blank else str(value or "")
            continue
        if f.type == "table":
            rows = [] if blank else [[format_value(_col_field(c), row.get(c.name), loc) for c in f.columns]
                                     for row in (value or [])]
            values[f.name] = [dict(zip([c.name for c in f.columns], r)) for r in rows]
            fields.append({"name": f.name, "label": f.label, "type": f.type, "value": "", "is_table": True,
                           "columns": [c.label for c in f.columns], "rows": rows})
            continue
        if blank and f.type == "choice":
            text = "　".join(f"□{c}" for c in f.choices)    # a printed form offers its choices to tick
        else:
            text = "" if blank else format_value(f, value, loc)
        values[f.name] = text
        if f.name == form.date_field and _date_in_title(form, data, record_date, blank):
            continue   # printed once, in the title block under its own label (no second date line)
        fields.append({"name": f.name, "label": f.label, "type": f.type, "value": text, "is_table": False,
                       "columns": [], "rows": []})
    in_title = _date_in_title(form, data, record_date, blank)
    date_f = form.field(form.date_field) if in_title else None
    shown_date = cn_date(record_date, loc) if record_date and not blank else ""
    if date_f is not None and not blank:
        shown_date = format_value(date_f, data.get(date_f.name), loc)   # a datetime keeps its time
    return {"company": ws.config.org_name, "form_id": form.id, "form_title": form.title,
            "procedure": form.procedure, "number": number, "date_label": date_f.label if date_f else "日期",
            "record_date": shown_date,
            "filed_at": "", "note": form.note, "fields": fields, "signatures": signatures, "data": values,
            "blank": blank}


def _date_in_title(form: FormSchema, data: dict, record_date, blank: bool) -> bool:
    """The form's date field is the record date (not overridden by --on): the title block shows it."""
    f = form.field(form.date_field) if form.date_field else None
    if f is None:
        return False
    if blank:
        return True
    value = data.get(f.name)
    return bool(value) and record_date is not None and str(value)[:10] == record_date.isoformat()


def _col_field(col):
    from .forms import FormField
    return FormField(name=col.name, label=col.label, type=col.type)


def blank_form(ws: Workspace, form_id: str, out: Path | str) -> Path:
    """A blank printable form (.docx or .pdf) for filling by hand."""
    from . import outputs
    out = outputs.check(ws, out, (".docx", ".pdf"))
    form = load_form(ws, form_id)
    with tempfile.TemporaryDirectory(prefix="qms-blank-") as tmp:
        docx = Path(tmp) / f"{form.id}.docx"
        _renderer(ws, form).render(record_context(ws, form, {}, blank=True), docx)
        if out.suffix.lower() == ".pdf":
            from .convert import to_pdf
            (docx,) = to_pdf([docx])
        return outputs.install(ws, docx, out)


# ------------------------------------------------------------------ filing

def _sequence_key(form: FormSchema, day: dt.date) -> str:
    key = form.id
    if "{year" in form.numbering:
        key += f":{day.year}"
    if "{month" in form.numbering:
        key += f"-{day.month:02d}"
    return key


def _folder(ws: Workspace, form_id: str, number: str, day: dt.date, version: int) -> Path:
    from .inputs import inside, safe_id
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


def _stage_version(ws: Workspace, st, filing: Filing, number: str, version: int, actor: str, at: str,
                   *, reason: str = "") -> str:
    """Stage one record version's folder: data.yaml, the rendered .docx, attachments.
    Returns the folder, relative to the workspace."""
    rel = ws.rel(_folder(ws, filing.form.id, number, filing.record_date, version))
    staged = st.folder(rel)
    st.write(f"{rel}/data.yaml", _data_doc(filing, number, version, actor, at, reason), sync=st._sync)
    ctx = record_context(ws, filing.form, filing.data, number=number, record_date=filing.record_date)
    _renderer(ws, filing.form).render(ctx, staged / f"{number}.docx")
    st.add(f"{rel}/{number}.docx")
    for a in filing.attachments:
        st.copy_in(f"{rel}/attachments/{a.name}", a)
    return rel


def _retention_until(filing: Filing) -> str | None:
    until = filing.form.retention.until(filing.record_date, filing.data)
    return until.isoformat() if until else None


def _customer(filing: Filing) -> str:
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
            key = _sequence_key(filing.form, filing.record_date)
            seq = w.next_seq(key)
            number = filing.form.numbering.format(form=filing.form.id, year=filing.record_date.year,
                                                  month=filing.record_date.month, seq=seq)
            if w.cat.one("SELECT 1 FROM records WHERE number=? UNION SELECT 1 FROM disposed WHERE number=?",
                         number, number):
                raise QmsError(f"number {number} is already taken; the numbering pattern "
                               f"{filing.form.numbering!r} of {filing.form.id} is not unique",
                               file=filing.form.path, field="numbering")
            at = now_iso()
            mark = st.mark()
            rel = _stage_version(ws, st, filing, number, 1, actor, at)
            pdf_done = False
            if pdf and not many:
                from .convert import to_pdf
                to_pdf([st.at(f"{rel}/{number}.docx")])
                st.add(f"{rel}/{number}.pdf")
                pdf_done = True
            st.manifest(rel, now=at)
            status = "awaiting_signature" if filing.form.signature_required else "filed"
            events.append({"action": "record.file", "target": number,
                           "data": {"form": filing.form.id, "record_date": filing.record_date.isoformat(),
                                    "status": status, "version": 1, "folder": rel, "origin": filing.origin,
                                    "seq": seq, "sequence": key, "retention_until": _retention_until(filing),
                                    "customer": _customer(filing), "pdf_pending": not pdf_done,
                                    **({"batch": batch} if batch else {}), **(extra or {}),
                                    **({"esign": filing.esign} if filing.esign else {}), **st.promise_since(mark)}})
            filed.append({"number": number, "status": status, "form": filing.form.id,
                          "record_date": filing.record_date.isoformat(), "folder": rel})
            if progress:
                progress(i, len(filings))
        w.commit(events, actor=actor, sync="all" if many else "each")
    return filed


def file_record(ws: Workspace, form_id: str, data_file, *, actor: str, on=None, attachments=(),
                pdf: bool = True, signer=None, password=None) -> Change:
    """File one record; with `signer` (the authenticated filer) and their password, the form's
    `signed_by: filer` fields are signed electronically by them."""
    prefill = None
    if signer is not None:
        from .record_esign import filer_fields
        prefill = {f.name: signer.name for f in filer_fields(load_form(ws, form_id))}
    filing = prepare(ws, form_id, data_file, on=on, attachments=attachments, prefill=prefill)
    if signer is not None:
        from .record_esign import sign_as_filer
        sign_as_filer(ws, filing, signer, password)
    (rec,) = file_records(ws, [filing], actor=actor, pdf=pdf)
    return Change(f"filed {rec['number']} ({filing.form.title}) → {rec['status']}", rec)


def file_record_data(ws: Workspace, form_id: str, data: dict, *, actor: str, origin: str = "web form",
                     on=None, pdf: bool = True, signer=None, password=None) -> Change:
    """File one record from data already parsed (the web form, the JSON API): the same checks as a
    file, and with `signer` and their password the `signed_by: filer` fields signed as file_record does."""
    form = load_form(ws, form_id)
    if signer is not None and isinstance(data, dict):
        from .record_esign import filer_fields
        data = {**data, **{f.name: signer.name for f in filer_fields(form) if data.get(f.name) in (None, "")}}
    clean = validate_data(form, data, file=origin)
    filing = Filing(form=form, data=clean, record_date=record_date_for(form, clean, on), origin=origin)
    if signer is not None:
        from .record_esign import sign_as_filer
        sign_as_filer(ws, filing, signer, password)
    (rec,) = file_records(ws, [filing], actor=actor, pdf=pdf)
    return Change(f"filed {rec['number']} ({form.title}) → {rec['status']}", rec)


# ------------------------------------------------------------------ batch import

def read_rows(path: Path) -> list[tuple[int, dict]]:
    """(row number in the file, {header: value}) for each data row of a CSV or XLSX file."""
    from .inputs import control_char_error, decode, read_bytes
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise QmsError("expected a .csv or .xlsx file", file=path)
    data = read_bytes(path, limit=MAX_IMPORT_BYTES, what="import file")
    if suffix == ".csv":
        import csv
        import io
        # UTF-8 (BOM or not), UTF-16 with BOM, else GB18030: Excel on Chinese Windows saves GBK
        text = decode(data, path)
        err = control_char_error(text.replace("\r\n", "\n"), file=path)
        if err is not None:
            raise err
        # Not splitlines(): a quoted cell may span lines (numbered steps typed in Excel) and keeps
        # its line breaks; `lines` is where each row starts in the file, for error messages.
        reader = csv.reader(io.StringIO(text, newline=""))
        rows, lines, end = [], [], 0
        try:
            for r in reader:
                rows.append(r)
                lines.append(end + 1)
                end = reader.line_num
        except csv.Error as exc:
            limit = csv.field_size_limit()
            why = (f"a cell is longer than {limit // 1024} KiB" if "field larger" in str(exc)
                   else f"not valid CSV ({exc})")
            raise QmsError(why, file=path, line=end + 1) from None
    else:
        rows = _xlsx_rows(path, data)
        lines = list(range(1, len(rows) + 1))
    if not rows or not any(str(c).strip() for c in rows[0]):
        raise QmsError("the file has no header row", file=path, row=1)
    header = [str(h).strip() for h in rows[0]]
    seen: dict[str, int] = {}
    for j, h in enumerate(header, 1):
        if not h:
            if any(j <= len(r) and str(r[j - 1]).strip() for r in rows[1:]):
                raise QmsError(f"column {j} has no header but holds values; name it or delete it",
                               file=path, row=1)
            continue
        if h in seen:
            raise QmsError(f"column {j} repeats the header of column {seen[h]}; each field once",
                           file=path, row=1, field=h[:60])
        seen[h] = j
    out = []
    for i, r in zip(lines[1:], rows[1:]):
        if not any(str(c).strip() for c in r):
            continue
        if len(r) > len(header) and any(str(c).strip() for c in r[len(header):]):
            raise QmsError(f"row has {len(r)} cells but the header has {len(header)} columns", file=path, row=i)
        out.append((i, {h: (r[j] if j < len(r) else "") for j, h in enumerate(header) if h}))
    return out


# An .xlsx is a zip: refuse before openpyxl inflates anything that could not be a real sheet.
XLSX_MAX_UNPACKED = 200 * 1024 * 1024
XLSX_MAX_RATIO = 200
XLSX_MAX_MEMBERS = 2000


def _xlsx_rows(path: Path, data: bytes) -> list[list]:
    import io
    import zipfile
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise QmsError("not an .xlsx workbook (not a zip archive)", file=path) from None
    if len(infos) > XLSX_MAX_MEMBERS:
        raise QmsError(f"the workbook holds {len(infos)} parts; refusing more than {XLSX_MAX_MEMBERS}", file=path)
    total = sum(i.file_size for i in infos)
    if total > XLSX_MAX_UNPACKED:
        raise QmsError(f"the workbook unpacks to {total // 1048576} MB; refusing more than "
                       f"{XLSX_MAX_UNPACKED // 1048576} MB", file=path)
    for i in infos:
        if i.file_size > 1048576 and i.file_size > XLSX_MAX_RATIO * max(i.compress_size, 1):
            raise QmsError(f"part {i.filename[:60]!r} unpacks {i.file_size // max(i.compress_size, 1)} times "
                           "its size (a zip bomb?); refusing it", file=path)
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = [["" if v is None else v for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    except QmsError:
        raise
    except Exception as exc:   # openpyxl raises many types for a damaged file
        raise QmsError(f"cannot read the workbook ({type(exc).__name__})", file=path) from None
    from .inputs import control_char_error
    for n, r in enumerate(rows, 1):
        for v in r:
            if isinstance(v, str):
                err = control_char_error(v, file=path, row=n)
                if err is not None:
                    err.line = None
                    raise err
    return rows


def _previous_import(ws: Workspace, digest: str) -> str | None:
    """'QR-…-0001 … QR-…-0300 on 2026-11-30' when a file with this SHA-256 was imported before."""
    hits = [e for e in audit.read(ws.audit_path)
            if e.action == "record.file" and (e.data or {}).get("source_sha256") == digest]
    if not hits:
        return None
    return f"{hits[0].target} … {hits[-1].target} on {hits[0].at[:10]}" if len(hits) > 1 \
        else f"{hits[0].target} on {hits[0].at[:10]}"


def import_records(ws: Workspace, form_id: str, path: Path | str, *, actor: str, on=None, pdf: bool = True,
                   progress=None, again: bool = False) -> list[dict]:
    """Validate every row first; file all or none; convert PDFs in chunks at the end.

    A file already imported (same SHA-256, found in the journal) is refused unless `again`:
    a retry after a failure must never file its rows twice. When the records are filed but
    PDFs fail, PdfPending (exit status 3) says how many are filed and how many wait."""
    import hashlib
    from .inputs import read_bytes
    form = load_form(ws, form_id)
    path = Path(path)
    digest = hashlib.sha256(read_bytes(path, limit=MAX_IMPORT_BYTES, what="import file")).hexdigest()
    if not again:
        before = _previous_import(ws, digest)
        if before:
            raise QmsError(f"already imported as {before}; use --again to import it once more", file=path)
    rows = read_rows(path)
    if not rows:
        raise QmsError("no data rows to import", file=path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from .xlsxtables import merge_tables, table_sheets
        merge_tables(path, rows, table_sheets(path, form), form)
    names = {f.name for f in form.fields} | {f.label for f in form.fields}
    unknown = [h for h in rows[0][1] if h not in names]
    if unknown:
        from .inputs import key_name
        col = list(rows[0][1]).index(unknown[0]) + 1
        raise QmsError(f"column {col} of the header ({key_name(unknown[0])}) is not a field name or label of "
                       f"{form.id}; expected: " + ", ".join(f.name for f in form.fields), file=path, row=1)
    # A missing required column is the header's fault, not the first data row's.
    missing = [f for f in form.fields if f.required and f.name not in rows[0][1] and f.label not in rows[0][1]]
    if missing:
        raise QmsError(f"the header has no column for the required field {missing[0].name} ({missing[0].label})",
                       file=path, row=1, field=missing[0].name)
    filings = []
    for n, (line, raw) in enumerate(rows, start=1):
        try:
            data = validate_data(form, raw, file=path)
            filings.append(Filing(form=form, data=data, record_date=record_date_for(form, data, on),
                                  origin=f"{path.name} row {n}"))
        except QmsError as exc:
            exc.row = None
            raise QmsError(f"row {n} (line {line} of the file): {exc.message}", file=path, field=exc.field) from None
    batch = f"import-{now_iso()}"
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


def convert_pending(ws: Workspace, *, actor: str, numbers: list[str] | None = None, progress=None) -> list[str]:
    """PDF/A renditions for records filed without one, in one LibreOffice run; hashed into each
    record's manifest and logged."""
    with writing(ws, purpose="record pdf") as w:
        if numbers is None:
            rows = w.cat.all("SELECT number, folder FROM records WHERE pdf_pending=1 ORDER BY number")
        else:
            rows = [w.cat.one("SELECT number, folder FROM records WHERE number=? AND pdf_pending=1", n)
                    for n in numbers]
            rows = [r for r in rows if r]
    if not rows:
        return []
    from .convert import chunk_size
    done: list[str] = []
    failed: list[str] = []
    first_error: QmsError | None = None
    size = chunk_size()
    # One LibreOffice call and one journal batch per chunk: a chunk that fails leaves its records
    # pending (for `qms record pdf --pending`) and the others are kept.
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        try:
            done += _convert_chunk(ws, chunk, actor=actor, progress=progress, offset=len(done))
        except QmsError as exc:
            failed += [r["number"] for r in chunk]
            first_error = first_error or exc
    if failed:
        raise PdfPending(f"converted {len(done)} records to PDF/A; PDFs still pending for {len(failed)} "
                         f"(e.g. {failed[0]}): {first_error.format()}",
                         converted=done, pending=failed)
    return done


class PdfPending(QmsError):
    """Records are filed but some PDF renditions failed: a partial success (exit status 3)."""
    exit_code = 3

    def __init__(self, message: str, *, converted: list[str], pending: list[str]):
        super().__init__(message)
        self.converted = converted
        self.pending = pending


def _convert_chunk(ws: Workspace, rows, *, actor: str, progress, offset: int) -> list[str]:
    from .convert import to_pdf
    with writing(ws, purpose="record pdf") as w:
        rows = [r for r in rows if w.cat.one("SELECT 1 FROM records WHERE number=? AND pdf_pending=1",
                                              r["number"])]
        if not rows:
            return []
        st = w.stage()
        to_pdf([ws.root / r["folder"] / f"{r['number']}.docx" for r in rows],
               [st.at(f"{r['folder']}/{r['number']}.pdf") for r in rows])
        at = now_iso()
        events = []
        for r in rows:
            mark = st.mark()
            st.add(f"{r['folder']}/{r['number']}.pdf")
            st.manifest(r["folder"], now=at)
            events.append({"action": "record.pdf", "target": r["number"],
                           "data": {"folder": r["folder"], **st.promise_since(mark)}})
            if progress:
                progress(offset + len(events))
        w.commit(events, actor=actor)
    return [e["target"] for e in events]


# ------------------------------------------------------------------ signing, amending

def record_row(cat: Catalog, number: str):
    row = cat.one("SELECT * FROM records WHERE number=?", number)
    if row is None:
        gone = cat.one("SELECT * FROM disposed WHERE number=?", number)
        if gone:
            raise QmsError(f"{number} was disposed on {gone['disposed_at'][:10]} "
                           f"(disposal certificate {gone['certificate']})", field="number")
        raise QmsError(f"unknown record {number!r} (qms record list shows the records)", field="number")
    return row


def sign(ws: Workspace, number: str, *, scan: Path | str, signers: list[tuple[str, str]], actor: str,
         signed_on: str | None = None) -> Change:
    """Attach the signed scan (kept byte-for-byte) with who signed it on paper — one or several
    (name, role), e.g. the customer and the engineer — and the date signed; the record becomes valid."""
    scan = Path(scan)
    signers = [(n.strip(), (r or "").strip()) for n, r in signers if n and n.strip()]
    if not signers:
        raise QmsError("the signer's name is needed", field="signer")
    day = parse_date(signed_on, field="signed-on").isoformat() if signed_on else today().isoformat()
    if not scan.is_file():
        raise QmsError("scan not found", file=scan, field="scan")
    from .pdf import is_pdf
    if not is_pdf(scan):
        raise QmsError("the scan is not a PDF; scan the signed form to PDF", file=scan, field="scan")
    with writing(ws, purpose="record sign") as w:
        row = record_row(w.cat, number)
        form = load_form(ws, row["form"])
        if not form.signature_required:
            raise QmsError(f"{number} ({form.title}) needs no customer signature; nothing to sign")
        if row["status"] != "awaiting_signature":
            raise QmsError(f"{number} is already signed (status {row['status']})")
        if day < row["record_date"]:
            raise QmsError(f"signed on {day}, before the record date {row['record_date']}", field="signed-on")
        folder = row["folder"]
        st = w.stage()
        sha = st.copy_in(f"{folder}/{SCAN_NAME}", scan)
        st.manifest(folder, now=now_iso())
        w.commit([{"action": "record.sign", "target": number,
                   "data": {"signer": signers[0][0], "role": signers[0][1],
                            "signers": [{"name": n, "role": r} for n, r in signers], "signed_on": day,
                            "scan": f"{folder}/{SCAN_NAME}", "sha256": sha, "scan_name": scan.name,
                            **st.promise(folder)}}], actor=actor)
    who = "、".join(f"{n}{' ' + r if r else ''}" for n, r in signers)
    return Change(f"signed {number}: scan attached ({who}, signed {day}) → filed",
                  {"number": number, "status": "filed", "scan": f"{folder}/{SCAN_NAME}",
                   "signers": [{"name": n, "role": r} for n, r in signers], "signed_on": day})


def _apply_sets(ws: Workspace, form: FormSchema, row, sets: list[str]) -> dict:
    """The record's latest data with `field=value` changes (a field's name or label; an empty
    value clears it; a table field takes a YAML/JSON list of rows)."""
    current = dict(load_yaml(ws.root / row["folder"] / "data.yaml").data.get("data", {}))
    by_label = {f.label: f for f in form.fields}
    for item in sets:
        key, eq, value = item.partition("=")
        f = form.field(key.strip()) or by_label.get(key.strip())
        if not eq or f is None:
            names = ", ".join(x.name for x in form.fields)
            raise QmsError(f"expected --set FIELD=VALUE with a field of {form.id}: {names}", field=key.strip() or "set")
        if f.type == "table" and value.strip():
            import yaml
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise QmsError("expected a list of rows, e.g. [{part: 压缩机, qty: 1}]", field=f.name) from None
        current[f.name] = value
    return current


def amend(ws: Workspace, number: str, data_file: Path | str | None = None, *, reason: str, actor: str,
          pdf: bool = True, sets: list[str] | None = None) -> Change:
    """A new version beside the original, with the reason and who made it; the original stays.
    The new data is a whole file (--data), or the latest version with some fields changed (--set)."""
    if not reason or not reason.strip():
        raise QmsError("an amendment needs --reason", field="reason")
    if bool(data_file) == bool(sets):
        raise QmsError("give either --data FILE (the whole record) or --set FIELD=VALUE (what changed)",
                       field="data")
    with open_catalog(ws.catalog_path, create=False) as cat:
        row = record_row(cat, number)
    form = load_form(ws, row["form"])
    if sets:
        path = Path(f"--set {' '.join(sets)}")
        data = validate_data(form, _apply_sets(ws, form, row, sets), file="--set")
    else:
        path = Path(data_file)
        raw, src = _read_data_file(path)
        data = validate_data(form, raw, file=path, src=src)
    filing = Filing(form=form, data=data, record_date=dt.date.fromisoformat(row["record_date"]), origin=str(path))
    with writing(ws, purpose="record amend") as w:
        row = record_row(w.cat, number)
        version = row["version"] + 1
        at = now_iso()
        st = w.stage()
        rel = _stage_version(ws, st, filing, number, version, actor, at, reason=reason.strip())
        if pdf:
            from .convert import to_pdf
            to_pdf([st.at(f"{rel}/{number}.docx")])
            st.add(f"{rel}/{number}.pdf")
        st.manifest(rel, now=at)
        w.commit([{"action": "record.amend", "target": number,
                   "data": {"version": version, "reason": reason.strip(), "folder": rel,
                            "retention_until": _retention_until(filing), "customer": _customer(filing),
                            "pdf_pending": not pdf, **st.promise(rel)}}], actor=actor)
    return Change(f"amended {number}: version {version} ({reason.strip()})",
                  {"number": number, "version": version})


# ------------------------------------------------------------------ reading

def _files(ws: Workspace, folder: Path, number: str) -> dict:
    files = {}
    names = read_manifest(folder).files
    if f"{number}.docx" in names:
        files["docx"] = ws.rel(folder / f"{number}.docx")
    if f"{number}.pdf" in names:
        files["pdf"] = ws.rel(folder / f"{number}.pdf")
    if SCAN_NAME in names:
        files["scan"] = ws.rel(folder / SCAN_NAME)
    atts = [ws.rel(folder / n) for n in sorted(names) if n.startswith("attachments/")]
    if atts:
        files["attachments"] = atts
    return files


def show(ws: Workspace, number: str) -> dict:
    with open_catalog(ws.catalog_path, create=False) as cat:
        row = cat.one("SELECT * FROM records WHERE number=?", number)
        if row is None:
            gone = cat.one("SELECT * FROM disposed WHERE number=?", number)
            if gone:
                return {"number": number, "form": gone["form"], "status": "disposed",
                        "record_date": gone["record_date"], "retention_until": gone["retention_until"],
                        "disposed_at": gone["disposed_at"], "certificate": gone["certificate"],
                        "data": None, "signatures": [], "files": {}, "versions": []}
            record_row(cat, number)
        versions = cat.all("SELECT * FROM record_versions WHERE number=? ORDER BY version", number)
        sigs = cat.all("SELECT * FROM signatures WHERE number=? ORDER BY at", number)
        hold = cat.one("SELECT reason, added_at, added_by FROM holds WHERE number=? AND released_at IS NULL", number)
    folder = ws.root / row["folder"]
    doc = load_yaml(folder / "data.yaml").data
    scan_folder = next((ws.root / v["folder"] for v in versions
                        if (ws.root / v["folder"] / SCAN_NAME).exists()), folder)
    files = _files(ws, folder, number)
    if "scan" not in files and (scan_folder / SCAN_NAME).exists():
        files["scan"] = ws.rel(scan_folder / SCAN_NAME)
    return {
        "number": number, "form": row["form"], "status": row["status"], "data": doc.get("data", {}),
        "record_date": row["record_date"], "filed_at": row["filed_at"], "filed_by": row["filed_by"],
        "retention_until": row["retention_until"], "held": hold is not None,
        "hold": dict(hold) if hold else None, "version": row["version"],
        "signatures": [{"signer": s["signer"], "role": s["role"], "at": s["at"], "signed_on": s["signed_on"],
                        "scan": s["scan"], "sha256": s["sha256"]} for s in sigs],
        "files": files,
        "versions": [{"version": v["version"], "filed_at": v["filed_at"], "filed_by": v["filed_by"],
                      "reason": v["reason"], "folder": v["folder"],
                      "data": load_yaml(ws.root / v["folder"] / "data.yaml").data.get("data", {})}
                     for v in versions],
    }


def list_records(ws: Workspace, *, form: str | None = None, status: str | None = None,
                 year: int | None = None) -> list[dict]:
    sql = "SELECT number, form, status, record_date, retention_until, customer FROM records WHERE 1=1"
    args: list = []
    if form:
        sql += " AND form=?"
        args.append(form)
    if status:
        sql += " AND status=?"
        args.append(status)
    if year:
        sql += " AND year=?"
        args.append(int(year))
    with open_catalog(ws.catalog_path, create=False) as cat:
        return [dict(r) for r in cat.all(sql + " ORDER BY form, record_date, number", *args)]
