"""Followers of a commit: functions that, given the writer and the events about to be logged, return
more events for the same batch (a release assigns its readers; a person moved into a department gets
the current revisions to read). Same batch, same fsync: a crash leaves both or neither.

Registered at import by the services that need them (qms.store.projection imports their registration);
storage calls them without knowing them.
"""

from __future__ import annotations

FOLLOWERS: list = []


def follow(fn) -> None:
    """`fn(writer, events) -> list[event]`; must read only the catalog (under the writer's lock)."""
    if fn not in FOLLOWERS:
        FOLLOWERS.append(fn)


def followers_of(writer, events: list[dict]) -> list[dict]:
    extra: list[dict] = []
    for fn in FOLLOWERS:
        extra += fn(writer, events + extra) or []
    return extra


# Gates of a write: functions `fn(ws, cat)` that may refuse every write before it starts (what
# governs the archive must be applied first — integrity.governance registers at start-up).
GATES: list = []


def gate(fn) -> None:
    if fn not in GATES:
        GATES.append(fn)


def check_gates(ws, cat) -> None:
    for fn in GATES:
        fn(ws, cat)
