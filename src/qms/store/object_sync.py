"""What the bucket does when the journal commits: the one place the object store is chosen, and
the subscriber (qms.startup) that writes every archived file once into it, locks it, holds it and
deletes what a purge destroyed — from what the events already say, so storage knows no service.

- every file an event promises (`files`) is written once; a manifest, the one file the archive
  replaces, gets a new version beside the old;
- a record's objects: COMPLIANCE until the end of its retention (the day after `retention_until`,
  00:00 local — the day it becomes due); a record kept permanently, and everything that is not a
  record (documents, whose obsolete revisions are kept `forever` per documents.keep_obsolete,
  disposal certificates), GOVERNANCE for FOREVER_YEARS: write-once, lifted only deliberately by
  someone holding s3:BypassGovernanceRetention — never by qms;
- a hold (hold.add) = an S3 legal hold ON on every version of the record; hold.release = OFF;
- a purge deletes exactly the versions its certificate lists (`objects`, planned by `plan_destroy`
  before the event was written, which refuses while the store says a version is locked or held).

A subscriber that fails leaves the index mark behind, so the next write or `qms recover` runs it
again; every step is idempotent (a key already there with the same content is skipped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys

from ..base.dates import now
from ..base.errors import QmsError, Refused
from .archive import MANIFEST, atomic_write
from .objects import COMPLIANCE, GOVERNANCE, FolderObjects, ObjectStore
from .s3_objects import S3Objects
from .workspace import Workspace
from . import journal

FOREVER_YEARS = 100
_OPEN: dict[tuple, ObjectStore] = {}


def open_store(ws: Workspace) -> ObjectStore:
    """The workspace's object store: its bucket when config.yaml names one, else the archive folder."""
    url = (ws.config.storage or {}).get("objects")
    if not url:
        return FolderObjects(ws.root)
    key = (url, (ws.config.storage or {}).get("s3_endpoint"))
    store = _OPEN.get(key)
    if store is None:
        store = S3Objects(url, key[1])
        store.ensure_bucket()
        _OPEN[key] = store
    return store


# ------------------------------------------------------------------ the subscriber

def on_commit(ws: Workspace, cat, entries) -> None:
    if not (ws.config.storage or {}).get("objects"):
        return               # the embedded default: the writer's rename is the store's write
    entries = [e for e in entries if _touches_bucket(e)]
    if not entries:
        return               # (a login, a config apply: nothing for the bucket, so no call to it)
    try:
        apply_entries(ws, cat, open_store(ws), entries)
    except QmsError as exc:
        raise type(exc)(f"the change is committed, but the bucket was not brought up to date: {exc.message}; "
                        "`qms recover` finishes it when the bucket answers", **_where(exc)) from None


def apply_entries(ws: Workspace, cat, store, entries) -> None:
    """What `entries` (journal events, in order) do to the bucket, each step idempotent: the
    commit subscriber's work, and `qms migrate` filling a new bucket from a whole journal."""
    for e in entries:
        if _touches_bucket(e):
            _apply(ws, cat, store, e)


def _touches_bucket(e) -> bool:
    d = e.data or {}
    return bool(d.get("files") or d.get("objects")) or e.action in ("hold.add", "hold.release", "record.amend")


def _where(exc: QmsError) -> dict:
    return {k: getattr(exc, k) for k in ("file", "field") if getattr(exc, k, None)}


def _apply(ws: Workspace, cat, store, e) -> None:
    d = e.data or {}
    files = d.get("files") or {}
    if files:
        mode, until = lock_for(cat, e.action, e.target, d)
        hold = _held(cat, e.target)
        for rel in sorted(files, key=lambda r: r.endswith("/" + MANIFEST)):     # the manifest last
            upload(ws, store, rel, files[rel], mode=mode, until=until, hold=hold)
    if e.action == "record.amend" and d.get("folder"):
        mode, until = lock_for(cat, e.action, e.target, d)
        if mode == COMPLIANCE:          # an amendment may move the end later, never earlier
            for folder in _record_folders(cat, e.target):
                for v in store.versions(folder):
                    if not v.deleted:
                        old_mode, old_until = store.retention(v.rel, v.version_id)
                        if old_until is None or old_until < until:
                            store.retain(v.rel, v.version_id, mode=COMPLIANCE, until=until)
    if e.action in ("hold.add", "hold.release"):
        on = e.action == "hold.add"
        for folder in _record_folders(cat, e.target):
            for v in store.versions(folder):
                if not v.deleted:
                    store.legal_hold(v.rel, v.version_id, on)
    if e.action == "purge":
        for o in d.get("objects") or []:
            try:
                store.delete_version(o["rel"], o["version_id"])
            except Refused as exc:
                # the event is logged; what the store kept stays, and verify names it
                print(f"qms: {o['rel']} (version {o['version_id']}): {exc.message}", file=sys.stderr)


