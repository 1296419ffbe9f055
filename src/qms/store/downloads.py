"""Files a browser may download: only those listed in a manifest of a document's or record's folders.

The web layer never joins a user-supplied name to a path: a name is served only when it is a key of
one of the manifests of the number's folders, and the resolved path stays inside that folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .archive import read_manifest
from . import catalog
from .catalog import reading
from .object_sync import fetch_folder
from ..base.errors import QmsError
from .workspace import Workspace


@dataclass
class ListedFile:
    name: str          # the manifest key, e.g. "QR-SV-022-02-2026-0001.pdf" or "copies/…pdf"
    sha256: str
    size: int
    where: str         # the revision label (documents) or "v2" (records)
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / self.name


def _folders(ws: Workspace, number: str) -> list[tuple[str, Path]]:
    with reading(ws) as cat:
        revs = cat.all("SELECT revision, folder FROM revisions WHERE number=? ORDER BY seq", number)
        if revs:
            return [(r["revision"], ws.root / r["folder"]) for r in revs if r["folder"]]
        vers = cat.all("SELECT version, folder FROM record_versions WHERE number=? ORDER BY version", number)
        if vers:
            return [(f"v{v['version']}", ws.root / v["folder"]) for v in vers if v["folder"]]
        cert = cat.one("SELECT folder FROM disposals WHERE certificate=?", number)
        return [("", ws.root / cert["folder"])] if cert and cert["folder"] else []


def listed_files(ws: Workspace, number: str) -> list[ListedFile]:
    """Every file of every folder of NUMBER (a document's revisions, a record's versions, a disposal
    certificate), with its SHA-256."""
    if not catalog.present(ws):
        return []
    out = []
    for where, folder in _folders(ws, number):
        fetch_folder(ws, ws.rel(folder))      # filed through another server: from the bucket
        for name, entry in sorted(read_manifest(folder).files.items()):
            out.append(ListedFile(name=name, sha256=entry.get("sha256", ""), size=entry.get("size", 0),
                                  where=where, folder=folder))
    return out


def find_file(ws: Workspace, number: str, name: str, where: str | None = None) -> ListedFile:
    """The listed file named NAME of NUMBER, in revision/version `where` (default: the newest that
    has it); QmsError when no manifest lists it."""
    listed = listed_files(ws, number)
    if not any(f.name == name for f in listed):       # added through another server since: look again
        for f in {f.folder for f in listed}:
            fetch_folder(ws, ws.rel(f), want=name)
        listed = listed_files(ws, number)
    for f in reversed(listed):
        if f.name == name and (not where or f.where == where):
            path = f.path.resolve()
            if f.folder.resolve() not in path.parents or not path.is_file():
                break       # a manifest naming "../x" or a missing file: refuse rather than follow
            return f
    raise QmsError(f"{number} has no file {name!r} in its manifests", field="name")
