"""Revision labels (A/0 → A/1 …, a major change gives B/0) and status computed at a date."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ..base.errors import InvalidInput

_LABEL = re.compile(r"^([A-Z]+)/(\d+)$")
STATUSES = ("draft", "in_review", "approved", "pending_release", "released", "effective", "superseded", "obsolete", "withdrawn")


def parse_label(label: str) -> tuple[str, int]:
    m = _LABEL.match(label)
    if not m:
        raise InvalidInput(f"revision {label!r} is not of the form A/0")
    return m.group(1), int(m.group(2))


def _next_letters(letters: str) -> str:
    """A → B … Z → AA (never reached in practice, but defined)."""
    chars = list(letters)
    i = len(chars) - 1
    while i >= 0:
        if chars[i] != "Z":
            chars[i] = chr(ord(chars[i]) + 1)
            return "".join(chars)
        chars[i] = "A"
        i -= 1
    return "A" + "".join(chars)


def next_label(label: str, major: bool = False) -> str:
    letters, n = parse_label(label)
    return f"{_next_letters(letters)}/0" if major else f"{letters}/{n + 1}"


def folder_name(label: str) -> str:
    return label.replace("/", "-")


def safe_name(number: str) -> str:
    """A document number as a folder or file name: HX/QP-05 → HX／QP-05. The full-width
    solidus reads the same to a person and is no path separator (nor can it collide with
    another number: numbers are ASCII)."""
    return number.replace("/", "\uff0f").replace("\\", "\uff3c")


@dataclass
class RevisionState:
    """What status needs to know about one revision."""
    revision: str
    seq: int
    state: str                       # draft | released | withdrawn (an unreleased draft discarded)
    signed_roles: set[str] = field(default_factory=set)
    issued: dt.date | None = None
    effective: dt.date | None = None


def compute_status(rev: RevisionState, all_revs: list[RevisionState], required_roles: list[str],
                   final_role: str, obsolete_on: dt.date | None, as_of: dt.date) -> str:
    if rev.state == "withdrawn":
        return "withdrawn"
    if rev.state == "draft":
        if final_role in rev.signed_roles and all(r in rev.signed_roles for r in required_roles):
            return "approved"
        return "in_review" if rev.signed_roles else "draft"
    if rev.issued and as_of < rev.issued:
        return "pending_release"        # 待发布: released with a 发布 date still to come

    def superseded_at(day: dt.date) -> bool:
        return any(o.state == "released" and o.seq > rev.seq and o.effective and o.effective <= day
                   for o in all_revs)

    if obsolete_on and as_of >= obsolete_on:
        return "superseded" if superseded_at(obsolete_on) else "obsolete"
    if rev.effective and as_of < rev.effective:
        return "released"
    return "superseded" if superseded_at(as_of) else "effective"


def current_revision(revs: list[RevisionState], statuses: dict[str, str]) -> RevisionState:
    """The revision a reader means at that date: the effective one, else the withdrawn one,
    else the newest released one, else the newest draft."""
    for wanted in ("effective", "obsolete", "released"):
        hits = [r for r in revs if statuses[r.revision] == wanted]
        if hits:
            return max(hits, key=lambda r: r.seq)
    return max(revs, key=lambda r: r.seq)
