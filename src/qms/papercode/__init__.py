"""The QR printed on every record PDF and blank form (issue 22): what it says, its check under a
workspace key kept outside archive/, and the overlay that puts it on the first page. Below the
records and scan services: records stamp it, the scan inbox reads it."""

from __future__ import annotations

from pathlib import Path

from .codes import Code, Untrusted, form_text, is_ours, read, record_text, scan_key
from .qrstamp import add_qr, add_qrs


def stamp_record(ws, pdf: Path, number: str, version: int) -> Path:
    """The record's QR (workspace, number, version, check) and its number on page 1 of `pdf`, in place."""
    return add_qr(pdf, record_text(ws, number, version), _label(number, version))


def stamp_records(ws, items: list[tuple[Path, str, int]]) -> None:
    """stamp_record for each (pdf, number, version), drawn together (a chunk of an import)."""
    add_qrs([(Path(pdf), record_text(ws, number, version), _label(number, version)) for pdf, number, version in items])


def _label(number: str, version: int) -> str:
    return number if version == 1 else f"{number} v{version}"


def stamp_form(ws, pdf: Path, form) -> Path:
    """A blank form's QR (form id and revision): a scan of an unfilled form goes to the queue."""
    revision = str(getattr(form, "revision", "") or "")
    return add_qr(pdf, form_text(ws, form.id, revision), f"{form.id} {revision}".strip())


__all__ = ["Code", "Untrusted", "form_text", "is_ours", "read", "record_text", "scan_key", "stamp_form",
           "stamp_record", "stamp_records"]
