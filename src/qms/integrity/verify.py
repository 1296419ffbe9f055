"""`qms verify`: tamper evidence an auditor can rely on. Each problem is one line naming the file,
the record or the seq.

- every file against its manifest, every manifest against the hash the journal recorded;
- every folder and file under archive/ accounted for by the journal (no extras, no symlinks,
  nothing missing);
- record numbers gap-free per sequence (a disposal removes files, never events);
- the hash chain, and a non-empty archive with no journal;
- the catalog at the journal's head and equal to the journal's projection;
- the search index against the catalog; optionally the journal against a signed checkpoint.

Speed (sha256sum is the floor): the journal and the catalog are checked in a forked process
under the workspace lock while this one walks and hashes the files without it; then, under the
lock again, the log's newest entries are read and anything that looked wrong is checked once
more — so work in flight is no alarm.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..store import audit, journal, projection
from ..store.journal_entry import GENESIS
from ..store.archive import MANIFEST, sha256_file
from ..store.object_sync import CAUGHT_UP, catch_up
from ..store import catalog
from ..store.workspace import Workspace
from ..store.checkpoint import stored_problems, verify_checkpoint
from .governance import verify_problems
from ..store.journalkey import read_head, stored_public
from ..store.replay import compare, replay_in_memory, trail_differences
from ..adapters.pades import validate_seal
from ..search import index_exists, open_index, preload_index
from .problems import Problem, coded
from .bucket_check import bucket_problems
from ..domain.labels import chinese
from ..store.writer import pending_renditions as pending

# Under archive/, written by qms but not archive content: checked in their own ways.
_OWN = {"audit.log", "index.sha256", "catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "catalog.sqlite-journal",
        journal.LOCK_NAME, CAUGHT_UP,    # several servers: how far this server's folder is caught up (object_sync)
        # search totals kept per index generation (derived; search/totals.py)
        "index.totals.sqlite", "index.totals.sqlite-wal", "index.totals.sqlite-shm", "index.totals.sqlite-journal"}
_OWN_DIRS = {"index", "checkpoints", journal.STAGING, journal.TMP}


@dataclass
class VerifyReport:
    ok: bool
    folders: int = 0
    files: int = 0
    audit_entries: int = 0
    problems: list[Problem] = field(default_factory=list)
    chinese: bool = False        # the workspace's language: `issues[].message` in Chinese
    # Their own class: work not yet done (records filed whose PDF is still to be made), not
    # tampering — listed so that nothing is lost quietly, without turning `ok` false.
    pdf_pending: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"ok": self.ok, "folders": self.folders, "files": self.files,
                "audit_entries": self.audit_entries, "problems": [str(p) for p in self.problems],
                "issues": [p.to_json(self.chinese) for p in self.problems], "pdf_pending": self.pdf_pending}


@dataclass
class _Walk:
    manifests: dict[str, str] = field(default_factory=dict)        # folder (workspace-relative) -> manifest sha
    suspects: dict[str, list[str]] = field(default_factory=dict)   # folder or file -> problems
    stray: list[str] = field(default_factory=list)                 # files outside any manifest folder
    files: int = 0


def verify(ws: Workspace, *, check_index: bool = True, deep: bool = False, checkpoint: Path | None = None,
           progress=None) -> VerifyReport:
    report = VerifyReport(ok=True, chinese=chinese(ws.config.locale))
    archive = ws.archive_dir
    if not archive.exists() and not catalog.database(ws):     # in a database the journal is checked all the same
        return report
    with journal.workspace_lock(archive, purpose="verify"):
        catch_up(ws)          # several servers: this server's folder brought up to the journal first
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        journal_side = pool.apply_async(_journal_side, (ws,))
        if check_index:
            preload_index(ws)     # whoosh loads here, beside the journal side, not after it (~0.1 s)
        walk = _walk(ws, progress)
        problems, expected, gaps, head, offset, n_entries = journal_side.get()
    with journal.workspace_lock(archive, purpose="verify", database=catalog.database(ws)):
        # What was logged since the journal side read the log (filings that went on meanwhile).
        try:
            for _, e in audit.entries_after(ws.audit_path, head, offset):
                _expect(expected, e)
        except (ValueError, TypeError, KeyError):
            pass                   # the chain check named the bad line
        problems += gaps
        problems += _reconcile(ws, walk, expected, n_entries)
        problems += bucket_problems(ws, expected)       # storage.objects: the bucket against the manifests
        if checkpoint is not None:
            problems += coded("CHECKPOINT_MISMATCH", str(checkpoint), verify_checkpoint(ws, checkpoint))
        if check_index:
            problems += _index_problems(ws, problems)
        report.pdf_pending = pending_renditions(ws)
    report.folders = len(walk.manifests)
    report.files = walk.files
    report.audit_entries = n_entries
    report.problems = problems
    report.ok = not problems
    return report


def pending_renditions(ws: Workspace) -> list[str]:
    """Records whose PDF rendition is still to be made: a killed import or `--no-pdf` left them
    for `qms record pdf --pending`."""
    if not catalog.present(ws):
        return []
    try:
        with catalog.open_for(ws, create=False) as cat:
            return pending(cat)
    except Exception as exc:          # an unreadable catalog is reported by the catalog check
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return []


# ------------------------------------------------------------------ the walk (no lock)

def _walk(ws: Workspace, progress) -> _Walk:
    w = _Walk()
    root_len = len(os.fspath(ws.root)) + 1
    count = [0]

    def visit(path: str, top: bool) -> None:
        rel = path[root_len:]
        try:
            items = list(os.scandir(path))
        except OSError:
            return
        names = {it.name for it in items}
        if MANIFEST in names and not top:
            problems, sha, n = _check_folder(path, rel, items)
            w.manifests[rel] = sha
            w.files += n
            if problems:
                w.suspects[rel] = problems
            count[0] += 1
            if progress:
                progress(count[0])
            return
        for it in items:
            if top and (it.name in _OWN or it.name in _OWN_DIRS):
                continue
            if it.is_symlink():
                w.suspects[f"{rel}/{it.name}"] = [Problem("SYMLINK", f"{rel}/{it.name}", "a symbolic link in the archive")]
            elif it.is_dir():
                visit(it.path, False)
            else:
                w.stray.append(f"{rel}/{it.name}")

    visit(os.fspath(ws.archive_dir), True)
    return w


def _check_folder(folder: str, rel: str, items=None) -> tuple[list[str], str, int]:
    """Files of one archived folder against its manifest; (problems, manifest sha, files)."""
    try:
        with open(os.path.join(folder, MANIFEST), "rb") as fh:
            raw = fh.read()
        files = json.loads(raw).get("files", {})
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, OSError):
        return [Problem("MANIFEST_INVALID", f"{rel}/{MANIFEST}", "manifest is not valid JSON (it was edited)")], "", 0
    sha = hashlib.sha256(raw).hexdigest()
    problems = []
    seen = 1
    stack = [(folder, "", items)]
    while stack:
        path, prefix, entries = stack.pop()
        if entries is None:
            try:
                entries = list(os.scandir(path))
            except OSError:
                continue
        for it in entries:
            name = prefix + it.name
            if it.is_symlink():
                problems.append(Problem("SYMLINK", f"{rel}/{name}", "a symbolic link in the archive"))
            elif it.is_dir():
                stack.append((it.path, name + "/", None))
            elif name != MANIFEST:
                seen += 1
                want = files.get(name)
                if want is None:
                    problems.append(Problem("UNLISTED_FILE", f"{rel}/{name}", "not listed in the manifest"))
                    continue
                st = it.stat(follow_symlinks=False)
                if st.st_nlink > 1:
                    problems.append(Problem("HARD_LINK", f"{rel}/{name}", "hard-linked to a file outside its "
                                            "folder (a change there would change it here)"))
                if sha256_file(it.path, st.st_size) != (want or {}).get("sha256"):
                    problems.append(Problem("CONTENT_CHANGED", f"{rel}/{name}",
                                            "content changed (SHA-256 differs from the manifest)"))
    if seen - 1 < len(files):
        for name in sorted(files):
            if not os.path.lexists(os.path.join(folder, name)):
                problems.append(Problem("FILE_MISSING", f"{rel}/{name}", "missing (listed in the manifest)"))
    return problems, sha, seen


# ------------------------------------------------------------------ the journal side (forked, locked)

def _expect(expected: dict, e) -> None:
    d = e.data or {}
    for rel, sha in (d.get("files") or {}).items():
        if rel.endswith("/" + MANIFEST):
            expected[rel[: -len(MANIFEST) - 1]] = (sha, e.seq)
    gone = set(d.get("destroy") or ())
    if gone:
        # one pass over what is expected, each folder's ancestors looked up (a purge of 10,000
        # records against 10,000 folders was quadratic: 10 s of verify)
        for folder in list(expected):
            f = folder
            while f:
                if f in gone:
                    del expected[folder]
                    break
                f = f.rpartition("/")[0]


def _gaps(entries) -> list[str]:
    """Record (and certificate) numbers of each sequence: never given back, so a hole is a lost event."""
    seqs: dict[str, list[tuple[int, str, int]]] = {}
    for e in entries:
        d = e.data or {}
        if e.action in ("record.file", "purge", "disposal.propose") and "sequence" in d and "seq" in d:
            seqs.setdefault(d["sequence"], []).append((int(d["seq"]), e.target, e.seq))
    out = []
    for key, items in sorted(seqs.items()):
        items.sort()
        expect = 1
        for n, target, at in items:
            if n != expect:
                out.append(Problem("NUMBER_GAP", f"sequence {key}", f"number {expect} is missing before {target} "
                                   f"(audit.log entry {at}); a filing or a disposal was removed from the log"))
                expect = n
            expect += 1
    return out


def _journal_side(ws: Workspace):
    """Under the lock: the chain, what the journal expects on disk, number gaps, the catalog at
    the head and equal to the projection. Runs in a forked process."""
    # What the fork inherited is never garbage here: the collector walks only what this process
    # makes (the log's entries), not every object of the parent again (0.05-0.1 s of 1 s after a purge)
    gc.freeze()
    with journal.workspace_lock(ws.archive_dir, purpose="verify", database=catalog.database(ws)):
        # the journal: bytes, chain and every batch's signature (the pin checked against the key
        # kept in .qms/identity/keys/ when this copy has it), and every stored checkpoint it journaled
        lines: dict[int, bytes] = {}         # each line read, for the audit trail's data (trail_differences)
        problems, pairs = audit.scan(ws.audit_path, expected_key=stored_public(ws), lines=lines)
        problems = coded("CHAIN_BROKEN", ws.rel(ws.audit_path), problems)
        stored = coded("CHECKPOINT_STORED", ws.rel(ws.audit_path), stored_problems(ws, pairs)) \
            + coded("JOURNAL_CUT", ws.rel(ws.audit_path), _head_problems(ws, pairs))
        entries = [e for _, e in pairs]
        expected: dict[str, tuple[str, int]] = {}
        for e in entries:
            _expect(expected, e)
        gaps = _gaps(entries) + _governance(ws, entries)
        head, offset = (entries[-1].seq, pairs[-1][0]) if pairs else (0, 0)
        problems += _catalog_side(ws, pairs, lines, chain_ok=not problems) + stored
    return problems, expected, gaps, head, offset, len(entries)


def _head_problems(ws: Workspace, pairs) -> list[str]:
    """The log against the last entry this workspace committed (.qms/journal-head): a log cut
    back at a batch boundary or replaced by an older copy keeps every signature valid."""
    noted = read_head(ws)
    if noted is None:
        return []
    seq, h = noted
    log = ws.rel(ws.audit_path)
    ends = pairs[-1][1].seq if pairs else 0
    if ends < seq:
        return [f"{log}: ends at entry {ends} but this workspace committed up to entry {seq} "
                "(.qms/journal-head): the log was cut back or replaced by an older copy"]
    entry = next((e for _, e in reversed(pairs) if e.seq == seq), None)
    if entry is not None and entry.hash != h:
        return [f"{log}: entry {seq} is not the one this workspace committed (.qms/journal-head): "
                "the log was rewritten"]
    return []


def _catalog_side(ws: Workspace, pairs, lines: dict, *, chain_ok: bool) -> list[str]:
    problems = []
    name = ws.rel(ws.catalog_path)
    if not catalog.present(ws):
        return [Problem("CATALOG_MISSING", name, "missing (qms rebuild makes it from the journal)")] if pairs else []
    head_seq, head_hash = (pairs[-1][1].seq, pairs[-1][1].hash) if pairs else (0, GENESIS)
    try:
        with catalog.open_for(ws, create=False) as cat:
            seq, h, _ = projection.head(cat)
            if (seq, h) != (head_seq, head_hash):
                problems.append(Problem("CATALOG_BEHIND", name, f"has applied event {seq} but the journal's head is "
                                        f"{head_seq} (run any write command or qms recover to catch up"
                                        f"{'; the log was cut or replaced' if seq > head_seq else ''})"))
            if chain_ok and pairs:
                # the trail first: the lines it reads (as large as the log) are let go before the replay
                trail = [Problem("TRAIL_DIFFERS", name, line) for line in trail_differences(cat, pairs, seq, lines)]
                lines.clear()
                with replay_in_memory(ws, upto=seq, pairs=pairs) as truth:
                    problems += [Problem("CATALOG_DIFFERS", name, line) for line in compare(cat, truth)]
                problems += trail
            problems += _seals(ws, cat, _pinned_certificates(pairs))
    except Exception as exc:                       # a garbage file in place of the catalog
        problems.append(_unreadable(name, exc))
    return problems


def _unreadable(name: str, exc: Exception) -> Problem:
    return Problem("CATALOG_UNREADABLE", name, f"unreadable ({exc}); qms rebuild makes a new one from the log")


# ------------------------------------------------------------------ under the lock again

def _reconcile(ws: Workspace, walk: _Walk, expected: dict, n_entries: int) -> list[str]:
    """Files and folders against the journal; anything odd is looked at again now (under the lock)."""
    problems: list[str] = []
    if not n_entries and (walk.manifests or walk.stray):
        problems.append(Problem("JOURNAL_MISSING", ws.rel(ws.audit_path), "the journal is "
                                f"{'empty' if ws.audit_path.exists() else 'missing'} although the archive holds "
                                "documents or records"))
    for folder, (sha, seq) in sorted(expected.items()):
        seen = walk.manifests.get(folder)
        if seen == sha and folder not in walk.suspects:
            continue
        if not (ws.root / folder / MANIFEST).is_file():
            problems.append(Problem("FOLDER_MISSING", folder, f"named by audit.log entry {seq} but missing from the archive"))
            continue
        again, now_sha, _ = _check_folder(os.fspath(ws.root / folder), folder)
        problems += again
        if now_sha and now_sha != sha:
            problems.append(Problem("MANIFEST_MISMATCH", f"{folder}/{MANIFEST}", f"differs from the hash audit.log "
                                    f"entry {seq} recorded (the manifest, and with it the files, were edited)"))
    for path, found in sorted(walk.suspects.items()):
        if path in expected:
            continue
        if os.path.lexists(ws.root / path):
            problems += found
    for path in sorted(set(walk.manifests) - set(expected)):
        if (ws.root / path / MANIFEST).exists():
            problems.append(Problem("UNJOURNALED_FOLDER", path, "an archived folder no audit.log entry accounts for"))
    for path in walk.stray:
        if os.path.lexists(ws.root / path):
            problems.append(Problem("UNJOURNALED_FILE", path, "a file no manifest and no audit.log entry accounts for"))
    return problems


def _governance(ws: Workspace, entries) -> list[str]:
    """config.yaml, schemas and templates as the journal's last config.applied recorded them."""
    try:
        return coded("CONFIG_UNAPPLIED", ws.rel(ws.root), verify_problems(ws, entries))
    except OSError as exc:
        return [Problem("CONFIG_UNAPPLIED", ws.rel(ws.root), f"the configuration files cannot be read ({exc})")]


