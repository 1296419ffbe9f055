"""Post-commit work as subscribers. The writer publishes every journal entry it commits, and
recovery the ones it replays; services (search indexing, later OCR, notifications, KPIs)
subscribe at start-up (qms.startup). Storage never imports a service.

A subscriber is `fn(ws, cat, entries)`; what it derives must be rebuildable from the journal,
because a crash after the log is written and before it ran is repaired by replaying to it."""

from __future__ import annotations

from typing import Callable

Subscriber = Callable[..., None]

_SUBSCRIBERS: list[Subscriber] = []


def subscribe(fn: Subscriber) -> Subscriber:
    """Add `fn` once (start-up may run more than once in a process)."""
    if fn not in _SUBSCRIBERS:
        _SUBSCRIBERS.append(fn)
    return fn


def publish(ws, cat, entries: list) -> int:
    """Call every subscriber with the committed entries; the number of subscribers called."""
    subscribers = list(_SUBSCRIBERS)
    for fn in subscribers:
        fn(ws, cat, entries)
    return len(subscribers)
