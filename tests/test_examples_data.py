"""The shipped example data (procedure sources, form schemas, sample records, the phone-log CSV)
is consistent with itself and with the formats in DESIGN.md.

Plain PyYAML only: these checks hold whatever the loaders do, so a broken example shows up
here as a data error rather than as a puzzling failure deep in rendering or filing.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
RECORDS = ROOT / "examples" / "records"
PROCEDURES = ROOT / "examples" / "procedures"
PHONE_LOG = RECORDS / "phone-log-2026-03.csv"

FORM_IDS = [f"QR-SV-022-{n:02d}" for n in range(1, 9)]
FIELD_TYPES = {"text", "date", "datetime", "number", "choice", "table", "signature"}
SCHEMA_KEYS = {"id", "title", "title_en", "procedure", "date_field", "numbering", "retention",
               "signature_required", "template", "note", "fields"}
FIELD_KEYS = {"name", "label", "type", "required", "searchable", "choices", "columns", "signed_by"}
COLUMN_KEYS = {"name", "label", "type"}
PROCEDURE_KEYS = {"number", "title", "title_en", "kind", "department", "basis", "terms",
                  "sections", "references", "records"}
SECTION_KEYS = {"title", "body", "table", "tables", "sections", "figure", "figures"}
# the default documents.number_pattern: groups joined by - or / (WY-QP-7.5-01, HX/QP-05)
NUMBER = r"^[A-Z0-9]+(\.[0-9]+)*([-/][A-Z0-9]+(\.[0-9]+)*)+$"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PERIOD = re.compile(r"^\d+[ymd]$")
# A clause number typed by hand: "5.1 与用户沟通", "1.0目的", "4 工作程序", "3、职责" — but not "24小时…".
TYPED_CLAUSE = re.compile(r"^\s*\d+((\.\d+)+|\s+|[.、．])")
HAN = re.compile(r"[\u4e00-\u9fff]")


def load(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def schema(form_id: str) -> dict:
    return load(SCHEMAS / f"{form_id}.yaml")


def fields_by_name(form: dict) -> dict[str, dict]:
    return {f["name"]: f for f in form["fields"]}


def is_date(value) -> bool:
    if isinstance(value, dt.datetime):
        return False
    if isinstance(value, dt.date):
        return True
    try:
        dt.date.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------- form schemas

def test_the_eight_forms_have_schemas():
    assert sorted(p.stem for p in SCHEMAS.glob("QR-SV-022-*.yaml")) == FORM_IDS


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_schema_shape(form_id):
    form = schema(form_id)
    assert isinstance(form, dict)
    assert set(form) <= SCHEMA_KEYS, f"unknown keys {set(form) - SCHEMA_KEYS}"
    assert form["id"] == form_id
    assert HAN.search(form["title"]), "the title is Chinese"
    assert form["title_en"] and not HAN.search(form["title_en"])
    assert form["procedure"] == "XX-XX-022"
    assert isinstance(form.get("signature_required", False), bool)
    if "template" in form:
        assert form["template"].endswith(".docx")
    if "numbering" in form:
        assert "{seq" in form["numbering"]

    retention = form["retention"]
    assert PERIOD.match(retention["period"]), retention
    anchor = retention["from"]
    assert anchor in ("filed", "year_end") or anchor.startswith("field:"), anchor

    fields = form["fields"]
    assert isinstance(fields, list) and fields
    names = [f["name"] for f in fields]
    assert len(names) == len(set(names)), "field names are unique"
    for f in fields:
        assert set(f) <= FIELD_KEYS, f"{f['name']}: unknown keys {set(f) - FIELD_KEYS}"
        assert NAME.match(f["name"]), f["name"]
        assert HAN.search(f["label"]), f"{f['name']}: label is Chinese"
        assert f["type"] in FIELD_TYPES, f"{f['name']}: type {f['type']}"
        assert isinstance(f.get("required", False), bool)
        assert isinstance(f.get("searchable", True), bool)
        if f["type"] == "choice":
            assert isinstance(f.get("choices"), list) and f["choices"], f["name"]
            assert all(isinstance(c, str) and c for c in f["choices"])
            assert len(set(f["choices"])) == len(f["choices"])
        else:
            assert "choices" not in f, f["name"]
        if f["type"] == "table":
            cols = f.get("columns")
            assert isinstance(cols, list) and cols, f["name"]
            col_names = [c["name"] for c in cols]
            assert len(col_names) == len(set(col_names))
            for c in cols:
                assert set(c) <= COLUMN_KEYS, c
                assert NAME.match(c["name"]) and HAN.search(c["label"])
                assert c.get("type", "text") in FIELD_TYPES - {"table", "choice"}, c
        else:
            assert "columns" not in f, f["name"]

    by_name = fields_by_name(form)
    if "date_field" in form:
        assert by_name[form["date_field"]]["type"] == "date", "date_field names a date field"
        assert by_name[form["date_field"]].get("required"), "the record date must be given"
    if anchor.startswith("field:"):
        assert by_name[anchor.split(":", 1)[1]]["type"] in ("date", "datetime")


def test_field_report_needs_the_customer_signature():
    form = schema("QR-SV-022-02")
    assert form["signature_required"] is True
    assert "用户签署姓名或加盖公章" in form["note"]
    assert fields_by_name(form)["customer_signature"]["type"] == "signature"


def test_the_briefed_field_lists():
    """The notice and the field report have exactly the agreed fields, in order: templates
    (service-notice.docx, field-report.docx) are laid out around them."""
    assert [f["name"] for f in schema("QR-SV-022-01")["fields"]] == [
        "notice_date", "customer", "contact", "phone", "address", "product", "model", "serial_no",
        "service_type", "problem", "engineers", "planned_date", "issued_by"]
    assert [f["name"] for f in schema("QR-SV-022-02")["fields"]] == [
        "service_date", "notice_no", "customer", "contact", "address", "product", "model", "serial_no",
        "service_type", "fault", "work_done", "parts", "evaluation", "customer_opinion", "engineer",
        "customer_signature"]
    assert schema("QR-SV-022-03")["retention"] == {"period": "5y", "from": "filed"}


def test_phone_log_form_is_flat():
    """Batch import maps one CSV/XLSX row to one record: no table fields."""
    assert all(f["type"] != "table" for f in schema("QR-SV-022-04")["fields"])


# ---------------------------------------------------------------- sample records

@pytest.mark.parametrize("form_id", FORM_IDS)
def test_sample_record_fits_its_form(form_id):
    form = schema(form_id)
    by_name = fields_by_name(form)
    record = load(RECORDS / f"{form_id}.yaml")
    assert isinstance(record, dict)
    unknown = set(record) - set(by_name)
    assert not unknown, f"keys that are not fields of {form_id}: {unknown}"
    for name, f in by_name.items():
        if f.get("required"):
            assert record.get(name) not in (None, "", []), f"required field {name} is empty"
    for name, value in record.items():
        f = by_name[name]
        kind = f["type"]
        if value is None:
            continue
        if kind == "date":
            assert is_date(value), f"{name}: {value!r} is not an ISO date"
        elif kind == "datetime":
            assert isinstance(value, dt.datetime) or dt.datetime.fromisoformat(str(value))
        elif kind == "number":
            assert is_number(value), f"{name}: {value!r} is not a number"
        elif kind == "choice":
            assert value in f["choices"], f"{name}: {value!r} not in {f['choices']}"
        elif kind == "table":
            assert isinstance(value, list) and value, name
            cols = {c["name"]: c for c in f["columns"]}
            for row in value:
                assert isinstance(row, dict) and set(row) <= set(cols), row
                for col, cell in row.items():
                    if cols[col].get("type") == "number":
                        assert is_number(cell), f"{name}.{col}: {cell!r}"
        else:  # text and signature (the signer's printed name)
            assert isinstance(value, str), f"{name}: {value!r} should be text"


def test_sample_call_time_is_text():
    """Unquoted, YAML 1.1 reads 10:15 as the base-60 integer 615: the sample must quote it."""
    record = load(RECORDS / "QR-SV-022-04.yaml")
    assert isinstance(record["call_time"], str) and re.fullmatch(r"\d\d:\d\d", record["call_time"])


def test_sample_dates_agree_with_each_other():
    notice, report = load(RECORDS / "QR-SV-022-01.yaml"), load(RECORDS / "QR-SV-022-02.yaml")
    assert notice["customer"] == report["customer"] and notice["serial_no"] == report["serial_no"]
    assert notice["notice_date"] <= report["service_date"]
    complaint = load(RECORDS / "QR-SV-022-05.yaml")
    assert complaint["complaint_date"] <= complaint["closed_date"]


# ---------------------------------------------------------------- phone-log CSV

def phone_rows() -> tuple[list[str], list[dict]]:
    with PHONE_LOG.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_phone_log_header_is_the_form_field_names():
    header, _ = phone_rows()
    assert header == [f["name"] for f in schema("QR-SV-022-04")["fields"]]


def test_phone_log_rows():
    form = fields_by_name(schema("QR-SV-022-04"))
    _, rows = phone_rows()
    assert 30 <= len(rows) <= 60
    for n, row in enumerate(rows, 2):
        assert None not in row and all(v is not None for v in row.values()), f"line {n}: wrong cell count"
        assert row["customer"].strip(), f"line {n}: no customer"
        for name, f in form.items():
            if f.get("required"):
                assert row[name].strip(), f"line {n}: {name} is empty"
        date = dt.date.fromisoformat(row["call_date"])
        assert (date.year, date.month) == (2026, 3), f"line {n}: {date}"
        assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", row["call_time"]), f"line {n}: {row['call_time']}"
    dates = [r["call_date"] for r in rows]
    assert dates == sorted(dates), "rows in date order"
    assert len(set(dates)) >= 15 and len({r["customer"] for r in rows}) >= 10, "varied entries"


# ---------------------------------------------------------------- procedure sources

PROCEDURE_FILES = sorted(PROCEDURES.glob("*.yaml"))


def walk(sections, path="sections"):
    for i, sec in enumerate(sections):
        if isinstance(sec, str):          # an untitled clause given as its text alone
            sec = {"body": sec}
        yield f"{path}[{i}]", sec
        yield from walk(sec.get("sections") or [], f"{path}[{i}].sections")


def test_both_procedures_exist():
    names = {p.name for p in PROCEDURE_FILES}
    assert {"service-process-control.yaml", "customer-service.yaml"} <= names


@pytest.mark.parametrize("path", PROCEDURE_FILES, ids=lambda p: p.name)
def test_procedure_source_shape(path):
    doc = load(path)
    assert isinstance(doc, dict)
    assert set(doc) <= PROCEDURE_KEYS, f"unknown keys {set(doc) - PROCEDURE_KEYS}"
    for key in ("number", "title", "kind", "department", "sections"):
        assert doc.get(key), f"missing {key}"
    assert re.match(NUMBER, doc["number"])
    assert doc["kind"] in ("procedure", "instruction", "manual", "specification", "程序文件")
    assert not TYPED_CLAUSE.match(doc["title"])

    for where, sec in walk(doc["sections"]):
        assert isinstance(sec, dict) and set(sec) <= SECTION_KEYS, f"{where}: {sec!r}"
        title = sec.get("title") or ""
        assert not TYPED_CLAUSE.match(title), f"{where}: clause number typed in title {title!r}"
        if not sec.get("sections"):
            assert sec.get("body") or sec.get("table"), f"{where}: a leaf section needs a body"
        body = sec.get("body") or ""
        assert isinstance(body, (str, list))
        for line in (body.splitlines() if isinstance(body, str) else body):
            assert not re.match(r"^\s*\d+\.\d+", line), f"{where}: clause number left in body {line!r}"
        if "table" in sec:
            table = sec["table"]
            for row in table["rows"]:
                assert isinstance(row, list) and len(row) == len(table["columns"]), row

    # A flow mapping such as {term: 批量, definition: a,b} silently splits at the comma.
    terms = doc.get("terms") or []
    if isinstance(terms, dict):           # the mapping form, term: definition
        terms = [{"term": k, "definition": v} for k, v in terms.items()]
    for term in terms:
        assert set(term) == {"term", "definition"} and term["definition"], term
    for ref in doc.get("references") or []:
        if isinstance(ref, str):          # a document outside qms, by title: 《用户投诉处理细则》
            continue
        assert set(ref) <= {"number", "title"} and ref["title"], ref
        assert ref.get("number", "") == "" or re.match(NUMBER, ref["number"])


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


def test_records_named_by_procedures_have_schemas():
    for path in PROCEDURE_FILES:
        for form_id in load(path).get("records") or []:
            assert (SCHEMAS / f"{form_id}.yaml").is_file(), f"{path.name}: no schema for {form_id}"
