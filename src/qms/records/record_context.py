"""What a record's template is given: the context of a filed record or of a blank printed form."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from ..base.dates import cn_date
from ..base.errors import NotFound
from ..domain.labels import chinese, local_time
from ..domain.forms import FormField, FormSchema, format_value, load_form
from ..base.textfmt import nobreak
from ..store.workspace import Workspace
from ..store import outputs
from ..adapters.convert import to_pdf
from ..papercode import stamp_form


def template_path(ws: Workspace, form: FormSchema) -> Path:
    """The form's .docx template; qms.adapters.render keeps it prepared while the file is unchanged."""
    path = ws.templates_dir / form.template
    if not path.is_file():
        raise NotFound(f"template {form.template!r} not found in {ws.rel(ws.templates_dir)}",
                       file=form.path, field="template")
    return path


def render(ws: Workspace, form: FormSchema, ctx: dict, out: Path) -> None:
    from ..adapters.render import RecordRenderer    # lazy: the renderer brings docxtpl and python-docx (~80 ms); only a render needs them
    RecordRenderer(template_path(ws, form)).render(ctx, out)


def record_context(ws: Workspace, form: FormSchema, data: dict, *, number: str = "",
                   record_date: dt.date | None = None, blank: bool = False, esign: list | None = None,
                   history: str = "") -> dict:
    """`esign`: the filer's electronic signatures of this version (filer_signature.sign_as_filer), printed
    where the form prints the field they fill; `history`: what earlier versions' signatures
    cover, printed under the form's note (amend)."""
    loc = ws.config.locale
    fields, signatures, values = [], [], {}
    signed = {e.get("field"): e for e in (esign or []) if isinstance(e, dict)}
    for f in form.fields:
        value = data.get(f.name)
        if f.type == "signature":
            name = "" if blank else str(value or "")
            entry = {"label": f.label, "name": name, "printed_name": name, "signed": "", "date": ""}
            e = signed.get(f.name) if not blank else None
            if e is not None:
                # The templates print a signature field's value (a form's own layout) or the generic
                # list's `name`: the manifestation goes there, so a printed record shows who signed
                # electronically and when, not a bare name. A template with its own 签字/日期 cells
                # prints `printed_name`, `signed` and `date` instead.
                when = signed_when(ws, e.get("signed_at"))
                mark = "电子签名" if chinese(loc) else "e-signed"
                entry.update(name=f"{name}（{mark} {when}）", signed=f"{name}（{mark}）",
                             date=cn_date(str(e.get("signed_at") or "")[:10], loc))
                name = f"{name}（{mark}）\n{when}"
            signatures.append(entry)
            values[f.name] = name
            continue
        if f.type == "table":
            rows = [] if blank else [[format_value(_col_field(c), row.get(c.name), loc) for c in f.columns]
                                     for row in (value or [])]
            values[f.name] = [dict(zip([c.name for c in f.columns], r)) for r in rows]
            fields.append({"name": f.name, "label": f.label, "type": f.type, "value": "", "is_table": True,
                           "columns": [c.label for c in f.columns], "rows": rows})
            continue
        if blank and f.type == "choice":
            # a printed form offers its choices to tick; each box is joined to its label (a line
            # may break between choices, never after a □ nor inside a label)
            text = "　".join(nobreak(f"□{c}") for c in f.choices)
        else:
            text = "" if blank else format_value(f, value, loc)
        values[f.name] = text
        if f.name == form.date_field and _date_in_title(form, data, record_date, blank):
            continue   # printed once, in the title block under its own label (no second date line)
        extra = f.writing_lines - 1 if blank and f.type == "text" else 0
        fields.append({"name": f.name, "label": f.label, "type": f.type, "value": text, "is_table": False,
                       "columns": [], "rows": [], "extra_lines": [""] * extra})
    in_title = _date_in_title(form, data, record_date, blank)
    date_f = form.field(form.date_field) if in_title else None
    shown_date = cn_date(record_date, loc) if record_date and not blank else ""
    if date_f is not None and not blank:
        shown_date = format_value(date_f, data.get(date_f.name), loc)   # a datetime keeps its time
    return {"company": ws.config.org_name, "form_id": form.id, "form_revision": form.revision,
            "form_title": form.title,
            "procedure": form.procedure, "number": number, "date_label": date_f.label if date_f else "日期",
            "record_date": shown_date,
            "filed_at": "", "note": "\n".join(x for x in (form.note, history) if x), "fields": fields,
            "signatures": signatures, "data": values,
            "blank": blank}


def signed_when(ws: Workspace, at: str | None) -> str:
    """A signature's time as a person reads it: 2026年12月03日 16:25 in the workspace's zone."""
    text = local_time(at, ws.config.timezone)
    if not text or not chinese(ws.config.locale):
        return text
    return f"{cn_date(text[:10])} {text[11:]}"


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
    return FormField(name=col.name, label=col.label, type=col.type)


def blank_form(ws: Workspace, form_id: str, out: Path | str) -> Path:
    """A blank printable form (.docx or .pdf) for filling by hand."""
    out = outputs.check(ws, out, (".docx", ".pdf"))
    form = load_form(ws, form_id)
    with tempfile.TemporaryDirectory(prefix="qms-blank-") as tmp:
        docx = Path(tmp) / f"{form.id}.docx"
        render(ws, form, record_context(ws, form, {}, blank=True), docx)
        if out.suffix.lower() == ".pdf":
            (docx,) = to_pdf([docx])
            stamp_form(ws, docx, form)          # a scanned blank form is recognised and queued
        return outputs.install(ws, docx, out)

