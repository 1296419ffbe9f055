"""Write the files the README's tour names into examples/tour/ (run once; the outputs are shipped).

Run:  .venv/bin/python tools/build_tour_files.py

procedure.yaml / procedure-A1.yaml  QP-SC-015 from examples/procedures/customer-service.yaml (A/1 adds
                                    a training requirement to 2.6), with the flow chart as 图1
report.yaml                         a 现场服务报告 (examples/records/QR-SV-022-02.yaml)
signed.pdf                          the customer-signed scan of that report (a real PDF, Chinese text)
phone-log.xlsx                      a month of 服务电话记录 (examples/records/phone-log-2026-03.csv)
flow.png                            the flow chart (examples/procedures/figures/tech-service-flow.png)
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "examples" / "tour"


def main() -> int:
    from fpdf import FPDF
    from openpyxl import Workbook
    from qms.adapters.pdf import add_cjk_font

    OUT.mkdir(parents=True, exist_ok=True)
    source = (ROOT / "examples" / "procedures" / "customer-service.yaml").read_text(encoding="utf-8")
    head = "# The tour's procedure (README): QP-SC-015, from examples/procedures/customer-service.yaml.\n"
    body = source.split("\n", 2)[2]     # drop the original's two comment lines
    figure = ("        figure: {image: flow.png, caption: 图1 客户服务流程图, width_cm: 10}\n")
    body = body.replace("      - title: 问题解决流程\n        body: |\n",
                        "      - title: 问题解决流程\n" + figure + "        body: |\n")
    tail = "records: [QR-SV-022-02, QR-SV-022-04]\n"
    (OUT / "procedure.yaml").write_text(head + body.rstrip("\n") + "\n\n" + tail, encoding="utf-8")
    a1 = body.replace("鼓励员工参与相关培训课程和研究活动,以提高专业素养和服务质量。\n",
                      "鼓励员工参与相关培训课程和研究活动,以提高专业素养和服务质量。\n"
                      "          新上岗的客户服务人员须经产品知识和服务规范培训并考核合格后方可独立上岗。\n")
    assert a1 != body
    (OUT / "procedure-A1.yaml").write_text(head.replace("procedure", "procedure, revision A/1", 1)
                                           + a1.rstrip("\n") + "\n\n" + tail, encoding="utf-8")
    shutil.copyfile(ROOT / "examples" / "records" / "QR-SV-022-02.yaml", OUT / "report.yaml")
    shutil.copyfile(ROOT / "examples" / "procedures" / "figures" / "tech-service-flow.png", OUT / "flow.png")

    pdf = FPDF(format="A4")
    family = add_cjk_font(pdf)
    pdf.add_page()
    pdf.set_font(family, size=14)
    for line in ("现场服务报告（用户签字页扫描件）", "记录编号：QR-SV-022-02-2026-0001",
                 "用户单位：华东电力设备有限公司", "用户意见：服务及时，处理彻底。", "用户签字：王海涛",
                 "（华东电力设备有限公司 设备管理专用章）", "2026年03月11日"):
        pdf.cell(0, 12, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_creation_date(__import__("datetime").datetime(2026, 3, 11))
    (OUT / "signed.pdf").write_bytes(bytes(pdf.output()))

    wb = Workbook()
    sheet = wb.active
    sheet.title = "服务电话记录"
    with open(ROOT / "examples" / "records" / "phone-log-2026-03.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    wb.properties.created = wb.properties.modified = __import__("datetime").datetime(2026, 3, 31)
    wb.save(OUT / "phone-log.xlsx")
    for p in sorted(OUT.iterdir()):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
