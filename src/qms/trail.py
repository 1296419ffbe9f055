"""The audit trail as an auditor filters it: by target, actor, action and dates (newest first)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from . import audit
from .workspace import Workspace


def trail(ws: Workspace, *, target: str | None = None, actor: str | None = None, action: str | None = None,
          date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict]:
    """Entries shaped as `qms log --json`; `action` matches a prefix ("doc." finds every document event)."""
    out = []
    lo = date_from.isoformat() if date_from else ""
    hi = date_to.isoformat() if date_to else ""
    for e in audit.read(ws.audit_path, target or None):
        if actor and e.actor != actor:
            continue
        if action and not e.action.startswith(action):
            continue
        day = e.at[:10]
        if (lo and day < lo) or (hi and day > hi):
            continue
        out.append(asdict(e))
    out.reverse()
    return out
