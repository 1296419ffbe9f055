"""The composition root: what every entry point (CLI, web, tests, bench, a script on the library)
runs once before work. Without it a commit is still logged, placed and projected, but the search
index stays behind until the next process that started catches up (verify says so).

Services hand their post-commit work, their projection handlers, their commit followers and their
to-do sources to the layers below them here, so storage never imports a service. A new service that
reacts to committed events adds one line."""

from __future__ import annotations

from .store import events, hooks, object_sync, projection
from . import todo
from .change.follow import follow as cr_follow
from .documents import document_views
from .identity.user_projection import register_handlers as identity_handlers
from .jobs.job_rows import register_handlers as job_handlers
from .kpi import improve
from .kpi.kpi_rows import register_handlers as kpi_handlers
from .review.reviews import schedule as review_schedule
from .scan.scan_rows import register_handlers as scan_handlers
from .integrity.governance import check_applied
from .search.indexing import on_commit
from .todo.quality_rows import register_handlers as quality_handlers
from .training.assign import follow as training_follow


def start() -> None:
    """Subscribe the services (idempotent)."""
    for handlers in (identity_handlers, scan_handlers, job_handlers, kpi_handlers, quality_handlers):
        handlers(projection.register)
    hooks.follow(training_follow)       # a release assigns its readers, in the same batch
    hooks.follow(cr_follow)             # a revision submitted under a change request names it
    hooks.gate(check_applied)           # no write after an unapplied edit of config, schemas, templates
    if review_schedule not in document_views.NEXT_REVIEW:
        document_views.NEXT_REVIEW.append(review_schedule)     # 下次评审 on the master list
    todo.register(improve.todo_items, name="kpi.capa", dated=False)   # KPI-proposed CAPAs
    events.subscribe(object_sync.on_commit)    # the bucket first: an archived file written once, locked
    events.subscribe(on_commit)
