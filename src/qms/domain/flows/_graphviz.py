"""The one place graphviz is used: a Flow → DOT (PyPI graphviz quotes it) → PNG or SVG by Debian's
`dot`, with qms's fontconfig file so Chinese is drawn in Noto Sans CJK SC (not the JP shapes).

Swimlanes are clusters, one per lane, each headed by its name; the header nodes share the top
rank (chained by invisible edges: dot keeps the source's lane order when the edges allow it, else
it reorders the lanes to uncross the arrows)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ...base.errors import ToolMissing
from .model import Flow

FONT = "Noto Sans CJK SC"
FONTS_CONF = Path(__file__).resolve().parent.parent / "fonts.conf"
SHAPES = {"start": {"shape": "box", "style": "rounded,bold"}, "end": {"shape": "box", "style": "rounded,bold"},
          "decision": {"shape": "diamond"}, "step": {"shape": "box"}}
LANE_FILLS = ("#f4f7fb", "#f7f7f2", "#f6f2f7", "#f2f7f4", "#f8f3ef")


def _wrap(text: str, width: int = 12) -> str:
    """Chinese has no spaces to break at: a line every `width` characters."""
    return "\n".join(text[i:i + width] for i in range(0, len(text), width)) or " "


def to_dot(flow: Flow, *, form_titles: dict[str, str] | None = None, links: dict[str, str] | None = None) -> str:
    import graphviz      # PyPI graphviz: only builds the DOT text (quoting); `dot` draws it    # lazy: graphviz loads in ~35 ms; only drawing a flow needs it
    g = graphviz.Digraph("flow")
    g.attr(rankdir=flow.direction, fontname=FONT, fontsize="12", nodesep="0.35", ranksep="0.4",
           newrank="true", compound="true")
    g.attr("node", fontname=FONT, fontsize="11", margin="0.15,0.06", penwidth="1.2")
    g.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.8")
    titles = form_titles or {}

    def node(sub, i, s):
        attrs = dict(SHAPES[s.type])
        if s.type == "decision":
            attrs["margin"] = "0.05,0.03"
        if links and s.record in links:
            attrs["URL"], attrs["target"] = links[s.record], "_top"
        sub.node(f"s{i}", _wrap(s.text, 9 if s.type == "decision" else 12), **attrs)
        if s.record:
            label = f"{titles.get(s.record, '')}\n{s.record}".strip()
            sub.node(f"r{i}", label, shape="note", fontsize="9", color="#666666", fontcolor="#333333",
                     **({"URL": links[s.record], "target": "_top"} if links and s.record in links else {}))

    index = {s.id: i for i, s in enumerate(flow.steps)}
    if flow.lanes:
        for j, lane in enumerate(flow.lanes):
            with g.subgraph(name=f"cluster_{j}") as c:
                c.attr(label="", style="filled", color="#999999", fillcolor=LANE_FILLS[j % len(LANE_FILLS)])
                c.node(f"lane{j}", lane, shape="box", style="filled,bold", fillcolor="#dde3ea", width="1.6")
                members = [i for i, s in enumerate(flow.steps) if s.lane == lane]
                for i in members:
                    node(c, i, flow.steps[i])
                if members:
                    c.edge(f"lane{j}", f"s{members[0]}", style="invis")
        with g.subgraph() as top:
            top.attr(rank="same")
            for j in range(len(flow.lanes)):
                top.node(f"lane{j}")
        for j in range(len(flow.lanes) - 1):
            g.edge(f"lane{j}", f"lane{j + 1}", style="invis", weight="100")
    else:
        for i, s in enumerate(flow.steps):
            node(g, i, s)
    for i, s in enumerate(flow.steps):
        if s.record:
            g.edge(f"s{i}", f"r{i}", style="dashed", arrowhead="none", color="#888888", constraint="false")
            with g.subgraph() as same:
                same.attr(rank="same")
                same.node(f"s{i}")
                same.node(f"r{i}")
        for e in s.edges:
            attrs = {"xlabel": e.label, "fontcolor": "#1f4e79"} if e.label else {}
            if index[e.to] <= i:        # a loop back: the steps keep the order the source reads in
                attrs.update(constraint="false", color="#1f4e79")
            g.edge(f"s{i}", f"s{index[e.to]}", **attrs)
    return g.source


def render(flow: Flow, fmt: str, **kw) -> bytes:
    """PNG (150 dpi, for documents) or SVG (for the web page) of the flow."""
    dot = shutil.which("dot")
    if dot is None:
        raise ToolMissing("graphviz is not installed (the `dot` program draws flow charts); "
                          "install it: apt-get install graphviz")
    source = to_dot(flow, **kw)
    args = [dot, f"-T{'png:cairo' if fmt == 'png' else 'svg'}"] + (["-Gdpi=150"] if fmt == "png" else [])
    env = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF)}
    done = subprocess.run(args, input=source.encode("utf-8"), capture_output=True, env=env, timeout=60)
    if done.returncode != 0:
        raise ToolMissing(f"graphviz could not draw the flow chart: {done.stderr.decode('utf-8', 'replace')[:300]}")
    return done.stdout
