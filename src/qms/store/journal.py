"""The journal's write protocol on disk: the workspace lock, staging, crash points, and placing
what a logged event promised.

Order of a change (any crash point is recoverable):
  stage files under archive/.staging/<id>/ → fsync → append the event (naming every file and
  its SHA-256) → rename into place → apply to the catalog → index.
Before the append nothing is promised and recovery deletes the staging; after it, recovery
finishes the renames from the staging (hashes checked) and applies the projection.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from . import pg_journal
from .archive import fsync_path, sha256_file
from ..base.errors import Busy, QmsError
from concurrent.futures import ThreadPoolExecutor
import json

LOCK_NAME = ".lock"
STAGING = ".staging"
TMP = ".tmp"
MANIFEST = "manifest.json"

class _Held(threading.local):
    """lock path -> depth, so nested service calls share one lock — per thread: two requests of
    `qms serve` (a thread pool) are two writers and must wait for each other on the flock."""

    def __init__(self):
        self.depth: dict[str, int] = {}


_thread = _Held()


def crashpoint(name: str) -> None:
    """A test hook: `QMS_CRASH_AT=name[:N]` kills this process (SIGKILL, as a power cut would)
    at the Nth time it passes the named point. Unset, it costs one dict lookup."""
    wanted = os.environ.get("QMS_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    count = int(os.environ.get("_QMS_CRASH_COUNT", "0")) + 1
    os.environ["_QMS_CRASH_COUNT"] = str(count)
    if count >= int(nth or 1):
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def workspace_lock(archive: Path, *, purpose: str = "", wait: bool = True, database: str | None = None):
    """One writer at a time per workspace: flock on the workspace's config.yaml (always there,
    so taking the lock creates nothing; the kernel releases it if the process dies). Who holds
    it is noted in archive/.lock, so a waiting command can say. `database` (storage.database):
    also its advisory lock, for the servers that share it without sharing a disk."""
    key = str(archive)
    _held = _thread.depth
    if _held.get(key):
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    config = archive.parent / "config.yaml"
    fd = os.open(config if config.is_file() else archive.parent, os.O_RDONLY)
    note = archive / LOCK_NAME
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = note.read_text(encoding="utf-8").strip() or "another qms command"
            except OSError:
                holder = "another qms command"
            if not wait:
                raise Busy(f"the workspace is busy: {holder} is writing; try again") from None
            print(f"qms: waiting for {holder} to finish …", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        _note(note, f"pid {os.getpid()} ({purpose or ' '.join(sys.argv[1:3]) or 'qms'}) since "
                    f"{time.strftime('%H:%M:%S')}")
        _held[key] = 1
        try:
            if database:
                with pg_journal.write_lock(database, purpose=purpose, wait=wait):
                    yield
            else:
                yield
        finally:
            _held.pop(key, None)
            _note(note, "")
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _note(path: Path, text: str) -> None:
    """Who holds the lock, for a waiting command to say; removed on release (a refused command
    leaves the archive byte-identical)."""
    try:
        if not text:
            path.unlink(missing_ok=True)
        elif path.parent.is_dir():
            path.write_text(text, encoding="utf-8")
    except OSError:
        pass


def holds_lock(archive: Path) -> bool:
    return bool(_thread.depth.get(str(archive)))


class Stage:
    """A staging area for one change: files are written at their final workspace-relative path
    under archive/.staging/<id>/, and moved into place once the event is logged."""

    def __init__(self, root: Path, archive: Path, fetch=None):
        self.root = root
        # a folder archived through another server (several servers, no shared disk) is brought
        # from the object store before its manifest is rewritten, so no earlier file drops out
        self.fetch = fetch
        self.id = uuid.uuid4().hex[:12]
        self.path = archive / STAGING / self.id
        self.path.mkdir(parents=True)
        self.files: dict[str, str] = {}          # workspace-relative path -> sha256
        self.new_folders: list[str] = []         # folders created whole, renamed in one step
        self._order: list[str] = []              # files in the order staged (a batch promises by mark)
        self._made: set[Path] = set()
        self._new: set[str] = set()

    def at(self, rel: str) -> Path:
        """Where the file or folder `rel` (relative to the workspace) is staged (its parent exists)."""
        p = self.path / rel
        parent = p.parent
        if parent not in self._made:        # a batch stages thousands of files: one mkdir per folder
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)
        return p

    def folder(self, rel: str) -> Path:
        """Stage a new folder `rel`; refuses when it exists already (write-once)."""
        if (self.root / rel).exists():
            raise QmsError("refusing to overwrite an archived folder", file=rel)
        p = self.at(rel)
        p.mkdir(parents=True, exist_ok=False)
        self._made.add(p)
        self.new_folders.append(rel)
        self._new.add(rel)
        return p

    def write(self, rel: str, data: bytes, *, sync: bool = True) -> str:
        target = self.at(rel)
        with open(target, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        return self.add(rel, synced=sync)

    def add(self, rel: str, *, synced: bool = False) -> str:
        """Record a file already written at its staged place; returns its SHA-256. A stage that
        syncs file by file (`_sync`) fsyncs it here unless the writer did (`synced`): the event
        naming its hash must not reach the disk before the file (a record's .docx, an attachment
        was not, and a power cut could leave the journal naming a file that recovery then finds
        empty and refuses to place)."""
        if self._sync and not synced:
            fsync_path(self.at(rel))
        sha = sha256_file(self.at(rel))
        if rel not in self.files:
            self._order.append(rel)
        self.files[rel] = sha
        return sha

    def copy_in(self, rel: str, src: Path, *, move: bool = False) -> str:
        target = self.at(rel)
        if move:
            os.replace(src, target)
        else:
            shutil.copyfile(src, target)
        return self.add(rel)

    def manifest(self, folder: str, *, now: str) -> str:
        """Write the manifest of `folder` (workspace-relative) into the stage: the files already
        in the archived folder plus the ones staged for it. Returns the manifest's SHA-256."""
        final = self.root / folder
        old: dict = {}
        created = now
        if self.fetch is not None and folder not in self._new:
            self.fetch(folder)
        if final.is_dir() and (final / MANIFEST).is_file():
            doc = json.loads((final / MANIFEST).read_text(encoding="utf-8"))
            old, created = doc.get("files", {}), doc.get("created", now)
        files = dict(old)
        prefix = folder + "/"
        # Newest first, stopping after the folder's run: each change stages a folder's files
        # together, so a batch of 10,000 records costs O(files of one record) here.
        mine = []
        for rel in reversed(self._order):
            if rel.startswith(prefix):
                mine.append(rel)
            elif mine:
                break
        for rel in reversed(mine):
            sha = self.files[rel]
            if not rel.endswith("/" + MANIFEST):
                name = rel[len(prefix):]
                if name in old:
                    raise QmsError("refusing to overwrite a file in the write-once archive", file=rel)
                files[name] = {"sha256": sha, "size": self.at(rel).stat().st_size}
        body = json.dumps({"created": created, "updated": now, "files": files},
                          ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        return self.write(prefix + MANIFEST, body, sync=self._sync)

    _sync = True

    def promise(self, *folders: str) -> dict:
        """What an event records about this stage: its id, the new folders and every file's hash
        (all of the stage, or only what lies in `folders`)."""
        def within(rel: str) -> bool:
            return not folders or any(rel == f or rel.startswith(f + "/") for f in folders)
        return {"stage": self.id, "files": {r: h for r, h in self.files.items() if within(r)},
                "new_folders": [f for f in self.new_folders if within(f)]}

    def mark(self) -> tuple[int, int]:
        return len(self._order), len(self.new_folders)

    def promise_since(self, mark: tuple[int, int]) -> dict:
        """promise() for what was staged after `mark`: one record of a batch, in O(its files)."""
        files = {r: self.files[r] for r in self._order[mark[0]:]}
        return {"stage": self.id, "files": files, "new_folders": self.new_folders[mark[1]:]}

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        _rmdir_if_empty(self.path.parent)


def place(root: Path, archive: Path, data: dict, *, check: bool) -> list[str]:
    """Move what an event promised from its staging into place; idempotent.

    `check` (recovery) compares each staged file's hash with the event before moving it and
    leaves anything that does not match for `verify` to report. Returns problems seen."""
    problems: list[str] = []
    stage = data.get("stage")
    files: dict = data.get("files") or {}
    sdir = archive / STAGING / stage if stage else None
    for rel in data.get("new_folders") or []:
        final, staged = root / rel, (sdir / rel if sdir else None)
        if final.exists() or staged is None or not staged.is_dir():
            continue
        if check:
            bad = [r for r in files if r.startswith(rel + "/") and (sdir / r).is_file()
                   and sha256_file(sdir / r) != files[r]]
            if bad:
                problems.append(f"{bad[0]}: staged copy does not match the journal; not placed")
                continue
        if not final.parent.exists() and staged.parent != sdir and len(os.listdir(staged.parent)) == 1:
            # A new record's NUMBER/v1: move NUMBER whole — no mkdir here, no empty folder left
            # in the stage to remove (a batch of 10,000 saved 10,000 of each).
            final.parent.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged.parent, final.parent)
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, final)
    # Single files added to existing folders; a folder's manifest goes last.
    for rel in sorted(files, key=lambda r: r.endswith("/" + MANIFEST)):
        if any(rel.startswith(f + "/") for f in data.get("new_folders") or []) and not check:
            continue
        final = root / rel
        staged = sdir / rel if sdir else None
        if staged is None or not staged.is_file():
            continue       # not staged (already placed, or lost): verify names it
        if final.exists():
            if rel.endswith("/" + MANIFEST):
                if check and sha256_file(final) == files[rel]:
                    continue
            else:
                if check and sha256_file(final) != files[rel]:
                    problems.append(f"{rel}: a different file is in place; not replaced")
                continue
        if check and sha256_file(staged) != files[rel]:
            problems.append(f"{rel}: staged copy does not match the journal; not placed")
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
    destroy = [root / rel for rel in data.get("destroy") or []]
    if destroy:
        # unlink/rmdir wait on the file system, not the CPU: a few threads overlap them
        # (10,000 record folders: 4.3 s one by one, 2.4 s with 8 threads, measured here).

        def remove(target: Path) -> None:
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)
                crashpoint("destroying")
        with ThreadPoolExecutor(max_workers=8 if len(destroy) > 20 else 1) as pool:
            list(pool.map(remove, destroy))
        for parent in sorted({t.parent for t in destroy}, key=lambda p: len(p.parts), reverse=True):
            _prune_empty(parent, archive)
    return problems


