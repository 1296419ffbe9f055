"""The journal copied line for line — never re-made: the same bytes, so the same hash chain and
signatures. Resumable: what the target already holds must be a prefix of the source, and the copy
goes on from its end (a line torn by a crash is a prefix too, and is completed)."""

from __future__ import annotations

import os
from pathlib import Path

from ..base.errors import Conflict
from ..store.archive import fsync_path
from ..store.pg_journal import PgLog

BATCH_LINES = 200        # one transaction (or one fsync) per this many lines: a kill loses at most one batch


def target_bytes(log) -> bytes:
    if isinstance(log, PgLog):
        return log.read_bytes()
    return log.read_bytes() if Path(log).is_file() else b""


def check_prefix(source: bytes, target: bytes, where: str) -> None:
    """Refuse a target that holds another journal (or more than the source)."""
    if not source.startswith(target):
        raise Conflict(f"the target already holds a different journal ({where}): qms migrate fills an empty "
                       "target or resumes its own copy; choose an empty database or folder")


def copy_journal(source: bytes, log, progress=None) -> int:
    """Append to `log` (audit.log's path or a PgLog) what it lacks of `source`; returns lines copied."""
    have = target_bytes(log)
    check_prefix(source, have, str(log))
    rest = source[len(have):]
    if not rest:
        return 0
    if isinstance(log, PgLog):
        return _to_database(log, have, rest, progress)
    return _to_file(Path(log), rest, progress)


def _lines(rest: bytes) -> list[bytes]:
    return [ln + b"\n" for ln in rest.split(b"\n")[:-1]]


def _to_database(log: PgLog, have: bytes, rest: bytes, progress) -> int:
    if have and not have.endswith(b"\n"):     # (a row is a whole line: a table holds no torn tail)
        raise Conflict(f"the target journal ends inside a line ({log})")
    lines = _lines(rest)
    done, end = 0, len(have)
    for i in range(0, len(lines), BATCH_LINES):
        batch = lines[i:i + BATCH_LINES]

        def build(last, at, batch=batch, expect=end):
            if at != expect:          # someone else appended meanwhile: not ours to mix with
                raise Conflict(f"the target journal changed during the migration ({log})")
            return batch, None

        log.append(build)
        end += sum(len(b) for b in batch)
        done += len(batch)
        if progress:
            progress(done)
    return done


def _to_file(path: Path, rest: bytes, progress) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = _lines(rest)
    if not rest.endswith(b"\n"):
        lines.append(rest.rsplit(b"\n", 1)[-1])
    with open(path, "ab") as fh:
        for i in range(0, len(lines), BATCH_LINES):
            fh.write(b"".join(lines[i:i + BATCH_LINES]))
            fh.flush()
            os.fsync(fh.fileno())
            if progress:
                progress(min(i + BATCH_LINES, len(lines)))
    fsync_path(path.parent)
    return rest.count(b"\n")
