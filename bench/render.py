"""Renders per second for the generic record form: RecordRenderer vs docxtpl vs zip copy.

Run:  PYTHONPATH=src .venv/bin/python bench/render.py [N]      (default N = 300)

- RecordRenderer: template prepared once; per record only jinja + zip append.
- DocxTemplate: a fresh docxtpl DocxTemplate(path).render(autoescape=True).save() per record.
- zip copy: read the template and write every part into a new .docx (no rendering) —
  roughly the I/O floor of producing one file with zipfile.
- file copy: shutil.copyfile of the template, for scale.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import Environment

from qms.adapters.render import RecordRenderer

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "record.docx"


def record_ctx(i: int) -> dict:
    fields = [
        ("notice_date", "通知日期", "date", f"2026年03月{i % 28 + 1:02d}日"),
        ("customer", "用户单位", "text", f"用户单位{i} <北京> & 分公司"),
        ("contact", "联系人", "text", "张三"),
        ("phone", "联系电话", "text", f"010-6{i:07d}"),
        ("address", "地址", "text", "北京市海淀区中关村大街1号"),
        ("product", "产品名称", "text", "数字示波器"),
        ("model", "型号", "text", "DS-2000"),
        ("serial_no", "产品编号", "text", f"SN{i:06d}"),
        ("service_type", "服务类型", "choice", "维修"),
        ("problem", "问题描述", "text", "开机后无显示，电源指示灯不亮。\n用户已检查电源线。"),
        ("engineers", "派出工程师", "text", "李四、王五"),
        ("planned_date", "计划服务日期", "date", "2026年03月25日"),
    ]
    rows = [["电源板", "PB-12", "1"], ["风扇", "F-80", "2"], ["保险丝", "5A", "4"]]
    return {
        "company": "XXXXXX有限公司", "form_id": "QR-SV-022-01", "form_title": "售后服务通知单",
        "procedure": "XX-XX-022", "number": f"QR-SV-022-01-2026-{i:04d}",
        "record_date": "2026年03月21日", "filed_at": "", "note": "本记录须经用户签字或盖章后方为有效",
        "fields": [{"name": n, "label": l, "type": t, "value": v, "is_table": False, "columns": [], "rows": []}
                   for n, l, t, v in fields]
        + [{"name": "parts", "label": "更换零部件", "type": "table", "value": "", "is_table": True,
            "columns": ["名称", "规格", "数量"], "rows": rows}],
        "signatures": [{"label": "签发人", "name": "赵六"}, {"label": "主管审查", "name": ""}],
        "data": {**{n: v for n, _, _, v in fields},
                 "parts": [dict(zip(("part", "spec", "qty"), r)) for r in rows]},
        "blank": False,
    }


def rate(label: str, n: int, fn) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    per_s = n / (time.perf_counter() - start)
    print(f"{label:<32} {per_s:8.0f} renders/s")
    return per_s


def main(n: int) -> None:
    ctxs = [record_ctx(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        renderer = RecordRenderer(TEMPLATE)
        print(f"prepare template once: {1000 * (time.perf_counter() - t0):.1f} ms; {n} records each")
        rate("RecordRenderer", n, lambda i: renderer.render(ctxs[i], out / f"a{i}.docx"))

        env = Environment(autoescape=True)

        def docxtpl_render(i):
            tpl = DocxTemplate(TEMPLATE)
            tpl.render(ctxs[i], env, autoescape=True)
            tpl.save(out / f"b{i}.docx")
        rate("fresh DocxTemplate per render", n, docxtpl_render)

        def zip_copy(i):
            with zipfile.ZipFile(TEMPLATE) as zin, \
                    zipfile.ZipFile(out / f"c{i}.docx", "w", zipfile.ZIP_DEFLATED) as zout:
                for item in zin.infolist():
                    zout.writestr(item, zin.read(item))
        rate("zip copy (no rendering)", n, zip_copy)
        rate("file copy", n, lambda i: shutil.copyfile(TEMPLATE, out / f"d{i}.docx"))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
