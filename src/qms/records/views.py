"""Reading filed records: one record with its versions, signatures and files; lists."""

from __future__ import annotations

from pathlib import Path

from .. import recordstate
from ..archive import read_manifest
from ..catalog import reading
from ..errors import QmsError
from ..search import SCAN_NAME
from ..workspace import Workspace
from ..yamlsrc import load_archived


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
    with reading(ws) as cat:
        row = recordstate.find(cat, number)
        if row is None:
            gone = recordstate.disposed(cat, number)
            if gone:
                return {"number": number, "form": gone["form"], "status": "disposed",
                        "record_date": gone["record_date"], "retention_until": gone["retention_until"],
                        "disposed_at": gone["disposed_at"], "certificate": gone["certificate"],
                        "data": None, "signatures": [], "files": {}, "versions": []}
            recordstate.record_row(cat, number)
        versions = recordstate.versions(cat, number)
        sigs = recordstate.signatures(cat, number)
        hold = recordstate.open_hold(cat, number)
    folder = ws.root / row["folder"]
    doc = load_archived(folder / "data.yaml")
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
                      "data": (load_archived(ws.root / v["folder"] / "data.yaml") or {}).get("data", {})}
                     for v in versions],
    }


def list_records(ws: Workspace, *, form: str | None = None, status: str | None = None,
                 year: int | None = None, columns: bool = True) -> list[dict]:
    """Records, filtered; with `columns` each also carries its form's title and the values of the
    form's list columns (which reads each record's data: a page of a long list passes False and
    calls with_columns on the page)."""
    with reading(ws) as cat:
        items = recordstate.listing(cat, form=form, status=status, year=year)
    return with_columns(ws, items) if columns else items     # (with each record's folder, for with_columns)


def _public(item: dict) -> dict:
    item = dict(item)
    item.pop("folder", None)
    return item


def with_columns(ws: Workspace, items: list[dict]) -> list[dict]:
    """Add what a record list shows of each record: `form_title`, `status_text` (待业主签字 for a
    form whose signer_noun is 业主) and `columns` [{name, label, value}] — the form's
    `list_columns` (default: its first few searchable fields), read from the record's data."""
    from ..forms import format_value, load_forms_quietly
    from ..labels import status_label
    forms = load_forms_quietly(ws)
    out = []
    for x in items:
        form = forms.get(x["form"])
        item = _public(x)
        item["form_title"] = form.title if form else ""
        item["status_text"] = status_label(x["status"], ws.config.locale, form.signer_noun if form else None)
        cols = []
        if form is not None:
            data = {}
            if x.get("folder"):
                try:
                    data = (load_archived(ws.root / x["folder"] / "data.yaml") or {}).get("data") or {}
                except (QmsError, OSError):   # a list still shows a record whose data cannot be read now
                    data = {}
            cols = [{"name": f.name, "label": f.label, "value": format_value(f, data.get(f.name), "en")}
                    for f in form.listed_fields()]
        item["columns"] = cols
        out.append(item)
    return out
