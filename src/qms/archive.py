"""The write-once file store: folders of files plus a manifest of their SHA-256s.

Content files are never overwritten. A folder is staged under a temporary name and
renamed into place whole, so a reader never sees half a record. The manifest is the
one file that may be replaced (atomically) when a file is added later, e.g. a PDF
rendition or a signed scan.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .dates import now_iso
from .errors import QmsError

MANIFEST = "manifest.json"
# Customer names and phone numbers: readable by the owner and the group, never by others,
# whatever the umask (the CLI also narrows the umask for files other libraries create).
FILE_MODE, DIR_MODE = 0o640, 0o750


def restrict(path: Path) -> None:
    """Give a file or a whole folder the archive's modes (0640 files, 0750 folders)."""
    if path.is_dir():
        os.chmod(path, DIR_MODE)
        for dirpath, dirnames, filenames in os.walk(path):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), DIR_MODE)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), FILE_MODE)
    else:
        os.chmod(path, FILE_MODE)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, replace: bool = False, sync: bool = True) -> None:
    """Write to a temp name in the same folder, fsync, rename (and fsync the folder, so the
    rename survives a crash). Refuses to overwrite unless `replace`."""
    if path.exists() and not replace:
        raise QmsError("refusing to overwrite a file in the write-once archive", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    if sync:
        fsync_path(path.parent)


@dataclass
class Manifest:
    files: dict[str, dict] = field(default_factory=dict)   # name -> {sha256, size}
    created: str = ""
    updated: str = ""

    def to_json(self) -> bytes:
        return json.dumps({"created": self.created, "updated": self.updated, "files": self.files},
                          ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not path.exists():
        return Manifest()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Manifest(files=data.get("files", {}), created=data.get("created", ""), updated=data.get("updated", ""))


def _entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "size": path.stat().st_size}


class StagedFolder:
    """A folder built under a temporary name and moved into place in one rename.

    with StagedFolder(final) as st:
        st.write("data.yaml", b"...")
        st.path / "x.docx"  (write directly, then st.add("x.docx"))
    # on clean exit: manifest written, fsynced, renamed to `final`; on error: removed.
    """

    def __init__(self, final: Path, *, sync: bool = True):
        self.final = final
        self.sync = sync
        if final.exists():
            raise QmsError("refusing to overwrite an archived folder", file=final)
        final.parent.mkdir(parents=True, exist_ok=True)
        self.path = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
        self.path.mkdir()
        self.manifest = Manifest(created=now_iso())
        self.committed = False

    def write(self, name: str, data: bytes) -> str:
        """Write a file into the staging folder; returns its SHA-256."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)
            if self.sync:
                fh.flush()
                os.fsync(fh.fileno())
        return self.add(name)

    def add(self, name: str) -> str:
        """Record a file already written into the staging folder; returns its hash."""
        entry = _entry(self.path / name)
        self.manifest.files[name] = entry
        return entry["sha256"]

    def commit(self) -> Path:
        self.manifest.updated = self.manifest.created
        with open(self.path / MANIFEST, "wb") as fh:
            fh.write(self.manifest.to_json())
            if self.sync:
                fh.flush()
                os.fsync(fh.fileno())
        restrict(self.path)
        if self.final.exists():
            raise QmsError("refusing to overwrite an archived folder", file=self.final)
        os.rename(self.path, self.final)
        if self.sync:
            fsync_path(self.final.parent)
        self.committed = True
        return self.final

    def abort(self) -> None:
        """Undo: remove the staging folder, or the final one if a later step of the same
        change failed after the rename (its catalog transaction is rolled back too)."""
        shutil.rmtree(self.final if self.committed else self.path, ignore_errors=True)
        self.committed = False

    def __enter__(self) -> "StagedFolder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and not self.committed:
            self.commit()
        elif exc_type is not None:
            self.abort()


def add_files(folder: Path, files: dict[str, Path], *, move: bool = False) -> dict[str, str]:
    """Add new files to an archived folder (never replacing one) and update its manifest.

    `files` maps the name inside the folder to a source path. Returns name -> sha256.
    """
    manifest = read_manifest(folder)
    added = {}
    for name, src in files.items():
        dst = folder / name
        if dst.exists() or name in manifest.files:
            raise QmsError("refusing to overwrite a file in the write-once archive", file=dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.tmp")
        if move:
            os.replace(src, tmp)
        else:
            shutil.copyfile(src, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, dst)
        manifest.files[name] = _entry(dst)
        added[name] = manifest.files[name]["sha256"]
    manifest.updated = now_iso()
    atomic_write(folder / MANIFEST, manifest.to_json(), replace=True)
    return added


def prune_empty(folder: Path, stop: Path) -> None:
    """Remove folders left empty (by a rolled-back filing or a disposal), up to `stop`."""
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def verify_folder(folder: Path, root: Path) -> list[str]:
    """Problems with one archived folder: a changed, missing or unlisted file, each named.

    Plain os calls rather than pathlib: verify walks every folder of the archive, and
    path-object overhead was most of its time over small records.
    """
    folder_s = os.fspath(folder)
    rel = os.path.relpath(folder_s, os.fspath(root)).replace(os.sep, "/")
    try:
        with open(os.path.join(folder_s, MANIFEST), "rb") as fh:
            files = json.loads(fh.read()).get("files", {})
    except FileNotFoundError:
        return [f"{rel}: manifest.json is missing"]
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return [f"{rel}/{MANIFEST}: manifest is not valid JSON (it was edited)"]
    problems = []
    for name in sorted(files):
        try:
            with open(os.path.join(folder_s, name), "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except FileNotFoundError:
            problems.append(f"{rel}/{name}: missing (listed in the manifest)")
            continue
        if digest != files[name].get("sha256"):
            problems.append(f"{rel}/{name}: content changed (SHA-256 differs from the manifest)")
    for dirpath, dirnames, filenames in os.walk(folder_s):
        sub = os.path.relpath(dirpath, folder_s)
        if sub != "." and MANIFEST in filenames:
            dirnames[:] = []       # a nested archived folder is verified on its own
            continue
        for fname in filenames:
            name = fname if sub == "." else f"{sub}/{fname}".replace(os.sep, "/")
            if name != MANIFEST and name not in files:
                problems.append(f"{rel}/{name}: not listed in the manifest")
    return problems
