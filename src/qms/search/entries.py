"""What the search index holds for a document or a record, built from the catalog and the
archived files (the services and recovery both index through here)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ..store.catalog import Catalog
from ..base.dates import today
from ..domain.recordstate import SCAN_NAME
from ..store.workspace import Workspace
from ..domain.docsource import parse_source_text, plain_text
from ..domain.docstate import approvals, current
from .schema import IndexDoc, FieldMap
from ..domain.forms import load_forms, load_forms_quietly
from ..base.yaml_source import load_archived
from ..adapters.pdf import pdf_text
from ..domain.labels import chinese
from .analysis import normalize

def document_entry(ws: Workspace, cat: Catalog, number: str):
    """A document's newest revision's text, with the status of the revision current today."""
    doc, revs, statuses, rev = current(ws, cat, number, today())
    newest = revs[-1]
    folder = ws.root / newest["folder"]
    source = parse_source_text((folder / newest["source"]).read_text(encoding="utf-8"),
                               folder / newest["source"], ws)
    people = sorted({a["name"] for r in revs for a in approvals(cat, r["id"])})
    day = rev["effective"] or rev["issued"] or (rev["submitted_at"] or "")[:10]
    # every revision's change note (修订说明): "when did we change the 压力试验 clause" is a search
    notes = [r["change"] for r in revs if r["change"]]
    text = plain_text(source) + ("\n修订说明\n" + "\n".join(notes) if notes else "")
    return IndexDoc(number=number, kind="doc", title=source.title, text=text,
                    department=doc["department"] or "", people=people,
                    date=dt.date.fromisoformat(day) if day else None, status=statuses[rev["revision"]])


def record_entries(ws: Workspace, cat: Catalog, numbers: list[str]) -> list:
    """Every searchable field value, the signers, and the text of signed scans and PDF attachments."""
    forms = load_forms(ws)
    out = []
    for number in numbers:
        row = cat.one("SELECT * FROM records WHERE number=?", number)
        if row is None:
            continue
        form = forms.get(row["form"])
        folder = ws.root / row["folder"]
        data = (load_archived(folder / "data.yaml") or {}).get("data", {})
        parts, people, fields = [number, form.title if form else row["form"]], [], {}
        for f in (form.fields if form else []):
            value = data.get(f.name)
            if value in (None, "") or not f.searchable:
                continue
            if f.type == "table":
                cells = [(str(k), str(v)) for r in value if isinstance(r, dict) for k, v in r.items()
                         if v not in (None, "")]
                parts += [v for _, v in cells]
                fields[f.name] = [v for _, v in cells]
                for k, v in cells:
                    fields.setdefault(f"{f.name}.{k}", []).append(v)
            else:
                values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
                parts += values
                fields[f.name] = values
            if f.type == "signature" or f.name in ("engineer", "engineers", "handler", "issued_by"):
                people += [p for p in str(value).replace("、", " ").replace(",", " ").split() if p]
        for s in cat.all("SELECT signer, scan FROM signatures WHERE number=?", number):
            people.append(s["signer"])
        parts += _pdf_texts(ws, cat, number, folder)
        out.append(IndexDoc(number=number, kind="record", title=form.title if form else row["form"],
                            text="\n".join(parts), form=row["form"], customer=row["customer"] or "",
                            people=sorted(set(people)), date=dt.date.fromisoformat(row["record_date"]),
                            status=row["status"], fields=fields))
    return out


OCR_MARK = "〔OCR〕"
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s*\n\s*(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


def ocr_sentences(text: str) -> list[str]:
    """OCR text as indexed: wrapped Chinese lines joined, each sentence marked 〔OCR〕 on both sides,
    so any passage shown around a hit in it (120 characters, 30 before the hit) names its source."""
    joined = _CJK_GAP.sub("", text)
    return [f"{OCR_MARK}{s.strip()}{OCR_MARK}" for s in re.split(r"(?<=[。！？；.!?])|\n", joined) if s.strip()]


def _pdf_texts(ws: Workspace, cat: Catalog, number: str, folder: Path) -> list[str]:
    """Text layers of the signed scans and PDF attachments (scans without OCR have none)."""
    paths = [ws.root / s["scan"] for s in cat.all("SELECT scan FROM signatures WHERE number=?", number)]
    att = folder / "attachments"
    if att.is_dir():
        paths += sorted(p for p in att.iterdir() if p.suffix.lower() == ".pdf")
    out = []
    for p in paths:
        if not p.is_file():
            continue
        try:
            # a Chinese sentence wrapped across lines of the scan is still one string to search
            out.append(re.sub(r"(?<=[\u3400-\u9fff])\s*\n\s*(?=[\u3400-\u9fff])", "", pdf_text(p)))
        except Exception:      # an unreadable attachment must not block filing; verify still hashes it
            continue
        ocr = p.with_name(p.stem + ".ocr.txt")      # the scan inbox's OCR job (issue 22): hits say OCR
        if ocr.is_file():
            out += ocr_sentences(ocr.read_text(encoding="utf-8", errors="replace"))
    return out


def field_map(ws: Workspace):
    """Every searchable field of every form, by label and by name (table columns as
    `table.column`, and by the column's label): what `LABEL：value` in a query may name."""
    keys: dict[str, set[str]] = {}
    hidden: set[str] = set()
    for form in load_forms_quietly(ws).values():
        for f in form.fields:
            if not f.searchable:
                hidden.update(normalize(k) for k in (f.name, f.label))
                continue
            for key in (f.name, f.label):
                keys.setdefault(normalize(key), set()).add(f.name)
            for c in f.columns:
                name = f"{f.name}.{c.name}"
                for key in (name, f"{f.label}.{c.label}", c.label):
                    keys.setdefault(normalize(key), set()).add(name)
    return FieldMap(tuple((k, tuple(sorted(v))) for k, v in sorted(keys.items())),
                    chinese=chinese(ws.config.locale), hidden=tuple(sorted(hidden - set(keys))))