def _rmdir_if_empty(folder: Path) -> None:
    """.staging/ and .tmp/ exist only while there is work in them: the archive stays as it was."""
    try:
        folder.rmdir()
    except OSError:
        pass


def _prune_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@contextmanager
def private_tmp(archive: Path):
    """Temporary files of a write command (LibreOffice profiles and outputs, stamps) go to
    archive/.tmp/, which recovery empties: a killed command leaves nothing behind for long."""
    base = archive / TMP
    base.mkdir(parents=True, exist_ok=True)
    mine = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
    before = tempfile.tempdir
    tempfile.tempdir = str(mine)
    try:
        yield mine
    finally:
        tempfile.tempdir = before
        shutil.rmtree(mine, ignore_errors=True)
        _rmdir_if_empty(base)


def clean_leftovers(archive: Path) -> list[str]:
    """Remove what no event promised: staging and temp folders, and LibreOffice processes a
    killed command left running on them. Call under the lock, after placing promised files."""
    removed = []
    for name in (STAGING, TMP):
        base = archive / name
        if not base.is_dir():
            continue
        for child in base.iterdir():
            if name == TMP and holds_lock(archive) and child.name.startswith(f"{os.getpid()}-"):
                continue          # our own live temp folder
            _kill_processes_using(child)
            shutil.rmtree(child, ignore_errors=True)
            removed.append(f"{name}/{child.name}")
        _rmdir_if_empty(base)          # an empty .staging/ left by a kill is no part of the archive
    return removed


def _kill_processes_using(folder: Path) -> None:
    """soffice started on a temp folder under `folder` (its profile lives there)."""
    needle = os.fsencode(str(folder))
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if needle in cmd:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
