"""The scan inbox: a scanned file in, its parts filed as the customer-signed scans of the records
their QRs name, the rest in the review queue — and the original kept byte-identical.

One file, in three journaled steps, each safe to crash after:
  1. scan.receive — the original (byte-identical, with its SHA-256) and one PDF per part are
     archived under archive/scans/<year>/<id>/, and each part's decision logged (to_file/queued);
  2. per part to file: record.sign through the records signing service (records.sign), then
     scan.filed (and a job.queue for OCR when the pages carry no text);
  3. the inbox file is removed (it is in the archive now).
`resume` finishes step 2 for parts a crash left at to_file; a file whose SHA-256 was received
before changes nothing."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..domain import recordstate
from ..store.archive import sha256_file
from ..store.catalog import reading
from ..base.dates import now_iso, timestamp, today
from ..base.errors import QmsError
from ..domain.labels import chinese
from ..records import signing
from ..store.workspace import Workspace
from ..store.writer import writing
from ..base.yaml_source import load_archived
from . import page_images as pg
from ._zxing import read_qr
from .scan_rows import ensure_schema, readable
from .split import Part, split
from ..jobs.queue import ocr_job

INBOX_ACTOR = "scan-inbox (扫描收件箱)"
MAX_PAGES = 200
QUIET = 1.0            # seconds a file must stay unchanged before it is read (see stable)


@dataclass
class Outcome:
    file: str
    id: str | None
    filed: list[str] = field(default_factory=list)        # record numbers
    queued: list[str] = field(default_factory=list)       # item ids (ID-PART)
    message: str = ""
    seen: bool = False                                     # received before: nothing changed

    def to_json(self) -> dict:
        return {"file": self.file, "id": self.id, "filed": self.filed, "queued": self.queued,
                "message": self.message, "unchanged": self.seen}


def inbox_dir(ws: Workspace) -> Path | None:
    value = (ws.config.scan or {}).get("inbox")
    return (ws.root / value) if value else None


def candidates(folder: Path) -> list[Path]:
    """Files to read in a folder: not hidden, not temporary (a scanner writes `.part`, `~` files)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~"))
                  and not p.name.endswith((".part", ".tmp", ".crdownload")))


def stable(path: Path, *, quiet: float = QUIET) -> bool:
    """Not changed for `quiet` seconds: an old mtime, and the same size and mtime a moment later."""
    try:
        first = path.stat()
        wait = quiet - (timestamp() - first.st_mtime)
        if wait > 0:
            time.sleep(min(wait, quiet))
        second = path.stat()
    except FileNotFoundError:
        return False
    return (first.st_size, first.st_mtime_ns) == (second.st_size, second.st_mtime_ns) \
        and timestamp() - second.st_mtime >= quiet * 0.99


def consume(ws: Workspace, folder: Path | str | None = None, *, actor: str, files: list[Path] | None = None) -> list[Outcome]:
    """Every file of the folder (default: scan.inbox), then whatever an earlier crash left to file."""
    resume(ws, actor=actor)
    if files is None:
        folder = Path(folder) if folder else inbox_dir(ws)
        if folder is None:
            raise QmsError("no folder given and no scan.inbox in config.yaml", field="scan.inbox")
        if folder == inbox_dir(ws):
            folder.mkdir(parents=True, exist_ok=True)      # the configured inbox: made on first use
        if not folder.is_dir():
            raise QmsError("not a folder", file=folder)
        files = candidates(folder)
    # a file still being written (changed within the last second) is left for the next run
    return [consume_file(ws, p, actor=actor) for p in files if stable(p)]


