"""Work that waits (issue 22): a job queue on the journal — see queue.py.

    run_pending(ws, actor=…, wait=False)   run what is queued (qms jobs run, qms serve's worker, qms tick)
    list_jobs(ws)                          every job with its state, attempts and last error
    queued_event(id, kind, target, args)   the job.queue event to commit with whatever needs the job
"""

from __future__ import annotations

from .queue import JobResult, list_jobs, queued_event, run_pending

__all__ = ["JobResult", "list_jobs", "queued_event", "run_pending"]   # ocr_job: jobs.queue (a module has that name)
