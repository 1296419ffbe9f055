"""The catalog as a projection of the journal: `apply(cat, entry)` is the only code that writes
catalog tables, used live after each event and by `qms rebuild` from seq 1.

An event carries every value its rows need (the journal is the truth), so applying the same
log always gives the same catalog. The catalog's meta table records the last event applied
(seq, hash and the byte offset just past it in audit.log), so a catalog behind the log knows
where to catch up from.
"""

from __future__ import annotations

from pathlib import Path

from ..base.yaml_source import load_archived

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache, partial

from .journal_entry import GENESIS, AuditEntry, canonical_json
from .catalog import Catalog
from ..base.errors import Integrity

IGNORED = {"record.compile"}        # logged for the trail; no catalog effect
IGNORED |= {"journal.key", "journal.checkpoint"}     # the journal's own: its key pinned, a checkpoint stored


class ProjectionError(Integrity):
    """An event the projection cannot apply: the log and the catalog disagree."""


def head(cat: Catalog) -> tuple[int, str, int]:
    """(seq, hash, offset) of the last event applied; (0, GENESIS, 0) for a new catalog."""
    rows = {r["key"]: r["value"] for r in cat.all("SELECT key, value FROM meta WHERE key IN "
                                                  "('last_seq', 'last_hash', 'last_offset')")}
    return int(rows.get("last_seq", 0)), rows.get("last_hash", GENESIS), int(rows.get("last_offset", 0))


def indexed_seq(cat: Catalog) -> int:
    row = cat.one("SELECT value FROM meta WHERE key='indexed_seq'")
    return int(row["value"]) if row else 0


def set_indexed(cat: Catalog, seq: int) -> None:
    cat.execute("INSERT INTO meta(key, value) VALUES('indexed_seq', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value", str(seq))


def apply_all(cat: Catalog, entries: list[tuple[int, AuditEntry]], *, trail: bool = True,
              fold: Fold | None = None) -> None:
    """Apply (offset, entry) pairs in one transaction and move the catalog's head past them.
    `trail`: also add them to the audit_trail table (an in-memory replay that only compares
    tables passes False; verify compares the trail with the journal itself). `fold` (a replay
    from seq 1, see fold_plan): filings a later purge undoes are checked, not written."""
    if not entries:
        return
    _load_providers()
    with cat.transaction():
        last_seq, last_hash, _ = head(cat)
        if trail and trail_seq(cat) == last_seq:     # behind (an older catalog): fill_trail catches it up
            add_trail(cat, [e for _, e in entries])
        for offset, e in entries:
            if e.seq != last_seq + 1 or e.prev != last_hash:
                raise ProjectionError(f"audit.log entry {e.seq} does not follow the catalog's last applied "
                                      f"event {last_seq}; run qms verify")
            apply(cat, e, fold=fold)
            last_seq, last_hash = e.seq, e.hash
        cat.conn.executemany("INSERT INTO meta(key, value) VALUES(?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                             [("last_seq", str(last_seq)), ("last_hash", last_hash),
                              ("last_offset", str(entries[-1][0]))])


# ------------------------------------------------------------------ the audit trail table

def _utc(at: str) -> str:
    """The instant as UTC text (2026-03-13T02:00:00), so entries written under different offsets
    sort and range as one; a time without an offset is kept as written."""
    return _utc_text(at) if isinstance(at, str) else str(at or "")


@lru_cache(maxsize=1024)      # the entries of a batch share one time: parsed once (verify's trail check)
def _utc_text(at: str) -> str:
    try:
        t = dt.datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return str(at or "")
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t.isoformat(timespec="seconds")


def family(action: str) -> str:
    """doc.sign → doc. (what the trail's filter "every document event" asks for); purge → purge."""
    head, dot, _ = (action or "").partition(".")
    return head + dot


def trail_row(e: AuditEntry, data=None) -> tuple:
    """An entry as its audit_trail row (verify compares the table with these). `data`: its data
    column when the caller has it already (the bytes of the entry's line, see journal_entry.data_member)."""
    login, _, name = (e.actor or "").partition(" ")
    return (e.seq, e.at, _utc(e.at), e.actor or "", login, name, e.action, family(e.action), e.target or "",
            _json(e.data or {}) if data is None else data, e.prev or "", e.hash or "", e.sig or "", e.psig or "")


TRAIL_COLUMNS = ("seq", "at", "utc", "actor", "login", "name", "action", "family", "target", "data", "prev", "hash", "sig", "psig")


