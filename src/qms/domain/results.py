"""What services hand back to the interfaces: one type for a state change, one for progress.

The CLI and the web render these; neither needs to know which service made them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# Long work (import, PDF conversion, rebuild, purge) reports through a callback the
# interface passes in: progress(done, total). The service drives it; the CLI draws a
# bar, the web ignores it or streams it.
Progress = Callable[[int, int], None]


@dataclass
class Change:
    """What a state-changing call did: one line for the terminal, details for --json.

    `seq` is the journal entry that made it real; `files` what was written (archive-relative)."""
    message: str
    data: dict
    seq: int | None = None
    files: list[str] = field(default_factory=list)
