"""Controlled procedures: the view the procedure template is rendered with."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from ._docxtpl import prepared, write


# What a procedure template may name (`qms template check`): the ctx keys below and what
# _procedure_view derives from them.
PROCEDURE_MODEL = frozenset({
    "company", "series", "kind_label", "title", "title_en", "number", "revision", "controlled_status", "copy_no",
    "draft", "department", "basis", "approvals", "issued", "effective", "terms", "blocks", "figures",
    "references", "records", "history", "terms_in_blocks", "terms_number", "references_number", "records_number"})


def render_procedure(template: Path, ctx: dict, out: Path) -> None:
    """Render a controlled procedure (cover, approvals, body blocks, tail lists, change history).

    ctx keys: company, series, kind_label, title, number, revision, controlled_status,
    copy_no, draft (bool), department, basis, approvals [{role, names, date}],
    issued, effective, terms [{term, definition}], blocks (flat, in reading order:
    heading {level, number, text} · paragraph {text} · table {caption, columns, rows}
    · terms — where the 术语 list goes, else it becomes a section after the blocks),
    references [{number, title}], records [{id, title}],
    history [{revision, change, issued, effective}].
    """
    write(out, prepared(template).render_bytes(_procedure_view(ctx)))


def _procedure_view(ctx: Mapping[str, Any]) -> dict:
    """Add what the template derives: where the terms go and the numbers of the tail sections."""
    view = dict(ctx)
    blocks = view.get("blocks") or []
    view["terms_in_blocks"] = any(b.get("type") == "terms" for b in blocks)
    tail = []
    if view.get("terms") and not view["terms_in_blocks"]:
        tail.append("terms_number")
    if view.get("references"):
        tail.append("references_number")
    if view.get("records"):
        tail.append("records_number")
    for key, number in zip(tail, _next_numbers(blocks, len(tail))):
        view[key] = number
    return view


def _next_numbers(blocks: list, count: int) -> list[str]:
    """Numbers for sections appended after the body: '5' → 6, 7; '5.0' → 6.0, 7.0."""
    top = [b for b in blocks if b.get("type") == "heading" and b.get("level") == 1]
    numbered = [b["number"] for b in top if b.get("number")]
    if top and not numbered:
        return [""] * count  # an unnumbered document gets unnumbered tail sections
    m = re.match(r"^(\d+)(.*)$", numbered[-1]) if numbered else None
    start, suffix = (int(m.group(1)) + 1, m.group(2)) if m else (len(top) + 1, "")
    return [f"{start + i}{suffix}" for i in range(count)]
