"""Rendering procedures and records into real .docx (and one PDF through LibreOffice)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from qms.base.errors import QmsError
from docxtext import docx_text
from qms.adapters.render import RecordRenderer, render_procedure
from qms.base.textfmt import width

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ROLES = ["编制", "会签", "审定", "标审", "批准"]
SIGNERS = ["张三", "李四、王五", "赵六", "钱七", "孙八"]
RESP_TEXT = "是本过程的主管部门，负责集团公司产品技术服务的管理、组织计划的制定和实施。"


def procedure_ctx(**over) -> dict:
    ctx = {
        "company": "XXXXXX有限公司",
        "series": "质量管理体系程序文件",
        "kind_label": "程序文件",
        "title": "服务过程控制程序",
        "number": "XX-XX-022",
        "revision": "A/0",
        "controlled_status": "受控",
        "copy_no": "007",
        "draft": False,
        "department": "客户服务中心",
        "basis": "GB/T19001-2016 idt ISO9001:2015",
        "approvals": [{"role": r, "names": n, "date": f"2026年03月{10 + i:02d}日"}
                      for i, (r, n) in enumerate(zip(ROLES, SIGNERS))],
        "issued": "2026年03月13日",
        "effective": "2026年03月20日",
        "terms": [{"term": "批量", "definition": "单机产品生产了10台以上，系统产品生产2套以上。"}],
        "blocks": [
            {"type": "heading", "level": 1, "number": "1", "text": "目的"},
            {"type": "paragraph", "text": "本标准规定了服务过程（交付、交付后活动）的控制程序与要求。"},
            {"type": "heading", "level": 1, "number": "2", "text": "适用范围"},
            {"type": "paragraph", "text": "本标准适用于提供给顾客的所有产品服务。"},
            {"type": "heading", "level": 1, "number": "3", "text": "职责"},
            {"type": "paragraph", "text": "各部门的职责见表1。"},
            {"type": "table", "caption": "表1 职责分配", "columns": ["序号", "单位", "职责"],
             "rows": [["1", "客户服务中心", RESP_TEXT], ["2", "生产部", "按计划提供维修备件。"]]},
            {"type": "heading", "level": 1, "number": "4", "text": "工作程序"},
            {"type": "heading", "level": 2, "number": "4.1", "text": "交付"},
            {"type": "heading", "level": 3, "number": "4.1.2", "text": "交付活动的内容和要求"},
            {"type": "paragraph", "text": "a) 产品经质量安全部出库检验合格，库房方可实施发货。"},
            {"type": "heading", "level": 4, "number": "4.1.2.1", "text": "运输"},
            {"type": "paragraph", "text": "b) 库房负责按照顾客规定的方式办理运输。"},
            {"type": "table", "caption": "", "columns": ["时机", "方式", "内容", "要求", "记录"],
             "rows": [["交付后", "现场", "开通调试", "24小时内响应", "QR-SV-022-02"],
                      ["质保期内", "返厂", "维修", "5个工作日", "QR-SV-022-03"]]},
        ],
        "references": [{"number": "XX-XX-010", "title": "文件控制程序"}],
        "records": [{"id": "QR-SV-022-01", "title": "售后服务通知单", "department": "客户服务中心",
                     "retention": "自记录当年年末起5年"},
                    {"id": "QR-SV-022-02", "title": "现场服务报告", "department": "客户服务中心",
                     "retention": "自记录当年年末起5年"}],
        "history": [{"revision": "A/0", "change": "首次发布", "author": "张三", "approver": "孙八",
                     "issued": "2026年03月13日", "effective": "2026年03月20日"}],
    }
    ctx.update(over)
    return ctx


def record_ctx(form_id="QR-SV-022-01", title="售后服务通知单", *, blank=False) -> dict:
    data = {
        "notice_date": "2026年03月21日", "customer": "甲公司 <研发部> & 售后", "contact": "刘工",
        "phone": "010-62345678", "address": "北京市海淀区中关村大街1号", "product": "数字示波器",
        "model": "DS-2000", "serial_no": "SN000123", "service_type": "维修",
        "problem": "开机无显示\n电源指示灯不亮", "engineers": "李四、王五", "planned_date": "2026年03月25日",
        "issued_by": "赵六", "service_date": "2026年03月25日", "notice_no": "QR-SV-022-01-2026-0007",
        "fault": "电源板保险丝熔断", "work_done": "更换电源板，通电测试正常。", "evaluation": "满意",
        "customer_opinion": "服务及时 <好评>", "engineer": "李四", "customer_signature": "刘工",
        "parts": [{"part": "电源板", "spec": "PB-12", "qty": "1"}, {"part": "保险丝", "spec": "5A", "qty": "2"}],
    }
    labels = {"customer": "用户单位", "phone": "联系电话", "problem": "问题描述", "planned_date": "计划服务日期"}
    fields = [{"name": n, "label": l, "type": "text", "value": "" if blank else data[n],
               "is_table": False, "columns": [], "rows": []} for n, l in labels.items()]
    fields.append({"name": "parts", "label": "更换零部件", "type": "table", "value": "", "is_table": True,
                   "columns": ["名称", "规格型号", "数量", "单价", "备注"],
                   "rows": [] if blank else [["电源板", "PB-12", "1", "120", "质保"],
                                             ["保险丝", "5A", "2", "1", ""]]})
    if blank:
        data = {k: ([] if isinstance(v, list) else "") for k, v in data.items()}
    return {
        "company": "XXXXXX有限公司", "form_id": form_id, "form_title": title, "procedure": "XX-XX-022",
        "number": "" if blank else f"{form_id}-2026-0001", "record_date": "" if blank else "2026年03月21日",
        "filed_at": "", "note": "本记录须经用户签字或盖章后方为有效", "fields": fields,
        # the shape records/context.py gives: a paper signature names the person, its cells stay empty
        "signatures": [{"label": "服务工程师", "name": "" if blank else "李四", "printed_name": "" if blank else "李四",
                        "signed": "", "date": ""},
                       {"label": "用户签字", "name": "", "printed_name": "", "signed": "", "date": ""}],
        "data": data, "blank": blank,
    }


@pytest.fixture(scope="session")
def procedure_docx(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("proc") / "XX-XX-022.docx"
    render_procedure(TEMPLATES / "procedure.docx", procedure_ctx(), out)
    return out


@pytest.fixture(scope="session")
def procedure_pdf(procedure_docx, tmp_path_factory) -> Path:
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice (soffice) is not installed")
    work = tmp_path_factory.mktemp("pdf")
    subprocess.run(["soffice", f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(work), str(procedure_docx)],
                   check=True, capture_output=True, timeout=180)
    return work / (procedure_docx.stem + ".pdf")


# --------------------------------------------------------------------------- procedures

def test_procedure_shows_cover_clauses_and_lists(procedure_docx):
    text = docx_text(procedure_docx)
    for expected in ("XXXXXX有限公司", "质量管理体系程序文件", "服务过程控制程序", "XX-XX-022", "A/0", "程序文件",
                     "受控", "007", "（依据 GB/T19001-2016 idt ISO9001:2015 编制）",
                     "2026年03月13日发布", "2026年03月20日实施",
                     "1 目的", "4 工作程序", "4.1 交付", "4.1.2 交付活动的内容和要求", "4.1.2.1 运输",
                     "a) 产品经质量安全部出库检验合格，库房方可实施发货。", "表1 职责分配",
                     # the tail sections continue the body's numbering
                     "5 术语和定义", "批量：单机产品生产了10台以上，系统产品生产2套以上。",
                     "6 相关文件", "XX-XX-010　文件控制程序", "7 记录",
                     "修订记录", "首次发布"):
        assert expected in text, expected
    lines = text.splitlines()
    assert lines.index("4.1.2 交付活动的内容和要求") < lines.index("4.1.2.1 运输") < lines.index("6 相关文件")


def test_procedure_approval_table_has_one_row_per_role(procedure_docx):
    doc = docx.Document(procedure_docx)
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "职　责")
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert rows == [[r, n, f"2026年03月{10 + i:02d}日"] for i, (r, n) in enumerate(zip(ROLES, SIGNERS))]


def test_procedure_tables_take_their_columns_from_data(procedure_docx):
    doc = docx.Document(procedure_docx)
    by_header = {tuple(c.text for c in t.rows[0].cells): t for t in doc.tables}
    three = by_header[("序号", "单位", "职责")]
    five = by_header[("时机", "方式", "内容", "要求", "记录")]
    assert len(three.columns) == 3 and len(five.columns) == 5
    assert [c.text for c in three.rows[1].cells] == ["1", "客户服务中心", RESP_TEXT]
    assert [c.text for c in five.rows[2].cells] == ["质保期内", "返厂", "维修", "5个工作日", "QR-SV-022-03"]
    # the long 职责 column gets the room, the 序号 column stays narrow
    widths = [col.width for col in three.columns]
    assert widths[2] > 3 * widths[0]
    history = by_header[("版本", "修订内容", "修订人", "批准人", "发布日期", "实施日期")]
    assert [_read(c) for c in history.rows[1].cells] == ["A/0", "首次发布", "张三", "孙八", "2026年03月13日",
                                                        "2026年03月20日"]
    # 8 记录: who keeps each form's records and for how long
    kept = by_header[("记录编号", "记录名称", "保存部门", "保存期限")]
    assert [_read(c) for c in kept.rows[2].cells] == ["QR-SV-022-02", "现场服务报告", "客户服务中心", "自记录当年年末起5年"]


def _read(cell) -> str:
    """A cell's text as a reader sees it (the word joiners that keep a date on one line print as nothing)."""
    return cell.text.replace("\u2060", "")


