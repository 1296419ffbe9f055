"""The watched inbox and the job worker inside `qms serve`: two daemon threads.

A file is read only once it has stopped changing — its mtime at least `quiet` seconds old and its
size and mtime the same on a second look (scanners write files in pieces; paperless-ngx waits the
same way). watchfiles wakes the inbox thread on a change; a timeout wakes it anyway, so a file
that was still being written is looked at again."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..store.workspace import Workspace
from .intake import INBOX_ACTOR, QUIET, candidates, consume_file, inbox_dir, resume, stable
from ..jobs import run_pending

log = logging.getLogger("qms.scan")


def poll(ws: Workspace, *, actor: str = INBOX_ACTOR, quiet: float = QUIET) -> list:
    """One look at the inbox: every file that has stopped changing is consumed (never raises for a file)."""
    box = inbox_dir(ws)
    if box is None or not box.is_dir():
        return []
    resume(ws, actor=actor)
    out = []
    for path in candidates(box):
        if not stable(path, quiet=quiet):
            continue
        try:
            out.append(consume_file(ws, path, actor=actor))
            log.info(out[-1].message)
        except Exception as exc:       # one bad file must not stop the inbox; it stays there to be seen
            log.warning("scan inbox: %s: %s", path.name, exc)
    return out


class Running:
    """The threads `start` began; stop() ends them and waits for them (tests, a clean shutdown)."""

    def __init__(self, event: threading.Event, threads: list[threading.Thread]):
        self.event, self.threads = event, threads

    def stop(self, timeout: float = 15.0) -> None:
        self.event.set()
        for t in self.threads:
            t.join(timeout)


def start(ws: Workspace, *, jobs_every: float = 15.0) -> Running:
    """Start the inbox watcher (when scan.inbox is set) and the job worker."""
    stop = threading.Event()
    threads = []
    box = inbox_dir(ws)
    if box is not None:
        box.mkdir(parents=True, exist_ok=True)
        threads.append(threading.Thread(target=_watch, args=(ws, box, stop), name="qms-scan-inbox", daemon=True))
    threads.append(threading.Thread(target=_work, args=(ws, stop, jobs_every), name="qms-jobs", daemon=True))
    for t in threads:
        t.start()
    return Running(stop, threads)


def _watch(ws: Workspace, box: Path, stop: threading.Event) -> None:
    import watchfiles    # lazy: watchfiles loads in ~30 ms; only qms serve watches the inbox
    poll(ws)
    for _ in watchfiles.watch(box, stop_event=stop, debounce=int(QUIET * 1000), yield_on_timeout=True,
                              rust_timeout=int(5 * QUIET * 1000)):
        if stop.is_set():
            return
        try:
            poll(ws)
        except Exception as exc:       # the workspace busy, a disk full: try again on the next wake
            log.warning("scan inbox: %s", exc)


def _work(ws: Workspace, stop: threading.Event, every: float) -> None:
    while not stop.is_set():
        try:
            for r in run_pending(ws, actor="qms serve (jobs)"):
                log.info("job %s: %s %s", r.id, r.outcome, r.message)
        except Exception as exc:
            log.warning("jobs: %s", exc)
        stop.wait(every)