def _pinned_certificates(pairs) -> dict[str, str | None]:
    """SHA-256 of every seal certificate the journal pinned (qms init, keys init --replace, keys
    import) → its PEM (None in events written before the PEM was journaled)."""
    out: dict[str, str | None] = {}
    for _, e in pairs:
        if e.action in ("keys.created", "keys.imported") and (e.data or {}).get("sha256"):
            out[e.data["sha256"]] = e.data.get("certificate")
    return out


def _seals(ws: Workspace, cat, pinned: dict[str, str | None]) -> list[str]:
    """Every released PDF carries a PAdES seal that is intact, valid, covers the whole file and was
    made with a certificate the journal pinned — a PDF re-sealed with a key of one's own is caught
    even when .qms/keys was replaced along with it."""
    problems = []
    rows = cat.all("SELECT folder, pdf FROM revisions WHERE pdf IS NOT NULL ORDER BY number, seq")
    if not rows:
        return problems
    for r in rows:
        path = ws.root / r["folder"] / r["pdf"]
        if not path.is_file():
            continue            # reported as missing above
        status = validate_seal(ws, path, pinned=pinned)
        if not status.sealed:
            problems.append(Problem("SEAL_MISSING", ws.rel(path), "a released PDF without the organisation's seal"))
        elif not status.ok:
            problems.append(Problem("SEAL_BROKEN", ws.rel(path), f"seal broken — {status.problem}"))
        elif not status.trusted:
            problems.append(Problem("SEAL_UNTRUSTED", ws.rel(path),
                                    f"sealed by {status.signer or 'an unknown signer'}, not with a "
                                    "certificate the journal pinned (re-sealed with another key)"))
    return problems


