"""Reading filed records: one record with its versions, signatures and files; lists."""

from __future__ import annotations

from pathlib import Path

from .. import recordstate
from ..archive import read_manifest
from ..catalog import reading
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
        "files": files, "pdf_pending": bool(row["pdf_pending"]),
        "versions": [{"version": v["version"], "filed_at": v["filed_at"], "filed_by": v["filed_by"],
                      "reason": v["reason"], "folder": v["folder"],
                      "data": (load_archived(ws.root / v["folder"] / "data.yaml") or {}).get("data", {})}
                     for v in versions],
    }


def list_records(ws: Workspace, *, form: str | None = None, status: str | None = None,
                 year: int | None = None) -> list[dict]:
    with reading(ws) as cat:
        return recordstate.listing(cat, form=form, status=status, year=year)
