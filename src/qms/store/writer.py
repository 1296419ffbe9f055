"""One write path for every state change, and the recovery every write command starts with.

    with writing(ws) as w:                 # workspace lock; recovery; a caught-up catalog
        ... read w.cat, validate ...
        st = w.stage()                    # files staged under archive/.staging/<id>/
        ... st.write(...) ...
        w.commit([event, ...], actor=…)   # log (fsync) → place → project → index

Services never write catalog tables or the log themselves.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import audit, events, hooks, journal, journalkey, projection
from .journal_entry import AuditEntry
from . import catalog
from .catalog import Catalog
from ..base.errors import Busy, Integrity, QmsError
from .journal import Stage, crashpoint
from . import object_sync
from .object_sync import fetch_folder
from .workspace import Workspace

import shutil
from .checkpoint import journal_checkpoint
import sys


@dataclass
class Writer:
    ws: Workspace
    cat: Catalog
    stages: list[Stage] = field(default_factory=list)
    committed: bool = False
    _seqs: dict[str, int] = field(default_factory=dict)
    _checkpointing: bool = False

    def stage(self) -> Stage:
        # several servers (a database shared, no disk): a folder may have changed through another
        # since this server last saw it; one server alone has its folders as it left them
        shared = catalog.database(self.ws) is not None
        st = Stage(self.ws.root, self.ws.archive_dir,
                   fetch=lambda folder: fetch_folder(self.ws, folder, refresh=shared))
        self.stages.append(st)
        return st

    def next_seq(self, key: str) -> int:
        """The next number of a sequence. Numbers are taken under the workspace lock and only
        become real when their event is logged, so a failure before that leaves no gap."""
        if key not in self._seqs:
            row = self.cat.one("SELECT value FROM sequences WHERE key=?", key)
            self._seqs[key] = row["value"] if row else 0
        self._seqs[key] += 1
        return self._seqs[key]

    def commit(self, events: list[dict], *, actor: str, sync: str = "each", index: bool = True) -> list[AuditEntry]:
        """Log the events (one fsync), then place their files, project them, index them.

        `sync`: "each" — staged files were fsynced one by one; "all" — one os.sync() for a batch."""
        if self.cat.path is None:          # the first change of a new workspace makes its catalog
            self.cat.close()
            self.cat = catalog.open_for(self.ws, create=True)   # no log yet: nothing to catch up
        self.committed = True
        if sync == "all":
            os.sync()
        crashpoint("staged")
        asked = len(events)
        events = events + hooks.followers_of(self, events)      # e.g. a release's reading assignments
        key = journalkey.journal_key(self.ws, create=True)
        pairs = audit.append_batch(self.ws.audit_path, [{"actor": actor, **e} for e in events], key=key)
        journalkey.note_head(self.ws, pairs[-1][1].seq, pairs[-1][1].hash)
        crashpoint("logged")
        for _, e in pairs:
            journal.place(self.ws.root, self.ws.archive_dir, e.data, check=False)
            crashpoint("placed")
        projection.apply_all(self.cat, pairs)
        crashpoint("projected")
        if index:          # (a bench that builds the index itself passes False)
            _publish(self.ws, self.cat, [e for _, e in pairs])
        for st in self.stages:
            st.discard()
        self.stages.clear()
        self._seqs.clear()
        every = self.ws.config.checkpoint_every
        if every and not self._checkpointing and pairs[-1][1].seq // every > (pairs[0][1].seq - 1) // every:
            journal_checkpoint(self, actor=actor, reason=f"every {every} events")
        # the caller's own events: after the journal.key pin a first signed batch starts with, before
        # the followers a hook added (a release's reading assignments)
        first = len(pairs) - len(events)
        return [e for _, e in pairs[first:first + asked]]


@contextmanager
def writing(ws: Workspace, purpose: str = "", *, governed: bool = True):
    """The workspace lock, a private temp folder, recovery, and a catalog caught up with the log.

    `governed`: refuse while config.yaml, a schema or a template differs from what was last
    applied (qms config apply). Recovery (finishing promised work) and a journaled failed login
    are not new changes and pass."""
    existed = ws.archive_dir.exists()
    w = None
    if catalog.database(ws) and existed:
        # most of a long catch-up (a server back after a while) before the lock every server waits for
        with journal.workspace_lock(ws.archive_dir, purpose="catch-up"):
            _folder_catch_up(ws)
    try:
        with journal.workspace_lock(ws.archive_dir, purpose=purpose, database=catalog.database(ws)), \
                journal.private_tmp(ws.archive_dir):
            # A refused first command must leave no archive behind: the catalog comes with the first commit.
            cat = catalog.open_for(ws, create=catalog.present(ws) or ws.audit_path.exists())
            w = Writer(ws, cat)
            try:
                if cat.path is not None:
                    _folder_catch_up(ws)
                    _recover(ws, cat)
                    if governed and purpose != "recover" and not purpose.startswith("login."):
                        hooks.check_gates(ws, cat)
                yield w
            finally:
                for st in w.stages:           # staged but never logged: nothing was promised
                    st.discard()
                w.cat.close()
    finally:
        if not existed and (w is None or not w.committed):
            shutil.rmtree(ws.archive_dir, ignore_errors=True)


def _folder_catch_up(ws: Workspace) -> None:
    """Several servers: what the others archived, into this server's folder before a change reads it.
    A bucket that does not answer delays it to the next write; the change itself goes on."""
    try:
        object_sync.catch_up(ws)        # (not this module's catch_up: that one is the catalog's)
    except (QmsError, OSError) as exc:
        print(f"qms: this server's archive folder is not up to date with the bucket: {exc}", file=sys.stderr)


def recover(ws: Workspace) -> dict:
    """`qms recover`: finish what the log promised, remove what it did not, re-index."""
    with writing(ws, purpose="recover") as w:
        seq, _, _ = projection.head(w.cat)
        return {"head": seq, "indexed": projection.indexed_seq(w.cat), "pdf_pending": pending_renditions(w.cat)}


def _recover(ws: Workspace, cat: Catalog, *, drop: bool = True) -> None:
    """`drop`: cut a batch never committed (writers); a reader catching up leaves it for verify
    to report and the next write to drop."""
    log_seq, log_hash = audit.head(ws.audit_path)
    seq, h, offset = projection.head(cat)
    if seq > log_seq or (seq == log_seq and h != log_hash):
        raise Integrity(f"the catalog has applied event {seq} but the journal ends at {log_seq} "
                        "(the log was truncated or replaced); nothing was changed — run qms verify",
                        file=ws.rel(ws.audit_path))
    interrupted = seq < log_seq
    if seq < log_seq or _torn(ws):
        key = journalkey.journal_key(ws).public_key() if journalkey.has_journal_key(ws) else None
        tail = audit.read_tail(ws.audit_path, seq, offset, h, key)
        if tail.problems:
            raise Integrity(f"{tail.problems[0]}; nothing was changed — run qms verify", file=ws.rel(ws.audit_path))
        if tail.cut is not None and drop:
            _drop_uncommitted(ws, tail)
        for _, e in tail.pairs:
            if e.data.get("stage") or e.data.get("destroy"):
                journal.place(ws.root, ws.archive_dir, e.data, check=True)
        projection.apply_all(cat, tail.pairs)
        if tail.pairs:
            journalkey.note_head(ws, tail.pairs[-1][1].seq, tail.pairs[-1][1].hash)
        log_seq = audit.head(ws.audit_path)[0]
    have = projection.trail_seq(cat)
    if have < projection.head(cat)[0]:      # a catalog from before the audit_trail table: filled once
        projection.fill_trail(cat, audit.entries_after(ws.audit_path, have))
    interrupted = bool(journal.clean_leftovers(ws.archive_dir)) or interrupted
    if interrupted:
        _report_pending(cat)
    done = projection.indexed_seq(cat)
    if done < log_seq:
        entries = [e for _, e in audit.entries_after(ws.audit_path, done)]
        _publish(ws, cat, entries)


def _torn(ws: Workspace) -> bool:
    """The log ends without a newline: a write cut short (head() skips that line)."""
    if hasattr(ws.audit_path, "url"):
        return False           # a database's batch is in whole or not at all
    try:
        with open(ws.audit_path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) != b"\n"
    except OSError:
        return False


def _drop_uncommitted(ws: Workspace, tail: audit.Tail) -> None:
    """A batch whose commit marker never reached the disk (a power cut mid-write, or lines
    appended without the journal key) is dropped whole: nothing it names was placed. What is cut
    is kept in .qms/journal-dropped.log and said on stderr, so a forgery leaves a trace."""
    gone = audit.drop_uncommitted(ws.audit_path, tail.cut)
    if not gone:
        return
    (ws.root / ".qms").mkdir(mode=0o700, exist_ok=True)
    kept = ws.root / ".qms" / "journal-dropped.log"
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as fh:
        fh.write(gone if gone.endswith(b"\n") else gone + b"\n")
    n = len(tail.dropped)
    what = ", ".join(f"{e.seq} {e.action} {e.target}" for e in tail.dropped[:3]) + (" …" if n > 3 else "")
    print(f"qms: {ws.rel(ws.audit_path)}: dropped {n} entr{'ies' if n != 1 else 'y'} with no commit signature"
          f"{f' ({what})' if n else ' (a line cut short)'} — a write cut short by a crash, or lines appended "
          f"without the journal key; kept in {ws.rel(kept)}", file=sys.stderr)


def pending_renditions(cat: Catalog) -> list[str]:
    """Records filed whose PDF rendition is still to be made (`qms record pdf --pending`)."""
    try:
        return [r["number"] for r in cat.all("SELECT number FROM records WHERE pdf_pending=1 ORDER BY number")]
    except sqlite3.Error:      # a catalog with no records table yet
        return []


def _report_pending(cat: Catalog) -> None:
    """A killed command may have left its renditions undone: say so, with the command that makes
    them, rather than leave it to be found (converting here would run LibreOffice inside whatever
    command came next, a login included)."""
    pending = pending_renditions(cat)
    if pending:
        print(f"qms: recovered an interrupted command; PDFs are pending for {len(pending)} records "
              f"(e.g. {pending[0]}) — run `qms record pdf --pending`", file=sys.stderr)


def catch_up(ws: Workspace) -> None:
    """A reader finding the catalog behind the log (a write crashed, or none ran since) brings
    it up to date when no writer is busy; otherwise it reads what is there."""
    if not catalog.present(ws):
        return             # a deleted catalog is for verify to report and a write (or rebuild) to remake
    try:
        with catalog.open_for(ws, create=False) as cat:
            log_seq = audit.head(ws.audit_path)[0]
            behind = projection.head(cat)[0] < log_seq or projection.indexed_seq(cat) < log_seq or \
                projection.trail_seq(cat) < log_seq
    except Exception:
        return             # verify reports an unreadable catalog
    if not behind or not os.access(ws.archive_dir, os.W_OK):
        return
    try:
        with journal.workspace_lock(ws.archive_dir, purpose="catch-up", wait=False,
                                    database=catalog.database(ws)), \
                journal.private_tmp(ws.archive_dir):
            with catalog.open_for(ws, create=True) as cat:
                _recover(ws, cat, drop=False)
    except (Integrity, Busy):      # busy: a writer is finishing that very work
        return



def _publish(ws: Workspace, cat: Catalog, entries: list[AuditEntry]) -> None:
    """Hand committed (or replayed) entries to the subscribers (search indexing, …); the mark
    moves only when someone heard them, so a process without subscribers leaves the work to the next."""
    if entries and events.publish(ws, cat, entries):
        with cat.transaction():
            projection.set_indexed(cat, max(e.seq for e in entries))
