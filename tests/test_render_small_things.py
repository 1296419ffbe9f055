"""Issue 18, item 10 — the printed pages, read as a person reads them (the PDF's text, laid out by
LibreOffice): a blank form keeps its date on one line and each □ with its label, gives free text
room to write and names its form and 版本 in the header; a record number is never broken; 表2's
序号 stays one word; 修订记录 names 修订人 and 批准人; 8 记录 says who keeps what for how long."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import docx
import pytest

from conftest import REPO, Qms, release_procedure, write_data
from qms.adapters.convert import soffice_available

pytestmark = pytest.mark.skipif(not soffice_available(), reason="LibreOffice is not installed")

OWNER_FORM = """\
id: QR-WY-001
title: 业主需求登记表
procedure: WY-QP-7.5-01
department: 客服中心
revision: B/1
signer_noun: 业主
date_field: reg_date
numbering: '{form}-{year}{month:02d}-{seq:05d}'
signature_required: true
retention: {period: 3y, from: year_end}
fields:
  - {name: reg_date, label: 需求登记日期, type: date, required: true}
  - {name: owner, label: 业主姓名, type: text, required: true}
  - {name: room, label: 房号, type: text, required: true}
  - {name: category, label: 需求类别, type: choice, choices: [公共区域报修, 户内维修, 投诉, 停车, 咨询, 装修申请, 其他], required: true}
  - {name: content, label: 需求内容, type: text, lines: 5}
  - {name: owner_sign, label: 业主签字, type: signature}
"""


def _text(pdf: Path, *extra: str) -> str:
    return subprocess.run(["pdftotext", *extra, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _lines(pdf: Path) -> list[str]:
    """The page's lines as laid out (pdftotext -layout): cells side by side stay on one line."""
    return [line.strip() for line in _text(pdf, "-layout").splitlines() if line.strip()]


def _word_top(pdf: Path, word: str) -> float:
    """Where a word starts down the page, in points (pdftotext -bbox)."""
    m = re.search(r'<word xMin="[\d.]+" yMin="([\d.]+)"[^>]*>' + re.escape(word) + "</word>", _text(pdf, "-bbox"))
    return float(m.group(1))


