"""Work that waits (issue 22): a job queue on the journal — see queue.py.

    run_pending(ws, actor=…, wait=False)   run what is queued (qms jobs run, qms serve's worker, qms tick)
    list_jobs(ws)                          every job with its state, attempts and last error
    queued_event(id, kind, target, args)   the job.queue event to commit with whatever needs the job

Names are loaded on first use: the central projection imports jobs.projection at start-up, and
this package must not pull the writer in while the writer itself is being imported."""

from __future__ import annotations

__all__ = ["JobResult", "list_jobs", "queued_event", "run_pending"]   # ocr_job: jobs.queue (a module has that name)


def __getattr__(name: str):
    if name in __all__:
        from . import queue
        return getattr(queue, name)
    raise AttributeError(name)
