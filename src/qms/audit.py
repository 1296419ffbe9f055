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


def read(log_path: Path, target: str | None = None) -> list[AuditEntry]:
    if not log_path.exists():
        return []
    out = []
    with open(log_path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if target is None or rec.get("target") == target or target in (rec.get("data") or {}).get("disposed", ()):
                out.append(AuditEntry(**rec))
    return out


def verify_chain(log_path: Path) -> list[str]:
    """Problems in the chain, each naming the line: an edited, removed or reordered entry breaks it."""
    problems: list[str] = []
    if not log_path.exists():
        return problems
    prev, expected_seq = GENESIS, 1
    with open(log_path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
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
            expected_seq = (rec.get("seq") or expected_seq) + 1
    return problems


def append_many(log_path: Path, entries: list[dict]) -> list[AuditEntry]:
    """Append several entries (each {actor, action, target, data}) with one lock and one fsync:
    a batch import logs every record without paying a disk flush per record."""
    if not entries:
        return []
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    with open(log_path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            last = _last_line(fh)
            if last:
                prev_entry = json.loads(last)
                prev, seq = prev_entry["hash"], prev_entry["seq"] + 1
            else:
                prev, seq = GENESIS, 1
            at = now_iso()
            lines = []
            for e in entries:
                entry = AuditEntry(seq=seq, at=at, actor=e["actor"], action=e["action"], target=e["target"],
                                   data=e.get("data") or {}, prev=prev)
                record = asdict(entry)
                record["hash"] = entry.hash = _digest(record)
                lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
                out.append(entry)
                prev, seq = entry.hash, seq + 1
            fh.seek(0, os.SEEK_END)
            fh.write(b"".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return out


def count(log_path: Path) -> int:
    """Number of entries (lines) in the log, without parsing them."""
    if not log_path.exists():
        return 0
    with open(log_path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
