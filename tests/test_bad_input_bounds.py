"""Bad input, second round (issue 19): retention periods bounded when a schema or config is read;
text sizes bounded when `check` runs (the limit in the message); encodings read only when they
decode cleanly; formula-like cells exported as text; errors name the option the user typed."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile

import pytest
import yaml

from conftest import DATA, REPO, copy_into, example_data, nothing_archived, release_procedure, snapshot, write_data

PHONE = "QR-SV-022-04"


def set_period(qms, period: str):
    path = qms.root / "schemas" / f"{PHONE}.yaml"
    path.write_text(re.sub(r"retention: \{period: [^,]+,", f"retention: {{period: {period},",
                           path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


@pytest.mark.parametrize("period", ["99999999y", "0d", "101y", "1201m", "36526d", "0y"])
def test_a_retention_period_out_of_bounds_is_one_line_when_the_schema_is_read(qms, period):
    set_period(qms, period)
    before = snapshot(qms.archive)
    out = qms.fail("form", "show", PHONE)
    assert f"schemas/{PHONE}.yaml" in out and "retention.period" in out and "1 day to 100 years" in out
    data = write_data(qms, example_data(PHONE), "call.yaml")
    out = qms.fail("record", "file", PHONE, "--data", data, "--no-pdf")
    assert "1 day to 100 years" in out and len(out.strip().splitlines()) == 1
    assert snapshot(qms.archive) == before


@pytest.mark.parametrize("period", ["1d", "100y", "1200m", "36525d", "permanent"])
def test_retention_periods_within_bounds_are_accepted(qms, period):
    set_period(qms, period)
    qms("form", "show", PHONE)


def test_a_config_retention_period_out_of_bounds_names_config_yaml(qms):
    cfg = qms.root / "config.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["records"]["retention"]["period"] = "0d"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = qms.fail("form", "list")
    assert "config.yaml" in out and "records.retention.period" in out and "1 day to 100 years" in out


def test_a_huge_procedure_body_is_refused_by_check_with_the_limit(qms):
    src = yaml.safe_load((DATA / "design-control.yaml").read_text(encoding="utf-8"))
    src["sections"][0]["body"] = "设计" * 1_500_000                  # 3 million characters
    path = qms.root / "huge.yaml"
    path.write_text(yaml.safe_dump(src, allow_unicode=True, sort_keys=False, width=10**9), encoding="utf-8")
    t = time.perf_counter()
    out = qms.fail("doc", "check", path)
    assert time.perf_counter() - t < 30
    assert "3,000,000 characters" in out and "at most 20,000" in out and "sections[0].body" in out
    # many sections each under the limit: the whole document is bounded too
    src["sections"] = [{"title": f"第{i}节", "body": "设计" * 9_000} for i in range(20)]
    path.write_text(yaml.safe_dump(src, allow_unicode=True, sort_keys=False, width=10**9), encoding="utf-8")
    out = qms.fail("doc", "check", path)
    assert "a document may hold at most 300,000" in out


def test_a_huge_record_field_is_refused_with_the_limit_and_a_long_one_is_filed(qms):
    data = write_data(qms, example_data(PHONE, content="压" * 300_000), "big.yaml")
    out = qms.fail("record", "file", PHONE, "--data", data, "--no-pdf")
    assert "field 'content'" in out and "300,000 characters" in out and "at most 10,000" in out
    assert nothing_archived(qms)
    rows = [example_data(PHONE, content="压" * 9_000, handling="处" * 9_000, result="果" * 9_000)] * 1
    many = write_data(qms, {**rows[0], "product": "机" * 9_000, "caller": "某" * 9_000, "customer": "司" * 9_000},
                      "many.yaml")
    out = qms.fail("record", "file", PHONE, "--data", many, "--no-pdf")
    assert "at most 50,000" in out
    qms("record", "file", PHONE, "--data", write_data(qms, example_data(PHONE, content="压" * 10_000), "ok.yaml"),
        "--no-pdf")


# ------------------------------------------------------------------ encodings

TRAD = [{"call_date": "2026-03-09", "caller": "陳光輝", "customer": "臺灣壓縮機股份有限公司",
         "content": "空氣壓縮機運行約四十分鐘後停機，重啟後故障重複出現。", "handler": "周麗"}]


def csv_bytes(rows, encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def test_a_big5_csv_needs_encoding_and_is_then_filed_right(qms):
    path = qms.root / "big5.csv"
    path.write_bytes(csv_bytes(TRAD, "big5"))
    out = qms.fail("record", "import", PHONE, path, "--no-pdf")
    assert "--encoding" in out and "GB18030" in out
    assert nothing_archived(qms)
    (rec,) = qms.json("record", "import", PHONE, path, "--no-pdf", "--encoding", "big5")
    assert qms.json("record", "show", rec["number"])["data"]["customer"] == "臺灣壓縮機股份有限公司"
    assert "option --encoding" in qms.fail("record", "import", PHONE, path, "--no-pdf", "--again",
                                           "--encoding", "klingon")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_utf8_with_or_without_bom_and_gb18030_are_read(qms, encoding):
    rows = [{**TRAD[0], "customer": "安徽皖江水泥有限公司", "content": "主电机过载保护跳闸，连续两次无法启动。"}]
    path = qms.root / f"{encoding}.csv"
    path.write_bytes(csv_bytes(rows, encoding))
    (rec,) = qms.json("record", "import", PHONE, path, "--no-pdf")
    assert qms.json("record", "show", rec["number"])["data"]["customer"] == "安徽皖江水泥有限公司"


def test_bytes_that_do_not_decode_or_replacement_characters_are_named_by_row_and_column(qms):
    rows = [{**TRAD[0], "customer": "安徽皖江水泥有限公司"}, {**TRAD[0], "customer": "某公司\ufffd"}]
    path = qms.root / "fffd.csv"
    path.write_bytes(csv_bytes(rows, "utf-8"))
    out = qms.fail("record", "import", PHONE, path, "--no-pdf")
    assert "row 3, column 3" in out and "U+FFFD" in out
    bad = qms.root / "bad.csv"
    bad.write_bytes(csv_bytes(TRAD[:1], "utf-8").replace("周".encode(), b"\xff\xfe"))
    out = qms.fail("record", "import", PHONE, bad, "--no-pdf", "--encoding", "utf-8")
    assert "row 2, column 5" in out and "not valid utf-8" in out
    assert nothing_archived(qms)


# ------------------------------------------------------------------ exports

def test_formula_like_titles_are_exported_as_text(qms):
    src = (DATA / "design-control.yaml").read_text(encoding="utf-8")
    path = qms.root / "evil.yaml"
    path.write_text(src.replace("title: 设计和开发控制程序", 'title: "=HYPERLINK(\\"http://evil.example\\",\\"点击\\")"'),
                    encoding="utf-8")
    release_procedure(qms, path)
    qms("doc", "list", "--format", "csv", "-o", qms.root.parent / "list.csv")
    text = (qms.root.parent / "list.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in text and ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
    qms("doc", "list", "--format", "xlsx", "-o", qms.root.parent / "list.xlsx")
    sheet = zipfile.ZipFile(qms.root.parent / "list.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert "=HYPERLINK" in sheet and "<f>" not in sheet       # a string cell, never a formula


def test_a_bad_date_option_is_named_as_typed(qms):
    out = qms.fail("search", "压缩机", "--from", "9999-12-31")
    assert "option --from" in out and "as-of" not in out
    assert "option --to" in qms.fail("search", "压缩机", "--to", "2026-13-01")
    assert "option --as-of" in qms.fail("doc", "list", "--as-of", "tomorrow")