def test_columns_are_never_narrower_than_their_header(tmp_path):
    """表2 of a property company's procedure: seven columns of long text squeezed 序号 to 序/号.
    Each column now gets at least its header (and its codes) on one line; the rest goes by content."""
    from qms.adapters.render.tables import CELL_PADDING, TWIPS_PER_COLUMN
    long = "一般维修24小时内完成；需采购配件的3个工作日内完成，完成后由客服中心电话回访"
    blocks = [{"type": "table", "caption": "表2 业主需求处理时限",
               "columns": ["序号", "需求类别", "受理部门", "响应时限", "处理时限", "回访要求", "记录"],
               "rows": [["1", long, "工程部", long, long, long, "QR-SV-022-04"]]}]
    out = tmp_path / "t2.docx"
    render_procedure(TEMPLATES / "procedure.docx", procedure_ctx(blocks=blocks), out)
    t2 = next(t for t in docx.Document(out).tables if t.rows[0].cells[0].text == "序号")
    widths = [int(c.width.twips) for c in t2.rows[0].cells]
    for header, w in zip(["序号", "需求类别", "受理部门", "响应时限", "处理时限", "回访要求"], widths):
        assert w >= width(header) * TWIPS_PER_COLUMN + CELL_PADDING, (header, widths)
    assert widths[6] >= len("QR-SV-022-04") * TWIPS_PER_COLUMN + CELL_PADDING     # a code is never broken
    assert widths[3] > 2 * widths[0]         # the long text still gets the room
    assert sum(widths) == 9070


