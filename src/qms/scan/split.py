"""Where a scanned file splits, and what each part is: pure decisions over the QR texts found on
each page (no I/O), so the rules read in one place.

- A page carrying one qms QR (verified) starts a part; the pages after it, without a qms QR,
  belong to it (a report's second and third pages carry none).
- A page with two records' QRs, a QR that fails its check, or a blank form's QR starts a part
  that goes to the review queue with the reason.
- Pages before the first qms QR go to the queue one by one (each may belong to a different record).
- A QR that is not qms's (a product label, a hand-made `../../etc/passwd`) neither splits nor
  identifies; it is named in the reason when its page is queued."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..papercode import codes


@dataclass
class Part:
    pages: list[int]                     # 0-based
    state: str                           # "to_file" or "queued"
    number: str | None = None
    version: int | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


def _short(text: str) -> str:
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def split(ws, found: list[list[str]]) -> list[Part]:
    """`found`: the QR texts of each page. Returns the parts in page order."""
    parts: list[Part] = []
    current: Part | None = None
    for i, texts in enumerate(found):
        ours = [t for t in texts if codes.is_ours(t)]
        foreign = [t for t in texts if not codes.is_ours(t)]
        if not ours:
            if current is not None:
                current.pages.append(i)
            else:
                reason = ("no qms QR on the page" if not foreign else
                          f"a QR not printed by qms ({_short(foreign[0])}) and no qms QR on the page")
                parts.append(Part([i], "queued", reason=reason))
            continue
        current = _start(ws, i, ours)
        parts.append(current)
    return parts


def _start(ws, i: int, ours: list[str]) -> Part:
    good, bad = [], []
    for t in dict.fromkeys(ours):
        try:
            good.append(codes.read(ws, t))
        except codes.Untrusted as exc:
            bad.append(str(exc))
    records = sorted({(c.name, c.version) for c in good if c.kind == "R"})
    if len(records) > 1:
        return Part([i], "queued", reason="QRs of two records on one page: " + ", ".join(n for n, _ in records))
    if records:
        number, version = records[0]
        return Part([i], "to_file", number=number, version=int(version) if version.isdigit() else None)
    forms = [c for c in good if c.kind == "F"]
    if forms:
        return Part([i], "queued", reason=f"a blank form's QR ({forms[0].name} {forms[0].version}): "
                    "file the record, then assign this scan to it")
    return Part([i], "queued", reason=bad[0])
