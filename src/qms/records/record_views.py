"""Reading filed records: one record with its versions, signatures and files; lists."""

from __future__ import annotations

from pathlib import Path

from ..store.object_sync import fetch_folder
from ..domain import recordstate
from ..store.archive import read_manifest
from ..store.catalog import reading
from ..base.paging import Page, bounds
from ..domain.recordstate import SCAN_NAME
from ..store.workspace import Workspace
from ..base.yaml_source import load_archived
from ..domain.forms import format_value, load_forms_quietly
from ..domain.labels import status_label


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


def signature_list(ws: Workspace, cat, number: str, docs: dict[int, dict]) -> list[dict]:
    """Every signature of a record, each naming the version it covers: the filer's electronic
    signatures (kept in that version's data.yaml, `docs`: version → its data.yaml) and the
    customer's on paper (one per signer of a scan filed into that version's folder)."""
    out = []
    for version, doc in docs.items():
        for e in doc.get("esign") or []:
            at = str(e.get("signed_at") or "")
            out.append({"kind": "electronic", "signer": e.get("name"), "name": e.get("name"),
                        "login": e.get("login"), "role": e.get("label"), "field": e.get("field"),
                        "meaning": e.get("meaning"), "at": at, "signed_on": at[:10], "version": version})
    for s in recordstate.signatures(cat, number):
        out.append({"kind": "scan", "signer": s["signer"], "name": s["signer"], "role": s["role"], "at": s["at"],
                    "signed_on": s["signed_on"] or str(s["at"] or "")[:10], "scan": s["scan"],
                    "sha256": s["sha256"], "version": s["version"]})
    # by version; within one, the customer's (what a reader looks for first), then the filer's
    return sorted(out, key=lambda x: (x["version"] or 0, x["kind"] == "electronic"))


def show(ws: Workspace, number: str) -> dict:
    with reading(ws) as cat:
        row = recordstate.find(cat, number)
        if row is None:
            gone = recordstate.disposed(cat, number)
            if gone:
                return {"number": number, "form": gone["form"], "status": "disposed",
                        "record_date": gone["record_date"], "retention_until": gone["retention_until"],
                        "disposed_at": gone["disposed_at"], "certificate": gone["certificate"],
                        "data": None, "signatures": [], "signed_version": None, "files": {}, "versions": []}
            recordstate.record_row(cat, number)
        versions = recordstate.versions(cat, number)
        scans = {r["scan"] for r in cat.all("SELECT scan FROM signatures WHERE number=?", number)}
        for v in versions:             # filed (or signed) through another server, no shared disk: from the bucket
            fetch_folder(ws, v["folder"], want=SCAN_NAME if f"{v['folder']}/{SCAN_NAME}" in scans else None)
        docs = {v["version"]: load_archived(ws.root / v["folder"] / "data.yaml") or {} for v in versions}
        sigs = signature_list(ws, cat, number, docs)
        hold = recordstate.open_hold(cat, number)
    folder = ws.root / row["folder"]
    doc = docs.get(row["version"]) or load_archived(folder / "data.yaml")
    files = _files(ws, folder, number)
    if "scan" not in files:
        # the current version is not signed: the latest scan of an earlier version, which covers that one only
        earlier = [ws.root / v["folder"] / SCAN_NAME for v in versions if (ws.root / v["folder"] / SCAN_NAME).exists()]
        if earlier:
            files["scan"] = ws.rel(earlier[-1])
    scanned = [s["version"] for s in sigs if s["kind"] == "scan" and s["version"]]
    return {
        "number": number, "form": row["form"], "status": row["status"], "data": doc.get("data", {}),
        "record_date": row["record_date"], "filed_at": row["filed_at"], "filed_by": row["filed_by"],
        "retention_until": row["retention_until"], "held": hold is not None,
        "hold": dict(hold) if hold else None, "version": row["version"],
        # the version the customer's signature covers (None: not signed on paper); when it is not
        # `version`, the record waits for the customer to sign the amended version
        "signed_version": max(scanned) if scanned else None,
        "signatures": sigs,
        "files": files, "pdf_pending": bool(row["pdf_pending"]),
        "versions": [{"version": v["version"], "filed_at": v["filed_at"], "filed_by": v["filed_by"],
                      "reason": v["reason"], "folder": v["folder"],
                      "data": docs[v["version"]].get("data", {})}
                     for v in versions],
    }


def list_records(ws: Workspace, *, form: str | None = None, status: str | None = None,
                 year: int | None = None, columns: bool = True) -> list[dict]:
    """Every record the filters match (the inbox, a yearly volume's count), each with its form's
    title and list columns when `columns`. A list a person pages through calls list_page."""
    with reading(ws) as cat:
        items = recordstate.listing(cat, form=form, status=status, year=year)
    return with_columns(ws, items) if columns else items


def list_page(ws: Workspace, *, form: str | None = None, status: str | None = None, year: int | None = None,
              customer: str | None = None, limit: int | None = None, offset: int | None = None) -> Page:
    """One page of records, newest filing first, counted and cut in SQL; each with its form's name
    and list columns read from the catalog (record_fields): no record's data.yaml is opened, so a
    page costs the same at 100 records as at 100,000."""
    limit, offset = bounds(limit, offset)
    with reading(ws) as cat:
        total, items = recordstate.page(cat, limit=limit, offset=offset, form=form, status=status, year=year,
                                        customer=customer)
        values = recordstate.field_values(cat, [x["number"] for x in items])
    return Page(total, _described(ws, items, values), offset, limit)


def _public(item: dict) -> dict:
    item = dict(item)
    item.pop("folder", None)
    return item


def _shown(f, value) -> str:
    """A catalog value as the form prints it (the catalog keeps text: 3.0 is shown 3)."""
    if f.type == "number" and value not in (None, ""):
        try:
            return format_value(f, float(value), "en")
        except ValueError:
            return str(value)
    try:
        return format_value(f, value, "en")
    except (ValueError, TypeError):     # a value the form's type no longer reads: shown as kept
        return str(value)


def _described(ws: Workspace, items: list[dict], values: dict[str, dict[str, str]]) -> list[dict]:
    forms = load_forms_quietly(ws)
    out = []
    for x in items:
        form = forms.get(x["form"])
        item = _public(x)
        item["form_title"] = form.title if form else ""
        item["status_text"] = status_label(x["status"], ws.config.locale, form.signer_noun if form else None)
        data = values.get(x["number"]) or {}
        item["columns"] = [{"name": f.name, "label": f.label, "value": _shown(f, data.get(f.name))}
                           for f in form.listed_fields()] if form is not None else []
        out.append(item)
    return out


def with_columns(ws: Workspace, items: list[dict]) -> list[dict]:
    """Add what a record list shows of each record: `form_title`, `status_text` (待业主签字 for a
    form whose signer_noun is 业主) and `columns` [{name, label, value}] — the form's
    `list_columns` (default: its first few searchable fields), read from the catalog."""
    with reading(ws) as cat:
        values = recordstate.field_values(cat, [x["number"] for x in items])
    return _described(ws, items, values)