def test_procedure_header_on_every_page_has_number_and_page_fields(procedure_docx):
    doc = docx.Document(procedure_docx)
    header = doc.sections[0].header
    assert not header.is_linked_to_previous and not doc.sections[0].different_first_page_header_footer
    header_text = "\n".join(c.text for t in header.tables for row in t.rows for c in row.cells)
    assert "文件编号：XX-XX-022" in header_text and "版本：A/0" in header_text
    assert "第 1 页 共 1 页" in header_text and "DRAFT" not in header_text
    instructions = [el.text.strip().split()[0] for el in header._element.iter(qn("w:instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]


def test_draft_procedure_says_so_in_the_header(tmp_path):
    out = tmp_path / "draft.docx"
    render_procedure(TEMPLATES / "procedure.docx",
                     procedure_ctx(draft=True, controlled_status="草稿", issued="", effective="",
                                   approvals=[{"role": r, "names": "", "date": ""} for r in ROLES]), out)
    text = docx_text(out)
    assert "草稿 DRAFT" in text
    # blank dates leave room to write them in
    assert "　　　　年　　月　　日发布" in text and "2026年03月13日发布" not in text
    doc = docx.Document(out)
    info = next(t for t in doc.tables if t.rows[0].cells[0].text == "文件编号")
    assert ["受控状态", "草稿"] in [[c.text for c in row.cells] for row in info.rows]


def test_procedure_styles_set_chinese_fonts_explicitly(procedure_docx):
    doc = docx.Document(procedure_docx)
    styles = doc.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert rpr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "宋体"
    assert rpr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    for level in (1, 2, 3, 4):
        fonts = doc.styles[f"Heading {level}"].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) == "黑体"
    theme_attrs = [a for f in styles.iter(qn("w:rFonts")) for a in f.attrib if "Theme" in a or "theme" in a]
    assert theme_attrs == []
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)


def test_terms_block_places_the_terms_inside_the_body(tmp_path):
    blocks = [{"type": "heading", "level": 1, "number": "1.0", "text": "目的"},
              {"type": "heading", "level": 1, "number": "2.0", "text": "术语"},
              {"type": "terms"},
              {"type": "heading", "level": 1, "number": "3.0", "text": "职责"}]
    out = tmp_path / "terms.docx"
    render_procedure(TEMPLATES / "procedure.docx", procedure_ctx(blocks=blocks), out)
    lines = docx_text(out).splitlines()
    term = "批量：单机产品生产了10台以上，系统产品生产2套以上。"
    assert lines.index("2.0 术语") < lines.index(term) < lines.index("3.0 职责")
    assert "术语和定义" not in lines and "4.0 相关文件" in lines and "5.0 记录" in lines


def test_procedure_pdf_shows_the_chinese_text(procedure_pdf):
    text = subprocess.run(["pdftotext", "-layout", str(procedure_pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "服务过程控制程序" in text
    assert "质量管理体系程序文件" in text
    assert "交付活动的内容和要求" in text
    fonts = subprocess.run(["pdffonts", str(procedure_pdf)], check=True, capture_output=True, text=True).stdout
    assert "CJK" in fonts  # a real CJK face is embedded, not boxes


# --------------------------------------------------------------------------- records

@pytest.mark.parametrize("template, expected", [
    ("record.docx", ["用户单位", "甲公司 <研发部> & 售后", "计划服务日期", "更换零部件", "规格型号",
                     "PB-12", "质保", "服务工程师", "姓名：李四"]),
    ("service-notice.docx", ["甲公司 <研发部> & 售后", "010-62345678", "DS-2000", "SN000123",
                             "开机无显示", "电源指示灯不亮", "李四、王五", "2026年03月25日", "赵六"]),
    ("field-report.docx", ["甲公司 <研发部> & 售后", "QR-SV-022-01-2026-0007", "电源板保险丝熔断",
                           "更换电源板，通电测试正常。", "PB-12", "5A", "服务及时 <好评>", "满意", "刘工"]),
])
def test_record_templates_show_the_values(tmp_path, template, expected):
    out = tmp_path / "rec.docx"
    RecordRenderer(TEMPLATES / template).render(record_ctx(), out)
    text = docx_text(out)
    for value in expected + ["XXXXXX有限公司", "售后服务通知单", "QR-SV-022-01-2026-0001", "2026年03月21日",
                             "注：本记录须经用户签字或盖章后方为有效"]:
        assert value in text, value
    docx.Document(out)  # python-docx opens it: the XML is well formed


def test_field_report_lists_parts_with_their_columns(tmp_path):
    out = tmp_path / "report.docx"
    RecordRenderer(TEMPLATES / "field-report.docx").render(record_ctx("QR-SV-022-02", "现场服务报告"), out)
    doc = docx.Document(out)
    parts = next(t for t in doc.tables if t.rows[0].cells[0].text == "序号")
    assert [[c.text for c in row.cells] for row in parts.rows] == [
        ["序号", "名称", "规格型号", "数量"], ["1", "电源板", "PB-12", "1"], ["2", "保险丝", "5A", "2"]]


def test_multiline_value_becomes_line_breaks(tmp_path):
    out = tmp_path / "notice.docx"
    RecordRenderer(TEMPLATES / "service-notice.docx").render(record_ctx(), out)
    doc = docx.Document(out)
    cell = next(c for t in doc.tables for row in t.rows for c in row.cells if "开机无显示" in c.text)
    assert cell.text == "开机无显示\n电源指示灯不亮"
    assert cell._tc.xpath(".//w:br")


def test_blank_generic_form_leaves_room_to_write(tmp_path):
    out = tmp_path / "blank.docx"
    RecordRenderer(TEMPLATES / "record.docx").render(record_ctx(blank=True), out)
    text = docx_text(out)
    for label in ("售后服务通知单", "用户单位", "问题描述", "更换零部件", "名称", "规格型号", "单价",
                  "服务工程师", "用户签字", "记录编号：", "日期："):
        assert label in text
    assert "甲公司" not in text and "PB-12" not in text
    doc = docx.Document(out)
    outer = doc.tables[1]
    inner = outer._tbl.xpath(".//w:tbl")[0]
    rows = inner.xpath("./w:tr")
    assert len(rows) == 5  # header + 4 empty rows to fill in by hand
    assert all(len(r.xpath("./w:tc")) == 5 for r in rows)


def test_one_renderer_renders_many_records_independently(tmp_path):
    renderer = RecordRenderer(TEMPLATES / "record.docx")
    for i in range(20):
        ctx = record_ctx()
        ctx["number"] = f"QR-SV-022-01-2026-{i:04d}"
        ctx["fields"][0]["value"] = f"用户{i}"
        renderer.render(ctx, tmp_path / f"{i}.docx")
    text = docx_text(tmp_path / "7.docx")
    assert "QR-SV-022-01-2026-0007" in text and "用户7" in text and "用户6" not in text


def test_characters_xml_cannot_hold_are_dropped(tmp_path):
    ctx = record_ctx()
    ctx["fields"][0]["value"] = "甲公司\x01\x1b（北京）"
    out = tmp_path / "rec.docx"
    RecordRenderer(TEMPLATES / "record.docx").render(ctx, out)
    assert "甲公司（北京）" in docx_text(out)


def test_display_width_counts_wide_characters_double():
    # one rule (Unicode East Asian Width W/F) for terminal tables and docx column sizing
    assert width("QR-01") == 5
    assert width("服务报告") == 8
    assert width("（Ａ）") == 6            # full-width forms
    assert width("ｶﾀｶﾅ") == 4             # half-width katakana stays narrow
    assert width("①□") == 2               # ambiguous-width symbols count as narrow


# --------------------------------------------------------------------------- failures

def _template_with(tmp_path: Path, text: str) -> Path:
    doc = docx.Document()
    doc.add_paragraph("{{ company }}")
    doc.add_paragraph(text)
    path = tmp_path / "bad-template.docx"
    doc.save(path)
    return path


def test_template_syntax_error_names_the_template(tmp_path):
    bad = _template_with(tmp_path, "{% for x in fields %}{{ x.label }}")
    with pytest.raises(QmsError) as err:
        RecordRenderer(bad)
    assert "bad-template.docx" in str(err.value) and "syntax" in str(err.value)


def test_failing_render_leaves_no_output(tmp_path):
    bad = _template_with(tmp_path, "{{ data.customer.name.first }}")
    out = tmp_path / "out.docx"
    with pytest.raises(QmsError) as err:
        RecordRenderer(bad).render(record_ctx(), out)
    assert "bad-template.docx" in str(err.value)
    assert not out.exists()


def test_missing_or_foreign_template_is_a_user_error(tmp_path):
    with pytest.raises(QmsError, match="cannot read"):
        RecordRenderer(tmp_path / "nope.docx")
    fake = tmp_path / "fake.docx"
    fake.write_text("not a zip")
    with pytest.raises(QmsError, match="not a .docx"):
        render_procedure(fake, procedure_ctx(), tmp_path / "out.docx")


# --------------------------------------------------------------------------- reproducibility

def test_same_record_renders_to_the_same_bytes(tmp_path):
    renderer = RecordRenderer(TEMPLATES / "service-notice.docx")
    renderer.render(record_ctx(), tmp_path / "a.docx")
    renderer.render(record_ctx(), tmp_path / "b.docx")
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()


def test_the_shipped_templates_pass_the_check(qms):
    """The templates are the source (people edit them in Word): the check, not a generator, holds them."""
    rows = qms.json("template", "check")
    assert sorted(r["file"].rsplit("/", 1)[1] for r in rows if r["ok"]) == \
        ["field-report.docx", "procedure.docx", "record.docx", "service-notice.docx"]
