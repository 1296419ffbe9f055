"""The audit trail: the log file of append-only JSON lines, each carrying the hash of the one
before. Appending a commit's batch (its last entry signed: the batch's commit marker), reading the
log back and checking its chain, and dropping a torn write (lines after the last signed entry, a
batch never committed). What an entry and its line are, and how they are hashed and signed (the
signed journal of issue 19): `journal_entry`.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..base.dates import now_iso
from .journal_entry import (GENESIS, PIN_ACTION, AuditEntry, _digest, canonical_line, line_digest, parse_line,
                            sign_message, verify_sig)


def _last_line(fh) -> bytes:
    """The last line of an open binary file, read from the end (the log can be large)."""
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    while end > 0:                     # past the newlines the file ends with
        step = min(4096, end)
        fh.seek(end - step)
        block = fh.read(step)
        kept = block.rstrip(b"\n")
        end -= len(block) - len(kept)
        if kept:
            break
    return _back_to_newline(fh, end)[0]


def _back_to_newline(fh, end: int) -> tuple[bytes, bool]:
    """The bytes from just past the last newline before `end` up to `end`, and whether there was
    one (else from the start of the file). Each block read back is searched once: prepending blocks
    to one bytes object was quadratic (0.6 s on the 2.9 MB line of a purge of 10,000 records)."""
    pos, blocks = end, []
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        fh.seek(pos)
        block = fh.read(step)
        i = block.rfind(b"\n")
        if i >= 0:
            blocks.append(block[i + 1:])
            return b"".join(reversed(blocks)), True
        blocks.append(block)
    return b"".join(reversed(blocks)), False


def append(log_path: Path, *, actor: str, action: str, target: str, data: dict | None = None,
           key=None) -> AuditEntry:
    """Append one entry under an exclusive lock and fsync it before returning."""
    return append_many(log_path, [{"actor": actor, "action": action, "target": target, "data": data}], key=key)[0]


def open_log(log_path):
    """The log's bytes to read: audit.log, or the journal in PostgreSQL (pg_journal.PgLog) as the
    same bytes — everything below reads either."""
    return log_path.open_read() if hasattr(log_path, "open_read") else open(log_path, "rb")


def first_line(log_path) -> bytes:
    """The log's first line (b"" when there is none), without reading the rest."""
    if hasattr(log_path, "first_line"):
        return log_path.first_line()
    with open(log_path, "rb") as fh:
        return fh.readline()


def head(log_path: Path) -> tuple[int, str]:
    """(seq, hash) of the last entry; (0, GENESIS) for a missing or empty log."""
    if hasattr(log_path, "last_line"):          # in a database: no torn tail, the last row is the head
        last = log_path.last_line()
        if not last:
            return 0, GENESIS
        rec = json.loads(last)
        return int(rec["seq"]), str(rec["hash"])
    if not log_path.exists():
        return 0, GENESIS
    with open(log_path, "rb") as fh:
        last = _last_line(fh)
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":       # a torn tail (see _drop_torn_tail) is not an entry
                fh.seek(0)
                lines = [ln for ln in fh.read().split(b"\n")[:-1] if ln.strip()]
                last = lines[-1] if lines else b""
    if not last:
        return 0, GENESIS
    try:
        rec = json.loads(last)
        return int(rec["seq"]), str(rec["hash"])
    except (ValueError, KeyError, TypeError):
        raise JournalError(f"the last line is not a journal entry ({last[:60]!r}…); "
                           "nothing was changed — run qms verify", file=str(log_path)) from None


# ------------------------------------------------------------------ reading

@dataclass
class Scan:
    """One pass over (part of) the log."""
    problems: list[str] = field(default_factory=list)
    pairs: list[tuple[int, AuditEntry]] = field(default_factory=list)     # committed entries
    pending: list[tuple[int, AuditEntry]] = field(default_factory=list)   # after the last commit marker
    pending_from: int = 0          # offset where the uncommitted lines start
    torn: bool = False             # the last line has no newline (cut by a crash)
    pinned: str | None = None      # the pinned public key (base64), when the pin was read
    signed: bool = False           # the log is in its signed era at the end
    lines: int = 0


