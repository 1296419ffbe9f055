"""The search index is never trusted as code: a list of its files' SHA-256, written by qms
after every commit, is checked before whoosh opens a single file.

whoosh unpickles its table of contents, segment lists, posting blocks and stored fields
(pickle everywhere), so a crafted `_MAIN_*.toc` would run code when the index is opened.
qms therefore opens only files it wrote itself: `archive/index.sha256` lists every file of
`archive/index/` with its hash (sha256sum format, so `cd archive/index && sha256sum -c
../index.sha256` checks it by hand). A file that is missing from the list, missing on disk or
different makes the index untrusted, and the caller rebuilds it from the archive rather than
opening it. The list lives beside the index, like the catalog, in the archive; protecting it
against someone who can rewrite the archive itself needs a key kept outside (the journal's
signed checkpoints).

Hashing a large index on every open would cost ~0.2 s per 100 MB, so the list also keeps each
file's inode, size and change time (ctime, which no user call can set): an unchanged file is
not re-hashed. The stat line is a trailing comment, ignored by sha256sum.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from ..base.errors import QmsError
from ..store.archive import sha256_file

# whoosh's empty lock file: never read as data.
_IGNORED = {"MAIN_WRITELOCK"}


class UntrustedIndex(QmsError):
    """The index folder does not match the list qms wrote; it must not be opened."""


def list_path(index_dir: Path) -> Path:
    return Path(index_dir).with_name(Path(index_dir).name + ".sha256")


def _files(index_dir: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(index_dir):
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), index_dir).replace(os.sep, "/")
            if rel not in _IGNORED:
                out.append(rel)
    return sorted(out)


def _stat_key(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def seal(index_dir: Path) -> None:
    """Write the list of the index's files as they are now (after a commit by qms).

    A file whose inode, size, mtime and ctime are those of the last list is the file hashed then
    (whoosh never rewrites a segment file; a commit adds segments and a new table of contents), so
    its digest is carried over: a filing hashes the few files its commit wrote, not the whole index
    (at 100,000 records that was 124 of a filing's 230 ms)."""
    index_dir = Path(index_dir)
    listed = _read_list(index_dir) or {}
    lines = []
    for rel in _files(index_dir):
        full = os.path.join(index_dir, rel)
        stat_key = _stat_key(full)
        kept = listed.get(rel)
        digest = kept[0] if kept is not None and kept[1] == stat_key else sha256_file(full)
        lines.append(f"{digest}  {rel}  # {stat_key}\n")
    target = list_path(index_dir)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def _read_list(index_dir: Path) -> dict[str, tuple[str, str]] | None:
    try:
        text = list_path(index_dir).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    out = {}
    for line in text.splitlines():
        digest, _, rest = line.partition("  ")
        name, _, stat_key = rest.partition("  # ")
        if len(digest) != 64 or not name:
            return None
        out[name] = (digest, stat_key)
    return out


def problem(index_dir: Path) -> str | None:
    """Why the index folder must not be opened, or None when every file is the one qms wrote."""
    index_dir = Path(index_dir)
    listed = _read_list(index_dir)
    present = _files(index_dir)
    if listed is None:
        return f"no list of its files ({list_path(index_dir).name})" if present else None
    extra = [n for n in present if n not in listed]
    if extra:
        return f"{extra[0]} is not a file qms wrote"
    missing = [n for n in listed if n not in present]
    if missing:
        return f"{missing[0]} is missing"
    for name, (digest, stat_key) in listed.items():
        full = os.path.join(index_dir, name)
        try:
            if stat_key and _stat_key(full) == stat_key:
                continue
            if sha256_file(full) != digest:
                return f"{name} differs from the file qms wrote"
        except OSError:
            return f"{name} cannot be read"
    return None


def check(index_dir: Path) -> None:
    """Raise UntrustedIndex unless the folder holds exactly the files qms listed.

    A writer lists its files right after its commit: a mismatch seen at that instant is
    looked at once more before the index is declared untrusted."""
    why = problem(index_dir)
    if why is not None:
        time.sleep(0.2)
        why = problem(index_dir)
    if why is not None:
        exc = UntrustedIndex(f"search index {index_dir.name}/ does not match the list qms wrote ({why}); "
                             "it is not opened — qms reindex rebuilds it from the archive")
        exc.why = why
        raise exc
