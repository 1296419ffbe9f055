"""The workspace's files copied into the target's folder: the archive (each file written under a
temp name and renamed, so a kill never leaves half a file under its name; one already there with
the same bytes is skipped — the resume point), the keys and journal head in .qms/, the schemas,
templates and whatever else the folder holds. Not copied: what the other steps make (the journal,
the catalog, the search index, the secrets store) and config.yaml, written last of all."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..store.archive import atomic_write
from ..store.journal import LOCK_NAME, STAGING
from ..store.object_sync import open_store
from ..store.workspace import CONFIG_NAME, Workspace

# made by the other steps, or by each process for itself
_ARCHIVE_SKIP = {"audit.log", "catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "catalog.sqlite-journal",
                 "index", "index.sha256", LOCK_NAME, STAGING}
_PRIVATE_SKIP = {"secrets.sqlite", "secrets.sqlite-journal", "secrets.sqlite-wal", "secrets.sqlite.migrating"}


def source_files(ws: Workspace) -> list[str]:
    """Workspace-relative paths of the files to copy."""
    root, archive = ws.root, ws.archive_dir
    out = []
    for dirpath, dirs, names in os.walk(root):
        here = Path(dirpath)
        if here == archive:
            dirs[:] = [d for d in dirs if d not in _ARCHIVE_SKIP and not d.startswith(".catalog-rebuild")]
            names = [n for n in names if n not in _ARCHIVE_SKIP and not n.startswith(".catalog-rebuild")]
        elif here == root / ".qms":
            names = [n for n in names if n not in _PRIVATE_SKIP]
        elif here == root:
            names = [n for n in names if n != CONFIG_NAME]
        for name in names:
            p = here / name
            if p.is_file() and not p.is_symlink():
                out.append(p.relative_to(root).as_posix())
    return sorted(out)


def bucket_only(ws: Workspace, have: set[str]) -> list[str]:
    """Archived files a workspace on a bucket holds there but not in its folder (filed through
    another server): they are read from the bucket."""
    store = open_store(ws)
    if not store.remote:
        return []
    return sorted({v.rel for v in store.versions("") if v.latest and not v.deleted} - have)


_LEFT_BY_A_KILL = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$|^\.catalog-rebuild-")


def clear_leftovers(dst_root: Path) -> None:
    """What a killed run left half-made in the target: atomic_write's temp files, a catalog being rebuilt."""
    for dirpath, _, names in os.walk(dst_root):
        for name in names:
            if _LEFT_BY_A_KILL.match(name):
                (Path(dirpath) / name).unlink(missing_ok=True)


def copy_files(src: Workspace, dst_root: Path, progress=None) -> tuple[int, int]:
    """(copied, already there)."""
    clear_leftovers(dst_root)
    rels = source_files(src)
    remote = bucket_only(src, set(rels))
    store = open_store(src) if remote else None
    copied = skipped = 0
    for i, rel in enumerate(rels + remote, 1):
        data = store.get(rel) if rel in remote else (src.root / rel).read_bytes()
        target = dst_root / rel
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            skipped += 1
        else:
            mode = (src.root / rel).stat().st_mode & 0o777 if rel not in remote else 0o640
            atomic_write(target, data, replace=True)
            os.chmod(target, mode)
            copied += 1
        if progress:
            progress(i)
    for folder in (".qms", ".qms/keys"):          # private, as the source keeps them
        if (dst_root / folder).is_dir():
            os.chmod(dst_root / folder, 0o700)
    return copied, skipped
