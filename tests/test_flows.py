"""Flow charts from YAML (issue 24): a procedure's 9-step flow (two decisions, three swimlanes)
is drawn as 图1 in its PDF and as SVG on its web page; `doc check` names an edge to an unknown
step, an unreachable step and a decision without two branches, with the file and line."""

from __future__ import annotations

import subprocess
import warnings

import pytest

from conftest import release_procedure

FLOW_SOURCE = """\
number: QP-SV-024
title: 技术服务流程控制程序
kind: procedure
department: 客户服务中心
sections:
  - title: 目的
    body: 规定技术服务的流程。
  - title: 技术服务流程
    body: 技术服务流程见图1。
    flow:
      title: 技术服务流程图
      lanes: [客户服务中心, 服务人员, 质量部]
      steps:
        - {id: 请求, type: start, text: 接到用户服务请求, lane: 客户服务中心}
        - {id: 登记, text: 登记服务电话记录, lane: 客户服务中心, record: QR-SV-022-04}
        - {id: 现场, type: decision, text: 需到现场？, lane: 客户服务中心, branches: {是: 通知, 否: 指导}}
        - {id: 通知, text: 签发售后服务通知单, lane: 客户服务中心, record: QR-SV-022-01, next: 服务}
        - {id: 指导, text: 电话指导用户, lane: 客户服务中心, next: 回访}
        - {id: 服务, text: 现场服务并填写报告, lane: 服务人员, record: QR-SV-022-02}
        - {id: 修复, type: decision, text: 一次修复？, lane: 服务人员, branches: {是: 回访, 否: 服务}}
        - {id: 回访, text: 质量部回访用户, lane: 质量部}
        - {id: 归档, type: end, text: 编号归档, lane: 客户服务中心}
records: [QR-SV-022-01, QR-SV-022-02, QR-SV-022-04]
"""


def write(qms, text: str, name: str = "flow.yaml"):
    path = qms.root / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_flow_is_figure_1_of_the_pdf(qms, tmp_path):
    src = write(qms, FLOW_SOURCE)
    assert "ok: QP-SV-024" in qms("doc", "check", src).output
    out = tmp_path / "preview.pdf"
    qms("doc", "render", src, "-o", out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "技术服务流程见图1" in text.replace(" ", "") and "图1技术服务流程图" in text.replace(" ", "")
    from pypdf import PdfReader
    page = next(p for p in PdfReader(out).pages if "技术服务流程图" in p.extract_text().replace(" ", ""))
    (image,) = list(page.images)
    assert image.image.width > 800            # drawn at 150 dpi, not a thumbnail
    # the picture a person looks at (kept beside the test's files): pdftoppm -r 80
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(out), str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page-*.png"))


def test_the_flow_is_drawn_as_svg_on_the_document_page(qms):
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient
    from webkit import login
    from qms.web import create_app
    number = release_procedure(qms, write(qms, FLOW_SOURCE))
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c, "auditor")
    page = c.get(f"/documents/{number}").text
    figure = page[page.index('<figure class="flow-chart"'):page.index("</figure>")]
    assert "<svg" in figure and "图1 技术服务流程图" in figure
    for word in ("客户服务中心", "服务人员", "质量部", "需到现场？", "一次修复？", "签发售后服务通知单", "是", "否"):
        assert f">{word}</text>" in figure, word
    assert 'href="/records?form=QR-SV-022-02"' in figure          # a step's form links to its records


BROKEN = [
    ("{id: 通知, text: 签发售后服务通知单, lane: 客户服务中心, record: QR-SV-022-01, next: 服务}",
     "{id: 通知, text: 签发售后服务通知单, lane: 客户服务中心, record: QR-SV-022-01, next: 派工}",
     17, "edge to an unknown step '派工'"),
    ("{id: 指导, text: 电话指导用户, lane: 客户服务中心, next: 回访}",
     "{id: 指导, text: 电话指导用户, lane: 客户服务中心, next: 回访}\n"
     "        - {id: 孤立, text: 无人到达的步骤, lane: 质量部, next: 归档}",
     19, "step '孤立' is unreachable"),
    ("branches: {是: 回访, 否: 服务}", "branches: {是: 回访}", 20, "a decision needs at least two labelled branches"),
]


@pytest.mark.parametrize("old,new,line,message", BROKEN)
def test_doc_check_names_the_flow_mistake_with_file_and_line(qms, old, new, line, message):
    assert old in FLOW_SOURCE
    src = write(qms, FLOW_SOURCE.replace(old, new), "broken.yaml")
    out = qms.fail("doc", "check", src)
    assert f"broken.yaml, line {line}" in out and message in out, out


def test_the_readme_flow_example_checks(qms):
    from conftest import REPO
    import re
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Flow charts (`flow:`)", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    head = "number: QP-SV-025\ntitle: 技术服务控制程序\nkind: procedure\ndepartment: 客户服务中心\nsections:\n"
    src = write(qms, head + block, "readme-flow.yaml")
    assert "ok: QP-SV-025" in qms("doc", "check", src).output
