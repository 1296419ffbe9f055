"""The OCR job: a record's image-only signed scan → a searchable PDF/A copy beside it
(`signed-scan.ocr.pdf`) and its text (`signed-scan.ocr.txt`, indexed; hits say OCR). The scan
itself is never touched. OCR is for search only: the record's identity came from its QR."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..domain import recordstate
from ..store.catalog import reading
from ..base.dates import now_iso
from ..store.journal import crashpoint
from ..store.object_sync import fetch_folder
from ..adapters.pdf import pdf_text
from ..domain.recordstate import SCAN_NAME
from .job_rows import queued_event, readable
from ..adapters import ocr     # by module: a test stands a failing ocr_pdf in
import shutil

OCR_PDF = "signed-scan.ocr.pdf"
OCR_TEXT = "signed-scan.ocr.txt"


def _scan_of(cat, number: str):
    row = recordstate.find(cat, number)
    if row is None:
        return None, None
    return row, f"{row['folder']}/{SCAN_NAME}"


def needs_ocr(ws, number: str) -> dict | None:
    with reading(ws) as cat:
        row, scan = _scan_of(cat, number)
        if row is None:
            return None
        job_id = f"ocr:{number}:v{row['version']}"
        readable(cat.conn)
        if cat.one("SELECT 1 FROM jobs WHERE id=?", job_id):
            return None
    path = ws.root / scan
    if not path.is_file() or (path.parent / OCR_TEXT).exists():
        return None
    try:
        if pdf_text(path).strip():
            return None            # it has a text layer already: nothing to recognise
    except Exception:
        pass
    return queued_event(job_id, "ocr", number, {"scan": scan})


def run_ocr(ws, job: dict):
    """OCR outside the lock; returns a function making the scan.ocr event under it."""
    number, scan = job["target"], job["args"]["scan"]
    src = ws.root / scan
    folder = scan.rpartition("/")[0]
    fetch_folder(ws, folder, want=scan.rpartition("/")[2])     # signed through another server (no shared disk): from the bucket
    if (ws.root / folder / OCR_TEXT).exists():
        return [], f"{number}: OCR already there"
    if not src.is_file():
        return [], f"{number}: the scan is gone (disposed); nothing to OCR"
    missing = ocr.available()
    if missing:
        raise ocr.OcrFailed(missing)
    tmp = tempfile.mkdtemp(prefix="qms-ocr-")
    out, text = Path(tmp) / OCR_PDF, Path(tmp) / OCR_TEXT
    ocr.ocr_pdf(src, out, text)
    crashpoint("ocr-done")          # a test kills here: recognised, nothing committed yet

    def effect(w):
        try:
            row, now_scan = _scan_of(w.cat, number)
            if row is None or now_scan != scan or (ws.root / folder / OCR_TEXT).exists():
                return []
            st = w.stage()
            st.copy_in(f"{folder}/{OCR_PDF}", out)
            st.copy_in(f"{folder}/{OCR_TEXT}", text)
            st.manifest(folder, now=now_iso())
            return [{"action": "scan.ocr", "target": number,
                     "data": {"folder": folder, "scan": scan, "pdf": f"{folder}/{OCR_PDF}",
                              "text": f"{folder}/{OCR_TEXT}", **st.promise(folder)}}]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return effect, f"{number}: OCR done ({OCR_PDF}, {OCR_TEXT})"
