"""The review queue: list, show, assign, discard, page images (see the package docstring)."""

from __future__ import annotations

import json

from ..store.catalog import reading
from ..base.errors import Conflict, InvalidInput, NotFound
from ..papercode import form_text, record_text, scan_key  # noqa: F401  (re-exported by the package)
from ..domain.labels import chinese
from ..domain.results import Change
from ..store.workspace import Workspace
from .intake import Outcome, consume, consume_file, ensure_schema_read, file_part, inbox_dir, resume  # noqa: F401
from ..store.writer import writing
from ..store.object_sync import fetch_folder
import io
from . import page_images as pg


def _split_id(item_id: str) -> tuple[str, int]:
    scan_id, _, part = item_id.rpartition("-")
    if not scan_id or not part.isdigit():
        raise InvalidInput(f"expected a queue item id like 3f2a9c1b07-2 (qms scan list shows them), got {item_id!r}",
                           field="id")
    return scan_id, int(part)


def _item_json(r, f) -> dict:
    return {"id": f"{r['id']}-{r['part']}", "file": f["name"] if f else "", "pages": json.loads(r["pages"] or "[]"),
            "state": r["state"], "reason": r["reason"], "number": r["number"], "part": r["file"],
            "sha256": r["sha256"], "received_at": f["received_at"] if f else "", "original": f["original"] if f else "",
            "original_sha256": f["sha256"] if f else "", "decided_by": r["decided_by"], "decided_at": r["decided_at"]}


def queue(ws: Workspace, *, all_items: bool = False) -> list[dict]:
    """The review queue (state queued); with all_items every part ever received."""
    with reading(ws) as cat:
        ensure_schema_read(cat)
        files = {f["id"]: f for f in cat.all("SELECT * FROM scan_files")}
        rows = cat.all("SELECT * FROM scan_parts" + ("" if all_items else " WHERE state='queued'")
                       + " ORDER BY id, part")
        return [_item_json(r, files.get(r["id"])) for r in rows]


def item(ws: Workspace, item_id: str) -> dict:
    scan_id, part = _split_id(item_id)
    with reading(ws) as cat:
        ensure_schema_read(cat)
        r = cat.one("SELECT * FROM scan_parts WHERE id=? AND part=?", scan_id, part)
        if r is None:
            raise NotFound(f"no scan queue item {item_id} (qms scan list shows them)", field="id")
        return _item_json(r, cat.one("SELECT * FROM scan_files WHERE id=?", scan_id))


def _queued(ws: Workspace, item_id: str) -> dict:
    it = item(ws, item_id)
    if it["state"] != "queued":
        raise Conflict((f"{item_id} 不在待审队列中（已{ {'filed': '归档', 'discarded': '移出', 'to_file': '在归档中'}.get(it['state'], it['state'])}"
                        + (f"，{it['decided_by']}" if it["decided_by"] else "") + "）") if chinese(ws.config.locale) else
                       f"{item_id} is not in the review queue (it was {it['state']}"
                       + (f" by {it['decided_by']}" if it["decided_by"] else "") + ")")
    return it


def assign(ws: Workspace, item_id: str, number: str, *, signer: tuple[str, str], signed_on: str | None,
           actor: str) -> Change:
    """A person's decision: this queued part is NUMBER's customer-signed scan, signed by `signer`."""
    it = _queued(ws, item_id)
    if not it["part"]:
        raise Conflict(f"{item_id} has no pages to file ({it['reason']}); discard it with a reason")
    scan_id, part = _split_id(item_id)
    row = {"id": scan_id, "part": part, "file": it["part"], "sha256": it["sha256"], "number": number,
           "pages": json.dumps(it["pages"])}
    if not file_part(ws, row, actor=actor, name=it["file"], signer=signer, signed_on=signed_on, number=number):
        raise Conflict(f"{item_id} was not filed to {number}: {item(ws, item_id)['reason']}")
    zh = chinese(ws.config.locale)
    return Change(f"扫描件 {item_id} 已归档为 {number} 的签字扫描件（签字人 {signer[0]}）" if zh else
                  f"assigned {item_id} → {number}: signed by {signer[0]}",
                  {"id": item_id, "number": number, "state": "filed"})


def discard(ws: Workspace, item_id: str, *, reason: str, actor: str) -> Change:
    """A person's decision: not a record's scan. The part and the original stay in the archive."""
    if not reason or not reason.strip():
        raise InvalidInput("discarding needs --reason", field="reason")
    _queued(ws, item_id)
    scan_id, part = _split_id(item_id)
    with writing(ws, purpose="scan discard") as w:
        r = w.cat.one("SELECT state FROM scan_parts WHERE id=? AND part=?", scan_id, part)
        if r["state"] != "queued":
            raise Conflict(f"{item_id} is not in the review queue")
        (e,) = w.commit([{"action": "scan.discard", "target": scan_id,
                          "data": {"part": part, "reason": reason.strip()}}], actor=actor)
    zh = chinese(ws.config.locale)
    return Change(f"扫描件 {item_id} 已移出待审（{reason.strip()}），文件仍保存在档案中" if zh else
                  f"discarded {item_id} ({reason.strip()}); the file stays in the archive",
                  {"id": item_id, "state": "discarded"}, seq=e.seq)


def page_png(ws: Workspace, item_id: str, page: int, *, dpi: int = 60) -> bytes:
    """A small PNG of one page of a queue item's part (for the web page)."""

    it = item(ws, item_id)
    if not it["part"]:
        raise NotFound(f"{item_id} has no pages", field="id")
    fetch_folder(ws, it["part"].rpartition("/")[0], want=it["part"].rpartition("/")[2])   # received on another server
    src = pg.open_source(ws.root / it["part"], max_pages=10_000)
    try:
        if not 0 <= page < src.count:
            raise NotFound(f"{item_id} has no page {page + 1}", field="page")
        buf = io.BytesIO()
        pg.page_image(src, page, dpi=dpi).save(buf, "PNG")
        return buf.getvalue()
    finally:
        src.close()
