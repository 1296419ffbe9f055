"""The shipped example data (procedure sources, form schemas, sample records, the phone-log CSV)
goes through the parsers the CLI uses — `doc check`'s source loader, the form-schema loader,
`record file`'s data validation, `record import`'s row reader — with the repository itself as the
workspace (its config.yaml, schemas/ and templates/), and holds the content the brief agreed.

The parsers are the one definition of the formats: a regex of our own here would drift from
them. Nothing is written: these calls only read.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from qms.domain.docsource import flatten, load_source
from qms.domain.forms import load_forms, validate_data
from qms.records import prepare, read_rows
from qms.store.workspace import open_workspace

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
RECORDS = ROOT / "examples" / "records"
PROCEDURES = ROOT / "examples" / "procedures"
PHONE_LOG = RECORDS / "phone-log-2026-03.csv"

FORM_IDS = [f"QR-SV-022-{n:02d}" for n in range(1, 9)]
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def ws():
    """The repository as a workspace: the shipped config, schemas and templates."""
    return open_workspace(ROOT)


def load(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def schema(form_id: str) -> dict:
    return load(SCHEMAS / f"{form_id}.yaml")


def fields_by_name(form: dict) -> dict[str, dict]:
    return {f["name"]: f for f in form["fields"]}


# ---------------------------------------------------------------- form schemas

def test_the_eight_forms_have_schemas():
    assert sorted(p.stem for p in SCHEMAS.glob("QR-SV-022-*.yaml")) == FORM_IDS


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_schema_loads(ws, form_id):
    """The form-schema loader (`qms form list/show`) takes every shipped form; the content the
    loader leaves free (Chinese titles and labels, the owning procedure) is as agreed."""
    form = load_forms(ws)[form_id]
    assert form.id == form_id and form.path.name == f"{form_id}.yaml"
    assert HAN.search(form.title), "the title is Chinese"
    assert form.title_en and not HAN.search(form.title_en)
    assert form.procedure == "XX-XX-022"
    assert (ws.templates_dir / form.template).is_file(), form.template
    for f in form.fields:
        assert HAN.search(f.label), f"{f.name}: label is Chinese"
        assert all(HAN.search(c.label) for c in f.columns), f.name
    if form.date_field:
        assert form.field(form.date_field).required, "the record date must be given"


def test_every_schema_file_is_a_form(ws):
    # QR-QM-01 月度质量报告: the monthly quality report filed as a record (issue 24)
    assert sorted(load_forms(ws)) == ["QR-QM-01"] + FORM_IDS


def test_field_report_needs_the_customer_signature():
    form = schema("QR-SV-022-02")
    assert form["signature_required"] is True
    assert "用户签署姓名或加盖公章" in form["note"]
    assert fields_by_name(form)["customer_signature"]["type"] == "signature"


def test_the_briefed_field_lists():
    """The notice and the field report have exactly the agreed fields, in order: templates
    (service-notice.docx, field-report.docx) are laid out around them."""
    # notice_time, arrival_time, first_fix: what 平均响应时间 and 一次修复率 measure (issue 24)
    assert [f["name"] for f in schema("QR-SV-022-01")["fields"]] == [
        "notice_date", "notice_time", "customer", "contact", "phone", "address", "product", "model", "serial_no",
        "service_type", "problem", "engineers", "planned_date", "issued_by"]
    assert [f["name"] for f in schema("QR-SV-022-02")["fields"]] == [
        "service_date", "notice_no", "arrival_time", "customer", "contact", "address", "product", "model",
        "serial_no", "service_type", "fault", "work_done", "parts", "first_fix", "evaluation", "customer_opinion", "engineer",
        "customer_signature"]
    assert schema("QR-SV-022-03")["retention"] == {"period": "5y", "from": "filed"}


def test_phone_log_form_is_flat():
    """Batch import maps one CSV/XLSX row to one record: no table fields."""
    assert all(f["type"] != "table" for f in schema("QR-SV-022-04")["fields"])


# ---------------------------------------------------------------- sample records

@pytest.mark.parametrize("form_id", FORM_IDS)
def test_sample_record_fits_its_form(ws, form_id):
    """`qms record file FORM --data examples/records/FORM.yaml` accepts the sample: the filing is
    prepared (form loaded, data read and validated) exactly as the CLI does before it writes."""
    filing = prepare(ws, form_id, RECORDS / f"{form_id}.yaml")
    assert filing.form.id == form_id
    assert set(filing.data) == set(load(RECORDS / f"{form_id}.yaml")), "no sample value is dropped as empty"


def test_sample_call_time_is_text():
    """Unquoted, YAML 1.1 reads 10:15 as the base-60 integer 615: the sample must quote it."""
    record = load(RECORDS / "QR-SV-022-04.yaml")
    assert isinstance(record["call_time"], str) and re.fullmatch(r"\d\d:\d\d", record["call_time"])


def test_sample_dates_agree_with_each_other(ws):
    notice, report = (prepare(ws, f, RECORDS / f"{f}.yaml").data for f in ("QR-SV-022-01", "QR-SV-022-02"))
    assert notice["customer"] == report["customer"] and notice["serial_no"] == report["serial_no"]
    assert notice["notice_date"] <= report["service_date"]
    complaint = prepare(ws, "QR-SV-022-05", RECORDS / "QR-SV-022-05.yaml").data
    assert complaint["complaint_date"] <= complaint["closed_date"]


# ---------------------------------------------------------------- phone-log CSV

def phone_rows(ws) -> list[tuple[int, dict]]:
    """The phone log as `qms record import` reads it, each row validated against the form as it files."""
    form = load_forms(ws)["QR-SV-022-04"]
    return [(line, validate_data(form, row, file=PHONE_LOG, row=line)) for line, row in read_rows(PHONE_LOG)]


def test_phone_log_header_is_the_form_field_names(ws):
    header = PHONE_LOG.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [f.name for f in load_forms(ws)["QR-SV-022-04"].fields]


def test_phone_log_rows(ws):
    rows = phone_rows(ws)
    assert 30 <= len(rows) <= 60
    for n, row in rows:
        date = dt.date.fromisoformat(row["call_date"])
        assert (date.year, date.month) == (2026, 3), f"line {n}: {date}"
        assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", row["call_time"]), f"line {n}: {row['call_time']}"
    dates = [r["call_date"] for _, r in rows]
    assert dates == sorted(dates), "rows in date order"
    assert len(set(dates)) >= 15 and len({r["customer"] for _, r in rows}) >= 10, "varied entries"


# ---------------------------------------------------------------- procedure sources

PROCEDURE_FILES = sorted(PROCEDURES.glob("*.yaml"))


def walk(sections, path="sections"):
    for i, sec in enumerate(sections):
        yield f"{path}[{i}]", sec
        yield from walk(sec.sections, f"{path}[{i}].sections")


def test_both_procedures_exist():
    names = {p.name for p in PROCEDURE_FILES}
    assert {"service-process-control.yaml", "customer-service.yaml"} <= names


@pytest.mark.parametrize("path", PROCEDURE_FILES, ids=lambda p: p.name)
def test_procedure_source_loads(ws, path):
    """`qms doc check` takes every example without a warning (no clause number typed in a title);
    what the parser leaves free is held to the house style."""
    doc = load_source(path, ws)
    assert doc.warnings == []
    assert doc.kind in ws.config.kinds
    for where, sec in walk(doc.sections):
        if not sec.sections:
            assert sec.body or sec.tables, f"{where}: a leaf section needs a body"
        for line in sec.body:
            assert not re.match(r"^\s*\d+\.\d+", line), f"{where}: clause number left in body {line!r}"
    assert all(t.definition for t in doc.terms), doc.terms
    assert all(r.title for r in doc.references), doc.references
    assert flatten(doc.sections), "the clauses number"


def test_service_procedure_content():
    doc = load(PROCEDURES / "service-process-control.yaml")
    assert doc["number"] == "XX-XX-022" and doc["department"] == "客户服务中心"
    assert doc["basis"] == "GB/T19001-2016 idt ISO9001:2015"
    # Top level mirrors 1.0–5.0 of the original, so generated numbers match it (5.5.6, 5.1.2.2 …).
    assert [s["title"] for s in doc["sections"]] == ["目的", "适用范围", "术语", "职责", "程序要求"]
    duties = doc["sections"][3]["table"]
    assert duties["columns"] == ["序号", "单位", "职责"]
    assert [r[1] for r in duties["rows"]] == ["客户服务中心", "相关单位", "生产部", "质量部", "技术部", "市场部"]
    assert "保存期为5年" in duties["rows"][1][2]
    requirements = doc["sections"][4]["sections"]
    assert [s["title"] for s in requirements] == [
        "与用户沟通", "对服务人员的要求", "技术服务流程", "技术服务计划", "技术服务实施", "用户投诉"]
    implementation = requirements[4]["sections"]
    assert len(implementation) == 7  # 5.5.1 … 5.5.7
    assert "加盖公章后方为有效" in implementation[4]["body"]
    assert doc["terms"][0]["definition"] == "单机产品生产了10台以上,系统产品生产2套以上。"
    assert sorted(doc["records"]) == FORM_IDS
    assert {r["title"] for r in doc["references"]} == {
        "边研制边生产产品、新产品和工程类项目服务管理办法", "客户服务人员服务规范",
        "产品返厂维修实施细则", "用户投诉处理细则"}


def test_records_named_by_procedures_have_schemas(ws):
    forms = load_forms(ws)
    for path in PROCEDURE_FILES:
        for ref in load_source(path, ws).records:
            assert ref.id in forms, f"{path.name}: no schema for {ref.id}"
