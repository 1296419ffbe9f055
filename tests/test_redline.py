"""The redline (修订对照) between two revisions: `qms doc diff`, clause by clause, words marked."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from conftest import REPO, release_procedure

SENTENCE = "投诉应在2个工作日内答复。"


def _revise(qms):
    """A/0 released; A/1 submitted with an inserted sentence, a deleted table row and a moved clause."""
    src = qms.root / "spc.yaml"
    shutil.copyfile(REPO / "examples" / "procedures" / "service-process-control.yaml", src)
    number = release_procedure(qms, src)
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    duties, program = data["sections"][3], data["sections"][4]
    duties["table"]["rows"].pop()                                    # 6 市场部 …
    program["sections"][5]["body"] += SENTENCE                      # 5.6 用户投诉
    flow = program["sections"].pop(2)                               # 5.3 技术服务流程 → the end
    program["sections"].append(flow)
    src.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    qms("doc", "submit", src, "--change", "5.6 增加答复时限；表1 删去市场部；技术服务流程移至最后")
    return number


def test_diff_marks_exactly_the_inserted_sentence_the_deleted_row_and_the_moved_clause(qms):
    number = _revise(qms)
    out = qms("doc", "diff", number).output
    assert out.splitlines()[0] == f"修订对照 {number} 服务过程控制程序：A/0 → A/1"
    assert "修订说明：5.6 增加答复时限" in out
    entries = [line for line in out.splitlines() if line.startswith("[")]
    assert entries == ["[修改] 4 职责", "[修改] 5.6 → 5.5 用户投诉", "[移动] 5.3 → 5.6 技术服务流程"], out
    assert f"[+{SENTENCE}+]" in out and out.count("[+") == 1
    assert "表1 各部门职责 删除行：[-6-] | [-市场部-] | [-负责提供执行服务的相关信息(含交付后的信息)。-]" in out
    assert out.count("[-") == 3

    from qms.documents.redline import redline_for
    from qms.store.workspace import open_workspace
    red = redline_for(open_workspace(qms.root), number, "A/0", "A/1")
    complaint = next(c for c in red.changes if c.new == "5.5")
    assert complaint.paragraphs[0].segments[-1] == ("+", SENTENCE)   # one run, not character by character

    html = qms("doc", "diff", number, "--from", "A/0", "--to", "A/1", "--format", "html").output
    assert f"<ins>{SENTENCE}</ins>" in html and "<del>市场部</del>" in html and 'charset="utf-8"' in html


def test_chinese_is_diffed_by_characters_and_words_in_runs():
    from qms.documents.redline import diff_text
    assert diff_text("客户服务中心负责保存,保存期为5年。", "客户服务中心负责汇总保存,保存期为10年。") == [
        ("=", "客户服务中心负责"), ("+", "汇总"), ("=", "保存,保存期为"), ("-", "5"), ("+", "10"), ("=", "年。")]
    assert diff_text("see ISO9001 clause", "see ISO13485 clause") == [
        ("=", "see "), ("-", "ISO9001"), ("+", "ISO13485"), ("=", " clause")]


def test_the_redline_pdf_is_a_revision_table_with_the_marks(qms, tmp_path):
    number = _revise(qms)
    pdf = tmp_path / "redline.pdf"
    qms("doc", "diff", number, "--format", "pdf", "-o", pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "修订对照表" in text and "A/0" in text and "A/1" in text and SENTENCE in text and "市场部" in text
    assert "移动" in text and "技术服务流程" in text
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page.png").stat().st_size > 5000


def test_diff_of_a_first_revision_or_unknown_revision_is_one_line(qms):
    src = qms.root / "spc.yaml"
    shutil.copyfile(REPO / "examples" / "procedures" / "service-process-control.yaml", src)
    number = qms.json("doc", "submit", src)["number"]
    assert "first revision" in qms.fail("doc", "diff", number)
    assert "no revision 'B/9'" in qms.fail("doc", "diff", number, "--to", "B/9")
    assert "needs -o FILE.pdf" in qms.fail("doc", "diff", number, "--format", "pdf")


def test_a_changed_cell_is_marked_in_its_cell_and_an_inserted_clause_as_inserted(qms):
    from qms.domain.docsource import parse_source_text
    from qms.documents.redline import compare
    from qms.store.workspace import open_workspace
    ws = open_workspace(qms.root)
    path = REPO / "examples" / "procedures" / "service-process-control.yaml"
    text = path.read_text(encoding="utf-8")
    old = parse_source_text(text, path, ws)
    new_text = text.replace("按计划提供维修备件。", "按计划及时提供维修备件。").replace(
        "      - title: 用户投诉\n", "      - title: 服务回访\n        body: 客户服务中心每季度回访重点用户。\n\n"
        "      - title: 用户投诉\n")
    new = parse_source_text(new_text, path, ws)
    changes = [c for c in compare(old, new) if c.changed]
    assert [(c.status, c.old, c.new) for c in changes] == [("changed", "4", "4"), ("inserted", "", "5.6")]
    row = [r for r in changes[0].tables[0].rows if r.status != "same"]
    assert len(row) == 1 and row[0].cells[2] == [("=", "按计划"), ("+", "及时"), ("=", "提供维修备件。")]
    assert row[0].cells[1] == [("=", "生产部")]
    assert changes[1].title == [("+", "服务回访")]


def test_the_approvers_inbox_shows_the_change_note_and_exactly_those_marks(qms):
    import warnings
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient
    from qms.web import create_app
    from webkit import login
    number = _revise(qms)
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c, "zhangjh")                                      # 编制 signs A/1 first
    page = c.get("/inbox").text
    card = page.split(f"{number} 服务过程控制程序")[1]
    assert "修订说明：5.6 增加答复时限；表1 删去市场部；技术服务流程移至最后" in card
    assert card.count("<ins>") == 1 and f"<ins>{SENTENCE}</ins>" in card
    assert card.count("<del>") == 3 and "<del>市场部</del>" in card and 'class="row-deleted"' in card
    assert '<span class="tag">移动</span> 5.3 → 5.6 技术服务流程' in card
    assert card.count('class="clause ') == 3
