"""Checkpoints made on demand, each under the writer's lock: `qms checkpoint` (the checkpoint key,
kept outside the archive) and `qms serve` at start (the journal key). Apart from qms.store.checkpoint,
which the writer itself calls every `journal.checkpoint_every` events, so that module cannot import
the writer."""

from __future__ import annotations

from pathlib import Path

from . import audit
from .journal_entry import GENESIS
from .archive import atomic_write
from .checkpoint import _load_private, _signed_doc, _store, journal_checkpoint
from .workspace import Workspace
from .writer import writing
from ..base.dates import now_iso
from ..base.errors import Integrity


def checkpoint_now(ws: Workspace, *, actor: str, reason: str) -> str | None:
    """`qms serve` starts with one (when the journal holds anything and has moved since)."""
    if not ws.audit_path.exists():
        return None
    with writing(ws, purpose="checkpoint") as w:
        return journal_checkpoint(w, actor=actor, reason=reason)


def write_checkpoint(ws: Workspace, out: Path | None = None, *, actor: str = "qms checkpoint") -> dict:
    """Sign the journal's head; keep the checkpoint in archive/checkpoints/ (journaled) and in `out`."""
    private = _load_private()
    with writing(ws, purpose="checkpoint") as w:
        problems, pairs = audit.scan(ws.audit_path)
        if problems:
            raise Integrity(f"the journal's chain is broken ({problems[0]}); a checkpoint would vouch for it",
                            file=ws.rel(ws.audit_path))
        entries = [e for _, e in pairs]
        counts: dict[str, int] = {}
        for e in entries:
            counts[e.action] = counts.get(e.action, 0) + 1
        body = {"workspace": ws.config.org_name, "seq": entries[-1].seq if entries else 0,
                "hash": entries[-1].hash if entries else GENESIS, "at": now_iso(), "counts": counts,
                # 16 hex digits per entry: enough to name the first seq where a later log diverges
                "chain": "".join(e.hash[:16] for e in entries)}
        data = _signed_doc(private, body)
        rel = _store(w, body, data, actor=actor, kind="manual")
    if out is not None:
        atomic_write(Path(out), data, replace=True)
    return {"seq": body["seq"], "hash": body["hash"], "at": body["at"], "file": rel,
            "output": str(out) if out else None}
