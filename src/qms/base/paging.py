"""One page of a long list: what every list (records, documents, the audit trail …) answers with,
in the library, the CLI's --json and the JSON API: {total, items, next}."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500          # a page never grows past this: a client asking for more gets this many


@dataclass
class Page:
    total: int                      # every item the filters match (COUNT with the same filters)
    items: list = field(default_factory=list)
    offset: int = 0
    limit: int = DEFAULT_LIMIT

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None on the last page."""
        end = self.offset + len(self.items)
        return end if self.items and end < self.total else None

    def to_json(self, next_ref=None) -> dict:
        """{total, items, next}: `next_ref` turns the next offset into what the caller follows
        (a URL for the API); by default the offset itself."""
        nxt = self.next_offset
        return {"total": self.total, "items": self.items,
                "next": None if nxt is None else (next_ref(nxt) if next_ref else nxt)}


def bounds(limit: int | None, offset: int | None, *, cap: int = MAX_LIMIT) -> tuple[int, int]:
    """(limit, offset) as a query uses them: limit defaults to DEFAULT_LIMIT and is capped at
    `cap`; a negative value is a mistake named as such."""
    if limit is None:
        limit = DEFAULT_LIMIT
    if offset is None:
        offset = 0
    if limit < 1:
        raise InvalidInput(f"expected a page size of 1 to {cap}, got {limit}", field="limit")
    if offset < 0:
        raise InvalidInput(f"expected an offset of 0 or more, got {offset}", field="offset")
    return min(int(limit), cap), int(offset)
