"""KPIs as data (issue 24): a definition written from the README alone gives exactly the numbers an
independent computation gives on a generated set of linked 售后服务通知单 / 现场服务报告 records —
months without records and records with a missing date included; kpi check names file and line;
a missed target proposes exactly one CAPA on the quality manager's to-do."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import re
import statistics
from pathlib import Path

import pytest

from conftest import REPO

CUSTOMERS = ["华东电力设备有限公司", "安徽皖江水泥有限公司", "广州南粤制药有限公司"]
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-05"]          # no record at all in 2026-04


def readme_kpis() -> dict[str, str]:
    """The KPI examples of the README's "KPI YAML reference", by the file name their first line gives."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## KPIs (kpis/*.yaml)", 1)[1].split("\n## ", 1)[0]
    out = {}
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        name = re.match(r"# kpis/(\S+\.yaml)", block).group(1)
        out[name] = block
    return out


def generate(seed: int = 24):
    """Linked notices and reports; some notice times and arrival times missing, one report naming a
    notice that does not exist, some 一次修复 left empty."""
    rnd = random.Random(seed)
    notices, reports = [], []
    for month in MONTHS:
        for _ in range(rnd.randint(6, 9)):
            day = dt.date.fromisoformat(f"{month}-{rnd.randint(1, 26):02d}")
            at = dt.datetime.combine(day, dt.time(rnd.randint(8, 17), rnd.choice([0, 15, 30, 45])))
            notices.append({"day": day, "at": at if rnd.random() > 0.1 else None,
                            "customer": rnd.choice(CUSTOMERS), "type": rnd.choice(["维修", "维修", "安装调试"])})
    notices.sort(key=lambda n: n["day"])          # filed in this order: numbers follow it
    for i, n in enumerate(notices, 1):
        n["number"] = f"QR-SV-022-01-2026-{i:04d}"
        if rnd.random() < 0.1:
            continue                               # a notice nobody has reported on yet
        base = n["at"] or dt.datetime.combine(n["day"], dt.time(9))
        arrival = base + dt.timedelta(hours=rnd.randint(2, 40), minutes=rnd.choice([0, 30]))
        reports.append({"notice": n["number"] if rnd.random() > 0.05 else "QR-SV-022-01-2026-9999",
                        "day": arrival.date(), "arrival": arrival if rnd.random() > 0.1 else None,
                        "customer": n["customer"], "type": n["type"],
                        "first_fix": rnd.choice(["是", "是", "是", "否", ""])})
    return notices, reports


def write_csvs(root: Path, notices, reports) -> tuple[Path, Path]:
    a, b = root / "notices.csv", root / "reports.csv"
    with a.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["notice_date", "notice_time", "customer", "product", "service_type", "problem", "engineers"])
        for n in notices:
            w.writerow([n["day"].isoformat(), n["at"].strftime("%Y-%m-%d %H:%M") if n["at"] else "",
                        n["customer"], "空气压缩机", n["type"], "排气温度高", "赵建国"])
    with b.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["service_date", "notice_no", "arrival_time", "customer", "product", "service_type",
                    "fault", "work_done", "first_fix", "engineer"])
        for r in reports:
            w.writerow([r["day"].isoformat(), r["notice"],
                        r["arrival"].strftime("%Y-%m-%d %H:%M") if r["arrival"] else "", r["customer"],
                        "空气压缩机", r["type"], "高温停机", "清洗油冷却器", r["first_fix"], "赵建国"])
    return a, b


def expected_first_fix(reports) -> dict[str, tuple]:
    """month → (value %, n, missing) computed by hand: repair reports only, empty 一次修复 missing."""
    out = {}
    for month in ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]:
        rows = [r for r in reports if r["type"] == "维修" and r["day"].isoformat()[:7] == month]
        measured = [r for r in rows if r["first_fix"]]
        hits = sum(1 for r in measured if r["first_fix"] == "是")
        value = round(hits / len(measured) * 100, 6) if measured else None
        out[month] = (value, len(rows), len(rows) - len(measured))
    return out


def expected_response(notices, reports) -> dict[tuple, tuple]:
    """(month, customer) → (mean hours, n, missing): a missing notice time, arrival time or notice."""
    by_no = {n["number"]: n for n in notices}
    cells: dict[tuple, list] = {}
    for r in reports:
        key = (r["day"].isoformat()[:7], r["customer"])
        n = by_no.get(r["notice"])
        hours = None
        if n and n["at"] and r["arrival"]:
            hours = (r["arrival"] - n["at"]).total_seconds() / 3600
        cells.setdefault(key, []).append(hours)
    out = {}
    for key, hs in cells.items():
        got = [h for h in hs if h is not None]
        out[key] = (round(statistics.fmean(got), 6) if got else None, len(hs), len(hs) - len(got))
    return out


@pytest.fixture
def service_records(qms):
    notices, reports = generate()
    a, b = write_csvs(qms.root, notices, reports)
    qms("record", "import", "QR-SV-022-01", a, "--no-pdf")
    qms("record", "import", "QR-SV-022-02", b, "--no-pdf")
    return notices, reports


def use_readme_kpis(qms) -> None:
    folder = qms.root / "kpis"
    for p in folder.glob("*.yaml"):
        p.unlink()
    for name, text in readme_kpis().items():
        (folder / name).write_text(text, encoding="utf-8")


