"""Paper that files itself (issue 22): the QR on printed records, the scan inbox, the review queue.

    consume(ws, folder, actor=…)          the inbox once (or a folder): split, file, queue
    queue(ws) / item(ws, id)              the review queue (pages without a usable QR, unreadable files)
    assign(ws, id, number, …)             a person's decision: this part is that record's signed scan
    discard(ws, id, reason=…)             a person's decision: not a record's scan (the file stays archived)
    record_text / form_text (codes)       what the QR on a printed record / blank form says
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["Outcome", "assign", "consume", "consume_file", "discard", "form_text", "inbox_dir", "item",
           "page_png", "queue", "record_text", "resume", "scan_key"]


# All of them from .review, loaded when first asked for: the projection's handlers (scan_rows) are
# loaded by every replay and commit, and importing the package took review, intake, records,
# PIL and zxing with them (~40 ms of `qms verify`).
def __getattr__(name: str):
    if name in __all__:
        return getattr(import_module(f"{__name__}.review"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
