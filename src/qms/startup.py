"""The composition root: what every entry point (CLI, web, tests, bench, a script on the library)
runs once before work. Without it a commit is still logged, placed and projected, but the search
index stays behind until the next process that started catches up (verify says so).

Services hand their post-commit work, their projection handlers, their commit followers and their
to-do sources to the layers below them here, so storage never imports a service. A new service that
reacts to committed events adds one line."""

from __future__ import annotations

from . import events, hooks, projection, todo
from .change.follow import follow as cr_follow
from .identity.projection import register_handlers as identity_handlers
from .jobs.projection import register_handlers as job_handlers
from .kpi import improve
from .kpi.projection import register_handlers as kpi_handlers
from .scan.projection import register_handlers as scan_handlers
from .search.indexing import on_commit
from .todo.projection import register_handlers as quality_handlers
from .training.assign import follow as training_follow


def start() -> None:
    """Subscribe the services (idempotent)."""
    for handlers in (identity_handlers, scan_handlers, job_handlers, kpi_handlers, quality_handlers):
        handlers(projection.register)
    hooks.follow(training_follow)       # a release assigns its readers, in the same batch
    hooks.follow(cr_follow)             # a revision submitted under a change request names it
    todo.register(improve.todo_items, name="kpi.capa", dated=False)   # KPI-proposed CAPAs
    events.subscribe(on_commit)