def test_readme_kpis_give_the_independent_numbers(qms, service_records):
    notices, reports = service_records
    use_readme_kpis(qms)
    assert "ok: 2 KPIs" in qms("kpi", "check").output
    out = qms.json("kpi", "show")["kpis"]
    first_fix = next(k for k in out if k["title"] == "一次修复率")
    got = {v["period"]: (v["value"], v["n"], v["missing"]) for v in first_fix["values"]}
    want = expected_first_fix(reports)
    assert got == want
    assert got["2026-04"] == (None, 0, 0)                 # the month without records is listed
    assert sum(m for _, _, m in got.values()) > 0         # empty 一次修复 counted as missing
    assert first_fix["target"] == 90 and first_fix["direction"] == ">="
    assert {v["met"] for v in first_fix["values"] if v["value"] is not None} <= {True, False}

    response = next(k for k in out if k["title"] == "各用户平均响应时间")
    assert response["by"] == "用户单位"
    got = {(v["period"], v["group"]): (v["value"], v["n"], v["missing"]) for v in response["values"] if v["n"]}
    want = expected_response(notices, reports)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key][1:] == want[key][1:], key
        assert (got[key][0] is None) == (want[key][0] is None), key
        if want[key][0] is not None:
            assert got[key][0] == pytest.approx(want[key][0], abs=1e-6), key
    assert sum(m for _, _, m in want.values()) >= 3        # missing times and the unknown notice


def test_show_one_period_by_customer_and_drill_down(qms, service_records):
    notices, reports = service_records
    text = qms("kpi", "show", "一次修复率", "--period", "2026-03", "--by", "客户").output
    assert "一次修复率" in text and "2026-03" in text and "2026-02" not in text
    for customer in {r["customer"] for r in reports if r["day"].isoformat()[:7] == "2026-03" and r["type"] == "维修"}:
        assert customer in text
    res = qms.json("kpi", "records", "平均响应时间", "2026-03")
    want = [r for r in reports if r["day"].isoformat()[:7] == "2026-03"]
    assert len(res["records"]) == len(want)
    assert any(r["shown"] == "缺少数据" for r in qms.json("kpi", "records", "平均响应时间", "2026-01")["records"]
               + qms.json("kpi", "records", "平均响应时间", "2026-02")["records"]
               + res["records"] + qms.json("kpi", "records", "平均响应时间", "2026-05")["records"])


def test_kpi_check_names_file_line_and_what_is_wrong(qms):
    folder = qms.root / "kpis"
    (folder / "bad-form.yaml").write_text("title: 甲\nform: 不存在的表\nmeasure: count\n", encoding="utf-8")
    out = qms.fail("kpi", "check")
    assert "bad-form.yaml, line 2" in out and "unknown form '不存在的表'" in out
    (folder / "bad-form.yaml").unlink()
    (folder / "bad-field.yaml").write_text("title: 乙\nform: 现场服务报告\nmeasure: share\nfield: 满意度\n"
                                           "choices: [满意]\n", encoding="utf-8")
    out = qms.fail("kpi", "check")
    assert "bad-field.yaml, line 4" in out and "unknown field '满意度'" in out
    (folder / "bad-field.yaml").unlink()
    (folder / "bad-type.yaml").write_text("title: 丙\nform: 现场服务报告\nmeasure: mean\nfield: 用户单位\n",
                                          encoding="utf-8")
    out = qms.fail("kpi", "check")
    assert "bad-type.yaml, line 4" in out and "is a text field; expected a number field" in out
    (folder / "bad-type.yaml").unlink()
    (folder / "bad-link.yaml").write_text("title: 丁\nform: 现场服务报告\nmeasure: mean\nduration:\n"
                                          "  from: 售后服务通知单.通知时间\n  to: 到达时间\n", encoding="utf-8")
    out = qms.fail("kpi", "check")
    assert "bad-link.yaml, line 4" in out and "link" in out
    (folder / "bad-link.yaml").unlink()
    assert "ok: 5 KPIs" in qms("kpi", "check").output       # the shipped definitions


def test_a_missed_target_proposes_exactly_one_capa(qms, service_records):
    import time_machine
    from qms.kpi import proposals
    from qms.kpi.improve import todo_items
    from qms.store.workspace import open_workspace
    from qms.identity.users import get_user
    folder = qms.root / "kpis"
    for p in folder.glob("*.yaml"):
        p.unlink()
    # one KPI, one group, a target only 2026-03 can miss: at least 9 field reports a month
    (folder / "reports.yaml").write_text("title: 现场服务月度量\nform: 现场服务报告\nmeasure: count\n"
                                         "target: 1\ndirection: '>='\n", encoding="utf-8")
    ws = open_workspace(qms.root)
    with time_machine.travel(dt.datetime(2026, 6, 2, 9), tick=False):
        out = qms("kpi", "propose").output
    assert "提出 1 项" in out and "2026-04" in out         # the month without any report
    with time_machine.travel(dt.datetime(2026, 6, 2, 9, 10), tick=False):
        assert "提出 0 项" in qms("kpi", "propose").output   # once per KPI, period and group
    pending = proposals(ws)
    assert [p["key"] for p in pending] == ["reports/2026-04"]
    manager = get_user(ws, "tester")                      # may release documents: the quality manager
    items = todo_items(ws, manager)
    assert len(items) == 1 and "现场服务月度量 2026-04" in items[0]["title"]
    assert todo_items(ws, get_user(ws, "auditor")) == []
    with time_machine.travel(dt.datetime(2026, 6, 2, 9, 20), tick=False):
        out = qms("kpi", "accept", "reports/2026-04").output
    assert proposals(ws) == [] and todo_items(ws, manager) == []
    trail = (qms.archive / "audit.log").read_text(encoding="utf-8")
    assert trail.count('"kpi.capa_proposed"') == 1 and '"kpi.capa_accepted"' in trail
    # accepting opened the CAPA it asked for: numbered like every record, naming the KPI and period
    assert "开立 CAPA-2026-0001" in out
    capa = qms.json("capa", "show", "CAPA-2026-0001")
    assert "现场服务月度量" in json.dumps(capa, ensure_ascii=False) or "reports 2026-04" in capa["title"]
