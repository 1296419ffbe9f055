"""The composition root: what every entry point (CLI, web, tests, bench, a script on the library)
runs once before work. Without it a commit is still logged, placed and projected, but the search
index stays behind until the next process that started catches up (verify says so).

Services hand their post-commit work, their projection handlers, their commit followers and their
to-do sources to the layers below them here, so storage never imports a service. A new service that
reacts to committed events adds one line.

Each is handed over by name (base.deferred) and imported on its first call: the projection loads
every handler before it applies the first event (a commit, recovery, replay, rebuild), the writer
calls every follower, gate and subscriber, so replay still runs them all — and a command that
writes nothing (`qms record show`) imports no service it does not use itself."""

from __future__ import annotations

from .base.deferred import Deferred
from .store import events, hooks, object_sync, projection
from . import todo
from .domain import docstate

HANDLERS = ("qms.identity.user_projection", "qms.scan.scan_rows", "qms.jobs.job_rows", "qms.kpi.kpi_rows",
            "qms.todo.quality_rows")
TODO_SOURCES = (      # name, function, dated (has a due date: counted in reminders)
    ("kpi.capa", "qms.kpi.improve:todo_items", False),            # KPI-proposed CAPAs
    ("drafts", "qms.todo.sources:drafts", False),
    ("customer_signatures", "qms.todo.sources:customer_signatures", False),
    ("disposals", "qms.todo.sources:disposals", False),
    ("training", "qms.todo.sources:training", True),
    ("reviews", "qms.todo.sources:reviews", True),
    ("copies", "qms.todo.sources:copies", False),
    ("change_requests", "qms.change.requests:to_approve", False),
    ("capa_actions", "qms.capa.capas:my_actions", True),
)


def start() -> None:
    """Subscribe the services (idempotent)."""
    for module in HANDLERS:
        projection.provide(Deferred(f"{module}:register_handlers"))
    hooks.follow(Deferred("qms.training.assign:follow"))       # a release assigns its readers, in the same batch
    hooks.follow(Deferred("qms.change.follow:follow"))         # a revision submitted under a change request names it
    hooks.gate(Deferred("qms.integrity.governance:check_applied"))   # no write after an unapplied edit of config, schemas, templates
    if Deferred("qms.review.reviews:schedule") not in docstate.NEXT_REVIEW:
        docstate.NEXT_REVIEW.append(Deferred("qms.review.reviews:schedule"))     # 下次评审 on the master list
    for name, path, dated in TODO_SOURCES:
        todo.register(Deferred(path), name=name, dated=dated)
    events.subscribe(object_sync.on_commit)    # the bucket first: an archived file written once, locked
    events.subscribe(Deferred("qms.search.indexing:on_commit"))