def trail_numbers(e: AuditEntry) -> set[str]:
    """What an entry is about: its target and every record it lists (a purge names the records it
    destroyed; a yearly volume only counts them)."""
    out = {e.target} if e.target else set()
    listed = (e.data or {}).get("records")
    if isinstance(listed, list):
        out |= {r["number"] for r in listed if isinstance(r, dict) and isinstance(r.get("number"), str)}
    return out


def trail_seq(cat: Catalog) -> int:
    """The last journal entry the audit_trail table holds (0: empty)."""
    return cat.one("SELECT COALESCE(MAX(seq), 0) AS n FROM audit_trail")["n"]


def add_trail(cat: Catalog, entries: list[AuditEntry]) -> None:
    cat.conn.executemany(f"INSERT INTO audit_trail({', '.join(TRAIL_COLUMNS)}) "
                         f"VALUES({', '.join('?' * len(TRAIL_COLUMNS))})", [trail_row(e) for e in entries])
    cat.conn.executemany("INSERT OR IGNORE INTO audit_numbers(number, seq) VALUES(?, ?)",
                         [(n, e.seq) for e in entries for n in trail_numbers(e)])


def fill_trail(cat: Catalog, entries: list[tuple[int, AuditEntry]]) -> int:
    """Bring the audit_trail table up to the catalog's head from the journal's entries (a catalog
    made before the table existed); returns the rows added."""
    with cat.transaction():
        have, upto = trail_seq(cat), head(cat)[0]
        todo = [e for _, e in entries if have < e.seq <= upto]
        add_trail(cat, todo)
    return len(todo)


