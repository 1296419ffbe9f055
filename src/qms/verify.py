"""`qms verify`: every file against its manifest, the audit chain, the catalog against the
files, the index against the catalog. Each problem is one line naming what is wrong."""

from __future__ import annotations


import os
from dataclasses import dataclass, field
from pathlib import Path

from . import audit
from .archive import MANIFEST, verify_folder
from .catalog import open_catalog
from .workspace import Workspace


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


def _manifest_folders(archive: Path) -> list[tuple[str, int]]:
    """(folder, files in it) for every folder holding a manifest.json; the index and
    staging leftovers are not archive content."""
    out = []
    top = os.fspath(archive.resolve())
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not (dirpath == top and d == "index")]
        if MANIFEST in filenames:
            out.append((dirpath, len(filenames)))
    return out


def verify(ws: Workspace, *, check_index: bool = True, deep: bool = False, progress=None) -> VerifyReport:
    report = VerifyReport(ok=True)
    archive = ws.archive_dir
    if not archive.exists():
        return report
    folders = _manifest_folders(archive)
    known: set[str] = set()
    root = os.fspath(ws.root.resolve())
    for i, (folder, n_files) in enumerate(folders, 1):
        report.problems += verify_folder(folder, ws.root)
        known.add(os.path.relpath(folder, root).replace(os.sep, "/"))
        report.files += n_files
        if progress:
            progress(i)
    report.folders = len(folders)
    report.problems += audit.verify_chain(ws.audit_path)
    report.audit_entries = audit.count(ws.audit_path)

    if ws.catalog_path.exists():
        with open_catalog(ws.catalog_path, create=False) as cat:
            report.problems += _catalog_vs_files(ws, cat, known)
            report.problems += _seals(ws, cat)
            if check_index:
                report.problems += _index_vs_catalog(ws, cat)
        if deep:
            from .rebuild import compare_catalogs
            report.problems += compare_catalogs(ws)
    report.ok = not report.problems
    return report


def _catalog_vs_files(ws: Workspace, cat, known: set[str]) -> list[str]:
    problems = []
    expected: set[str] = set()
    for r in cat.all("SELECT number, revision, folder, source, docx, pdf FROM revisions"):
        expected.add(r["folder"])
        folder = ws.root / r["folder"]
        if r["folder"] not in known:
            problems.append(f"{r['folder']}: {r['number']} {r['revision']} is in the catalog but its folder is missing")
            continue
        for name in (r["source"], r["docx"], r["pdf"]):
            if name and not (folder / name).exists():
                problems.append(f"{r['folder']}/{name}: in the catalog but missing")
    for r in cat.all("SELECT number, folder FROM record_versions"):
        expected.add(r["folder"])
        if r["folder"] not in known:
            problems.append(f"{r['folder']}: record {r['number']} is in the catalog but its folder is missing")
    for r in cat.all("SELECT certificate, folder FROM disposals"):
        expected.add(r["folder"])
        if r["folder"] not in known:
            problems.append(f"{r['folder']}: disposal certificate {r['certificate']} is missing")
    for folder in sorted(known - expected):
        problems.append(f"{folder}: archived folder not in the catalog (run qms rebuild?)")
    return problems


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
    # Record status is fixed until the next change (documents' status moves with the date, so it is not compared).
    stale = sorted(r["number"] for r in cat.all("SELECT number, status FROM records")
                   if r["number"] in have and have[r["number"]] != r["status"])
    if stale:
        problems.append(f"search index shows an old status for {len(stale)} records, e.g. "
                        f"{', '.join(stale[:5])} (run qms reindex)")
    return problems


