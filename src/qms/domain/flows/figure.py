"""A flow chart as a procedure's figure: numbered with the other figures (图N), drawn as PNG for
the .docx/PDF; and the warnings `doc check` gives about it (a record naming no form)."""

from __future__ import annotations

import re
from pathlib import Path

from .model import Flow
from ..forms import load_forms_quietly
from ...adapters.figures import Placed, marker
from . import draw
from ..docsource import flatten, parse_source_text
from ...store.catalog import reading

_NUMBERED = re.compile(r"^\s*图\s*\d+")


def caption(flow: Flow, n: int) -> str:
    """The caption as given when it carries its number (图1 …), else 图N and the flow's title."""
    if flow.caption and _NUMBERED.match(flow.caption):
        return flow.caption
    return f"图{n} {flow.caption or flow.title}".rstrip()


def form_titles(ws) -> dict[str, str]:
    return {fid: f.title for fid, f in load_forms_quietly(ws).items()}


def placed_flow(ws, block: dict, n: int):
    """The render block's figure (marker, caption) and its PNG, drawn now (nothing is archived:
    the source is, and it draws the same chart again)."""
    flow = block["flow"]
    block["marker"] = marker(n)
    block["caption"] = caption(flow, n)
    png = draw(flow, "png", form_titles=form_titles(ws))
    return Placed(block["marker"], Path(f"flow-{n}.png"), block["width_cm"], data=png)


def flows_of(doc) -> list[Flow]:
    out: list[Flow] = []

    def walk(sections):
        for s in sections:
            out.extend(s.flows)
            walk(s.sections)
    walk(doc.sections)
    return out


def flow_warnings(ws, doc) -> list[str]:
    flows = flows_of(doc)
    if not flows:
        return []
    titles = form_titles(ws)
    return [f"{doc.path}: flow {f.title or f.caption!r}: step {s.id!r} names form {s.record!r}, which does not "
            f"exist in {ws.rel(ws.schemas_dir)}/" for f in flows for s in f.steps if s.record and s.record not in titles]


def svgs(ws, doc) -> list[dict]:
    """The document's flow charts for its web page: caption and SVG text, in reading order, numbered
    as in the PDF (counting the image figures before them)."""
    out, n = [], 0
    for b in flatten(doc.sections):
        if b["type"] != "figure":
            continue
        n += 1
        if b.get("flow") is not None:
            svg = draw(b["flow"], "svg", form_titles=form_titles(ws)).decode("utf-8")
            out.append({"caption": caption(b["flow"], n), "svg": _strip(svg)})   # no XML prolog in HTML
    return out


def revision_svgs(ws, number: str, revision: str) -> list[dict]:
    """The flow charts of an archived revision's source, as SVG (the document's web page); a
    revision without flows, or whose source cannot be read, has none."""
    with reading(ws) as cat:
        row = cat.one("SELECT folder, source FROM revisions WHERE number=? AND revision=?", number, revision)
    if row is None or not row["source"]:
        return []
    path = ws.root / row["folder"] / row["source"]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    if "flow:" not in text:
        return []
    doc = parse_source_text(text, path, ws)
    out = svgs(ws, doc)
    links = {fid: f"/records?form={fid}" for fid in form_titles(ws)}
    if links:      # each step's form links to its records
        i = 0
        for f in flows_of(doc):
            out[i]["svg"] = _strip(draw(f, "svg", form_titles=form_titles(ws), links=links).decode("utf-8"))
            i += 1
    return out


def _strip(svg: str) -> str:
    return svg[svg.find("<svg"):]
