"""The job.queue event (here, below ocr_job and queue, which both make it) and the job queue's catalog
table, a projection of job events: queued (kind, target, args),
an attempt that failed (the error, counted against the limit), done."""

from __future__ import annotations

import json

SCHEMA = """CREATE TABLE IF NOT EXISTS jobs(
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT, args TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL
  DEFAULT 0, max_attempts INTEGER NOT NULL DEFAULT 3, last_error TEXT, queued_at TEXT, done_at TEXT)"""


MAX_ATTEMPTS = 3


def queued_event(job_id: str, kind: str, target: str, args: dict | None = None,
                 max_attempts: int = MAX_ATTEMPTS) -> dict:
    return {"action": "job.queue", "target": job_id,
            "data": {"kind": kind, "target": target, "args": args or {}, "max_attempts": max_attempts}}


def ensure_schema(conn) -> None:
    conn.execute(SCHEMA)


def readable(conn) -> None:
    """An empty TEMP jobs table for a reader of a catalog that has none yet (see scan.projection)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='jobs'").fetchone():
        conn.execute(SCHEMA.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE IF NOT EXISTS"))


def _queue(cat, e, d):
    ensure_schema(cat.conn)
    cat.execute("INSERT OR IGNORE INTO jobs(id, kind, target, args, state, max_attempts, queued_at) "
                "VALUES(?,?,?,?,'queued',?,?)", e.target, d["kind"], d.get("target"),
                json.dumps(d.get("args") or {}, ensure_ascii=False), int(d.get("max_attempts", 3)), e.at)


def _fail(cat, e, d):
    ensure_schema(cat.conn)
    cat.execute("UPDATE jobs SET attempts=attempts+1, last_error=?, "
                "state=CASE WHEN attempts+1 >= max_attempts THEN 'failed' ELSE 'queued' END WHERE id=?",
                d.get("error"), e.target)


def _done(cat, e, d):
    ensure_schema(cat.conn)
    cat.execute("UPDATE jobs SET state='done', done_at=? WHERE id=?", e.at, e.target)


def register_handlers(register) -> None:
    register("job.queue", _queue)
    register("job.fail", _fail)
    register("job.done", _done)
