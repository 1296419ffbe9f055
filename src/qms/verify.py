"""`qms verify`: tamper evidence an auditor can rely on. Each problem is one line naming the file,
the record or the seq.

- every file against its manifest, every manifest against the hash the journal recorded;
- every folder and file under archive/ accounted for by the journal (no extras, no symlinks,
  nothing missing);
- record numbers gap-free per sequence (a disposal removes files, never events);
- the hash chain, and a non-empty archive with no journal;
- the catalog at the journal's head and equal to the journal's projection;
- the search index against the catalog; optionally the journal against a signed checkpoint.

Files are hashed without the workspace lock (writers go on); what looks wrong is checked again
under the lock, with the journal and the catalog read there, so work in flight is no alarm.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import audit, journal, projection
from .archive import MANIFEST
from .catalog import open_catalog
from .workspace import Workspace

# Under archive/, written by qms but not archive content: checked in their own ways.
_OWN = {"audit.log", "catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "catalog.sqlite-journal",
        journal.LOCK_NAME}
_OWN_DIRS = {"index", "checkpoints", journal.STAGING, journal.TMP}


@dataclass
class VerifyReport:
    ok: bool
    folders: int = 0
    files: int = 0
    audit_entries: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"ok": self.ok, "folders": self.folders, "files": self.files,
                "audit_entries": self.audit_entries, "problems": self.problems}


@dataclass
class _Walk:
    manifests: dict[str, str] = field(default_factory=dict)   # folder (workspace-relative) -> manifest sha
    suspects: dict[str, list[str]] = field(default_factory=dict)   # folder or file -> problems
    stray: list[str] = field(default_factory=list)            # files outside any manifest folder
    files: int = 0


def verify(ws: Workspace, *, check_index: bool = True, deep: bool = False, checkpoint: Path | None = None,
           progress=None) -> VerifyReport:
    report = VerifyReport(ok=True)
    archive = ws.archive_dir
    if not archive.exists():
        return report
    walk = _walk(ws, progress)
    with journal.workspace_lock(archive, purpose="verify"):
        problems, report.audit_entries = _under_lock(ws, walk, check_index=check_index)
        if checkpoint is not None:
            from .checkpoint import verify_checkpoint
            problems += verify_checkpoint(ws, checkpoint)
    report.folders = len(walk.manifests)
    report.files = walk.files
    report.problems = problems
    report.ok = not problems
    return report


# ------------------------------------------------------------------ the walk (no lock)

def _walk(ws: Workspace, progress) -> _Walk:
    w = _Walk()
    root = os.fspath(ws.root)
    top = os.fspath(ws.archive_dir)
    n = 0
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        if dirpath == top:
            dirnames[:] = [d for d in dirnames if d not in _OWN_DIRS]
            filenames = [f for f in filenames if f not in _OWN]
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                w.suspects.setdefault(f"{rel_dir}/{d}", []).append(f"{rel_dir}/{d}: a symbolic link in the archive")
                dirnames.remove(d)
        if MANIFEST in filenames:
            dirnames[:] = []        # a record's or revision's folder: its manifest lists the subfolders' files
            problems, sha, count = _check_folder(dirpath, rel_dir)
            w.manifests[rel_dir] = sha
            w.files += count
            if problems:
                w.suspects[rel_dir] = problems
            n += 1
            if progress:
                progress(n)
            continue
        for f in filenames:
            w.stray.append(f"{rel_dir}/{f}")
    return w


def _check_folder(folder: str, rel: str) -> tuple[list[str], str, int]:
    """Files of one archived folder against its manifest; (problems, manifest sha, files)."""
    try:
        with open(os.path.join(folder, MANIFEST), "rb") as fh:
            raw = fh.read()
        files = json.loads(raw).get("files", {})
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, OSError):
        return [f"{rel}/{MANIFEST}: manifest is not valid JSON (it was edited)"], "", 0
    sha = hashlib.sha256(raw).hexdigest()
    problems = []
    for name in sorted(files):
        path = os.path.join(folder, name)
        if os.path.islink(path):
            problems.append(f"{rel}/{name}: a symbolic link where the archive holds a file")
            continue
        try:
            with open(path, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except (FileNotFoundError, IsADirectoryError):
            problems.append(f"{rel}/{name}: missing (listed in the manifest)")
            continue
        if digest != (files[name] or {}).get("sha256"):
            problems.append(f"{rel}/{name}: content changed (SHA-256 differs from the manifest)")
    count = 1
    for dirpath, dirnames, filenames in os.walk(folder):
        sub = os.path.relpath(dirpath, folder)
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                problems.append(f"{rel}/{d}: a symbolic link in the archive")
        for fname in filenames:
            name = fname if sub == "." else f"{sub}/{fname}".replace(os.sep, "/")
            count += name != MANIFEST
            if name != MANIFEST and name not in files:
                problems.append(f"{rel}/{name}: not listed in the manifest")
    return problems, sha, count


# ------------------------------------------------------------------ under the lock

@dataclass
class _Expected:
    manifests: dict[str, tuple[str, int]] = field(default_factory=dict)   # folder -> (sha, seq)
    gaps: list[str] = field(default_factory=list)


def _expected(entries: list[audit.AuditEntry]) -> _Expected:
    """What the journal says the archive holds: each live folder's manifest hash; and the
    record numbers of each sequence (numbers never given back, so any hole is a lost event)."""
    exp = _Expected()
    seqs: dict[str, list[tuple[int, str, int]]] = {}
    for e in entries:
        d = e.data or {}
        for rel, sha in (d.get("files") or {}).items():
            if rel.endswith("/" + MANIFEST):
                exp.manifests[rel[: -len(MANIFEST) - 1]] = (sha, e.seq)
        for gone in d.get("destroy") or []:
            prefix = gone + "/"
            for folder in [f for f in exp.manifests if f == gone or f.startswith(prefix)]:
                del exp.manifests[folder]
        if e.action == "record.file" or e.action == "purge":
            if "sequence" in d and "seq" in d:
                seqs.setdefault(d["sequence"], []).append((int(d["seq"]), e.target, e.seq))
    for key, items in sorted(seqs.items()):
        items.sort()
        expect = 1
        for n, target, at in items:
            if n != expect:
                exp.gaps.append(f"sequence {key}: number {expect} is missing before {target} "
                                f"(audit.log entry {at}); a filing or a disposal was removed from the log")
                expect = n
            expect += 1
    return exp


def _under_lock(ws: Workspace, walk: _Walk, *, check_index: bool) -> tuple[list[str], int]:
    problems: list[str] = []
    log = ws.audit_path
    chain = audit.verify_chain(log)
    problems += chain
    try:
        entries = [e for _, e in audit.entries_after(log, 0)]
    except (ValueError, TypeError, KeyError):        # an unparseable line: the chain check named it
        entries = []
    head_seq, head_hash = (entries[-1].seq, entries[-1].hash) if entries else (0, audit.GENESIS)
    holds_content = bool(walk.manifests or walk.stray)
    if not entries and holds_content:
        problems.append(f"{ws.rel(log)}: the journal is {'empty' if log.exists() else 'missing'} although the "
                        "archive holds documents or records")
    exp = _expected(entries)
    problems += exp.gaps

    # Files and folders against the journal (rechecked here: they may have changed since the walk).
    for folder, (sha, seq) in sorted(exp.manifests.items()):
        if folder not in walk.manifests:
            if not (ws.root / folder / MANIFEST).is_file():
                problems.append(f"{folder}: named by audit.log entry {seq} but missing from the archive")
                continue
            walk.suspects.setdefault(folder, [])
        if folder in walk.suspects or walk.manifests.get(folder) != sha:
            again, now_sha, _ = _check_folder(os.fspath(ws.root / folder), folder)
            problems += again
            if now_sha and now_sha != sha:
                problems.append(f"{folder}/{MANIFEST}: differs from the hash audit.log entry {seq} recorded "
                                "(the manifest, and with it the files, were edited)")
    for path, found in sorted(walk.suspects.items()):
        if path in exp.manifests:
            continue
        if (ws.root / path).exists() or os.path.islink(ws.root / path):
            problems += found if found else []
            if path in walk.manifests:
                problems.append(f"{path}: an archived folder no audit.log entry accounts for")
    for path in sorted(set(walk.manifests) - set(exp.manifests) - set(walk.suspects)):
        if (ws.root / path).exists():
            problems.append(f"{path}: an archived folder no audit.log entry accounts for")
    for path in walk.stray:
        if os.path.lexists(ws.root / path):
            problems.append(f"{path}: a file no manifest and no audit.log entry accounts for")

    # The catalog: at the journal's head, and equal to its projection.
    if not ws.catalog_path.exists():
        if entries:
            problems.append(f"{ws.rel(ws.catalog_path)}: missing (qms rebuild makes it from the journal)")
        return problems, len(entries)
    try:
        with open_catalog(ws.catalog_path, create=False) as cat:
            seq, h, _ = projection.head(cat)
            if (seq, h) != (head_seq, head_hash):
                problems.append(f"{ws.rel(ws.catalog_path)}: has applied event {seq} but the journal's head is "
                                f"{head_seq} (run any write command or qms recover to catch up"
                                f"{'; the log was cut or replaced' if seq > head_seq else ''})")
            if not chain and entries:
                from .rebuild import compare, replay_in_memory
                with replay_in_memory(ws, upto=seq) as truth:
                    problems += [f"{ws.rel(ws.catalog_path)}: {line}" for line in compare(cat, truth)]
            problems += _seals(ws, cat)
            if check_index:
                problems += _index_vs_catalog(ws, cat)
    except Exception as exc:                       # a garbage file in place of the catalog
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        problems.append(f"{ws.rel(ws.catalog_path)}: unreadable ({exc}); qms rebuild makes a new one from the log")
    return problems, len(entries)


def _seals(ws: Workspace, cat) -> list[str]:
    """Every sealed released PDF: its PAdES seal intact, valid and covering the whole file."""
    problems = []
    rows = cat.all("SELECT folder, pdf FROM revisions WHERE pdf IS NOT NULL ORDER BY number, seq")
    if not rows:
        return problems
    from .seal import validate_seal
    for r in rows:
        path = ws.root / r["folder"] / r["pdf"]
        if not path.is_file():
            continue            # reported as missing above
        status = validate_seal(ws, path)
        if status.sealed and not status.ok:
            problems.append(f"{ws.rel(path)}: seal broken — {status.problem}")
    return problems


def _index_vs_catalog(ws: Workspace, cat) -> list[str]:
    from .index import SearchIndex
    wanted = {r["number"] for r in cat.all("SELECT number FROM documents")}
    wanted |= {r["number"] for r in cat.all("SELECT number FROM records")}
    if not wanted and not ws.index_dir.exists():
        return []
    if not ws.index_dir.exists():
        return [f"search index missing ({len(wanted)} entries expected; run qms reindex)"]
    have = SearchIndex(ws.index_dir).numbers()
    problems = []
    missing = sorted(wanted - set(have))
    extra = sorted(set(have) - wanted)
    if missing:
        problems.append(f"search index lacks {len(missing)} entries, e.g. {', '.join(missing[:5])} (run qms reindex)")
    if extra:
        problems.append(f"search index holds {len(extra)} entries not in the catalog, e.g. "
                        f"{', '.join(extra[:5])} (run qms reindex)")
    stale = sorted(r["number"] for r in cat.all("SELECT number, status FROM records")
                   if r["number"] in have and have[r["number"]] != r["status"])
    if stale:
        problems.append(f"search index shows an old status for {len(stale)} records, e.g. "
                        f"{', '.join(stale[:5])} (run qms reindex)")
    return problems
