"""`qms rebuild`: the catalog is derived state, so replay archive/audit.log (checked against its
hash chain first) into a fresh catalog and swap it in; `compare_catalogs` does the same replay
without swapping and says where the live catalog disagrees with the log.

Each audit entry carries what its catalog write needed. The few values an entry lacks are read
from the write-once files it names: a document's kind and department from its archived source,
the exact filing time from a record's data.yaml, the disposal time from the certificate, and,
for entries written before record events carried them, a record's retention end and customer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import re
import shutil
import sqlite3
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import audit
from .archive import MANIFEST, fsync_path
from .catalog import Catalog, open_catalog
from .dates import now_iso
from .errors import QmsError
from .records import SCAN_NAME
from .workspace import Workspace

IGNORED_ACTIONS = {"record.compile"}        # logged, but change nothing in the catalog
_CERT = re.compile(r"^DC-(\d{4})-(\d+)$")
_TRAILING_DIGITS = re.compile(r"(\d+)$")
_FILED_AT = re.compile(r"^filed_at:[ \t]*(['\"]?)(.*?)\1[ \t]*$", re.MULTILINE)


@dataclass
class RebuildReport:
    """What a replay produced: row counts of the rebuilt catalog and how much of the log it read."""
    events: int = 0            # audit entries replayed (including the ones that change nothing)
    ignored: int = 0           # of those, entries with no catalog effect (record.compile)
    documents: int = 0
    revisions: int = 0
    records: int = 0           # live records; disposed ones are counted in `disposed`
    disposed: int = 0
    disposals: int = 0         # disposal certificates
    catalog: str = ""          # the catalog written, relative to the workspace
    notes: list[str] = field(default_factory=list)   # values the replay had to fall back on

    def message(self) -> str:
        return (f"rebuilt {self.catalog} from {self.events} audit entries: {self.documents} documents "
                f"({self.revisions} revisions), {self.records} records, {self.disposed} disposed "
                f"({self.disposals} disposal certificates)")

    def to_json(self) -> dict:
        return {"events": self.events, "ignored": self.ignored, "documents": self.documents,
                "revisions": self.revisions, "records": self.records, "disposed": self.disposed,
                "disposals": self.disposals, "catalog": self.catalog, "notes": self.notes}


# ------------------------------------------------------------------ reading the log

@dataclass
class _Entry:
    line: int
    seq: int
    at: str
    actor: str
    action: str
    target: str
    data: dict


def _read_log(path: Path) -> list[_Entry]:
    """Every entry with its line number, so a replay error can point at it."""
    out: list[_Entry] = []
    if not path.exists():
        return out
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            rec = json.loads(line)       # verify_chain ran first: every line is valid JSON
            out.append(_Entry(line=lineno, seq=rec["seq"], at=rec["at"], actor=rec["actor"],
                              action=rec["action"], target=rec["target"], data=rec.get("data") or {}))
    return out


def _check_chain(ws: Workspace) -> None:
    if not ws.audit_path.exists() and any(
            (ws.archive_dir / sub).is_dir() and any((ws.archive_dir / sub).iterdir())
            for sub in ("documents", "records", "disposals")):
        # An empty replay would wipe a catalog that describes real files.
        raise QmsError("the audit log is missing although the archive holds documents or records; "
                       "the catalog cannot be rebuilt without it", file=ws.rel(ws.audit_path))
    problems = audit.verify_chain(ws.audit_path)
    if problems:
        # A catalog rebuilt from an edited log would make the edit look legitimate.
        raise QmsError("the audit chain is broken, so the log cannot be trusted to rebuild the catalog "
                       f"({len(problems)} problem{'s' if len(problems) > 1 else ''}; first: {problems[0]}); "
                       "qms verify lists them",
                       file=ws.rel(ws.audit_path))


def count_events(ws: Workspace) -> int:
    """How many entries a rebuild replays (for a progress bar's length)."""
    if not ws.audit_path.exists():
        return 0
    with open(ws.audit_path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


# ------------------------------------------------------------------ the replay

class _Replay:
    """Applies audit entries, in order, to an empty catalog, issuing the same writes the services did."""

    def __init__(self, ws: Workspace, cat: Catalog):
        self.ws = ws
        self.cat = cat
        self.notes: list[str] = []
        self._forms: dict = {}
        self.entry: _Entry | None = None

    # -------------------------------------------------------------- helpers

    def fail(self, message: str) -> QmsError:
        e = self.entry
        return QmsError(f"entry {e.seq} ({e.action} {e.target}): {message}; the catalog cannot be rebuilt",
                        file=self.ws.rel(self.ws.audit_path), line=e.line)

    def note(self, message: str) -> None:
        e = self.entry
        self.notes.append(f"audit.log entry {e.seq} ({e.action} {e.target}): {message}")

    def form(self, form_id: str):
        if form_id not in self._forms:
            from .forms import load_form
            try:
                self._forms[form_id] = load_form(self.ws, form_id)
            except QmsError:
                self._forms[form_id] = None
        return self._forms[form_id]

    def revision(self, number: str, label: str):
        row = self.cat.one("SELECT * FROM revisions WHERE number=? AND revision=?", number, label)
        if row is None:
            raise self.fail(f"no revision {label} of {number} was submitted before it")
        return row

    def record(self, number: str):
        row = self.cat.one("SELECT * FROM records WHERE number=?", number)
        if row is None:
            raise self.fail(f"record {number} is not filed (or already disposed) at this point of the log")
        return row

    def set_sequence(self, key: str, value: int) -> None:
        """Sequences only move forward: the highest number ever given, so none is reused."""
        self.cat.execute("INSERT INTO sequences(key, value) VALUES(?, ?) ON CONFLICT(key) "
                         "DO UPDATE SET value=MAX(value, excluded.value)", key, int(value))

    def _file(self, rel: str) -> Path:
        return self.ws.root / rel

    def _filed_at(self, folder: str, fallback: str) -> str:
        """The filing time data.yaml was written with (the catalog's own timestamp; the log entry
        of a batch import is stamped once, after the whole batch)."""
        path = self._file(folder) / "data.yaml"
        try:
            head = path.read_text(encoding="utf-8").split("\ndata:", 1)[0]
        except OSError:
            return fallback
        m = _FILED_AT.search(head)
        return m.group(2) if m else fallback

    def _record_data(self, folder: str) -> dict | None:
        from .yamlsrc import load_yaml
        path = self._file(folder) / "data.yaml"
        if not path.is_file():
            return None
        doc = load_yaml(path).data or {}
        return doc.get("data") or {}

    def _retention_and_customer(self, d: dict, form_id: str, record_date: str, folder: str) -> tuple:
        """From the entry when it carries them, else recomputed from the form and data.yaml."""
        if "retention_until" in d and "customer" in d:
            return d["retention_until"], d["customer"]
        data = self._record_data(folder)
        retention, customer = d.get("retention_until"), d.get("customer")
        if data is None:
            # Disposed since: its files are gone. The purge certificate supplies the retention end
            # (see _purge); the customer of a disposed record is not kept anywhere.
            return retention, customer if customer is not None else ""
        if "retention_until" not in d:
            form = self.form(form_id)
            if form is None:
                self.note(f"form {form_id} no longer exists; retention end left empty")
            else:
                until = form.retention.until(dt.date.fromisoformat(record_date), data)
                retention = until.isoformat() if until else None
        if "customer" not in d:
            customer = str(data.get("customer") or "")
        return retention, customer

    # -------------------------------------------------------------- dispatch

    def apply(self, e: _Entry) -> bool:
        """Apply one entry; False when it has no catalog effect."""
        self.entry = e
        if e.action in IGNORED_ACTIONS:
            return False
        if e.action.startswith(("user.", "login.", "keys.")):
            # issue 14: people and the organisation's key; the identity projection owns its table
            from .identity.projection import apply_user_event
            return apply_user_event(self.cat.conn, e)
        handler = getattr(self, "_" + e.action.replace(".", "_"), None)
        if handler is None:
            raise self.fail(f"unknown action {e.action!r} (written by a newer qms?)")
        try:
            handler(e, e.data)
        except (KeyError, TypeError, ValueError) as exc:
            raise self.fail(f"the entry lacks or garbles {exc}") from None
        return True

    # -------------------------------------------------------------- documents

    def _source(self, rel: str):
        """Title, kind and department as the service read them: kind normalised to its key."""
        from .docsource import parse_source_text
        path = self._file(rel)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise self.fail(f"its source {rel} is missing from the archive") from None
        try:
            doc = parse_source_text(text, path, self.ws)
            return doc.kind, doc.department
        except QmsError as exc:
            # The configuration changed since (e.g. a kind was removed): take the values as written.
            from .yamlsrc import parse_yaml_text
            data = parse_yaml_text(text, path).data or {}
            kind_text = str(data.get("kind") or "")
            kind = self.ws.kind(kind_text)
            self.note(f"{rel} no longer validates ({exc.message}); kind and department taken as written")
            return (kind.key if kind else kind_text), str(data.get("department") or "")

    def _submitted_at(self, folder: str, fallback: str) -> str:
        """The revision folder's manifest is created in the same instant as the catalog's
        submitted_at; the log entry is stamped after the files are fsynced."""
        try:
            created = json.loads((self._file(folder) / MANIFEST).read_text(encoding="utf-8")).get("created")
        except (OSError, ValueError):
            return fallback
        return created or fallback

    def _doc_submit(self, e: _Entry, d: dict) -> None:
        number, source = e.target, d["source"]
        kind, department = self._source(source)
        title = d["title"]
        doc = self.cat.one("SELECT * FROM documents WHERE number=?", number)
        if d.get("replaces_draft"):
            latest = self.cat.one("SELECT * FROM revisions WHERE number=? ORDER BY seq DESC LIMIT 1", number)
            if latest is None or latest["revision"] != d["revision"] or latest["state"] != "draft":
                raise self.fail(f"it replaces the draft {d['revision']}, which is not the open draft")
            self.cat.execute("UPDATE revisions SET source=?, title=?, change=COALESCE(?, change) WHERE id=?",
                             posixpath.basename(source), title, d.get("change"), latest["id"])
            self.cat.execute("UPDATE documents SET title=?, kind=?, department=? WHERE number=?",
                             title, kind, department, number)
            return
        folder = posixpath.dirname(source)
        at = self._submitted_at(folder, e.at)
        if doc is None:
            self.cat.execute("INSERT INTO documents(number, title, kind, department, created_at) VALUES(?,?,?,?,?)",
                             number, title, kind, department, at)
        else:
            self.cat.execute("UPDATE documents SET title=?, kind=?, department=? WHERE number=?",
                             title, kind, department, number)
        seq = (self.cat.one("SELECT MAX(seq) AS s FROM revisions WHERE number=?", number)["s"] or 0) + 1
        self.cat.execute("INSERT INTO revisions(number, revision, seq, title, state, source, folder, change, "
                         "submitted_at, submitted_by) VALUES(?,?,?,?,?,?,?,?,?,?)",
                         number, d["revision"], seq, title, "draft", posixpath.basename(source), folder,
                         d.get("change"), at, e.actor)

    def _doc_sign(self, e: _Entry, d: dict) -> None:
        rev = self.revision(e.target, d["revision"])
        self.cat.execute("INSERT INTO approvals(revision_id, role, role_label, name, meaning, signed_at, signed_on, "
                         "login, source_sha256, docx_sha256) VALUES(?,?,?,?,?,?,?,?,?,?)", rev["id"], d["role"],
                         d.get("role_label"), d["name"], d.get("meaning"), d.get("signed_at") or e.at,
                         d.get("signed_on") or e.at[:10], d.get("login"), d.get("source_sha256"),
                         d.get("docx_sha256"))

    def _doc_reject(self, e: _Entry, d: dict) -> None:
        rev = self.revision(e.target, d["revision"])
        self.cat.execute("UPDATE approvals SET void_at=?, void_reason=?, void_by=? WHERE revision_id=? "
                         "AND void_at IS NULL", d.get("at") or e.at, d["reason"], e.actor.split(" ", 1)[0],
                         rev["id"])

    def _doc_withdraw(self, e: _Entry, d: dict) -> None:
        rev = self.revision(e.target, d["revision"])
        self.cat.execute("UPDATE revisions SET state='withdrawn' WHERE id=?", rev["id"])

    def _doc_release(self, e: _Entry, d: dict) -> None:
        rev = self.revision(e.target, d["revision"])
        names = list(d.get("files") or {})
        docx = next((n for n in names if n.lower().endswith(".docx")), None)
        pdf = next((n for n in names if n.lower().endswith(".pdf")), None)
        self.cat.execute("UPDATE revisions SET state='released', issued=?, effective=?, released_at=?, "
                         "released_by=?, docx=?, pdf=? WHERE id=?", d["issued"], d["effective"], d.get("released_at") or e.at, e.actor,
                         docx, pdf, rev["id"])

    def _doc_obsolete(self, e: _Entry, d: dict) -> None:
        number = e.target
        self.cat.execute("UPDATE documents SET obsolete_on=?, obsolete_reason=?, obsolete_by=? WHERE number=?",
                         d["on"], d["reason"], e.actor, number)
        stamped = set(d.get("files") or {})
        for label in d.get("revisions") or []:
            rev = self.revision(number, label)
            name = f"{Path(rev['pdf']).stem}_作废.pdf" if rev["pdf"] else None
            if name in stamped:
                self.cat.execute("UPDATE revisions SET obsolete_pdf=? WHERE id=?", name, rev["id"])

    def _doc_issue_copy(self, e: _Entry, d: dict) -> None:
        rev = self.revision(e.target, d["revision"])
        name = next(iter(d.get("files") or {}), None)
        self.cat.execute("INSERT INTO copies(number, copy_no, revision, holder, issued_at, issued_by, file) "
                         "VALUES(?,?,?,?,?,?,?)", e.target, int(d["copy_no"]), d["revision"], d["holder"], e.at,
                         e.actor, f"{rev['folder']}/{name}" if name else None)

    def _doc_recall(self, e: _Entry, d: dict) -> None:
        cur = self.cat.execute("UPDATE copies SET recalled_at=?, recalled_by=? WHERE number=? AND copy_no=?",
                               e.at, e.actor, e.target, int(d["copy_no"]))
        if cur.rowcount != 1:
            raise self.fail(f"copy No.{d['copy_no']} was never issued")

    # -------------------------------------------------------------- records

    def _record_file(self, e: _Entry, d: dict) -> None:
        number, form_id, record_date, folder = e.target, d["form"], d["record_date"], d["folder"]
        seq = d.get("seq")
        if seq is None:
            m = _TRAILING_DIGITS.search(number)
            if not m:
                raise self.fail("it carries no sequence number and the record number does not end in digits")
            seq = int(m.group(1))
        key = d.get("sequence")
        if key is None:
            form = self.form(form_id)
            if form is None:
                key = f"{form_id}:{record_date[:4]}"
                self.note(f"form {form_id} no longer exists; numbering assumed yearly ({key})")
            else:
                from .records import _sequence_key
                key = _sequence_key(form, dt.date.fromisoformat(record_date))
        retention, customer = self._retention_and_customer(d, form_id, record_date, folder)
        filed_at = self._filed_at(folder, e.at)
        pdf_pending = 0 if f"{number}.pdf" in (d.get("files") or {}) else 1
        if self.cat.one("SELECT 1 FROM records WHERE number=? UNION SELECT 1 FROM disposed WHERE number=?",
                        number, number):
            raise self.fail(f"{number} was filed before")
        self.set_sequence(key, seq)
        self.cat.execute("INSERT INTO records(number, form, year, seq, status, record_date, filed_at, filed_by, "
                         "retention_until, folder, version, customer, pdf_pending) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         number, form_id, int(record_date[:4]), int(seq), d["status"], record_date, filed_at,
                         e.actor, retention, folder, int(d.get("version", 1)), customer, pdf_pending)
        self.cat.execute("INSERT INTO record_versions(number, version, folder, filed_at, filed_by, reason) "
                         "VALUES(?,?,?,?,?,?)", number, int(d.get("version", 1)), folder, filed_at, e.actor, "")

    def _record_pdf(self, e: _Entry, d: dict) -> None:
        self.record(e.target)
        self.cat.execute("UPDATE records SET pdf_pending=0 WHERE number=?", e.target)

    def _record_sign(self, e: _Entry, d: dict) -> None:
        row = self.record(e.target)
        # The scan goes into the folder that is current when signing (an amendment later adds v2 beside it).
        for s in d.get("signers") or [{"name": d["signer"], "role": d.get("role")}]:
            self.cat.execute("INSERT INTO signatures(number, signer, role, at, scan, sha256, signed_on) "
                             "VALUES(?,?,?,?,?,?,?)", e.target, s["name"], s.get("role") or "", d.get("at") or e.at,
                             f"{row['folder']}/{SCAN_NAME}", (d.get("files") or {}).get(SCAN_NAME),
                             d.get("signed_on"))
        self.cat.execute("UPDATE records SET status='filed' WHERE number=?", e.target)

    def _record_amend(self, e: _Entry, d: dict) -> None:
        number = e.target
        row = self.record(number)
        version, folder = int(d["version"]), d["folder"]
        retention, customer = self._retention_and_customer(d, row["form"], row["record_date"], folder)
        filed_at = self._filed_at(folder, e.at)
        pdf_pending = 0 if f"{number}.pdf" in (d.get("files") or {}) else 1
        self.cat.execute("UPDATE records SET version=?, folder=?, customer=?, retention_until=?, pdf_pending=? "
                         "WHERE number=?", version, folder, customer, retention, pdf_pending, number)
        self.cat.execute("INSERT INTO record_versions(number, version, folder, filed_at, filed_by, reason) "
                         "VALUES(?,?,?,?,?,?)", number, version, folder, filed_at, e.actor, d.get("reason") or "")

    # -------------------------------------------------------------- holds and disposal

    def _hold_add(self, e: _Entry, d: dict) -> None:
        self.record(e.target)
        self.cat.execute("INSERT INTO holds(number, reason, added_at, added_by) VALUES(?,?,?,?)",
                         e.target, d.get("reason"), e.at, e.actor)

    def _hold_release(self, e: _Entry, d: dict) -> None:
        cur = self.cat.execute("UPDATE holds SET released_at=?, released_by=?, release_reason=? "
                               "WHERE number=? AND released_at IS NULL", e.at, e.actor, d.get("reason"), e.target)
        if cur.rowcount == 0:
            raise self.fail(f"{e.target} is not on hold at this point of the log")

    def _purge(self, e: _Entry, d: dict) -> None:
        cert, numbers = e.target, list(d.get("disposed") or [])
        cert_rel = d.get("certificate") or ""
        body: dict = {}
        if cert_rel:
            try:
                body = json.loads(self._file(cert_rel).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.note(f"certificate {cert_rel} unreadable; disposal time taken from the log entry")
        # The certificate holds the instant the catalog was written with; the entry is stamped after.
        at = body.get("disposed_at") or e.at
        listed = {r.get("number"): r for r in body.get("records") or []}
        rows = []
        for n in numbers:
            row = self.cat.one("SELECT number, form, record_date, retention_until FROM records WHERE number=?", n)
            if row is None:
                if n not in listed:
                    raise self.fail(f"it disposes of {n}, which is not filed at this point of the log")
                row = listed[n]
                self.note(f"{n} disposed without a filing in the log; its details taken from the certificate")
            row = dict(row)
            if row.get("retention_until") is None and listed.get(n, {}).get("retention_until"):
                row["retention_until"] = listed[n]["retention_until"]
            rows.append(row)
        self.cat.conn.executemany("INSERT INTO disposed(number, form, record_date, retention_until, disposed_at, "
                                  "certificate) VALUES(?,?,?,?,?,?)",
                                  [(r["number"], r["form"], r["record_date"], r["retention_until"], at, cert)
                                   for r in rows])
        for table in ("records", "record_versions", "signatures", "holds"):
            self.cat.conn.executemany(f"DELETE FROM {table} WHERE number=?", [(n,) for n in numbers])
        self.cat.execute("INSERT INTO disposals(certificate, at, as_of, actor, count, folder) VALUES(?,?,?,?,?,?)",
                         cert, at, d["as_of"], e.actor, len(numbers),
                         posixpath.dirname(cert_rel) if cert_rel else None)
        m = _CERT.match(cert)
        if m:
            self.set_sequence(f"DISPOSAL:{m.group(1)}", int(m.group(2)))
        else:
            self.note(f"certificate number {cert} is not DC-YYYY-NNNN; its sequence is not restored")


def _replay_into(ws: Workspace, path: Path, entries: list[_Entry], progress=None) -> RebuildReport:
    """Replay `entries` into a new catalog file at `path` (one transaction); returns its counts."""
    report = RebuildReport(catalog=ws.rel(ws.catalog_path))
    cat = open_catalog(path)
    with cat:
        replay = _Replay(ws, cat)
        with cat.transaction():
            for i, e in enumerate(entries, 1):
                if not replay.apply(e):
                    report.ignored += 1
                report.events += 1
                if progress:
                    progress(i)
            last = entries[-1] if entries else None
            cat.execute("INSERT INTO meta(key, value) VALUES('rebuilt_at', ?)", now_iso())
            cat.execute("INSERT INTO meta(key, value) VALUES('rebuilt_from', ?)",
                        f"audit.log entries 1..{last.seq}" if last else "an empty audit.log")
        count = lambda table: cat.one(f"SELECT COUNT(*) AS n FROM {table}")["n"]  # noqa: E731
        report.documents, report.revisions = count("documents"), count("revisions")
        report.records, report.disposed, report.disposals = count("records"), count("disposed"), count("disposals")
        report.notes = replay.notes
        # One self-contained file: nothing left in a -wal beside it when it is renamed into place.
        cat.execute("PRAGMA journal_mode=DELETE")
    return report


def _remove_db(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _fold_wal(path: Path) -> None:
    """Checkpoint the live catalog so deleting its -wal loses nothing should we stop before the rename."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(str(path), timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        pass          # a damaged catalog is what a rebuild is for


def _log_state(ws: Workspace) -> tuple[int, int] | None:
    try:
        st = ws.audit_path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


# ------------------------------------------------------------------ public API

def rebuild_catalog(ws: Workspace, *, progress=None) -> RebuildReport:
    """Replay archive/audit.log into a fresh catalog and put it in place of catalog.sqlite.

    Refuses (QmsError) when the audit chain is broken or an entry cannot be replayed; the old
    catalog is untouched until the final rename. Meant to run while no other qms command writes.
    `progress(n)` is called after each entry (count_events gives the total).
    """
    before = _log_state(ws)
    _check_chain(ws)
    entries = _read_log(ws.audit_path)
    live = ws.catalog_path
    live.parent.mkdir(parents=True, exist_ok=True)
    tmp = live.with_name(f".catalog-rebuild-{uuid.uuid4().hex[:8]}.sqlite")
    try:
        report = _replay_into(ws, tmp, entries, progress)
        if _log_state(ws) != before:
            raise QmsError("the audit log changed while the catalog was being rebuilt (another qms command "
                           "ran); nothing was replaced; run qms rebuild again", file=ws.rel(ws.audit_path))
        fsync_path(tmp)
        _fold_wal(live)
        for suffix in ("-wal", "-shm"):
            stale = live.with_name(live.name + suffix)
            if stale.exists():
                stale.unlink()
        os.replace(tmp, live)
        fsync_path(live.parent)
    except BaseException:
        _remove_db(tmp)
        raise
    return report


# Natural keys, to name the row that differs; tables without one are compared as bags of rows.
_KEYS = {"documents": ("number",), "revisions": ("number", "revision"), "copies": ("number", "copy_no"),
         "sequences": ("key",), "records": ("number",), "record_versions": ("number", "version"),
         "disposed": ("number",), "disposals": ("certificate",)}
_SHOWN_PER_TABLE = 20


def _tables(cat: Catalog) -> list[str]:
    return [r["name"] for r in cat.all("SELECT name FROM sqlite_master WHERE type='table' AND name<>'meta' "
                                       "ORDER BY name")]


def table_rows(cat: Catalog, table: str) -> list[dict]:
    """A table's rows without row ids: approvals name their revision by number and label."""
    if table == "approvals":
        sql = ("SELECT r.number AS number, r.revision AS revision, a.role, a.role_label, a.name, a.meaning, "
               "a.signed_at, a.signed_on, a.login, a.source_sha256, a.docx_sha256, a.void_at, a.void_reason, a.void_by "
               "FROM approvals a LEFT JOIN revisions r ON r.id=a.revision_id")
    else:
        sql = f"SELECT * FROM {table}"
    return [{k: row[k] for k in row.keys() if k != "id"} for row in cat.all(sql)]


def _describe(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def _diff_table(table: str, live: list[dict], rebuilt: list[dict]) -> list[str]:
    out: list[str] = []
    key_cols = _KEYS.get(table)
    if key_cols:
        a = {tuple(r.get(k) for k in key_cols): r for r in live}
        b = {tuple(r.get(k) for k in key_cols): r for r in rebuilt}
        for key in sorted(set(a) | set(b), key=lambda k: tuple(str(x) for x in k)):
            name = " ".join(str(x) for x in key)
            if key not in b:
                out.append(f"table {table}, {name}: in the catalog but not in the log: {_describe(a[key])}")
            elif key not in a:
                out.append(f"table {table}, {name}: follows from the log but is missing from the catalog: "
                           f"{_describe(b[key])}")
            else:
                cols = [c for c in b[key] if a[key].get(c) != b[key].get(c)]
                cols += [c for c in a[key] if c not in b[key]]
                if cols:
                    out.append(f"table {table}, {name}: " + "; ".join(
                        f"{c} is {a[key].get(c)!r} in the catalog, {b[key].get(c)!r} from the log" for c in cols))
    else:
        freeze = lambda r: tuple(r.items())  # noqa: E731  (column order is the schema's in both)
        ca, cb = Counter(map(freeze, live)), Counter(map(freeze, rebuilt))
        for row, n in sorted((ca - cb).items(), key=repr):
            out.append(f"table {table}: in the catalog but not in the log ({n}×): {_describe(dict(row))}")
        for row, n in sorted((cb - ca).items(), key=repr):
            out.append(f"table {table}: follows from the log but is missing from the catalog ({n}×): "
                       f"{_describe(dict(row))}")
    if len(out) > _SHOWN_PER_TABLE:
        out = out[:_SHOWN_PER_TABLE] + [f"table {table}: … and {len(out) - _SHOWN_PER_TABLE} more differences"]
    return out


def compare_catalogs(ws: Workspace) -> list[str]:
    """Where the live catalog disagrees with a replay of the log, one line per differing row,
    table by table (row ids and the meta table ignored). Nothing is replaced. A log that cannot
    be replayed (broken chain, unknown entry) gives one line saying why."""
    prefix = f"{ws.rel(ws.catalog_path)}: "
    try:
        _check_chain(ws)
        entries = _read_log(ws.audit_path)
        tmpdir = Path(tempfile.mkdtemp(prefix="qms-compare-"))
        try:
            path = tmpdir / "catalog.sqlite"
            _replay_into(ws, path, entries)
            with open_catalog(path, create=False) as rebuilt, \
                    open_catalog(ws.catalog_path, create=False) as live:
                out: list[str] = []
                live_tables = set(_tables(live))
                for table in _tables(rebuilt):
                    if table not in live_tables:
                        out.append(f"table {table} is missing from the catalog")
                        continue
                    out += _diff_table(table, table_rows(live, table), table_rows(rebuilt, table))
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
    except QmsError as exc:
        return [prefix + f"not compared with the log: {exc.format()}"]
    except sqlite3.DatabaseError as exc:
        return [prefix + f"unreadable ({exc}); qms rebuild makes a new one from the log"]
    return [prefix + line for line in out]
