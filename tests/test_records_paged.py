"""The records clerk and the auditor page through a long list: 120 calls filed over four years, read
newest first a page at a time — in the CLI, the JSON API and on the web page — filtered by form,
status, year and customer, with the form's name (not its code) and its list columns."""

from __future__ import annotations

import csv
import datetime as dt
import warnings

import pytest
import time_machine

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from conftest import REPO, PASSWORDS, make_workspace  # noqa: E402
from webkit import login  # noqa: E402

PHONE_LOG = REPO / "examples" / "records" / "phone-log-2026-03.csv"
FORM = "QR-SV-022-04"
CUSTOMERS = ["广州白云医院", "深圳人民医院", "佛山南海制药"]
YEARS = (2023, 2024, 2025, 2026)


def calls(year: int, count: int) -> list[dict]:
    with PHONE_LOG.open(encoding="utf-8") as f:
        sample = list(csv.DictReader(f))
    rows = []
    for i in range(count):
        row = dict(sample[i % len(sample)])
        row.update(call_date=f"{year}-05-{i % 28 + 1:02d}", caller=f"来电人{year}-{i + 1:02d}",
                   customer=CUSTOMERS[i % 3])
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """30 calls imported on 1 June of each of four years: 120 records, 2026's last row the newest."""
    q = make_workspace(tmp_path_factory.mktemp("paged") / "ws")
    for year in YEARS:
        path = q.root.parent / f"calls-{year}.csv"
        rows = calls(year, 30)
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        with time_machine.travel(dt.datetime(year, 6, 1, 9, 0, tzinfo=dt.timezone.utc), tick=False):
            q("login", "tester", "--password-stdin", input=PASSWORDS["tester"])
            q("record", "import", FORM, path, "--no-pdf")
    return q


def newest(year: int, n: int) -> list[str]:
    """The numbers of year `year`'s calls, the last filed first (an import files in row order)."""
    return [f"{FORM}-{year}-{s:04d}" for s in range(n, 0, -1)]


def test_the_cli_pages_newest_first_with_an_exact_total(archive):
    first = archive.json("record", "list")
    assert first["total"] == 120 and len(first["items"]) == 50 and first["next"] == 50
    assert [r["number"] for r in first["items"]] == newest(2026, 30) + newest(2025, 30)[:20]
    # the form's name and its list columns come with each record, read from the catalog
    item = first["items"][0]
    assert item["form"] == FORM and item["form_title"] == "服务电话记录"
    assert [c["label"] for c in item["columns"]][:2] == ["来电时间", "来电人"]
    assert item["columns"][1]["value"] == "来电人2026-30"
    third = archive.json("record", "list", "--offset", "100")
    assert [r["number"] for r in third["items"]] == newest(2023, 20)       # 2023's first twenty calls
    assert third["total"] == 120 and len(third["items"]) == 20 and third["next"] is None
    assert [r["number"] for r in third["items"]][-1] == f"{FORM}-2023-0001"       # the oldest last
    # every page together is every record once
    assert len({r["number"] for r in archive.records()}) == 120


def test_filters_by_year_customer_form_and_status(archive):
    y2024 = archive.json("record", "list", "--year", "2024", "--limit", "10")
    assert y2024["total"] == 30 and [r["number"] for r in y2024["items"]] == newest(2024, 30)[:10]
    guangzhou = archive.json("record", "list", "--customer", "白云", "--limit", "500")
    assert guangzhou["total"] == 40 and {r["customer"] for r in guangzhou["items"]} == {"广州白云医院"}
    both = archive.json("record", "list", "--customer", "深圳", "--year", "2025")
    assert both["total"] == 10 and all(r["number"].startswith(f"{FORM}-2025-") for r in both["items"])
    assert archive.json("record", "list", "--form", "QR-SV-022-01")["total"] == 0
    assert archive.json("record", "list", "--status", "filed")["total"] == 120      # calls need no signature
    assert archive.json("record", "list", "--status", "awaiting_signature") == {"total": 0, "items": [], "next": None}


def test_the_text_list_says_which_part_of_how_many(archive):
    out = archive("record", "list", "--limit", "5").output
    assert f"{FORM}-2026-0030" in out and f"{FORM}-2026-0025" not in out
    assert "共 120 条，显示第 1–5 条；下一页 --offset 5" in out
    for wrong in ("0", "501"):          # a page is 1 to 500 records: anything else is a usage mistake
        r = archive("record", "list", "--limit", wrong, ok=False)
        assert r.exit_code == 2 and "--limit" in r.output and "Traceback" not in r.output


def client(archive, who: str = "auditor"):
    from qms.web import create_app
    c = TestClient(create_app(archive.root), base_url="http://127.0.0.1")
    login(c, who)
    return c


def test_the_api_answers_a_page_and_the_url_of_the_next(archive):
    c = client(archive)
    page = c.get("/api/records", params={"limit": 50}).json()
    assert page["total"] == 120 and len(page["items"]) == 50
    assert [r["number"] for r in page["items"]][:3] == newest(2026, 30)[:3]
    assert page["next"] == "/api/records?limit=50&offset=50"
    second = c.get(page["next"]).json()
    assert second["items"][0]["number"] == newest(2025, 30)[20] and second["next"] == "/api/records?limit=50&offset=100"
    last = c.get(second["next"]).json()
    assert len(last["items"]) == 20 and last["next"] is None
    # the API's page is the CLI's page
    assert page == {**archive.json("record", "list"), "next": page["next"]}
    # a page can be opened directly; a limit past the cap is answered with the cap; filters stay in next
    assert c.get("/api/records", params={"offset": 119}).json()["items"][0]["number"] == f"{FORM}-2023-0001"
    big = c.get("/api/records", params={"limit": 100000}).json()
    assert len(big["items"]) == 120 and big["next"] is None
    filtered = c.get("/api/records", params={"year": 2024, "customer": "佛山", "limit": 4}).json()
    assert filtered["total"] == 10 and "year=2024" in filtered["next"] and "customer=" in filtered["next"]
    assert c.get("/api/records", params={"limit": "many"}).status_code == 400


def test_the_web_list_shows_fifty_newest_with_form_names_and_pages(archive):
    c = client(archive)
    html = c.get("/records").text
    assert "共 120 条记录" in html and "服务电话记录" in html and "第 1 / 3 页" in html
    assert f"{FORM}-2026-0030" in html and f"{FORM}-2025-0010" not in html
    assert html.index(f"{FORM}-2026-0030") < html.index(f"{FORM}-2026-0029")
    page3 = c.get("/records", params={"page": 3}).text
    assert f"{FORM}-2023-0001" in page3 and "第 3 / 3 页" in page3
    one = c.get("/records", params={"customer": "深圳", "year": "2023"}).text
    assert "共 10 条记录" in one and "广州白云医院" not in one