def _row_lines(pdf: Path, tmp_path: Path, x_pt: float) -> list[int]:
    """The picture: where the table's horizontal rules cross a vertical line at x (in points, at
    72 dpi one pixel a point) — dark pixels in a column of the first page's image."""
    from PIL import Image
    subprocess.run(["pdftoppm", "-r", "72", "-gray", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
                   check=True)
    img = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    x = int(x_pt)
    dark = [y for y in range(img.height) if img.getpixel((x, y)) < 128]
    return [y for i, y in enumerate(dark) if i == 0 or y - dark[i - 1] > 2]


@pytest.fixture
def wy(qms: Qms) -> Qms:
    (qms.root / "schemas" / "QR-WY-001.yaml").write_text(OWNER_FORM, encoding="utf-8")
    qms.apply_config()           # an admin applies the new form (journaled): until then filing waits
    return qms


def test_blank_form_keeps_dates_and_boxes_whole_and_names_its_revision(wy, tmp_path):
    pdf = tmp_path / "blank.pdf"
    wy("form", "blank", "QR-WY-001", "-o", pdf)
    lines = _lines(pdf)
    text = "\n".join(lines)
    # the header: which form, which 版本 (the schema's revision)
    assert any("QR-WY-001" in line and "版本：B/1" in line for line in lines), lines[:4]
    # 需求登记日期：　年　月　日 on one line: never a 日 (or 月) alone on the next
    date_line = next(line for line in lines if "需求登记日期" in line)
    after = date_line.split("需求登记日期：")[1]
    assert "年" in after and "月" in after and after.endswith("日"), date_line
    assert not any(line in ("日", "月", "月 日", "月　日") for line in lines)
    # every box printed with its whole label, and no box left alone at a line's end
    for choice in ("公共区域报修", "户内维修", "投诉", "停车", "咨询", "装修申请", "其他"):
        assert f"□{choice}" in text.replace(" ", "").replace("　", "")
    assert not any(line.endswith("□") for line in lines)
    # 需求内容 (lines: 5) leaves room to write: its row, between two rules of the table, is at least
    # five lines tall (a line of handwriting ~ 14 pt), where 房号 has one
    rules = _row_lines(pdf, tmp_path, 68)   # inside the table, left of the labels
    top = _word_top(pdf, "需求内容")
    row = next((a, b) for a, b in zip(rules, rules[1:]) if a < top < b)
    one = next((a, b) for a, b in zip(rules, rules[1:]) if a < _word_top(pdf, "房号") < b)
    assert row[1] - row[0] >= 5 * 14 > one[1] - one[0], (row, one)


def test_choices_in_a_narrow_cell_wrap_between_boxes_never_inside_one(qms, tmp_path):
    """现场服务报告's 服务类型 cell holds six choices on three lines: each line starts with a box."""
    pdf = tmp_path / "report.pdf"
    qms("form", "blank", "QR-SV-022-02", "-o", pdf)
    text = _text(pdf)
    flat = text.replace(" ", "").replace("　", "")
    for choice in ("安装调试", "维修", "改造", "现场保障", "技术培训", "技术咨询"):
        assert f"□{choice}" in flat, choice
    assert not any(line.rstrip().endswith("□") for line in text.splitlines())
    assert "版本：A/0" in text


def test_a_long_record_number_is_never_broken(wy, tmp_path):
    data = write_data(wy, {"reg_date": "2026-11-05", "owner": "陈美玲", "room": "3栋2单元1502",
                           "category": "公共区域报修", "content": "3栋2单元电梯厅顶灯不亮"}, "r.yaml")
    number = wy.json("record", "file", "QR-WY-001", "--data", data)["number"]
    assert number == "QR-WY-001-202611-00001"
    pdf = next(wy.archive.rglob(f"{number}.pdf"))
    lines = _lines(pdf)
    assert sum(number in line for line in lines) >= 2, lines    # the title block and the footer
    assert not any(line.startswith(("00001", "202611")) for line in lines)
    assert any("2026年11月05日" in line and "需求登记日期" in line for line in lines)


def test_procedure_tables_keep_short_headers_whole_and_name_who_keeps_each_record(wy, tmp_path):
    source = tmp_path / "proc.yaml"
    long = "一般维修24小时内完成；需采购配件的3个工作日内完成，完成后由客服中心电话回访并记录业主意见"
    source.write_text(f"""\
number: WY-QP-7.5-01
title: 服务提供过程控制工作程序
kind: procedure
department: 品质管理部
sections:
  - title: 目的
    body: 规范物业服务提供过程。
  - title: 程序要求
    body: 需求处理时限见表2。
    table:
      caption: 表2 业主需求处理时限
      columns: [序号, 需求类别, 受理部门, 响应时限, 处理时限, 回访要求, 记录]
      rows:
        - ["1", 报修（公共区域设施设备损坏、漏水、停电等）, 工程部, {long}, {long}, {long}, QR-WY-001]
records: [QR-WY-001, QR-SV-022-04]
""", encoding="utf-8")
    pdf = tmp_path / "preview.pdf"
    wy("doc", "render", source, "-o", pdf)
    lines = _lines(pdf)
    header = next(i for i, line in enumerate(lines) if line.startswith("序号"))
    assert lines[header].split()[:3] == ["序号", "需求类别", "受理部门"], lines[header:header + 3]
    assert "序" not in lines and "号" not in lines
    # 记录: who keeps the records and for how long, from the forms (a form's department, else the
    # procedure's own)
    # pdftotext spaces digits apart from Chinese (起 3 年): single spaces go, column gaps stay
    text = "\n".join(re.sub(r"(?<=\S) (?=\S)", "", line) for line in lines)
    assert re.search(r"记录编号\s+记录名称\s+保存部门\s+保存期限", text), text[-400:]
    assert re.search(r"QR-WY-001\s+业主需求登记表\s+客服中心\s+自记录当年年末起3年", text)
    assert re.search(r"QR-SV-022-04\s+服务电话记录\s+品质管理部\s+自记录当年年末起5年", text)


def test_change_history_names_who_revised_and_who_approved(qms):
    number = release_procedure(qms, REPO / "examples/procedures/service-process-control.yaml")
    released = next(qms.archive.rglob(f"{number}_A-0.docx"))
    table = next(t for t in docx.Document(released).tables if t.rows[0].cells[0].text == "版本")
    assert [c.text for c in table.rows[0].cells] == ["版本", "修订内容", "修订人", "批准人", "发布日期", "实施日期"]
    row = [c.text.replace("\u2060", "") for c in table.rows[1].cells]
    assert row[0] == "A/0" and row[2:] == ["张建华", "赵国庆", "2026年03月13日", "2026年03月20日"]