def upload(ws: Workspace, store, rel: str, sha: str, *, mode, until, hold: bool) -> None:
    path = ws.root / rel
    if not path.is_file():
        return             # destroyed later in the same batch, or a replay after a purge
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha:
        return             # not what the journal promised: verify names the file, the bucket keeps the truth
    manifest = rel.endswith("/" + MANIFEST)
    if store.exists(rel):
        if not manifest or hashlib.sha256(store.get(rel)).hexdigest() == sha:
            return         # already written (a replay); a different content is for verify to report
    store.put(rel, data, replace=manifest, mode=mode, until=until, hold=hold)


def lock_for(cat, action: str, target: str, d: dict) -> tuple[str, dt.datetime]:
    """(mode, retain until) for the files of an event."""
    forever = now().replace(microsecond=0) + dt.timedelta(days=365 * FOREVER_YEARS + FOREVER_YEARS // 4)
    if action in ("record.file", "record.amend"):
        if "retention_until" not in d:
            return GOVERNANCE, forever
        end = d.get("retention_until")
    else:
        row = cat.one("SELECT retention_until FROM records WHERE number=?", target)
        if row is None:
            return GOVERNANCE, forever
        end = row["retention_until"]
    if not end:
        return GOVERNANCE, forever        # kept permanently (永久)
    until = retention_end(end)
    return (COMPLIANCE, until) if until > now() else (None, None)


def retention_end(day: str) -> dt.datetime:
    """The moment a record whose retention_until is `day` becomes due: the next day, 00:00 local."""
    nxt = dt.date.fromisoformat(day[:10]) + dt.timedelta(days=1)
    return dt.datetime.combine(nxt, dt.time(0), tzinfo=now().tzinfo)


def _held(cat, number: str) -> bool:
    try:
        return cat.one("SELECT 1 FROM holds WHERE number=? AND released_at IS NULL", number) is not None
    except Exception:           # no holds table in a catalog that never had a record
        return False


def _record_folders(cat, number: str) -> list[str]:
    return [r["folder"] for r in cat.all("SELECT folder FROM record_versions WHERE number=? ORDER BY version",
                                         number) if r["folder"]]


# ------------------------------------------------------------------ a purge, before its event

def plan_destroy(ws: Workspace, folders: list[str]) -> list[dict]:
    """Every version in the bucket under the record folders a purge is about to destroy, as the
    certificate lists them ({rel, key, version_id}). Refused, with nothing changed, while the
    store says a version is held or locked — judged by the store's clock, whatever the catalog or
    this machine's clock say. The embedded folder has no versions to list: []."""
    store = open_store(ws)
    if not store.remote:
        return []
    server_now = store.server_now()
    out = []
    for folder in folders:
        for v in store.versions(folder):
            if not v.deleted:
                if store.held(v.rel, v.version_id):
                    raise Refused(f"the object store holds {v.rel} (S3 legal hold ON): nothing was destroyed",
                                  file=store.where())
                mode, until = store.retention(v.rel, v.version_id)
                if mode and until and until > server_now:
                    raise Refused(f"the object store keeps {v.rel} locked ({mode}) until {until.isoformat()} "
                                  f"(its clock says {server_now.isoformat()}): nothing was destroyed",
                                  file=store.where())
            out.append({"rel": v.rel, "key": store.key(v.rel), "version_id": v.version_id})
    return out


# ------------------------------------------------------------------ a read on a server that never had the file

def fetch_folder(ws: Workspace, folder: str, *, want: str | None = None, refresh: bool = False) -> bool:
    """Bring an archived folder missing here (filed through another server: no shared disk) from
    the bucket into the archive, each file checked against its manifest. A folder that is here
    but may be behind — another server added a file to it since (a signed scan, its OCR) — is
    compared with the bucket's manifest when `refresh` (a write about to rewrite the manifest) or
    when the file `want` is not in the local manifest. False when nothing was fetched (the folder
    is up to date, or the store is the folder)."""
    if not folder:
        return False
    local = ws.root / folder / MANIFEST
    if local.is_file() and not refresh and (want is None or want in _listed(local.read_bytes())):
        return False
    store = open_store(ws)
    if not store.remote or not store.exists(f"{folder}/{MANIFEST}"):
        return False
    with journal.workspace_lock(ws.archive_dir, purpose="fetch"):
        manifest = store.get(f"{folder}/{MANIFEST}")
        if local.is_file() and local.read_bytes() == manifest:
            return False
        for name, entry in _listed(manifest).items():
            rel = f"{folder}/{name}"
            if (ws.root / rel).is_file() and hashlib.sha256((ws.root / rel).read_bytes()).hexdigest() == \
                    entry.get("sha256"):
                continue
            data = store.get(rel)
            if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                raise QmsError(f"the bucket's copy of {rel} does not match its manifest; not fetched "
                               "(run qms verify)", file=rel)
            atomic_write(ws.root / rel, data)
        atomic_write(local, manifest, replace=True)      # last: the folder is whole (the one file replaced)
    return True


# ------------------------------------------------------------------ a server's folder, a cache of the bucket

# in archive/ (never copied to a new server, unlike .qms/): the journal entry this server's folder is complete to
CAUGHT_UP = "objects.seq"


def catch_up(ws: Workspace) -> int:
    """Several servers (storage.database and storage.objects, no shared disk): bring this server's
    archive folder up to the journal — every file another server archived since the last catch-up,
    fetched from the bucket and checked against the hash its event promised; every folder a purge
    destroyed, removed. Run under the write lock by every write (so a change reads a whole folder:
    a document signed here after its draft was submitted there) and by `qms serve` at start. The
    note is a cache this server may lose: then everything is checked once more. Returns the files
    fetched."""
    storage = ws.config.storage or {}
    if not storage.get("objects") or not storage.get("database"):
        return 0           # one server: its own writes are its folder
    note = ws.archive_dir / CAUGHT_UP
    try:
        done = int(note.read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        done = 0
    store, fetched, last, manifests = open_store(ws), 0, done, {}
    missing: dict[str, int] = {}        # not in the bucket (yet: its upload may be under way) → seq
    for seq, entry in ws.audit_path.lines_after(done):
        d = entry.get("data") or {}
        for rel, sha in (d.get("files") or {}).items():
            if rel.endswith("/" + MANIFEST):
                manifests[rel] = sha
            elif not (ws.root / rel).is_file():
                if _fetch_file(ws, store, rel, sha):
                    fetched += 1
                else:
                    missing.setdefault(rel, seq)
        for gone in d.get("destroy") or []:
            manifests = {m: h for m, h in manifests.items() if not m.startswith(gone + "/")}
            missing = {m: n for m, n in missing.items() if not m.startswith(gone + "/")}
        if d.get("destroy"):
            journal.place(ws.root, ws.archive_dir, {"destroy": d["destroy"]}, check=False)
        last = seq
    for rel in manifests:          # the one file replaced: the bucket's newest version is the folder's
        local = ws.root / rel
        if store.exists(rel):
            data = store.get(rel)
            if not local.is_file() or local.read_bytes() != data:
                atomic_write(local, data, replace=True)
                fetched += 1
    if missing:                    # looked for again next time, from the first one missing
        last = min(missing.values()) - 1
    if last != done:
        note.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(note, str(last).encode("ascii"), replace=True, sync=False)
    return fetched


def _fetch_file(ws: Workspace, store, rel: str, sha: str) -> bool:
    if not store.exists(rel):
        return False       # destroyed since (a later purge), or not yet uploaded (the next catch-up)
    data = store.get(rel)
    if hashlib.sha256(data).hexdigest() != sha:
        return False       # not what the journal promised: verify reports the bucket's object
    atomic_write(ws.root / rel, data)
    return True


def _listed(manifest: bytes) -> dict:
    return json.loads(manifest.decode("utf-8")).get("files") or {}
