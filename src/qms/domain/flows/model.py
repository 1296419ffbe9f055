"""A procedure's flow chart as data: the `flow:` block of a section (README, "Flow charts").

    flow:
      title: 技术服务流程图            # the caption: 图N + title (N counted with the other figures)
      lanes: [用户, 客户服务中心, 服务人员]   # optional swimlanes (departments), left to right
      steps:
        - {id: 需求, type: start, text: 用户提出技术服务需求, lane: 用户}
        - {id: 受理, text: 受理并记录, lane: 客户服务中心, record: QR-SV-022-04}
        - {id: 现场, type: decision, text: 需到现场服务？, branches: {是: 通知, 否: 指导}}
        ...

A step flows to `next` (an id or a list), else to the step after it; a decision to each of its
labelled `branches`; an `end` step nowhere. parse_flow refuses, with the file and line, an edge to
an unknown step, a step no path from the start reaches, a decision without two branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...base.yaml_source import YamlSource, check_keys

FLOW_KEYS = ("title", "caption", "lanes", "steps", "width_cm", "direction")
STEP_KEYS = ("id", "text", "type", "lane", "next", "branches", "record")
STEP_TYPES = ("start", "step", "decision", "end")
TYPE_ZH = {"开始": "start", "结束": "end", "判断": "decision", "决策": "decision", "步骤": "step"}


@dataclass
class Edge:
    to: str
    label: str = ""


@dataclass
class Step:
    id: str
    text: str
    type: str = "step"
    lane: str = ""
    record: str = ""
    edges: list[Edge] = field(default_factory=list)


@dataclass
class Flow:
    title: str
    steps: list[Step]
    lanes: list[str] = field(default_factory=list)
    caption: str = ""               # as given (图1 …); else 图N + title, numbered at render time
    width_cm: float | None = None
    direction: str = "TB"           # TB (top to bottom) or LR

    def step(self, sid: str) -> Step | None:
        return next((s for s in self.steps if s.id == sid), None)

    def summary(self) -> str:
        """The flow in words, one step after another: 受理 → 现场；现场 →是 通知 / →否 指导 …"""
        return "；".join(f"{s.text}（{s.lane}）" * bool(s.lane) + (s.text if not s.lane else "")
                        + "".join(f" →{e.label} {e.to}" if e.label else f" → {e.to}" for e in s.edges)
                        for s in self.steps)

    def texts(self) -> list[str]:
        return [self.title, *self.lanes, *(s.text for s in self.steps)]


def _str(src: YamlSource, value, *path) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        raise src.error(f"expected text, got {type(value).__name__}", *path)
    return str(value).strip()


def parse_flow(src: YamlSource, value, *path) -> Flow:
    if not isinstance(value, dict):
        raise src.error("expected a flow: {title, lanes, steps: [{id, text, type, lane, next, branches}]}", *path)
    check_keys(src, value, FLOW_KEYS, *path)
    steps_in = value.get("steps")
    if not isinstance(steps_in, list) or len(steps_in) < 2:
        raise src.error("expected a list of at least two steps", *path, "steps")
    lanes = value.get("lanes") or []
    if not isinstance(lanes, list):
        raise src.error("expected a list of swimlanes (departments)", *path, "lanes")
    lanes = [_str(src, x, *path, "lanes", i) for i, x in enumerate(lanes)]
    steps: list[Step] = []
    raw_edges: list[tuple[int, list[tuple[str, str, tuple]]]] = []
    for i, s in enumerate(steps_in):
        here = (*path, "steps", i)
        if isinstance(s, str):
            s = {"text": s}
        if not isinstance(s, dict):
            raise src.error("expected a step: {id, text, type, lane, next}", *here)
        check_keys(src, s, STEP_KEYS, *here)
        text = _str(src, s.get("text"), *here, "text")
        sid = _str(src, s.get("id"), *here, "id") or text
        if not sid:
            raise src.error("a step needs a text (and an id to be named by other steps)", *here)
        if any(x.id == sid for x in steps):
            raise src.error(f"step id {sid!r} is used twice", *here, "id")
        stype = _str(src, s.get("type"), *here, "type") or "step"
        stype = TYPE_ZH.get(stype, stype)
        if stype not in STEP_TYPES:
            raise src.error(f"unknown step type {stype!r}; expected start, step, decision or end", *here, "type")
        lane = _str(src, s.get("lane"), *here, "lane")
        if lane and lanes and lane not in lanes:
            raise src.error(f"unknown lane {lane!r}; the lanes are: {'、'.join(lanes)}", *here, "lane")
        if lanes and not lane:
            raise src.error(f"a flow with lanes puts each step in one: {'、'.join(lanes)}", *here)
        step = Step(id=sid, text=text or sid, type=stype, lane=lane, record=_str(src, s.get("record"), *here, "record"))
        edges: list[tuple[str, str, tuple]] = []
        if stype == "decision":
            br = s.get("branches")
            if s.get("next") is not None:
                raise src.error("a decision goes on by its labelled branches, not next", *here, "next")
            if not isinstance(br, dict) or len(br) < 2:
                raise src.error("a decision needs at least two labelled branches: {是: STEP, 否: STEP}",
                                *here, "branches" if br is not None else "type")
            for label, to in br.items():
                edges.append((_str(src, to, *here, "branches", label), str(label), (*here, "branches", label)))
        else:
            if s.get("branches") is not None:
                raise src.error("only a decision (type: decision) has branches", *here, "branches")
            nxt = s.get("next")
            if nxt is not None and stype == "end":
                raise src.error("an end step goes nowhere", *here, "next")
            targets = nxt if isinstance(nxt, list) else ([nxt] if nxt is not None else [])
            edges += [(_str(src, t, *here, "next"), "", (*here, "next")) for t in targets]
        steps.append(step)
        raw_edges.append((i, edges))
    ids = [s.id for s in steps]
    for i, edges in raw_edges:
        step = steps[i]
        if not edges and step.type not in ("end", "decision"):
            if i + 1 < len(steps):
                edges = [(steps[i + 1].id, "", ())]
            else:
                raise src.error("the last step goes nowhere: make it type: end, or give its next",
                                *path, "steps", i)
        for to, label, where in edges:
            if to not in ids:
                raise src.error(f"edge to an unknown step {to!r}; the steps are: {'、'.join(ids)}", *where)
            step.edges.append(Edge(to, label))
    starts = [s for s in steps if s.type == "start"] or [steps[0]]
    seen, todo = set(), [s.id for s in starts]
    while todo:
        sid = todo.pop()
        if sid in seen:
            continue
        seen.add(sid)
        todo += [e.to for e in next(s for s in steps if s.id == sid).edges]
    for i, s in enumerate(steps):
        if s.id not in seen:
            raise src.error(f"step {s.id!r} is unreachable: no path from the start leads to it", *path, "steps", i)
    width = value.get("width_cm")
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float)) or not 1 <= width <= 16):
        raise src.error("expected a width in centimetres between 1 and 16", *path, "width_cm")
    direction = _str(src, value.get("direction"), *path, "direction") or "TB"
    if direction not in ("TB", "LR"):
        raise src.error("expected TB (top to bottom) or LR (left to right)", *path, "direction")
    return Flow(title=_str(src, value.get("title"), *path, "title"), steps=steps, lanes=lanes,
                caption=_str(src, value.get("caption"), *path, "caption"),
                width_cm=float(width) if width is not None else None, direction=direction)


def records_named(flow: Flow) -> list[str]:
    return [s.record for s in flow.steps if s.record]
