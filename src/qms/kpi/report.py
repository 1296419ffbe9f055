"""The monthly quality report (流程监控): each KPI's table and chart, the records behind the
targets missed in the month, the open CAPA proposals and the reviews due; .pdf (PDF/A-2b, by
LibreOffice from a .docx) or .xlsx; with `actor` also filed as a record (QR-QM-01, the PDF attached).

Two sections come from the services below (CAPA, periodic reviews): the CAPAs still open and
the documents whose periodic review falls due by the month's end."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

from ..capa.capas import open_capas
from ..review.reviews import review_list

from ..store.catalog import reading
from ..base.errors import InvalidInput
from ..domain.results import Change
from ..store.workspace import Workspace
from .compute import Series, compute, fmt, missed, period_of
from .report_rows import summary_rows
from .definition import load_kpis
from .improve import proposals, propose
from ..store import outputs
from .report_xlsx import write_xlsx
from ..adapters.convert import to_pdf
from .report_docx import write_docx
from ..records import file_record
from ..base.yaml_source import dump_yaml

MONTHS_SHOWN = 12
MAX_MISSED_ROWS = 50
REPORT_FORM = "QR-QM-01"



def _month_end(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return (dt.date(year + mon // 12, mon % 12 + 1, 1) - dt.timedelta(days=1)).isoformat()


def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}", text or "") or not 1 <= int(text[5:]) <= 12:
        raise InvalidInput(f"{text!r}: expected a month as YYYY-MM (2026-03)", field="month")
    return text


def _back(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:])
    m -= n
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y}-{m:02d}"


def gather(ws: Workspace, month: str) -> dict:
    """Everything the report shows, recomputed now."""
    month = _month(month)
    day = f"{month}-01"
    out = []
    with reading(ws) as cat:
        computed = []
        for k in load_kpis(ws):
            here = period_of(day, k.period)
            first = period_of(f"{_back(month, MONTHS_SHOWN - 1)}-01", k.period)
            computed.append((here, compute(cat, k, first=first, last=here, detail=True)))
    for here, shown in computed:
        # the months before the first record are left out; an empty month between records is shown
        begin = next((c.period for c in shown.cells if c.n), here)
        shown = Series(kpi=shown.kpi, cells=[c for c in shown.cells if c.period >= begin],
                       periods=[p for p in shown.periods if p >= begin], groups=shown.groups)
        k, cut = shown.kpi, shown.cells
        now = [c for c in cut if c.period == here]
        misses = []
        with reading(ws) as cat:
            for c in now:
                if c.met is False:
                    for number in missed(k, c)[:MAX_MISSED_ROWS]:
                        r = cat.one("SELECT record_date, customer FROM records WHERE number=?", number)
                        v = dict(c.detail).get(number)
                        misses.append({"number": number, "group": c.group, "record_date": r["record_date"] if r else "",
                                       "customer": r["customer"] if r else "",
                                       "value": "缺少数据" if v is None else (v if isinstance(v, str) else fmt(k, v))})
        out.append({"series": shown, "now": now, "period": here, "misses": misses})
    return {"month": month, "kpis": out, "proposals": proposals(ws),
            "capas": open_capas(ws),
            "reviews": [{**r, "state": r["state_zh"]} for r in review_list(ws, due_before=_month_end(month))]}


def monthly(ws: Workspace, month: str, output, *, actor: str | None = None) -> Change:
    out = outputs.check(ws, output, (".pdf", ".xlsx"))
    data = gather(ws, month)
    if actor is not None:       # the misses of finished months propose their CAPAs (once each)
        propose(ws, actor=actor)
        data["proposals"] = proposals(ws)
    y, m = data["month"].split("-")
    title = f"{ws.config.org_name} {y}年{int(m)}月质量报告"
    with tempfile.TemporaryDirectory(prefix="qms-report-") as tmp:
        tmp = Path(tmp)
        if out.suffix.lower() == ".xlsx":
            built = write_xlsx(data, title, tmp / "report.xlsx")
        else:
            docx = write_docx(ws, data, title, tmp / "report.docx")
            (built,) = to_pdf([docx], pdfa=True)
        filed = None
        if actor is not None:
            filed = _file(ws, data, title, built, actor)
        outputs.install(ws, built, out)
    msg = f"生成了 {title}：{out}" + (f"，并归档为记录 {filed}" if filed else "")
    return Change(message=msg, data={"output": str(out), "month": data["month"], "record": filed,
                                     "summary": summary_rows(data)})


def _file(ws: Workspace, data: dict, title: str, built: Path, actor: str) -> str:
    """File the report as a 月度质量报告 record (QR-QM-01) with the report attached."""
    summary = "；".join(f"{r[0]} {r[2]}（{r[3]}）" for r in summary_rows(data))
    missed_titles = "、".join(r[0] for r in summary_rows(data) if r[3] == "未达标")
    attach = built.with_name(f"{title.split(' ')[-1]}{built.suffix}")
    attach.write_bytes(built.read_bytes())
    record = {"month_start": f"{data['month']}-01", "month": data["month"], "summary": summary or "无指标",
              "missed": missed_titles, "prepared_by": actor.split(" ", 1)[-1]}
    data_file = built.with_name("report-data.yaml")
    data_file.write_text(dump_yaml(record), encoding="utf-8")
    change = file_record(ws, REPORT_FORM, data_file, actor=actor, attachments=[attach], pdf=True)
    return change.data.get("number") if isinstance(change.data, dict) else None

