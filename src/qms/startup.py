"""The composition root: what every entry point (CLI, web, tests, bench, a script on the library)
runs once before work. Without it a commit is still logged, placed and projected, but the search
index stays behind until the next process that started catches up (verify says so).

Services hand their post-commit work and their projection handlers to storage here, so storage
never imports a service. A new service that reacts to committed events adds one line."""

from __future__ import annotations

from . import events, projection
from .identity.projection import register_handlers
from .search.indexing import on_commit


def start() -> None:
    """Subscribe the services (idempotent)."""
    register_handlers(projection.register)
    events.subscribe(on_commit)
