"""`qms migrate`: the workspace moved to PostgreSQL (+ a bucket), or from there back to the
embedded form, into a new folder; the source is read under its write lock and never changed.

Steps, each idempotent, so a migration killed anywhere is resumed by running it again:
1. the folder's files (archive, keys, schemas, templates) — a file already there is skipped;
2. the journal, line for line — the target's end is where the copy resumes;
3. the secrets store, row for row, in one transaction;
4. the catalog, rebuilt from the copied journal (the projection; redone on every run);
5. the bucket: what the journal's events did to it, replayed by object_sync (the same writes,
   locks and holds a commit makes; an object already there with the right SHA-256 is skipped);
6. config.yaml with the new `storage:` — only now is the target a workspace that says where its
   storage is; then the search index (a cache) is rebuilt, and the marker removed.
A folder holding the marker is a migration under way: only the same source may resume it."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..base.errors import Conflict, Integrity, InvalidInput, Refused
from ..integrity.governance import without_storage
from ..integrity.rebuild import rebuild_catalog
from ..search import reindex
from ..store import audit, catalog, journal, pg_catalog
from ..store.archive import atomic_write
from ..store.journalkey import stored_public
from ..store.object_sync import apply_entries, open_store
from ..store.workspace import CONFIG_NAME, Workspace
from .files_copy import copy_files
from .journal_copy import check_prefix, copy_journal, target_bytes
from .secrets_copy import read_rows, write_rows

MARKER = ".qms-migrating"
_URL = re.compile(r"^postgres(ql)?://", re.I)


@dataclass
class MigrationReport:
    folder: str
    storage: dict
    journal_lines: int = 0          # copied by this run
    journal_total: int = 0
    secrets_rows: int = 0
    files_copied: int = 0
    files_present: int = 0          # already there (a resumed run)
    objects: int = 0                # in the bucket afterwards
    catalog: str = ""
    indexed: int = 0
    resumed: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def message(self) -> str:
        where = ", ".join(f"{k} {pg_catalog.safe_url(v) if k == 'database' else v}"
                          for k, v in self.storage.items() if k != "s3_endpoint") or "the embedded form"
        return (f"migrated to {self.folder} ({where}){' — resumed' if self.resumed else ''}: "
                f"{self.journal_total} journal entries ({self.journal_lines} copied now), "
                f"{self.files_copied + self.files_present} files ({self.files_present} already there), "
                f"{self.secrets_rows} secrets rows, " + (f"{self.objects} objects in the bucket, " if
                                                          "objects" in self.storage else "")
                + f"{self.indexed} entries indexed, the catalog rebuilt in {self.catalog}; {self.seconds:.1f} s")

    def to_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items()}
        if "database" in out["storage"]:
            out["storage"] = {**out["storage"], "database": pg_catalog.safe_url(out["storage"]["database"])}
        return out


def target_storage(to: str, objects: str | None, s3_endpoint: str | None, into: str | None) -> tuple[Path, dict]:
    """(the target's folder, its storage: section) from the command's options."""
    if _URL.match(to):
        if not into:
            raise InvalidInput("--into DIR is required with --to postgresql://…: the new workspace's folder "
                               "(config.yaml, keys, schemas, templates and a cache of the archive)", field="into")
        storage = {"database": to}
        folder = Path(into)
    else:
        if "://" in to:
            raise InvalidInput(f"--to {to}: expected postgresql://USER@HOST[:PORT]/DB or a folder", field="to")
        if into and Path(into).resolve() != Path(to).resolve():
            raise InvalidInput("--into is for a database target; with --to DIR the folder is DIR", field="into")
        storage, folder = {}, Path(to)
    if objects:
        if not objects.startswith("s3://"):
            raise InvalidInput(f"--objects {objects}: expected s3://BUCKET[/PREFIX]", field="objects")
        storage["objects"] = objects
        if s3_endpoint:
            storage["s3_endpoint"] = s3_endpoint
    elif s3_endpoint:
        raise InvalidInput("--s3-endpoint goes with --objects s3://BUCKET[/PREFIX]", field="s3_endpoint")
    return folder, storage


def migrate(src: Workspace, *, to: str, objects: str | None = None, s3_endpoint: str | None = None,
            into: str | None = None, step=None) -> MigrationReport:
    """`step(name)` is told as each step begins (the command prints it: where a kill stopped)."""
    step = step or (lambda name: None)
    started = time.monotonic()
    folder, storage = target_storage(to, objects, s3_endpoint, into)
    folder = folder.resolve()
    if folder == src.root.resolve() or src.root.resolve() in folder.parents:
        raise Refused(f"the target folder {folder} is (inside) the source workspace; choose a new folder")
    if storage == {k: v for k, v in (src.config.storage or {}).items() if v}:
        raise Refused("the target's storage is the source's: nothing to move (--to postgresql://… moves an "
                      "embedded workspace to a database, --to DIR one on a database back to the embedded form)")
    dst = Workspace(folder, replace(src.config, storage=storage))
    resumed = _check_folder(src, folder)
    _reachable(dst)           # an unreachable database or bucket: one line, nothing written
    if storage.get("objects") and not resumed and open_store(dst).versions(""):
        raise Conflict(f"the bucket already holds objects under {storage['objects']}: qms migrate fills an empty "
                       "prefix (or resumes its own copy); choose another prefix")
    report = MigrationReport(folder=str(folder), storage=storage, resumed=resumed)
    with journal.workspace_lock(src.archive_dir, purpose="migrate", database=catalog.database(src)):
        problems = audit.verify_chain(src.audit_path, expected_key=stored_public(src))
        if problems:
            raise Integrity(f"the source journal does not verify ({problems[0]}); nothing was migrated — run qms "
                            "verify", file=src.rel(src.audit_path))
        source = src.audit_path.read_bytes()
        check_prefix(source, target_bytes(dst.audit_path), str(dst.audit_path))
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / MARKER
        if not marker.exists():
            atomic_write(marker, json.dumps(_identity(src), ensure_ascii=False).encode("utf-8"))
        step("files")
        report.files_copied, report.files_present = copy_files(src, folder)
        step("journal")
        report.journal_lines = copy_journal(source, dst.audit_path)
        report.journal_total = source.count(b"\n")
        step("secrets")
        report.secrets_rows = write_rows(dst, read_rows(src))
        step("catalog")
        rebuild_catalog(dst)
        report.catalog = (f"{pg_catalog.safe_url(storage['database'])} (schema {pg_catalog.SCHEMA_NAME})"
                          if storage.get("database") else dst.rel(dst.catalog_path))
        if storage.get("objects"):
            step("objects")
            store = open_store(dst)
            entries = [e for _, e in audit.entries_after(dst.audit_path, 0) if e.action != "purge"]
            with catalog.reading(dst) as cat:
                apply_entries(dst, cat, store, entries)   # (a purge's versions were the source's: none here)
            report.objects = sum(1 for v in store.versions("") if not v.deleted)
        step("config")
        atomic_write(folder / CONFIG_NAME, with_storage((src.root / CONFIG_NAME).read_text(encoding="utf-8"),
                                                        storage).encode("utf-8"), replace=True)
        step("index")
        report.indexed = reindex(dst)
        marker.unlink()
    report.seconds = time.monotonic() - started
    return report


def _identity(src: Workspace) -> dict:
    """What names the source in the marker: its journal's first entry (a copy of it has the same)."""
    first = audit.first_line(src.audit_path)
    return {"journal": json.loads(first)["hash"] if first else "", "source": str(src.root)}


def _check_folder(src: Workspace, folder: Path) -> bool:
    """True when the folder holds this source's migration under way; refused when it holds
    anything else."""
    marker = folder / MARKER
    if marker.is_file():
        try:
            mine = json.loads(marker.read_text(encoding="utf-8")).get("journal") == _identity(src)["journal"]
        except ValueError:
            mine = False
        if not mine:
            raise Conflict(f"{folder} holds the migration of another workspace; choose an empty folder", file=folder)
        return True
    if (folder / CONFIG_NAME).exists():
        raise Conflict(f"{folder} is a workspace already; qms migrate makes a new one: choose an empty folder",
                       file=folder)
    if folder.exists() and any(folder.iterdir()):
        raise Conflict(f"{folder} is not empty; qms migrate makes a new workspace: choose an empty folder",
                       file=folder)
    return False


def _reachable(dst: Workspace) -> None:
    url = dst.config.storage.get("database")
    if url:
        pg_catalog.connect(url, schema=None).raw.close()
    if dst.config.storage.get("objects"):
        open_store(dst)                      # opens (or creates) the bucket and checks its Object Lock


def with_storage(text: str, storage: dict) -> str:
    """config.yaml's text with its `storage:` section replaced (removed for the embedded form);
    everything else as the source wrote it, so the governed digest stays the one applied."""
    body = without_storage(text)
    if storage:
        body += "\nstorage:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in storage.items())
    return body
