"""Flow charts from YAML (流程定义, issue 24): a procedure section's `flow:` block, checked
(model.py) and drawn by graphviz (_graphviz.py) as a PNG figure of the .docx/PDF and an SVG
on the document's web page."""

from .model import Edge, Flow, Step, parse_flow, records_named
from ._graphviz import render


def draw(flow: Flow, fmt: str = "png", **kw) -> bytes:
    return render(flow, fmt, **kw)


__all__ = ["Edge", "Flow", "Step", "draw", "parse_flow", "records_named"]