def consume_file(ws: Workspace, path: Path, *, actor: str) -> Outcome:
    path = Path(path)
    sha = sha256_file(path)
    with reading(ws) as cat:
        seen = _received(cat, sha)
    if seen:
        path.unlink(missing_ok=True)
        return Outcome(path.name, seen, message=_say(ws, f"{path.name}：已于此前收件（{seen}），未作任何更改",
                                                    f"{path.name}: received before as {seen}; nothing changed"),
                       seen=True)
    max_pages = int((ws.config.scan or {}).get("max_pages", MAX_PAGES))
    source, parts, problem = None, [], None
    try:
        source = pg.open_source(path, max_pages=max_pages)
        found = [_codes_on(source, i) for i in range(source.count)]
        parts = split(ws, found)
    except pg.Unreadable as exc:
        problem = str(exc)
        parts = [Part([], "queued", reason=f"unreadable file: {problem}")]
    try:
        scan_id = _receive(ws, path, sha, source, parts, actor=actor)
    finally:
        if source is not None:
            source.close()
    path.unlink(missing_ok=True)
    filed = resume(ws, actor=actor, only=scan_id)
    with reading(ws) as cat:
        queued = [f"{scan_id}-{r['part']}" for r in _parts(cat, scan_id) if r["state"] == "queued"]
    msg = _say(ws, f"{path.name}：归档 {len(filed)} 份（{'、'.join(filed) or '无'}），待审 {len(queued)} 项"
               + (f"（{problem}）" if problem else ""),
               f"{path.name}: filed {len(filed)} ({', '.join(filed) or 'none'}), {len(queued)} to review"
               + (f" ({problem})" if problem else ""))
    return Outcome(path.name, scan_id, filed, queued, msg)


def _codes_on(source, i: int) -> list[str]:
    texts = read_qr(pg.page_image(source, i))
    if not texts and pg.is_vector(source, i):
        # a printed (not scanned) page: once more at twice the resolution, cheap for vector pages;
        # a scanned page holds no more detail than its image, and rendering it again costs ~100 ms
        texts = read_qr(pg.page_image(source, i, dpi=2 * pg.DPI))
    return texts


def _received(cat, sha: str) -> str | None:
    ensure_schema_read(cat)
    row = cat.one("SELECT id FROM scan_files WHERE sha256=?", sha)
    return row["id"] if row else None


def ensure_schema_read(cat) -> None:
    readable(cat.conn)


def _parts(cat, scan_id: str):
    ensure_schema_read(cat)
    return cat.all("SELECT * FROM scan_parts WHERE id=? ORDER BY part", scan_id)


def _receive(ws: Workspace, path: Path, sha: str, source, parts: list[Part], *, actor: str) -> str:
    scan_id = sha[:10]
    folder = f"{ws.rel(ws.archive_dir)}/scans/{today().year}/{scan_id}"
    original = f"original{path.suffix.lower()}"
    with tempfile.TemporaryDirectory(prefix="qms-scan-") as tmp, writing(ws, purpose="scan receive") as w:
        ensure_schema(w.cat.conn)
        if _received(w.cat, sha):
            return _received(w.cat, sha)
        st = w.stage()
        st.folder(folder)
        st.copy_in(f"{folder}/{original}", path)
        listed = []
        for n, part in enumerate(parts, 1):
            entry = {"part": n, "pages": [p + 1 for p in part.pages], "state": part.state, "reason": part.reason,
                     "number": part.number, "version": part.version}
            if part.pages:
                out = Path(tmp) / f"part-{n:02d}.pdf"
                pg.write_part(source, part.pages, out)
                entry["file"] = f"{folder}/part-{n:02d}.pdf"
                entry["sha256"] = st.copy_in(entry["file"], out, move=True)
            if part.state == "to_file":
                why = _why_not(ws, w.cat, part)
                if why:
                    entry.update(state="queued", reason=why)
            listed.append(entry)
        st.manifest(folder, now=now_iso())
        w.commit([{"action": "scan.receive", "target": scan_id,
                   "data": {"name": path.name, "sha256": sha, "size": path.stat().st_size, "folder": folder,
                            "original": f"{folder}/{original}", "pages": source.count if source else 0,
                            "parts": listed, **st.promise(folder)}}], actor=actor)
    return scan_id


