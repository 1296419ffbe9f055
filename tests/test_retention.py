"""The records keeper's session: what is due, legal holds, the purge and its disposal certificate,
the yearly volume (每年汇编成册) — and the retention arithmetic underneath."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from qms.domain.forms import Retention, add_period
from qms.adapters.pdf import pdf_text

from conftest import DATA, PASSWORDS, Qms, copy_into, example_data, make_scan, release_procedure, snapshot, write_data, make_workspace

AS_OF = "2026-11-23"


def file_on(qms: Qms, form_id: str, on: str, sample: str | None = None, **changes) -> str:
    """File the shipped sample of a form (or of `sample`) as made on `on` (a migrated paper record);
    returns its number."""
    path = write_data(qms, example_data(sample or form_id, **changes), f"{form_id}-{on}.yaml")
    return qms.json("record", "file", form_id, "--data", path, "--on", on, "--no-pdf")["number"]


def manifests(qms: Qms, number: str) -> dict[str, str]:
    """{'v1/name': sha256} for every version of a record, read from its manifests."""
    record_dir = (qms.root / qms.json("record", "show", number)["versions"][0]["folder"]).parent
    out = {}
    for vdir in sorted(p for p in record_dir.iterdir() if p.is_dir()):
        files = json.loads((vdir / "manifest.json").read_text(encoding="utf-8"))["files"]
        out |= {f"{vdir.name}/{name}": entry["sha256"] for name, entry in files.items()}
    return out


def purge(qms: Qms, *args: str) -> dict:
    """The keeper's `qms purge` (a proposal), approved by the 管理者代表 with his password: what the
    disposal did (certificate, disposed)."""
    proposal = qms.json("purge", *args, "--yes")["proposal"]
    if proposal is None:
        return {"certificate": None, "disposed": []}
    return qms.as_("liujun").json("disposal", "approve", proposal, "--password-stdin",
                                  input=PASSWORDS["liujun"] + "\n")


def record_dir(qms: Qms, number: str) -> Path:
    return (qms.root / qms.json("record", "show", number)["versions"][0]["folder"]).parent


# ------------------------------------------------------------------ retention arithmetic

@pytest.mark.parametrize("start,n,unit,end", [
    ("2019-04-15", 5, "y", "2024-04-15"),
    ("2024-02-29", 5, "y", "2029-02-28"),      # no 29 February in 2029
    ("2024-02-29", 4, "y", "2028-02-29"),
    ("2024-02-29", 12, "m", "2025-02-28"),
    ("2026-03-31", 18, "m", "2027-09-30"),     # no 31 September
    ("2026-08-31", 18, "m", "2028-02-29"),
    ("2026-12-31", 18, "m", "2028-06-30"),
    ("2026-01-31", 1, "m", "2026-02-28"),
    ("2026-12-15", 30, "d", "2027-01-14"),
    ("2024-02-15", 30, "d", "2024-03-16"),     # a leap February
])
def test_add_period(start, n, unit, end):
    assert add_period(dt.date.fromisoformat(start), n, unit) == dt.date.fromisoformat(end)


@pytest.mark.parametrize("period,anchor,field,record_date,data,until", [
    ("5y", "filed", "", "2019-04-15", {}, "2024-04-15"),
    ("5y", "year_end", "", "2019-04-15", {}, "2024-12-31"),
    ("5y", "year_end", "", "2019-12-31", {}, "2024-12-31"),
    ("18m", "year_end", "", "2026-03-01", {}, "2028-06-30"),
    ("30d", "filed", "", "2026-12-15", {}, "2027-01-14"),
    ("5y", "filed", "", "2024-02-29", {}, "2029-02-28"),
    ("5y", "field", "closed_date", "2019-04-15", {"closed_date": "2020-02-29"}, "2025-02-28"),
    ("18m", "field", "closed_date", "2019-04-15", {"closed_date": "2020-02-29T16:30"}, "2021-08-29"),
    ("5y", "field", "closed_date", "2019-04-15", {}, "2024-04-15"),     # field left blank: the record date
])
def test_retention_until(period, anchor, field, record_date, data, until):
    rule = Retention(period=period, anchor=anchor, anchor_field=field)
    assert rule.until(dt.date.fromisoformat(record_date), data) == dt.date.fromisoformat(until)


def test_permanent_retention_has_no_end():
    assert Retention(period="permanent", anchor="filed").until(dt.date(2019, 1, 1), {}) is None


@pytest.mark.parametrize("period, anchor, field, zh, en", [
    ("5y", "year_end", "", "自记录当年年末起5年", "5y from year_end"),
    ("5y", "filed", "", "自记录日期起5年", "5y from filed"),
    ("18m", "field", "due_date", "自due_date起18个月", "18m from field:due_date"),
    ("30d", "filed", "", "自记录日期起30天", "30d from filed"),
    ("permanent", "filed", "", "永久保存", "permanent from filed"),
])
def test_a_retention_rule_reads_in_the_workspace_language(period, anchor, field, zh, en):
    rule = Retention(period=period, anchor=anchor, anchor_field=field)
    assert (rule.reads("zh-CN"), rule.reads("en"), rule.describe()) == (zh, en, en)


def test_retention_until_is_shown_per_form_rule(qms):
    filed = file_on(qms, "QR-SV-022-03", "2024-02-29")             # 5y from filed
    year_end = file_on(qms, "QR-SV-022-04", "2024-02-29")           # 5y from year_end
    assert qms.json("record", "show", filed)["retention_until"] == "2029-02-28"
    assert qms.json("record", "show", year_end)["retention_until"] == "2029-12-31"
    listed = {r["number"]: r["retention_until"] for r in qms.records()}
    assert listed == {filed: "2029-02-28", year_end: "2029-12-31"}


def test_the_last_day_of_retention_is_still_kept(qms):
    # 产品服务信息记录表 is kept 5 years from filing: the one filed on 2021-11-23 is kept through 2026-11-23.
    past = file_on(qms, "QR-SV-022-03", "2021-11-22")
    last_day = file_on(qms, "QR-SV-022-03", "2021-11-23")
    other = file_on(qms, "QR-SV-022-01", "2020-06-01")
    report = qms.json("retention", "report", "--as-of", AS_OF)
    assert [d["number"] for d in report["due"]] == [other, past]
    assert last_day not in json.dumps(report)
    only = qms.json("retention", "report", "--as-of", AS_OF, "--form", "QR-SV-022-03")
    assert [d["number"] for d in only["due"]] == [past]
    assert [d["number"] for d in qms.json("retention", "report", "--as-of", "2026-11-24", "--form",
                                          "QR-SV-022-03")["due"]] == [past, last_day]
    # a purge limited to one form leaves the others' due records alone
    result = purge(qms, "--as-of", AS_OF, "--form", "QR-SV-022-03")
    assert result["disposed"] == [past]
    assert qms.json("record", "show", other)["status"] == "filed"
    assert qms.json("record", "show", last_day)["status"] == "filed"
    assert [d["number"] for d in qms.json("retention", "report", "--as-of", AS_OF)["due"]] == [other]


# ------------------------------------------------------------------ the disposal session

def test_records_of_2019_are_disposed_and_those_of_2024_kept(qms, tmp_path):
    # Records migrated from paper: 2019 and 2024, three forms, all kept 5 years.
    old = {
        "info": file_on(qms, "QR-SV-022-03", "2019-04-15"),            # 5y from filed → 2024-04-15
        "signed": file_on(qms, "QR-SV-022-02", "2019-06-01"),          # 5y from year_end → 2024-12-31
        "held": file_on(qms, "QR-SV-022-02", "2019-09-10", customer="鞍钢集团矿业公司"),
        "amended": file_on(qms, "QR-SV-022-01", "2019-03-01"),
    }
    new = [file_on(qms, "QR-SV-022-03", "2024-05-20"), file_on(qms, "QR-SV-022-02", "2024-03-01"),
           file_on(qms, "QR-SV-022-01", "2024-07-08")]
    scan = make_scan(tmp_path / "signed.pdf", "QR-SV-022-02-2019-0001 signed: Wang Haitao")
    qms("record", "sign", old["signed"], "--scan", scan, "--signer", "王海涛")
    fix = write_data(qms, example_data("QR-SV-022-01", contact="王海涛（设备科）"), "notice-fix.yaml")
    qms("record", "amend", old["amended"], "--data", fix, "--reason", "联系人补全", "--no-pdf")

    # What is due at 2026-11-23: exactly the 2019 records, grouped by form.
    report = qms.json("retention", "report", "--as-of", AS_OF)
    assert sorted(d["number"] for d in report["due"]) == sorted(old.values())
    assert {d["number"]: d["held"] for d in report["due"]} == {n: False for n in old.values()}
    assert report["by_form"] == {"QR-SV-022-01": [old["amended"]], "QR-SV-022-02": [old["signed"], old["held"]],
                                 "QR-SV-022-03": [old["info"]]}
    info = next(d for d in report["due"] if d["number"] == old["info"])
    assert (info["form"], info["record_date"], info["retention_until"]) == ("QR-SV-022-03", "2019-04-15", "2024-04-15")

    # A legal hold: the 鞍钢 report is evidence in a dispute.
    assert "hold placed" in qms("hold", "add", old["held"], "--reason", "用户投诉纠纷，法务部要求保留").output
    assert [(h["number"], h["reason"]) for h in qms.json("hold", "list")] == [(old["held"], "用户投诉纠纷，法务部要求保留")]
    assert qms.json("record", "show", old["held"])["held"] is True
    report = qms.json("retention", "report", "--as-of", AS_OF)
    assert {d["number"]: d["held"] for d in report["due"]} == {n: n == old["held"] for n in old.values()}
    assert (report["disposable"], report["held"]) == (3, 1)
    held_line = next(line for line in qms("retention", "report", "--as-of", AS_OF).output.splitlines()
                     if old["held"] in line)
    assert "冻结" in held_line          # the workspace reads Chinese (locale zh-CN)
    heads = [line for line in qms("retention", "report", "--as-of", AS_OF).output.splitlines()
             if "保存期限" in line]
    assert heads == ["QR-SV-022-01 (1)  保存期限 自记录当年年末起5年", "QR-SV-022-02 (2)  保存期限 自记录当年年末起5年",
                     "QR-SV-022-03 (1)  保存期限 自记录日期起5年"]       # each form's rule, in Chinese

    doomed = sorted(n for k, n in old.items() if k != "held")
    hashes = {n: manifests(qms, n) for n in doomed}
    on_disk = {n: {p.relative_to(record_dir(qms, n)).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in record_dir(qms, n).rglob("*") if p.is_file() and p.name != "manifest.json"}
               for n in doomed}
    assert hashes == on_disk                                    # the manifests tell the truth about the files
    assert f"v1/signed-scan.pdf" in hashes[old["signed"]] and "v2/data.yaml" in hashes[old["amended"]]
    kept = {n: snapshot(record_dir(qms, n)) for n in new + [old["held"]]}
    folders = {n: record_dir(qms, n) for n in doomed}

    # --dry-run says what would go and changes nothing.
    before = snapshot(qms.archive)
    dry = qms.json("purge", "--as-of", AS_OF, "--dry-run")
    assert dry["certificate"] is None and sorted(dry["disposed"]) == doomed
    assert "would dispose of 3 records" in qms("purge", "--as-of", AS_OF, "--dry-run").output
    assert snapshot(qms.archive) == before

    # The purge: the keeper proposes, the 管理者代表 approves.
    result = purge(qms, "--as-of", AS_OF)
    assert {"certificate", "disposed"} <= set(result)
    cert = result["certificate"]
    assert cert == "DC-2026-0001" and sorted(result["disposed"]) == doomed

    # Gone from the files …
    assert not any(f.exists() for f in folders.values())
    assert {n: snapshot(record_dir(qms, n)) for n in kept} == kept     # … nothing else touched
    # … and from the catalog: show says disposed, when, by which certificate.
    for n in doomed:
        shown = qms.json("record", "show", n)
        assert (shown["status"], shown["certificate"]) == ("disposed", cert)
        assert shown["disposed_at"][:10] == dt.date.today().isoformat() and shown["files"] == {}
        text = qms("record", "show", n).output
        assert "DISPOSED" in text and cert in text
    assert sorted(r["number"] for r in qms.records()) == sorted(new + [old["held"]])
    assert qms.json("retention", "report", "--as-of", AS_OF)["due"] == [
        {"number": old["held"], "form": "QR-SV-022-02", "record_date": "2019-09-10",
         "retention_until": "2024-12-31", "held": True}]

    # The certificate (销毁记录): every disposed number and the SHA-256 of every file destroyed.
    disposals = qms.json("disposal", "list")["items"]
    assert [(d["certificate"], d["count"], d["as_of"], d["actor"], d["proposed_by"]) for d in disposals] == \
        [(cert, 3, AS_OF, "liujun 刘军", "tester 测试员")]
    folder = qms.root / disposals[0]["folder"]
    body = json.loads((folder / "certificate.json").read_text(encoding="utf-8"))
    assert body["certificate"] == cert and body["authorised_by"] == "liujun 刘军" and body["as_of"] == AS_OF
    assert body["proposed_by"] == "tester 测试员"
    assert sorted(r["number"] for r in body["records"]) == doomed
    for r in body["records"]:
        assert {f["file"]: f["sha256"] for f in r["files"]} == hashes[r["number"]]
    signed = next(r for r in body["records"] if r["number"] == old["signed"])
    assert (signed["form"], signed["record_date"], signed["retention_until"]) == ("QR-SV-022-02", "2019-06-01",
                                                                                 "2024-12-31")
    assert {f["file"]: f["sha256"] for f in signed["files"]}["v1/signed-scan.pdf"] == \
        hashlib.sha256(scan.read_bytes()).hexdigest()
    pdf = folder / "certificate.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "记录销毁证明" in text and cert in text and "tester 测试员" in text and "liujun 刘军" in text

    # The audit log records the purge; verify is clean afterwards.
    entry = qms.log()[-1]
    assert (entry["action"], entry["target"], entry["actor"]) == ("purge", cert, "liujun 刘军")
    assert sorted(entry["data"]["disposed"]) == doomed and entry["data"]["as_of"] == AS_OF
    assert qms.json("verify")["ok"] is True

    # A new filing never reuses a disposed number.
    assert file_on(qms, "QR-SV-022-02", "2019-12-01") == "QR-SV-022-02-2019-0003"
    assert file_on(qms, "QR-SV-022-03", "2019-12-01") == "QR-SV-022-03-2019-0002"

    # The dispute is settled: the hold is released and the next purge takes the record.
    assert "hold released" in qms("hold", "release", old["held"], "--reason", "纠纷已结案").output
    assert qms.json("hold", "list") == []
    second = purge(qms, "--as-of", AS_OF)
    assert second["certificate"] == "DC-2026-0002"
    assert sorted(second["disposed"]) == sorted([old["held"], "QR-SV-022-02-2019-0003", "QR-SV-022-03-2019-0002"])
    assert [d["certificate"] for d in qms.json("disposal", "list")["items"]] == ["DC-2026-0002", cert]   # newest first
    assert "nothing to dispose" in qms("purge", "--as-of", AS_OF, "--yes").output
    assert len(qms.json("disposal", "list")["items"]) == 2                      # no empty certificate
    # the record's own trail ends with its disposal
    assert [e["action"] for e in qms.log("--target", old["held"])][-4:] == ["hold.add", "hold.release",
                                                                                   "disposal.propose", "purge"]
    assert qms.json("verify")["ok"] is True


def test_disposed_records_leave_the_search_index(qms):
    pytest.importorskip("qms.search.index")
    old = file_on(qms, "QR-SV-022-02", "2019-06-01", customer="鞍钢集团矿业公司")
    new = file_on(qms, "QR-SV-022-02", "2024-06-01", customer="本钢板材股份有限公司")
    assert [h["number"] for h in qms.json("search", "鞍钢集团")["hits"]] == [old]
    purge(qms, "--as-of", AS_OF)
    assert qms.json("search", "鞍钢集团")["hits"] == []
    assert [h["number"] for h in qms.json("search", "本钢板材")["hits"]] == [new]
    assert qms.json("verify")["ok"] is True


def test_purge_never_touches_controlled_documents(qms):
    number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"), issued="2019-01-10",
                               effective="2019-01-15")
    qms("doc", "obsolete", number, "--reason", "被新程序取代", "--on", "2019-06-01")
    documents = snapshot(qms.archive / "documents")
    assert documents
    file_on(qms, "QR-SV-022-01", "2019-03-01")
    # the document's dates are long past; the record's retention ended 2024-12-31 (the clock: today)
    assert len(purge(qms)["disposed"]) == 1
    assert snapshot(qms.archive / "documents") == documents
    assert qms.json("doc", "show", number, "--as-of", "2099-12-31")["status"] == "obsolete"
    assert qms.json("verify")["ok"] is True


# ------------------------------------------------------------------ the yearly volume

def test_yearly_volume_has_a_bookmark_and_pages_per_record_with_scans_after_their_record(qms, tmp_path):
    numbers = [file_on(qms, "QR-SV-022-02", day, customer=customer) for day, customer in
               [("2025-02-10", "华东电力设备有限公司"), ("2025-05-20", "安徽皖江水泥有限公司"),
                ("2025-09-03", "江苏远航船舶重工有限公司")]]
    other_year = file_on(qms, "QR-SV-022-02", "2024-11-11")
    other_form = file_on(qms, "QR-SV-022-01", "2025-05-19")
    make_scan(tmp_path / "scan.pdf", "SIGNED SCAN OF QR-SV-022-02-2025-0002", pages=2)
    qms("record", "sign", numbers[1], "--scan", tmp_path / "scan.pdf", "--signer", "李红梅", "--signer-role", "设备科长")

    volume = tmp_path / "现场服务报告-2025.pdf"
    out = qms("compile", "--form", "QR-SV-022-02", "--year", "2025", "-o", volume).output
    assert "compiled 3 records" in out

    reader = PdfReader(volume)
    top = [o for o in reader.outline if not isinstance(o, list)]
    assert len(top) == 3                                               # one bookmark per record, in number order
    assert [next(n for n in numbers if n in o.title) for o in top] == numbers
    assert all(other_year not in o.title and other_form not in o.title for o in top)
    starts = [reader.get_destination_page_number(o) for o in top]
    pages = [(p.extract_text() or "").replace("\x00", "") for p in reader.pages]   # fpdf2 CJK text has NULs
    assert len(pages) >= 1 + 3 + 2                                     # cover, ≥ 1 page per record, the scan
    assert starts[0] >= 1 and starts == sorted(starts)
    for n, first, nxt in zip(numbers, starts, starts[1:] + [len(pages)]):
        assert nxt - first >= 1
        assert n in pages[first], f"{n} not on its bookmarked page"
    cover = pages[0]
    assert "现场服务报告" in cover and "2025" in cover and all(n in cover for n in numbers)

    # The signed scan follows its record: a child bookmark, its two pages before the next record.
    children = reader.outline[reader.outline.index(top[1]) + 1]
    assert isinstance(children, list) and len(children) == 1 and numbers[1] in children[0].title
    scan_at = reader.get_destination_page_number(children[0])
    assert starts[1] < scan_at and scan_at + 2 == starts[2]
    assert "SIGNED SCAN OF QR-SV-022-02-2025-0002" in pages[scan_at] and "page 2 of 2" in pages[scan_at + 1]

    # The PDFs compile made are kept with their records, hashed and logged.
    for n in numbers:
        shown = qms.json("record", "show", n)
        assert "pdf" in shown["files"], n
        pdf = qms.root / shown["files"]["pdf"]
        manifest = json.loads((pdf.parent / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["files"][pdf.name]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    log = qms.log()
    assert sorted(e["target"] for e in log if e["action"] == "record.pdf") == numbers
    assert log[-1]["action"] == "record.compile" and log[-1]["data"]["records"] == 3
    assert "pdf" not in qms.json("record", "show", other_year)["files"]    # not in this volume: not converted
    assert qms.json("verify")["ok"] is True


def test_yearly_volume_of_a_monthly_numbered_form_is_in_number_order(qms, tmp_path):
    # A form added by the user numbers per month: 2025-01's sequence restarts in 2025-02.
    schema = (qms.root / "schemas" / "QR-SV-022-07.yaml").read_text(encoding="utf-8")
    (qms.root / "schemas" / "QR-SV-022-17.yaml").write_text(
        schema.replace("id: QR-SV-022-07", "id: QR-SV-022-17").replace(
            "title: 服务日志", "title: 月度服务日志\nnumbering: '{form}-{year}{month:02d}-{seq:03d}'"), encoding="utf-8")
    qms.apply_config()
    filed = [file_on(qms, "QR-SV-022-17", day, sample="QR-SV-022-07") for day in ("2025-02-03", "2025-01-20", "2025-01-25")]
    assert filed == ["QR-SV-022-17-202502-001", "QR-SV-022-17-202501-001", "QR-SV-022-17-202501-002"]
    volume = tmp_path / "V.pdf"
    qms("compile", "--form", "QR-SV-022-17", "--year", "2025", "-o", volume)
    titles = [o.title.split()[0] for o in PdfReader(volume).outline if not isinstance(o, list)]
    assert titles == sorted(filed)


# ------------------------------------------------------------------ bad input

@pytest.fixture(scope="module")
def purged(tmp_path_factory) -> Qms:
    """An archive after one purge as of 2026-11-23: two 2019 records disposed, one held, one of 2024 live."""
    qms = make_workspace(tmp_path_factory.mktemp("purged") / "ws")
    file_on(qms, "QR-SV-022-01", "2019-03-01")                         # → disposed
    file_on(qms, "QR-SV-022-01", "2019-05-01")                         # → held
    file_on(qms, "QR-SV-022-01", "2024-03-01")
    file_on(qms, "QR-SV-022-03", "2019-08-01")                         # → disposed
    qms("hold", "add", "QR-SV-022-01-2019-0002", "--reason", "审核取证")
    purge(qms, "--as-of", AS_OF)
    return qms


BAD = {
    "hold an unknown number": (["hold", "add", "QR-SV-022-01-2019-0099", "--reason", "x"],
                               ["QR-SV-022-01-2019-0099", "unknown record"]),
    "release an unknown number": (["hold", "release", "QR-SV-022-01-2019-0099", "--reason", "x"],
                                  ["QR-SV-022-01-2019-0099", "unknown record"]),
    "show an unknown number": (["record", "show", "QR-SV-022-01-2019-0099"], ["QR-SV-022-01-2019-0099"]),
    "hold a disposed record": (["hold", "add", "QR-SV-022-01-2019-0001", "--reason", "x"],
                               ["QR-SV-022-01-2019-0001", "disposed", "DC-2026-0001"]),
    "release a record not held": (["hold", "release", "QR-SV-022-01-2024-0001", "--reason", "x"],
                                  ["QR-SV-022-01-2024-0001", "not on hold"]),
    "release a disposed record": (["hold", "release", "QR-SV-022-01-2019-0001", "--reason", "x"],
                                  ["QR-SV-022-01-2019-0001", "disposed"]),
    "hold twice": (["hold", "add", "QR-SV-022-01-2019-0002", "--reason", "x"], ["already on hold"]),
    "hold without a reason": (["hold", "add", "QR-SV-022-01-2024-0001", "--reason", " "], ["reason"]),
    "purge before the earlier purge": (["purge", "--as-of", "2026-11-22", "--yes"], ["2026-11-22", AS_OF]),
    "dry run before the earlier purge": (["purge", "--as-of", "2025-01-01", "--dry-run"], ["2025-01-01", AS_OF]),
    "purge as of an impossible date": (["purge", "--as-of", "2026-02-30", "--yes"], ["2026-02-30"]),
    "purge as of a day after today": (["purge", "--as-of", "2999-01-01", "--yes"], ["2999-01-01", "after today"]),
    "show an unknown proposal": (["disposal", "show", "DR-2026-0099"], ["DR-2026-0099", "unknown"]),
    "report as of an impossible date": (["retention", "report", "--as-of", "2026-02-30"], ["2026-02-30"]),
    "amend a disposed record": (["record", "amend", "QR-SV-022-01-2019-0001", "--data", "QR-SV-022-01-2019-03-01.yaml",
                                 "--reason", "x"], ["QR-SV-022-01-2019-0001", "disposed"]),
    "compile a year with no records": (["compile", "--form", "QR-SV-022-01", "--year", "2023", "-o", "V.pdf"],
                                       ["QR-SV-022-01", "2023", "no records"]),
    "compile a year whose records are disposed": (["compile", "--form", "QR-SV-022-03", "--year", "2019",
                                                   "-o", "V.pdf"], ["2019", "no records"]),
    "compile an unknown form": (["compile", "--form", "QR-XX-999", "--year", "2024", "-o", "V.pdf"], ["QR-XX-999"]),
    "compile to a docx": (["compile", "--form", "QR-SV-022-01", "--year", "2024", "-o", "V.docx"], ["pdf"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_and_changes_nothing(purged, case, tmp_path):
    args, words = BAD[case]
    args = [str(tmp_path / a) if a.startswith("V.") else str(purged.root / a) if a.endswith(".yaml") else a
            for a in args]
    before = snapshot(purged.archive)
    msg = purged.fail(*args)
    for word in words:
        assert word in msg, (word, msg)
    assert len(msg.strip().splitlines()) == 1
    assert snapshot(purged.archive) == before
    assert not list(tmp_path.iterdir())                                # no volume written
