"""The object store: where archived files live, behind one interface, so the services never know.

Two implementations, chosen by config.yaml `storage.objects` in one place (`object_sync.open_store`):
- `FolderObjects`, the embedded default: the archive folder as it has always been (the writer's
  staging and rename are its write path; write-once is the journal's and verify's promise);
- `s3_objects.S3Objects`: a bucket with versioning and Object Lock, where the server refuses a
  delete or an overwrite of a locked version — write-once that nobody can quietly undo.

An object is named by its workspace-relative path (`archive/records/…/v1/data.yaml`); a version by
its VersionId ("" in the folder, which keeps one).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..base.dates import now
from ..base.errors import Conflict
from .archive import atomic_write

COMPLIANCE, GOVERNANCE = "COMPLIANCE", "GOVERNANCE"


@dataclass
class ObjectVersion:
    rel: str                  # workspace-relative path
    version_id: str
    size: int
    latest: bool
    modified: dt.datetime
    deleted: bool = False     # a delete marker (S3), not content


class ObjectStore(Protocol):
    remote: bool

    def put(self, rel: str, data: bytes, *, replace: bool = False, mode: str | None = None,
            until: dt.datetime | None = None, hold: bool = False) -> str: ...
    def exists(self, rel: str) -> bool: ...
    def get(self, rel: str, version_id: str | None = None) -> bytes: ...
    def versions(self, folder: str = "") -> list[ObjectVersion]: ...
    def delete_version(self, rel: str, version_id: str) -> None: ...
    def retain(self, rel: str, version_id: str, *, mode: str, until: dt.datetime) -> None: ...
    def retention(self, rel: str, version_id: str) -> tuple[str | None, dt.datetime | None]: ...
    def legal_hold(self, rel: str, version_id: str, on: bool) -> None: ...
    def held(self, rel: str, version_id: str) -> bool: ...
    def server_now(self) -> dt.datetime: ...


class FolderObjects:
    """The archive folder (the embedded default). Retention and holds are the catalog's and the
    journal's here (a folder has no lock of its own), so those calls keep nothing."""
    remote = False

    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, rel: str, data: bytes, *, replace: bool = False, mode=None, until=None, hold=False) -> str:
        if (self.root / rel).exists() and not replace:
            raise Conflict("refusing to overwrite a file in the write-once archive", file=rel)
        atomic_write(self.root / rel, data, replace=replace)
        return ""

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def get(self, rel: str, version_id: str | None = None) -> bytes:
        return (self.root / rel).read_bytes()

    def versions(self, folder: str = "") -> list[ObjectVersion]:
        base = self.root / folder
        out = []
        for dirpath, _, names in os.walk(base):
            for name in names:
                p = Path(dirpath) / name
                st = p.stat()
                out.append(ObjectVersion(p.relative_to(self.root).as_posix(), "", st.st_size, True,
                                         dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc)))
        return sorted(out, key=lambda v: v.rel)

    def delete_version(self, rel: str, version_id: str) -> None:
        (self.root / rel).unlink(missing_ok=True)

    def retain(self, rel, version_id, *, mode, until) -> None:
        return None

    def retention(self, rel, version_id):
        return None, None

    def legal_hold(self, rel, version_id, on) -> None:
        return None

    def held(self, rel, version_id) -> bool:
        return False

    def server_now(self) -> dt.datetime:
        return now()