def apply(cat: Catalog, e: AuditEntry, *, fold: Fold | None = None) -> None:
    if e.action in IGNORED:
        return
    if len(_PROVIDED) < len(_PROVIDERS):
        _load_providers()
    handler = _HANDLERS.get(e.action)
    if handler is None:
        raise ProjectionError(f"audit.log entry {e.seq}: unknown action {e.action!r} (written by a newer qms?)")
    if fold is not None:
        if e.seq in fold.filings:
            handler = _fold_filing
        elif e.seq in fold.bare:
            handler = partial(_purge, bare=fold.bare[e.seq])
    try:
        handler(cat, e, e.data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectionError(f"audit.log entry {e.seq} ({e.action} {e.target}) lacks or garbles {exc}") from None


# ------------------------------------------------------------------ documents

def _revision(cat: Catalog, e: AuditEntry, number: str, label: str):
    row = cat.one("SELECT * FROM revisions WHERE number=? AND revision=?", number, label)
    if row is None:
        raise ProjectionError(f"audit.log entry {e.seq}: no revision {label} of {number} before it")
    return row


def _doc_submit(cat, e, d):
    number = e.target
    if cat.one("SELECT 1 FROM documents WHERE number=?", number):
        cat.execute("UPDATE documents SET title=?, kind=?, department=? WHERE number=?",
                    d["title"], d["kind"], d["department"], number)
    else:
        cat.execute("INSERT INTO documents(number, title, kind, department, created_at) VALUES(?,?,?,?,?)",
                    number, d["title"], d["kind"], d["department"], e.at)
    if d.get("replaces_draft"):
        rev = _revision(cat, e, number, d["revision"])
        cat.execute("UPDATE revisions SET source=?, title=?, change=COALESCE(?, change) WHERE id=?",
                    d["source"], d["title"], d.get("change"), rev["id"])
        return
    cat.execute("INSERT INTO revisions(number, revision, seq, title, state, source, folder, change, "
                "submitted_at, submitted_by) VALUES(?,?,?,?,?,?,?,?,?,?)",
                number, d["revision"], int(d["seq"]), d["title"], "draft", d["source"], d["folder"],
                d.get("change"), e.at, e.actor)


def _doc_sign(cat, e, d):
    rev = _revision(cat, e, e.target, d["revision"])
    cat.execute("INSERT INTO approvals(revision_id, role, role_label, name, meaning, signed_at, signed_on, "
                "login, source_sha256, docx_sha256) VALUES(?,?,?,?,?,?,?,?,?,?)", rev["id"], d["role"],
                d.get("role_label"), d["name"], d.get("meaning"), d.get("signed_at") or e.at, d["signed_on"],
                d.get("login"), d.get("source_sha256"), d.get("docx_sha256"))


def _doc_reject(cat, e, d):
    """The draft's signatures in force become void (kept for history)."""
    rev = _revision(cat, e, e.target, d["revision"])
    cat.execute("UPDATE approvals SET void_at=?, void_reason=?, void_by=? WHERE revision_id=? AND void_at IS NULL",
                e.at, d["reason"], d.get("by"), rev["id"])


def _doc_withdraw(cat, e, d):
    rev = _revision(cat, e, e.target, d["revision"])
    cat.execute("UPDATE revisions SET state='withdrawn' WHERE id=?", rev["id"])


def _doc_release(cat, e, d):
    rev = _revision(cat, e, e.target, d["revision"])
    cat.execute("UPDATE revisions SET state='released', issued=?, effective=?, released_at=?, released_by=?, "
                "docx=?, pdf=? WHERE id=?", d["issued"], d["effective"], e.at, e.actor, d["docx"], d.get("pdf"),
                rev["id"])


def _doc_redate(cat, e, d):
    """A release not yet issued gets corrected dates and the files rendered with them."""
    rev = _revision(cat, e, e.target, d["revision"])
    cat.execute("UPDATE revisions SET issued=?, effective=?, docx=?, pdf=? WHERE id=?", d["issued"], d["effective"],
                d["docx"], d.get("pdf"), rev["id"])


def _doc_obsolete(cat, e, d):
    cat.execute("UPDATE documents SET obsolete_on=?, obsolete_reason=?, obsolete_by=? WHERE number=?",
                d["on"], d["reason"], e.actor, e.target)
    for label, name in (d.get("stamped") or {}).items():
        rev = _revision(cat, e, e.target, label)
        cat.execute("UPDATE revisions SET obsolete_pdf=? WHERE id=?", name, rev["id"])


def _doc_issue_copy(cat, e, d):
    _revision(cat, e, e.target, d["revision"])
    cat.execute("INSERT INTO copies(number, copy_no, revision, holder, issued_at, issued_by, file, holder_login, "
                "holder_department) VALUES(?,?,?,?,?,?,?,?,?)", e.target, int(d["copy_no"]), d["revision"],
                d["holder"], e.at, e.actor, d["file"], d.get("holder_login"), d.get("holder_department"))


def _doc_recall(cat, e, d):
    cat.execute("UPDATE copies SET recalled_at=?, recalled_by=? WHERE number=? AND copy_no=?",
                e.at, e.actor, e.target, int(d["copy_no"]))


# ------------------------------------------------------------------ records

def set_sequence(cat, key: str, value: int) -> None:
    """Sequences only move forward: the highest number ever given, so none is reused."""
    cat.execute("INSERT INTO sequences(key, value) VALUES(?, ?) ON CONFLICT(key) "
                "DO UPDATE SET value=MAX(sequences.value, excluded.value)", key, int(value))


def _record_row(e, d) -> tuple:
    """A filing's records row (raises what a filing that lacks or garbles a value raises)."""
    return (e.target, d["form"], int(d["record_date"][:4]), int(d["seq"]), d["status"], d["record_date"],
            e.at, e.actor, d.get("retention_until"), d["folder"], 1, d.get("customer") or "",
            1 if d.get("pdf_pending") else 0)


def _record_file(cat, e, d):
    set_sequence(cat, d["sequence"], d["seq"])
    cat.execute("INSERT INTO records(number, form, year, seq, status, record_date, filed_at, filed_by, "
                "retention_until, folder, version, customer, pdf_pending) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                *_record_row(e, d))
    _record_fields(cat, e.target, d)
    cat.execute("INSERT INTO record_versions(number, version, folder, filed_at, filed_by, reason) "
                "VALUES(?,?,?,?,?,?)", e.target, 1, d["folder"], e.at, e.actor, "")


def _record_pdf(cat, e, d):
    cat.execute("UPDATE records SET pdf_pending=0 WHERE number=?", e.target)


def _record_sign(cat, e, d):
    for s in d.get("signers") or [{"name": d["signer"], "role": d.get("role")}]:
        cat.execute("INSERT INTO signatures(number, signer, role, at, scan, sha256, signed_on) VALUES(?,?,?,?,?,?,?)",
                    e.target, s["name"], s.get("role") or "", e.at, d["scan"], d["sha256"], d.get("signed_on"))
    cat.execute("UPDATE records SET status='filed' WHERE number=?", e.target)


def _record_amend(cat, e, d):
    # `status`: a record needing the customer's signature waits for it again after an amendment
    # (the scan signed an earlier version); older amend events carry none and keep the status.
    cat.execute("UPDATE records SET version=?, folder=?, customer=?, retention_until=?, pdf_pending=?, "
                "status=COALESCE(?, status) WHERE number=?", int(d["version"]), d["folder"], d.get("customer") or "",
                d.get("retention_until"), 1 if d.get("pdf_pending") else 0, d.get("status"), e.target)
    cat.execute("INSERT INTO record_versions(number, version, folder, filed_at, filed_by, reason) "
                "VALUES(?,?,?,?,?,?)", e.target, int(d["version"]), d["folder"], e.at, e.actor, d["reason"])
    _record_fields(cat, e.target, d)


def _record_fields(cat, number: str, d) -> None:
    """The record's field values (the KPIs read them without opening data.yaml). Events carry
    them as `fields`; an event written before they did is read from its archived data.yaml."""
    values = event_fields(cat, d)
    form = d.get("form") or (cat.one("SELECT form FROM records WHERE number=?", number) or {"form": ""})["form"]
    cat.execute("DELETE FROM record_fields WHERE number=?", number)
    # keyed (form, field, number): a KPI reads one field of one form as one range of the table
    cat.conn.executemany("INSERT INTO record_fields(form, name, number, value) VALUES(?,?,?,?)",
                         [(form, k, number, v) for k, v in values.items()])


def event_fields(cat, d: dict) -> dict[str, str]:
    """The values an event carries; an event written before events carried them (no `fields`)
    gets them from the data.yaml it archived (the folder is in place when it is projected)."""
    if isinstance(d.get("fields"), dict):
        return {str(k): str(v) for k, v in d["fields"].items() if v is not None}
    if cat.path is None or not d.get("folder"):
        return {}
    path = Path(cat.path).parent.parent / d["folder"] / "data.yaml"
    try:
        data = (load_archived(path) or {}).get("data") or {}
    except Exception:       # a missing or unreadable file: the record has no values to measure
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in data.items()
            if v not in (None, "") and not isinstance(v, (list, dict))}


def _hold_add(cat, e, d):
    cat.execute("INSERT INTO holds(number, reason, added_at, added_by) VALUES(?,?,?,?)",
                e.target, d["reason"], e.at, e.actor)


def _hold_release(cat, e, d):
    cat.execute("UPDATE holds SET released_at=?, released_by=?, release_reason=? "
                "WHERE number=? AND released_at IS NULL", e.at, e.actor, d["reason"], e.target)


def _purge(cat, e, d, bare: set[str] = frozenset()):
    """`bare`: numbers known to have no row in RECORD_TABLES (fold_plan): nothing to delete."""
    records = d["records"]
    numbers = [r["number"] for r in records]
    cat.conn.executemany("INSERT INTO disposed(number, form, record_date, retention_until, disposed_at, "
                         "certificate) VALUES(?,?,?,?,?,?)",
                         [(r["number"], r["form"], r["record_date"], r["retention_until"], e.at, e.target)
                          for r in records])
    gone = [(n,) for n in numbers if n not in bare]
    for table in RECORD_TABLES:
        cat.conn.executemany(f"DELETE FROM {table} WHERE number=?", gone)
    cat.execute("INSERT INTO disposals(certificate, at, as_of, actor, count, folder, proposal, proposed_by) "
                "VALUES(?,?,?,?,?,?,?,?)", e.target, e.at, d["as_of"], e.actor, len(records), d["folder"],
                d.get("proposal"), d.get("proposed_by"))
    set_sequence(cat, d["sequence"], d["seq"])
    if d.get("proposal"):
        cat.execute("UPDATE disposal_requests SET status='approved', decided_at=?, decided_by=?, certificate=?, "
                    "left_out=? WHERE number=?", e.at, e.actor, e.target, _json(d.get("left_out") or []),
                    d["proposal"])


# ------------------------------------------------------------------ folding a filing into its purge

# The tables a purge clears of the records it destroys. Only the ROW_ACTIONS write them, each
# only rows of its own target (the record's number), and no handler reads them for another
# number: tests/test_verify_after_purge.py holds every registered handler to that.
RECORD_TABLES = ("records", "record_versions", "signatures", "holds", "record_fields")
ROW_ACTIONS = frozenset({"record.file", "record.amend", "record.sign", "record.pdf", "hold.add", "hold.release"})


@dataclass
class Fold:
    filings: set[int] = field(default_factory=set)              # seq of each filing to check, not write
    bare: dict[int, set[str]] = field(default_factory=dict)     # purge seq → its numbers left without rows


def fold_plan(entries: list[tuple[int, AuditEntry]]) -> Fold:
    """Filings a replay from seq 1 need not write: the record's first row-writing event (its
    filing), whose next one is a purge that destroys it. Before the filing the record had no row,
    between the two nothing wrote one, and the purge deletes every row the filing wrote: the
    catalog after the purge is the same with the rows never written. After a purge of 10,000
    records verify replayed 10,000 filings only to delete them (0.4 s of its 1.5 s)."""
    plan = Fold()
    _load_providers()
    if _HANDLERS.get("record.file") is not _record_file or _HANDLERS.get("purge") is not _purge:
        return plan           # another projection of filings or purges: nothing is known of it
    pending: dict[str, int] = {}          # number → seq of its filing, while no other event wrote it
    seen: set[str] = set()                # numbers some row-writing event or purge named
    for _, e in entries:
        if e.action == "purge":
            listed = (e.data or {}).get("records") if isinstance(e.data, dict) else None
            if not isinstance(listed, list):
                continue
            bare = set()
            for r in listed:
                n = r.get("number") if isinstance(r, dict) else None
                if not isinstance(n, str):
                    continue
                at = pending.pop(n, None)
                if at is not None:
                    plan.filings.add(at)
                    bare.add(n)
                seen.add(n)
            if bare:
                plan.bare[e.seq] = bare
        elif e.action in ROW_ACTIONS:
            n = e.target
            if n not in seen and e.action == "record.file":
                pending[n] = e.seq
            else:
                pending.pop(n, None)
            seen.add(n)
    return plan


def _fold_filing(cat, e, d) -> None:
    """A filing its purge undoes (fold_plan): what outlives the purge is applied (the sequence only
    moves forward), and the row is built as the filing would build it, so a filing that lacks or
    garbles a value is refused as before."""
    set_sequence(cat, d["sequence"], d["seq"])
    _record_row(e, d)           # (its field values, event_fields, are never refused)


def _json(value) -> str:
    """As the journal gives it back (keys sorted), so a live catalog equals a rebuilt one."""
    return canonical_json(value)


def _disposal_propose(cat, e, d):
    set_sequence(cat, d["sequence"], d["seq"])
    cat.execute("INSERT INTO disposal_requests(number, status, as_of, form, opinion, method, witness, records, "
                "proposed_at, proposed_by) VALUES(?,?,?,?,?,?,?,?,?,?)", e.target, "pending", d["as_of"],
                d.get("form"), d["opinion"], d["method"], d.get("witness"),
                _json(d["records"]), e.at, e.actor)


def _disposal_reject(cat, e, d):
    cat.execute("UPDATE disposal_requests SET status='rejected', decided_at=?, decided_by=?, reason=? "
                "WHERE number=?", e.at, e.actor, d["reason"], e.target)


_HANDLERS = {
    "doc.submit": _doc_submit, "doc.sign": _doc_sign, "doc.release": _doc_release,
    "doc.obsolete": _doc_obsolete, "doc.issue_copy": _doc_issue_copy, "doc.recall": _doc_recall,
    "doc.reject": _doc_reject, "doc.withdraw": _doc_withdraw, "doc.redate": _doc_redate,
    "record.file": _record_file, "record.pdf": _record_pdf, "record.sign": _record_sign,
    "record.amend": _record_amend, "hold.add": _hold_add, "hold.release": _hold_release, "purge": _purge,
    "disposal.propose": _disposal_propose, "disposal.reject": _disposal_reject,
}


def register(action: str, handler) -> None:
    """Another part of the domain (users, sessions) adds its own events' projection."""
    _HANDLERS[action] = handler


_PROVIDERS: list = []        # each `fn(register)`: a service's handlers, handed over by qms.startup
_PROVIDED: list = []


def provide(fn) -> None:
    """A service's `register_handlers` (qms.startup gives it by name): called before the first event
    is applied, so a command that applies none imports none of the services behind them."""
    if fn not in _PROVIDERS:
        _PROVIDERS.append(fn)


def _load_providers() -> None:
    for fn in _PROVIDERS:
        if fn not in _PROVIDED:
            fn(register)
            _PROVIDED.append(fn)



# What governs the archive (issue 19): the digests last applied, the write gate's reference.
def _config_applied(cat, e, d):
    cat.execute("INSERT INTO meta(key, value) VALUES('config_applied', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                json.dumps({"seq": e.seq, "digests": d["digests"], "settings": d.get("settings")},
                           ensure_ascii=False, sort_keys=True))


register("config.applied", _config_applied)
