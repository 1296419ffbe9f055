"""The audit trail: append-only JSON lines, each carrying the hash of the one before."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .dates import now_iso

GENESIS = "0" * 64


@dataclass
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    data: dict = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""


def _digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _last_line(fh) -> bytes:
    """The last line of an open binary file, read from the end (the log can be large)."""
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return b""
    block = 4096
    pos = end
    data = b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
        stripped = data.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    return data.rstrip(b"\n")


def append(log_path: Path, *, actor: str, action: str, target: str, data: dict | None = None) -> AuditEntry:
    """Append one entry under an exclusive lock and fsync it before returning."""
    return append_many(log_path, [{"actor": actor, "action": action, "target": target, "data": data}])[0]


def head(log_path: Path) -> tuple[int, str]:
    """(seq, hash) of the last entry; (0, GENESIS) for a missing or empty log."""
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
    rec = json.loads(last)
    return rec["seq"], rec["hash"]


def entries_after(log_path: Path, seq: int, offset: int = 0) -> list[tuple[int, AuditEntry]]:
    """(byte offset just past the line, entry) for every entry with a sequence number above
    `seq`, reading from `offset` (a position known to start a line at or before it)."""
    out: list[tuple[int, AuditEntry]] = []
    if not log_path.exists():
        return out
    with open(log_path, "rb") as fh:
        fh.seek(offset)
        pos = offset
        for raw in fh:
            pos += len(raw)
            if not raw.strip():
                continue
            rec = json.loads(raw)
            if rec["seq"] > seq:
                out.append((pos, AuditEntry(**rec)))
    return out


def read(log_path: Path, target: str | None = None) -> list[AuditEntry]:
    if not log_path.exists():
        return []
    out = []
    with open(log_path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            # a purge lists the records it destroyed; a yearly volume only counts them ("records": 12)
            listed = (rec.get("data") or {}).get("records")
            if target is None or rec.get("target") == target or isinstance(listed, list) and \
                    any(isinstance(r, dict) and r.get("number") == target for r in listed):
                out.append(AuditEntry(**rec))
    return out


def verify_chain(log_path: Path) -> list[str]:
    """Problems in the chain, each naming the line: an edited, removed or reordered entry breaks it."""
    return scan(log_path)[0]


def scan(log_path: Path) -> tuple[list[str], list[tuple[int, AuditEntry]]]:
    """Read the whole log once: the chain's problems, and (end offset, entry) for every line that
    parses (verify and checkpoints need both; parsing twice was half of verify's time)."""
    problems: list[str] = []
    entries: list[tuple[int, AuditEntry]] = []
    if not log_path.exists():
        return problems, entries
    prev, expected_seq, pos = GENESIS, 1, 0
    with open(log_path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            pos += len(raw)
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
                entry = AuditEntry(**rec)
            except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
                problems.append(f"audit.log line {lineno}: not valid JSON (the log was edited)")
                prev = None
                continue
            if rec.get("hash") != _digest(rec):
                problems.append(f"audit.log line {lineno}: entry hash does not match its content (the entry was edited)")
            if prev is not None and rec.get("prev") != prev:
                problems.append(f"audit.log line {lineno}: broken chain (previous entry removed, inserted or edited)")
            if rec.get("seq") != expected_seq:
                problems.append(f"audit.log line {lineno}: sequence {rec.get('seq')} where {expected_seq} was expected")
            prev = rec.get("hash")
            expected_seq = (rec.get("seq") if isinstance(rec.get("seq"), int) else expected_seq) + 1
            entries.append((pos, entry))
    return problems, entries


def append_many(log_path: Path, entries: list[dict]) -> list[AuditEntry]:
    """Append several entries (each {actor, action, target, data}) with one lock and one fsync:
    a batch import logs every record without paying a disk flush per record."""
    return [e for _, e in append_batch(log_path, entries)]


def append_batch(log_path: Path, entries: list[dict]) -> list[tuple[int, AuditEntry]]:
    """append_many, also giving each entry's end offset in the file (where the next line starts)."""
    if not entries:
        return []
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    with open(fd, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            _drop_torn_tail(fh)
            last = _last_line(fh)
            if last:
                prev_entry = json.loads(last)
                prev, seq = prev_entry["hash"], prev_entry["seq"] + 1
            else:
                prev, seq = GENESIS, 1
            fh.seek(0, os.SEEK_END)
            pos = fh.tell()
            at = now_iso()
            lines = []
            for e in entries:
                entry = AuditEntry(seq=seq, at=at, actor=e["actor"], action=e["action"], target=e["target"],
                                   data=e.get("data") or {}, prev=prev)
                record = asdict(entry)
                record["hash"] = entry.hash = _digest(record)
                line = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
                lines.append(line)
                pos += len(line)
                out.append((pos, entry))
                prev, seq = entry.hash, seq + 1
            fh.write(b"".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return out


def _drop_torn_tail(fh) -> None:
    """A last line without its newline was cut by a crash before its fsync returned: the
    command that wrote it never went on to place files, so it is dropped, not repaired."""
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
    if not log_path.exists():
        return 0
    with open(log_path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