def _why_not(ws: Workspace, cat, part: Part) -> str | None:
    """Why a part whose QR verified cannot be filed now (None: it can)."""
    row = recordstate.find(cat, part.number)
    if row is None:
        gone = recordstate.disposed(cat, part.number)
        return f"record {part.number} was disposed" if gone else f"unknown record {part.number}"
    if row["status"] != "awaiting_signature":
        return f"record {part.number} is not awaiting a signature (status {row['status']})"
    if part.version is not None and part.version != row["version"]:
        return f"printed for version {part.version} of {part.number}; the record is at version {row['version']}"
    if (ws.config.scan or {}).get("confirm"):
        return f"to confirm: record {part.number} (scan.confirm in config.yaml)"
    return None


def resume(ws: Workspace, *, actor: str, only: str | None = None) -> list[str]:
    """File every part left at to_file (all, or of one received file). Returns the numbers filed."""
    with reading(ws) as cat:
        ensure_schema_read(cat)
        rows = [dict(r) for r in cat.all("SELECT * FROM scan_parts WHERE state='to_file'"
                                         + (" AND id=?" if only else "") + " ORDER BY id, part",
                                         *([only] if only else []))]
        names = {r["id"]: r["name"] for r in cat.all("SELECT id, name FROM scan_files")}
    filed = []
    for r in rows:
        if file_part(ws, r, actor=actor, name=names.get(r["id"], r["id"])):
            filed.append(r["number"])
    return filed


def signer_of(ws: Workspace, row) -> tuple[str, str]:
    """The customer named on the record: who signs its paper (用户签字/盖章, else 联系人, else 用户单位)."""
    data = (load_archived(ws.root / row["folder"] / "data.yaml") or {}).get("data", {})
    for key in ("customer_signature", "contact", "customer"):
        if str(data.get(key) or "").strip():
            return str(data[key]).strip(), ("用户" if chinese(ws.config.locale) else "customer")
    return "", ""


def file_part(ws: Workspace, r: dict, *, actor: str, name: str, signer: tuple[str, str] | None = None,
              signed_on: str | None = None, number: str | None = None) -> bool:
    """Sign the record with this part (records.sign), then log scan.filed; a part the record
    cannot take goes to the queue with the reason. True when filed.

    Safe when two runners (the watcher in qms serve, a cron `qms scan consume`) reach the same part:
    the decision is taken again under the workspace lock, and a record already signed with these
    very bytes counts as this part filed."""
    number = number or r["number"]
    with reading(ws) as cat:
        row = recordstate.find(cat, number)
    reason = None
    if not _signed_with(ws, number, r["sha256"]):
        try:
            if row is None:
                raise QmsError(f"unknown record {number}")
            who = signer or signer_of(ws, row)
            signing.sign(ws, number, scan=ws.root / r["file"], signers=[who], actor=actor,
                         signed_on=signed_on, scan_name=f"{name} p.{_pages(r)}")
        except QmsError as exc:
            reason = exc.format().replace("\n", " ")
    with writing(ws, purpose="scan") as w:
        ensure_schema(w.cat.conn)
        now = w.cat.one("SELECT state FROM scan_parts WHERE id=? AND part=?", r["id"], r["part"])
        if now is None or now["state"] in ("filed", "discarded"):
            return now is not None and now["state"] == "filed"
        signed = w.cat.one("SELECT 1 FROM signatures WHERE number=? AND sha256=?", number, r["sha256"])
        if not signed:
            w.commit([{"action": "scan.queued", "target": r["id"],
                       "data": {"part": r["part"], "reason": reason or f"{number} was not signed"}}], actor=actor)
            return False
        job = ocr_job(ws, number)
        w.commit([{"action": "scan.filed", "target": r["id"], "data": {"part": r["part"], "number": number}}]
                 + ([job] if job else []), actor=actor)
    return True


def _signed_with(ws: Workspace, number: str, sha: str | None) -> bool:
    with reading(ws) as cat:
        return bool(sha) and cat.one("SELECT 1 FROM signatures WHERE number=? AND sha256=?", number, sha) is not None


def _pages(r) -> str:
    p = json.loads(r["pages"] or "[]")
    return f"{p[0]}–{p[-1]}" if len(p) > 1 else (str(p[0]) if p else "-")


def _say(ws: Workspace, zh: str, en: str) -> str:
    return zh if chinese(ws.config.locale) else en
