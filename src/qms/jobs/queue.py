"""Work that waits: a job queue on the journal.

A job is queued by a journaled event (job.queue, usually in the same batch as what made it
needed); its effect is a journaled event committed together with job.done, so a job run twice —
or by two runners at once, or again after a crash mid-way — changes nothing the second time.
An attempt that fails logs job.fail; after `max_attempts` the job stays failed (shown by
`qms jobs`). Runners: `qms jobs run [--wait]` (cron, tests), the worker inside `qms serve`, and
anyone else through `run_pending(ws)` (e.g. `qms tick`). Nothing here blocks filing.

Several servers (storage.database): each runner claims a job before its slow work (store.claims,
a database lock), so two servers never run one job at once; a job claimed elsewhere is skipped
this round and, if that runner dies, taken by the next round (the lock dies with its process)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ..store.catalog import reading
from ..store.claims import claim
from ..store.writer import writing
from .job_rows import ensure_schema, queued_event, readable  # noqa: F401 (queued_event: the jobs API, made below ocr_job)
from .ocr_job import needs_ocr, run_ocr

RUNNER = "qms jobs"


@dataclass
class JobResult:
    id: str
    kind: str
    target: str
    outcome: str          # done, failed (will retry), gave_up, skipped
    message: str

    def to_json(self) -> dict:
        return self.__dict__.copy()


def _handlers():
    return {"ocr": run_ocr}


def ocr_job(ws, number: str) -> dict | None:
    """The job.queue event OCR'ing the record's signed scan, or None (it has text, or a job exists)."""
    return needs_ocr(ws, number)


def _rows(cat, where: str = "", *args):
    readable(cat.conn)
    return [dict(r) for r in cat.all(f"SELECT * FROM jobs {where} ORDER BY queued_at, id", *args)]


def list_jobs(ws, *, state: str | None = None) -> list[dict]:
    with reading(ws) as cat:
        rows = _rows(cat, "WHERE state=?" if state else "", *([state] if state else []))
    for r in rows:
        r["args"] = json.loads(r["args"] or "{}")
    return rows


def run_pending(ws, *, actor: str = RUNNER, wait: bool = False, limit: int | None = None) -> list[JobResult]:
    """Run queued jobs in the foreground; with `wait`, until none is left to try (a failed attempt
    is retried, up to its limit). Safe to call from anywhere, any number of times at once."""
    results: list[JobResult] = []
    tried: set[str] = set()
    while True:
        todo = [j for j in list_jobs(ws, state="queued") if wait or j["id"] not in tried]
        if limit is not None:
            todo = todo[: max(0, limit - len(results))]
        if not todo:
            return results
        busy = False
        for job in todo:
            tried.add(job["id"])
            with claim(ws, f"job:{job['id']}") as mine:
                if not mine:        # another runner (another server's worker) is doing it now
                    busy = True
                    if not wait:
                        results.append(JobResult(job["id"], job["kind"], job["target"], "skipped",
                                                 "being run by another runner"))
                    continue
                if not _still_queued(ws, job["id"]):    # done (or given up) since the list was read
                    continue
                results.append(_run_one(ws, job, actor=actor))
        if not wait:
            return results
        time.sleep(0.2 if busy else 0.1 if results and results[-1].outcome == "failed" else 0)


def _still_queued(ws, job_id: str) -> bool:
    with reading(ws) as cat:
        return bool(_rows(cat, "WHERE id=? AND state='queued'", job_id))


def _run_one(ws, job: dict, *, actor: str) -> JobResult:
    handler = _handlers().get(job["kind"])
    if handler is None:
        return _fail(ws, job, actor, f"unknown job kind {job['kind']!r}")
    try:
        effect, message = handler(ws, job)       # slow work outside the lock; returns the events
    except Exception as exc:                      # a job's failure is logged and retried, never raised
        return _fail(ws, job, actor, f"{type(exc).__name__}: {exc}"[:300])
    with writing(ws, purpose=f"job {job['kind']}") as w:
        ensure_schema(w.cat.conn)
        row = w.cat.one("SELECT state FROM jobs WHERE id=?", job["id"])
        if row is None or row["state"] != "queued":
            return JobResult(job["id"], job["kind"], job["target"], "skipped", "already done by another runner")
        effect = effect(w) if callable(effect) else effect
        w.commit([*effect, {"action": "job.done", "target": job["id"], "data": {"kind": job["kind"]}}], actor=actor)
    return JobResult(job["id"], job["kind"], job["target"], "done", message)


def _fail(ws, job: dict, actor: str, error: str) -> JobResult:
    with writing(ws, purpose="job failed") as w:
        ensure_schema(w.cat.conn)
        row = w.cat.one("SELECT state, attempts, max_attempts FROM jobs WHERE id=?", job["id"])
        if row is None or row["state"] != "queued":
            return JobResult(job["id"], job["kind"], job["target"], "skipped", error)
        w.commit([{"action": "job.fail", "target": job["id"], "data": {"error": error}}], actor=actor)
    last = row["attempts"] + 1 >= row["max_attempts"]
    return JobResult(job["id"], job["kind"], job["target"], "gave_up" if last else "failed", error)
