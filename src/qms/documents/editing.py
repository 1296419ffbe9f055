"""Editing a procedure's source in the browser: the newest revision's YAML, checked as it is
typed (errors with line numbers), previewed as a draft PDF, and submitted — the same `submit`
(and journal event) as `qms doc submit`. The figures the source names are taken from the
revision's archived folder, so an edit of the text keeps its pictures."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..domain import docstate
from ..store.catalog import reading
from ..domain.docsource import parse_source_text
from ..base.errors import InvalidInput, NotFound, QmsError
from ..domain.results import Change
from ..store.workspace import Workspace
from .procedure_context import cross_reference_warnings, preview
from ..base.yaml_source import parse_yaml_text
from .lifecycle import submit

MAX_TEXT = 512 * 1024
_IMAGES = (".png", ".jpg", ".jpeg")


@dataclass
class Checked:
    ok: bool
    errors: list[dict] = field(default_factory=list)      # {line, message}
    warnings: list[str] = field(default_factory=list)
    summary: str = ""


def newest(ws: Workspace, number: str) -> dict:
    """The newest revision of NUMBER with its source text (what the editor opens)."""
    with reading(ws) as cat:
        if docstate.find_document(cat, number) is None:
            raise NotFound(f"no document {number}", field="number")
        revs = docstate.revisions(cat, number)
    rev = revs[-1]
    folder = ws.root / rev["folder"]
    return {"number": number, "revision": rev["revision"], "state": rev["state"], "change": rev["change"] or "",
            "title": rev["title"], "folder": folder,
            "text": (folder / rev["source"]).read_text(encoding="utf-8"),
            "released": any(r["state"] == "released" for r in revs)}


@contextmanager
def _staged(ws: Workspace, number: str, text: str):
    """The edited text as a file in a temporary folder, beside the revision's pictures."""
    if len(text.encode("utf-8")) > MAX_TEXT:
        raise InvalidInput(f"the source is larger than {MAX_TEXT // 1024} KB", field="source")
    rev = newest(ws, number)
    with tempfile.TemporaryDirectory(prefix="qms-edit-") as tmp:
        for img in rev["folder"].rglob("*"):
            rel = img.relative_to(rev["folder"])
            if img.is_file() and img.suffix.lower() in _IMAGES and rel.parts[0] != "copies":
                (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(img, Path(tmp) / rel)
        path = Path(tmp) / "source.yaml"
        path.write_text(text, encoding="utf-8")
        yield path


def _parse(ws: Workspace, number: str, text: str, path: Path):
    doc = parse_source_text(text, path, ws)
    if doc.number != number:
        raise InvalidInput(f"the number is {number} in this editor; got {doc.number} (submit a new document "
                           "through the upload)", field="number", line=parse_yaml_text(text, path).line("number"))
    return doc


def check_text(ws: Workspace, number: str, text: str) -> Checked:
    """What `qms doc check` says about the edited text: an error with its line, or warnings."""
    def failed(exc: QmsError, folder: str = "") -> Checked:
        message = exc.message.replace(folder + "/", "") if folder else exc.message
        return Checked(False, [{"line": exc.line, "field": exc.field, "message": message}])
    try:
        with _staged(ws, number, text) as path:
            try:
                doc = _parse(ws, number, text, path)
            except QmsError as exc:     # the temporary folder is no name the author knows
                return failed(exc, str(path.parent))
            warnings = [w.replace(str(path), "source.yaml") for w in doc.warnings + cross_reference_warnings(ws, doc)]
    except QmsError as exc:
        return failed(exc)
    return Checked(True, [], warnings, f"{doc.number} {doc.title}：{len(doc.sections)} 个一级章节")


def preview_text(ws: Workspace, number: str, text: str) -> bytes:
    """The edited text as a draft PDF (草稿 DRAFT); nothing is archived."""
    with _staged(ws, number, text) as path:
        _parse(ws, number, text, path)
        out = path.parent / "preview.pdf"
        preview(ws, path, out)
        return out.read_bytes()


def submit_text(ws: Workspace, number: str, text: str, *, actor: str, change: str | None = None,
                major: bool = False) -> Change:
    """`qms doc submit` of the edited text: a replaced draft, or the next revision after release."""
    with _staged(ws, number, text) as path:
        _parse(ws, number, text, path)
        return submit(ws, path, actor=actor, change=change or None, major=major)
