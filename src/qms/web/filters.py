"""Jinja2 filters: Chinese dates and labels, file sizes, which fields get a textarea."""

from __future__ import annotations

import re

from markupsafe import Markup

from ..base.dates import cn_date, local_time
from ..domain.labels import STATUS_ZH, status_label
from ..domain.flows.figure import revision_svgs
from .assets import static_url

STATUS_LABELS = STATUS_ZH     # one word per state, the CLI's and the PDFs' (qms.domain.labels)
KIND_LABELS = {"doc": "文件", "record": "记录"}

def cn_datetime(value: str | None, ws=None) -> str:
    """2026-03-20T01:30:00+00:00 → 2026年03月20日 09:30 in the workspace's zone (dates.local_time)."""
    return local_time(value, ws, chinese=True)


def filesize(n: int | None) -> str:
    n = n or 0
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# Text fields that hold sentences get a textarea; names and numbers a one-line input. The schema has
# no such flag, so the label decides: a label naming content, a description, a result or an opinion.
_LONG = re.compile(r"内容|描述|现象|过程|结果|意见|建议|措施|分析|信息|备注|处理")


def multiline(field) -> bool:
    # the printed blank form's rule (FormField.writing_lines: a `lines:` key, else the label)
    lines = getattr(field, "writing_lines", None)
    if lines is not None:
        return field.type == "text" and lines > 1
    return field.type == "text" and bool(_LONG.search(field.label or ""))


def install(env, ws=None) -> None:
    """`ws`: the workspace whose time zone every time on the pages is shown in."""
    env.globals["multiline"] = multiline
    env.globals["static_url"] = static_url     # /static/app.css?v=<hash>: cached for a year (assets.py)
    env.globals["doc_flows"] = lambda number, revision: _doc_flows(ws, number, revision)   # issue 24
    # a timestamp's day is the day in the workspace's zone (20:00 UTC is the next morning in Shanghai)
    env.filters["cn_date"] = lambda v: (local_time(v, ws, chinese=True)[:11] if len(str(v)) > 10 else cn_date(v)) \
        if v else ""
    env.filters["cn_datetime"] = lambda v: cn_datetime(v, ws)
    env.filters["local_time"] = lambda v: local_time(v, ws)
    # `signer`: the record's form's signer noun (待业主签字); qms.domain.labels holds the one vocabulary
    env.filters["status_label"] = lambda s, signer=None: status_label(s, "zh-CN", signer)
    env.filters["kind_label"] = lambda s: KIND_LABELS.get(s or "", s or "")
    env.filters["filesize"] = filesize


def _doc_flows(ws, number: str, revision: str) -> list[dict]:
    """The revision's flow charts as inline SVG (document.html, _doc_flows.html)."""
    return [{"caption": f["caption"], "svg": Markup(f["svg"])} for f in revision_svgs(ws, number, revision)] \
        if ws is not None else []
