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
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import audit, events, journal, projection
from .audit import AuditEntry
from .catalog import Catalog, open_catalog
from .errors import Busy, Integrity
from .journal import Stage, crashpoint
from .workspace import Workspace
import shutil


@dataclass
class Writer:
    ws: Workspace
    cat: Catalog
    stages: list[Stage] = field(default_factory=list)
    committed: bool = False
    _seqs: dict[str, int] = field(default_factory=dict)

    def stage(self) -> Stage:
        st = Stage(self.ws.root, self.ws.archive_dir)
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
            self.cat = open_catalog(self.ws.catalog_path, create=True)   # no log yet: nothing to catch up
        self.committed = True
        if sync == "all":
            os.sync()
        crashpoint("staged")
        pairs = audit.append_batch(self.ws.audit_path, [{"actor": actor, **e} for e in events])
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
        return [e for _, e in pairs]


@contextmanager
def writing(ws: Workspace, purpose: str = ""):
    """The workspace lock, a private temp folder, recovery, and a catalog caught up with the log."""
    existed = ws.archive_dir.exists()
    w = None
    try:
        with journal.workspace_lock(ws.archive_dir, purpose=purpose), journal.private_tmp(ws.archive_dir):
            # A refused first command must leave no archive behind: the catalog comes with the first commit.
            cat = open_catalog(ws.catalog_path, create=ws.catalog_path.exists() or ws.audit_path.exists())
            w = Writer(ws, cat)
            try:
                if cat.path is not None:
                    _recover(ws, cat)
                yield w
            finally:
                for st in w.stages:           # staged but never logged: nothing was promised
                    st.discard()
                w.cat.close()
    finally:
        if not existed and (w is None or not w.committed):
            shutil.rmtree(ws.archive_dir, ignore_errors=True)


def recover(ws: Workspace) -> dict:
    """`qms recover`: finish what the log promised, remove what it did not, re-index."""
    with writing(ws, purpose="recover") as w:
        seq, _, _ = projection.head(w.cat)
        return {"head": seq, "indexed": projection.indexed_seq(w.cat)}


def _recover(ws: Workspace, cat: Catalog) -> None:
    log_seq, log_hash = audit.head(ws.audit_path)
    seq, h, offset = projection.head(cat)
    if seq > log_seq or (seq == log_seq and h != log_hash):
        raise Integrity(f"the catalog has applied event {seq} but the journal ends at {log_seq} "
                        "(the log was truncated or replaced); nothing was changed — run qms verify",
                        file=ws.rel(ws.audit_path))
    if seq < log_seq:
        pairs = audit.entries_after(ws.audit_path, seq, offset)
        for _, e in pairs:
            if e.data.get("stage") or e.data.get("destroy"):
                journal.place(ws.root, ws.archive_dir, e.data, check=True)
        projection.apply_all(cat, pairs)
    journal.clean_leftovers(ws.archive_dir)
    done = projection.indexed_seq(cat)
    if done < log_seq:
        entries = [e for _, e in audit.entries_after(ws.audit_path, done)]
        _publish(ws, cat, entries)


def catch_up(ws: Workspace) -> None:
    """A reader finding the catalog behind the log (a write crashed, or none ran since) brings
    it up to date when no writer is busy; otherwise it reads what is there."""
    if not ws.catalog_path.exists():
        return             # a deleted catalog is for verify to report and a write (or rebuild) to remake
    try:
        with open_catalog(ws.catalog_path, create=False) as cat:
            behind = projection.head(cat)[0] < audit.head(ws.audit_path)[0] or \
                projection.indexed_seq(cat) < audit.head(ws.audit_path)[0]
    except Exception:
        return             # verify reports an unreadable catalog
    if not behind or not os.access(ws.archive_dir, os.W_OK):
        return
    try:
        with journal.workspace_lock(ws.archive_dir, purpose="catch-up", wait=False), \
                journal.private_tmp(ws.archive_dir):
            with open_catalog(ws.catalog_path, create=True) as cat:
                _recover(ws, cat)
    except (Integrity, Busy):      # busy: a writer is finishing that very work
        return


def _publish(ws: Workspace, cat: Catalog, entries: list[AuditEntry]) -> None:
    """Hand committed (or replayed) entries to the subscribers (search indexing, …); the mark
    moves only when someone heard them, so a process without subscribers leaves the work to the next."""
    if entries and events.publish(ws, cat, entries):
        with cat.transaction():
            projection.set_indexed(cat, max(e.seq for e in entries))
