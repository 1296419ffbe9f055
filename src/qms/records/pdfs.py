"""PDF/A renditions of filed records: converted in chunks (one LibreOffice run each), hashed
into each record's manifest and logged; a failed chunk stays pending, the rest are kept."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..domain import recordstate
from ..base.dates import now_iso
from ..base.errors import QmsError
from ..papercode import stamp_records
from ..store.workspace import Workspace
from ..store.writer import writing
from ..adapters.convert import chunk_size, part_size, to_pdf


def convert_pending(ws: Workspace, *, actor: str, numbers: list[str] | None = None, progress=None) -> list[str]:
    """PDF/A renditions for records filed without one, in one LibreOffice run; hashed into each
    record's manifest and logged."""
    with writing(ws, purpose="record pdf") as w:
        rows = recordstate.pdf_pending(w.cat, numbers)
    if not rows:
        return []
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
    with writing(ws, purpose="record pdf") as w:
        rows = recordstate.pdf_pending(w.cat, [r["number"] for r in rows])
        if not rows:
            return []
        st = w.stage()
        sources = [ws.root / r["folder"] / f"{r['number']}.docx" for r in rows]
        pdfs = [st.at(f"{r['folder']}/{r['number']}.pdf") for r in rows]
        _convert_and_stamp(ws, sources, pdfs, [(r["number"], _version(r["folder"])) for r in rows])
        at = now_iso()
        events = []
        for r in rows:
            mark = st.mark()
            st.add(f"{r['folder']}/{r['number']}.pdf", synced=True)     # (the stamp wrote it with an fsync)
            st.manifest(r["folder"], now=at)
            events.append({"action": "record.pdf", "target": r["number"],
                           "data": {"folder": r["folder"], **st.promise_since(mark)}})
            if progress:
                progress(offset + len(events))
        w.commit(events, actor=actor)
    return [e["target"] for e in events]


def _convert_and_stamp(ws: Workspace, sources: list[Path], pdfs: list[Path], codes: list[tuple[str, int]]) -> None:
    """Convert each source to its PDF and stamp on it the QR the scan inbox reads, both in place in
    the stage. LibreOffice converts in its own process, so the QRs of a converted part are drawn
    and placed (one overlay document a part) in a thread while it converts the next: on 2 cores
    the stamp's ~10 ms a record hides behind LibreOffice's ~80. Any failure raises once the
    stamping has stopped; the caller's stage is then discarded (nothing staged is promised)."""
    stamping: list[Future] = []
    stamper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qms-qr-stamp")
    done = 0
    try:
        while done < len(sources):
            if any(f.done() and f.exception() for f in stamping):
                break                    # a stamp failed: the chunk fails, converting more is wasted
            part = slice(done, done + part_size(len(sources) - done))
            to_pdf(sources[part], pdfs[part])
            stamping.append(stamper.submit(stamp_records, ws, [(pdf, number, version) for pdf, (number, version)
                                                               in zip(pdfs[part], codes[part])]))
            done = part.stop
    except BaseException:
        stamper.shutdown(wait=True, cancel_futures=True)     # never leave a thread writing into the stage
        raise
    stamper.shutdown(wait=True)
    for future in stamping:
        future.result()          # a stamp's error, raised here


def _version(folder: str) -> int:
    """A version's folder ends in v<N> (records/<form>/<year>/<number>/v2); the first has none."""
    last = folder.rstrip("/").rpartition("/")[2]
    return int(last[1:]) if last[:1] == "v" and last[1:].isdigit() else 1