from ..base.errors import Integrity  # noqa: E402
from .journalkey import load_public, public_text, fingerprint
import signal


class JournalError(Integrity, ValueError):
    """A line the journal does not accept; the message names it (exit 3 at the CLI)."""


def _line_before(fh, offset: int) -> bytes:
    """The line that ends at `offset` (b"" at the start of the file)."""
    if offset <= 0:
        return b""
    line, found = _back_to_newline(fh, offset - 1)      # the byte before `offset` ends it
    if found:
        return line
    fh.seek(offset - 1)                                 # the first line: its newline, if any, dropped
    last = fh.read(1)
    return line if last == b"\n" else line + last


def _scan(fh, *, offset: int = 0, lineno: int = 0, prev: str | None = GENESIS, seq: int = 1,
          signed: bool = False, public=None, check_sigs: bool | str = False, strict: bool = True,
          stop_at_problem: bool = False, last_sig: str | None = "", lines: dict | None = None) -> Scan:
    """The journal's rules, line by line from `offset` (which starts a line). `prev`/`seq`: what
    the first line must chain to (None: not known, not checked); `signed`: the log is already in
    its signed era there; `public`: the key signatures are checked with (the pin read on the way
    overrides it until a later pin). `check_sigs`: True checks every batch's signature, "newest"
    only the last committed one (each earlier one is vouched for by the psig after it, checked
    by equality); `last_sig`: the signature the first batch's psig must repeat (None: unknown);
    `lines`: filled with each accepted line's bytes by its end offset (data_member reads them).
    Problems name the line (numbered from `lineno` + 1)."""
    out = Scan(signed=signed)
    check_psig = last_sig is not None
    newest = None                # (key, entry, first line, first seq, line) of the last signed batch
    fh.seek(offset)
    pos = offset
    batch_start_line = None
    key = public
    bad = out.problems.append

    for raw in fh:
        lineno += 1
        start, pos = pos, pos + len(raw)
        if not raw.endswith(b"\n"):
            out.torn = True
            if not out.pending:
                out.pending_from = start
            break
        where = f"audit.log line {lineno}"
        if not raw.strip():
            bad(f"{where}: an empty line (the log was edited)")
            continue
        try:
            rec = parse_line(raw) if strict else json.loads(raw)
            entry = AuditEntry(**rec)
        except (ValueError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else "members the journal does not write"
            if "not valid JSON" in reason or reason == "not UTF-8":
                bad(f"{where}: not valid JSON (the log was edited)")
            else:
                bad(f"{where}: {reason} — a reader may see other values than the hash covers "
                    "(the log was edited)")
            if stop_at_problem:
                break
            prev = None
            continue
        out.lines += 1
        if lines is not None:
            lines[pos] = raw
        if entry.action == PIN_ACTION and isinstance(entry.data, dict) and entry.data.get("public_key"):
            pin = entry.data["public_key"]
            if out.pinned is None and not signed:
                out.pinned = pin
                try:
                    key = load_public(pin)       # the first pin's batch is signed by the pinned key
                except ValueError:
                    bad(f"{where}: the pinned journal key is not an Ed25519 public key")
            out.signed = signed = True
        digest = line_digest(raw) if signed else _digest(rec)
        if entry.hash != digest:
            bad(f"{where}: entry hash does not match its content (the entry was edited)")
        if prev is not None and entry.prev != prev:
            bad(f"{where}: broken chain (previous entry removed, inserted or edited)")
        if seq is not None and entry.seq != seq:
            bad(f"{where}: sequence {entry.seq} where {seq} was expected")
        if stop_at_problem and out.problems:
            break
        prev = entry.hash
        seq = (entry.seq if isinstance(entry.seq, int) else (seq or 0)) + 1
        if not signed:
            if entry.sig:
                bad(f"{where}: a signature before the journal key was pinned (the log was edited)")
            out.pairs.append((pos, entry))
            continue
        if not out.pending:
            out.pending_from = start
            batch_start_line = lineno
        if check_psig and entry.psig != (last_sig if len(out.pending) == 0 else ""):
            bad(f"{where}: " + ("does not repeat the previous batch's signature (a signature before it was "
                                "removed or changed)" if not out.pending else
                                "repeats a signature inside a batch (a signature before it was removed)"))
            if stop_at_problem:
                break
        out.pending.append((pos, entry))
        if not entry.sig:
            continue
        last_sig = entry.sig
        if check_sigs == "newest":
            newest = (key, entry, batch_start_line, out.pending[0][1].seq, lineno)
        elif check_sigs:
            if key is None:
                bad(f"{where}: signed, but no journal key is pinned before it (the log was edited)")
            elif not verify_sig(key, entry.hash, entry.sig):
                first = out.pending[0][1].seq
                span = f"seq {first}–{entry.seq}" if first != entry.seq else f"seq {entry.seq}"
                bad(f"audit.log line{'s' if batch_start_line != lineno else ''} "
                    f"{batch_start_line if batch_start_line == lineno else f'{batch_start_line}–{lineno}'} "
                    f"({span}): the batch's signature does not verify with the journal's key "
                    "(written or changed without the key)")
                if stop_at_problem:
                    break
        out.pairs.extend(out.pending)
        out.pending = []
    if newest is not None:
        key, entry, first_line, first, lineno = newest
        if key is None or not verify_sig(key, entry.hash, entry.sig):
            out.problems.append("newest")      # scan() looks for the first bad batch
    return out


def _uncommitted(s: Scan, first_line: int) -> str:
    n = len(s.pending)
    what = ", ".join(f"{e.seq} {e.action} {e.target}" for _, e in s.pending[:3]) + (" …" if n > 3 else "")
    return (f"audit.log line{'s' if n > 1 else ''} {first_line}{f'–{first_line + n - 1}' if n > 1 else ''}: "
            f"{n} entr{'ies' if n > 1 else 'y'} ({what}) with no commit signature after them — a batch "
            "never committed (a crash: the next command drops it) or appended without the journal key")


def scan(log_path: Path, *, expected_key: str | None = None,
         lines: dict | None = None) -> tuple[list[str], list[tuple[int, AuditEntry]]]:
    """Read the whole log once: its problems (chain, canonical form, signatures, uncommitted
    tail) and (end offset, entry) for every committed entry that parses. `expected_key`: the
    public key kept beside the private one (.qms/identity/keys/journal-key.pub), checked against the pin.
    `lines`: filled with each line read, by its end offset (see data_member)."""
    if not log_path.exists():
        return [], []
    with open_log(log_path) as fh:
        s = _scan(fh, check_sigs="newest", lines=lines)
        if "newest" in s.problems:          # name the first batch whose signature fails
            s = _scan(fh, check_sigs=True)
            if not any("signature" in p for p in s.problems):
                s.problems.append("audit.log: the newest batch's signature does not verify with the journal's key")
    problems = s.problems
    if s.pending:
        problems.append(_uncommitted(s, s.lines - len(s.pending) + 1))
    if s.torn:
        problems.append("audit.log: the last line is cut short (a crash while writing; the next command drops it)")
    if expected_key:
        if s.pinned is None and s.pairs:
            problems.append("audit.log: pins no journal key although this workspace has one "
                            "(.qms/identity/keys/journal-key.pub): its entries carry no signatures (rewritten without the key?)")
        elif s.pinned is not None and s.pinned != expected_key:
            problems.append("audit.log: pins a journal key other than this workspace's (.qms/identity/keys/journal-key.pub): "
                            "the log was rewritten and signed with another key")
    return problems, s.pairs


def verify_chain(log_path: Path, *, expected_key: str | None = None) -> list[str]:
    """Problems in the chain, each naming the line: an edited, removed or reordered entry breaks it."""
    return scan(log_path, expected_key=expected_key)[0]


def _reader_state(fh, offset: int) -> bool:
    """Whether the log is in its signed era just before `offset`: the entry there is signed, a
    pin, or hashed over its bytes (a signed entry inside a batch)."""
    before = _line_before(fh, offset)
    if not before:
        return False
    if b', "sig": "' in before or b'"action": "journal.key"' in before:
        return True
    try:
        return json.loads(before).get("hash") == line_digest(before)
    except (ValueError, AttributeError):
        return False


def entries_after(log_path: Path, seq: int, offset: int = 0) -> list[tuple[int, AuditEntry]]:
    """(byte offset just past the line, entry) for every committed entry with a sequence number
    above `seq`, reading from `offset` (a position known to start a line at or before it).
    A line the journal does not accept raises JournalError naming it."""
    if not log_path.exists():
        return []
    with open_log(log_path) as fh:
        # readers refuse what a person could misread (duplicate keys, non-canonical lines, a hash
        # that is not the line's); signatures are for verify and recovery
        s = _scan(fh, offset=offset, prev=None, seq=None, signed=_reader_state(fh, offset), stop_at_problem=True,
                  last_sig=None)
    if s.problems:
        raise JournalError(s.problems[0] + "; run qms verify")
    return [(p, e) for p, e in s.pairs if e.seq > seq]


def read(log_path: Path, target: str | None = None) -> list[AuditEntry]:
    out = []
    for _, e in entries_after(log_path, 0):
        # a purge lists the records it destroyed; a yearly volume only counts them ("records": 12)
        listed = (e.data or {}).get("records")
        if target is None or e.target == target or isinstance(listed, list) and \
                any(isinstance(r, dict) and r.get("number") == target for r in listed):
            out.append(e)
    return out


@dataclass
class Tail:
    """What recovery finds after the catalog's head: committed entries to apply, an uncommitted
    batch to drop (from `cut`), and problems that stop every write."""
    pairs: list[tuple[int, AuditEntry]]
    cut: int | None
    dropped: list[AuditEntry]
    problems: list[str]


def read_tail(log_path: Path, seq: int, offset: int, prev: str, key=None) -> Tail:
    """The log after the catalog's head (seq, hash `prev`, ending at `offset`). Signatures are
    checked with `key` (the journal key's public half) unless a pin in the tail names another."""
    if not log_path.exists():
        return Tail([], None, [], [])
    with open_log(log_path) as fh:
        before = _line_before(fh, offset)
        signed = _reader_state(fh, offset)
        head_sig = None
        if signed:
            try:
                head_sig = json.loads(before).get("sig") or None
            except ValueError:
                head_sig = None
        if signed and key is not None:
            try:
                rec = parse_line(before)
                if rec.get("hash") != line_digest(before):
                    return Tail([], None, [], [f"audit.log entry {rec.get('seq')}: its hash does not match its "
                                               "line; nothing was changed — run qms verify"])
                if rec.get("sig") and not verify_sig(key, rec.get("hash", ""), rec["sig"]):
                    return Tail([], None, [], [
                        f"the journal key in .qms/identity/keys/ is not the key audit.log is signed with (entry {rec.get('seq')}); "
                        "nothing was changed — restore the workspace's own key"])
            except ValueError as exc:
                return Tail([], None, [], [f"audit.log entry {seq}: {exc}; run qms verify"])
        kw = dict(offset=offset, prev=prev, seq=seq + 1, signed=signed, public=key, check_sigs=key is not None,
                  stop_at_problem=True, last_sig=head_sig if signed else "")
        s = _scan(fh, **kw)
        if s.problems:             # name the line: count the lines before the head (only now)
            fh.seek(0)
            lines = fh.read(offset).count(b"\n")
            s = _scan(fh, lineno=lines, **kw)
    problems = s.problems
    if not problems and s.pinned and key is not None:
        if public_text(key) != s.pinned:
            problems = [f"audit.log entry {next(e.seq for _, e in s.pairs + s.pending if e.action == PIN_ACTION)}: "
                        "pins a journal key other than this workspace's (.qms/identity/keys/journal-key.pem)"]
    cut = s.pending_from if (s.pending or s.torn) and not problems else None
    return Tail(s.pairs, cut, [e for _, e in s.pending], problems)


def drop_uncommitted(log_path: Path, cut: int) -> bytes:
    """Truncate the log at `cut` (the start of a batch never committed); returns what was cut."""
    if hasattr(log_path, "truncate"):
        return log_path.truncate(cut)
    with open(log_path, "r+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(cut)
            gone = fh.read()
            fh.truncate(cut)
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return gone


# ------------------------------------------------------------------ writing

def append_many(log_path: Path, entries: list[dict], key=None) -> list[AuditEntry]:
    """Append several entries (each {actor, action, target, data}) with one lock and one fsync:
    a batch import logs every record without paying a disk flush per record."""
    return [e for _, e in append_batch(log_path, entries, key=key)]


def append_batch(log_path: Path, entries: list[dict], key=None) -> list[tuple[int, AuditEntry]]:
    """append_many, also giving each entry's end offset in the file (where the next line starts).

    `key` (the journal's Ed25519 private key): the batch's last entry is signed with it; the
    first signed batch starts with a `journal.key` event pinning its public half. Without a key
    the log must not be signed yet (a log from before signed journals, or a test)."""
    if not entries:
        return []
    if hasattr(log_path, "append"):             # in a database: one transaction under its append lock
        return log_path.append(lambda last, end: _batch_lines(log_path, last, end, entries, key))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    with open(fd, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            _drop_torn_tail(fh)
            last = _last_line(fh)
            fh.seek(0, os.SEEK_END)
            lines, out = _batch_lines(log_path, last, fh.tell(), entries, key)
            data = b"".join(lines)
            _torn_write(fh, data)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return out


def _batch_lines(log_path, last: bytes, pos: int, entries: list[dict], key) -> tuple[list[bytes], list]:
    """The lines of a batch after the log's `last` line (the log is `pos` bytes long), and
    (end offset, entry) for each."""
    out = []
    if last:
        prev_entry = json.loads(last)
        prev, seq = prev_entry["hash"], prev_entry["seq"] + 1
        signed = bool(prev_entry.get("sig")) or prev_entry.get("action") == PIN_ACTION
        last_sig = prev_entry.get("sig") or ""
    else:
        prev, seq, signed, last_sig = GENESIS, 1, False, ""
    at = now_iso()
    if key is not None and not signed:
        entries = [{"actor": entries[0]["actor"], "action": PIN_ACTION, "target": "journal",
                    "data": {"algorithm": "Ed25519", "public_key": public_text(key),
                             "fingerprint": fingerprint(key)}}] + list(entries)
        signed = True
    elif key is None and signed:
        raise Integrity("the journal is signed; nothing can be appended without its key",
                        file=str(log_path))
    lines = []
    last_i = len(entries) - 1
    for i, e in enumerate(entries):
        entry = AuditEntry(seq=seq, at=at, actor=e["actor"], action=e["action"], target=e["target"],
                           data=e.get("data") or {}, prev=prev)
        if signed and i == 0 and last_sig:
            entry.psig = last_sig
        record = asdict(entry)
        del record["hash"], record["sig"]
        if not entry.psig:
            del record["psig"]
        if signed:
            entry.hash = hashlib.sha256(canonical_line(record)[:-1]).hexdigest()
            record["hash"] = entry.hash
            if i == last_i:
                entry.sig = base64.b64encode(key.sign(sign_message(entry.hash))).decode("ascii")
                record["sig"] = entry.sig
        else:
            record["hash"] = entry.hash = _digest(record)
        line = canonical_line(record)
        lines.append(line)
        pos += len(line)
        out.append((pos, entry))
        prev, seq = entry.hash, seq + 1
    return lines, out


def _torn_write(fh, data: bytes) -> None:
    """A test hook: `QMS_TORN_WRITE=N` writes only the first N bytes of the batch, fsyncs and
    dies (SIGKILL) — a power cut in the middle of the write. Unset, one dict lookup."""
    cut = os.environ.get("QMS_TORN_WRITE")
    if cut is None:
        return
    fh.write(data[: int(cut)])
    fh.flush()
    os.fsync(fh.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def _drop_torn_tail(fh) -> None:
    """A last line without its newline was cut by a crash before its fsync returned: the
    command that wrote it never went on to place files, so it is dropped, not repaired.
    (Whole uncommitted batches are dropped by recovery, which runs first under the lock.)"""
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return
    fh.seek(end - 1)
    if fh.read(1) == b"\n":
        return
    pos = end
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        fh.seek(pos)
        chunk = fh.read(step)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            fh.truncate(pos + nl + 1)
            return
    fh.truncate(0)


def count(log_path: Path) -> int:
    """Number of entries (lines) in the log, without parsing them."""
    if hasattr(log_path, "count"):
        return log_path.count()
    if not log_path.exists():
        return 0
    with open(log_path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
