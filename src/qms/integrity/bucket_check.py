"""verify's look at the object store (config.yaml storage.objects): the bucket's objects and their
versions against the manifests the journal recorded.

- a manifest's newest version must be the one the journal hashed; older versions are the
  manifest's history (a PDF added later) and stay;
- each file a manifest lists: present, one version only (a second version is an edit — Object Lock
  stops a delete, not a new version put beside the old), and its bytes hash to the manifest's;
- nothing else under the prefix (an object of a folder the journal never had, or one a purge left
  because the store refused to delete it).
The embedded archive folder has no bucket: nothing to check here (verify's walk checks the folder).
"""

from __future__ import annotations

import hashlib
import json

from ..base.errors import QmsError
from ..store.archive import MANIFEST
from ..store.object_sync import open_store
from ..store.workspace import Workspace
from .problems import Problem

CHECKPOINTS = "archive/checkpoints/"


def bucket_problems(ws: Workspace, expected: dict[str, tuple[str, int]]) -> list[Problem]:
    """`expected`: folder → (manifest SHA-256, journal seq), as verify's journal side built it."""
    if not (ws.config.storage or {}).get("objects"):
        return []
    try:
        store = open_store(ws)
        versions = store.versions("")
    except QmsError as exc:
        return [Problem("OBJECTS_UNREADABLE", (ws.config.storage or {}).get("objects", ""), exc.message)]
    by_rel: dict[str, list] = {}
    for v in versions:                       # newest first per key
        by_rel.setdefault(v.rel, []).append(v)
    problems: list[Problem] = []
    accounted: set[str] = set()
    where = store.where()
    for folder, (sha, seq) in sorted(expected.items()):
        mrel = f"{folder}/{MANIFEST}"
        accounted.add(mrel)
        found = by_rel.get(mrel) or []
        if not found or found[0].deleted:
            problems.append(Problem("OBJECT_MISSING", f"{where}/{mrel}", f"named by audit.log entry {seq} but "
                                    "not in the bucket" + (" (a delete marker hides it)" if found else "")))
            continue
        body = store.get(mrel, found[0].version_id)
        if hashlib.sha256(body).hexdigest() != sha:
            problems.append(Problem("OBJECT_CHANGED", f"{where}/{mrel}", f"the bucket's newest version "
                                    f"({found[0].version_id}) differs from the hash audit.log entry {seq} recorded"))
        try:
            files = json.loads(body.decode("utf-8")).get("files") or {}
        except (ValueError, UnicodeDecodeError):
            continue
        for name, entry in sorted(files.items()):
            rel = f"{folder}/{name}"
            accounted.add(rel)
            problems += _file_problems(store, where, rel, entry.get("sha256"), by_rel.get(rel) or [])
    for rel in sorted(set(by_rel) - accounted):
        if all(v.deleted for v in by_rel[rel]):
            continue                         # only delete markers: nothing kept
        if _checkpoint_kept(ws, store, rel, by_rel[rel]):
            continue
        problems.append(Problem("OBJECT_UNLISTED", f"{where}/{rel}", f"{len(by_rel[rel])} version(s) in the "
                                "bucket that no manifest of the journal lists (put there by hand, or kept "
                                "when the store refused a purge)"))
    return problems


def _checkpoint_kept(ws: Workspace, store, rel: str, found: list) -> bool:
    """A signed checkpoint (journaled as a file, outside any manifest: `qms serve` makes one at start,
    on each server): accounted for when it is the archive's copy, which verify checks itself."""
    local = ws.root / rel
    if not rel.startswith(CHECKPOINTS) or len(found) != 1 or not local.is_file():
        return False
    return hashlib.sha256(store.get(rel, found[0].version_id)).hexdigest() == \
        hashlib.sha256(local.read_bytes()).hexdigest()


def _file_problems(store, where: str, rel: str, sha: str | None, found: list) -> list[Problem]:
    target = f"{where}/{rel}"
    if not found or found[0].deleted:
        return [Problem("OBJECT_MISSING", target, "listed in its manifest but not in the bucket"
                        + (" (a delete marker hides it)" if found else ""))]
    content = [v for v in found if not v.deleted]
    differ = [v.version_id for v in content if hashlib.sha256(store.get(rel, v.version_id)).hexdigest() != sha]
    if len(content) > 1:
        return [Problem("OBJECT_CHANGED", target, f"{len(content)} versions in the bucket: a version was written "
                        f"after the archived one ({', '.join(differ) or 'same bytes'} "
                        "differ from the SHA-256 its manifest records)")]
    if differ:
        return [Problem("OBJECT_CHANGED", target, f"version {differ[0]} differs from the SHA-256 its manifest records")]
    return []