def _index_problems(ws: Workspace, found: list[str]) -> list[str]:
    """The index against the catalog, under the lock after the journal side, whose problems
    (`found`) name a missing or unreadable catalog (then the index is not compared with it). Run
    here, not in the journal side, so its backend (whoosh) loads while the journal side runs."""
    if not catalog.present(ws) or any(getattr(p, "code", "") in ("CATALOG_MISSING", "CATALOG_UNREADABLE")
                                       for p in found):
        return []
    try:
        with catalog.open_for(ws, create=False) as cat:
            return _index_vs_catalog(ws, cat)
    except Exception as exc:                       # as the journal side names it
        return [_unreadable(ws.rel(ws.catalog_path), exc)]


def _index_vs_catalog(ws: Workspace, cat) -> list[str]:
    wanted = {r["number"] for r in cat.all("SELECT number FROM documents")}
    wanted |= {r["number"] for r in cat.all("SELECT number FROM records")}
    there = index_exists(ws)        # the folder, or the tables on PostgreSQL (storage.database)
    if not wanted and not there:
        return []
    if not there:
        return [Problem("INDEX_MISSING", "", f"search index missing ({len(wanted)} entries expected; run qms reindex)")]
    idx = open_index(ws)
    try:
        have = idx.numbers()
    finally:
        idx.close()
    problems = [Problem("INDEX_UNTRUSTED", "search index",
                        f"{idx.untrusted}; it was not opened and has been rebuilt from the archive")
                ] if idx.untrusted else []
    missing = sorted(wanted - set(have))
    extra = sorted(set(have) - wanted)
    if missing:
        problems.append(Problem("INDEX_INCOMPLETE", "", f"search index lacks {len(missing)} entries, e.g. "
                                f"{', '.join(missing[:5])} (run qms reindex)"))
    if extra:
        problems.append(Problem("INDEX_EXTRA", "", f"search index holds {len(extra)} entries not in the catalog, "
                                f"e.g. {', '.join(extra[:5])} (run qms reindex)"))
    stale = sorted(r["number"] for r in cat.all("SELECT number, status FROM records")
                   if r["number"] in have and have[r["number"]] != r["status"])
    if stale:
        problems.append(Problem("INDEX_STALE", "", f"search index shows an old status for {len(stale)} records, "
                                f"e.g. {', '.join(stale[:5])} (run qms reindex)"))
    return problems
