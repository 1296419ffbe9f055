"""The auditor reads the audit trail a page at a time, from the catalog's indexed audit_trail table
— the journal's projection: `qms rebuild` refills it, `qms verify` finds a row that differs from
the journal, and a catalog made before the table existed is filled the first time it is opened."""

from __future__ import annotations

import json
import sqlite3
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from conftest import example_data, write_data  # noqa: E402
from webkit import login  # noqa: E402


def journal(q) -> list[dict]:
    """audit.log, line by line: the truth the table is compared with."""
    return [json.loads(line) for line in (q.archive / "audit.log").read_text(encoding="utf-8").splitlines()]


def table(q) -> list[tuple]:
    conn = sqlite3.connect(q.archive / "catalog.sqlite")
    try:
        return conn.execute("SELECT * FROM audit_trail ORDER BY seq").fetchall() + \
            conn.execute("SELECT * FROM audit_numbers ORDER BY number, seq").fetchall()
    finally:
        conn.close()


def edit(q, sql: str) -> None:
    conn = sqlite3.connect(q.archive / "catalog.sqlite")
    with conn:
        conn.executescript(sql)
    conn.close()


@pytest.fixture
def filed(qms):
    """Twelve service notices filed one by one: with the workspace's own entries, a trail of some length."""
    data = write_data(qms, example_data("QR-SV-022-01"), "notice.yaml")
    numbers = [qms.json("record", "file", "QR-SV-022-01", "--data", data, "--no-pdf")["number"] for _ in range(12)]
    return qms, numbers


def test_qms_log_pages_newest_first_with_the_exact_total(filed):
    q, numbers = filed
    entries = journal(q)
    first = q.json("log", "--limit", "5")
    assert first["total"] == len(entries) and first["next"] == 5
    assert [e["seq"] for e in first["items"]] == [e["seq"] for e in entries[::-1][:5]]
    assert first["items"][0]["target"] == numbers[-1] and first["items"][0]["action"] == "record.file"
    # an entry reads as the journal holds it
    newest = entries[-1]
    assert {k: first["items"][0][k] for k in ("seq", "at", "actor", "action", "target", "data", "hash", "prev")} == \
        {k: newest[k] for k in ("seq", "at", "actor", "action", "target", "data", "hash", "prev")}
    # following `next` to the end gives the whole journal once, oldest first when reversed
    assert [e["seq"] for e in q.log()] == [e["seq"] for e in entries]
    last = q.json("log", "--offset", str(len(entries) - 2))
    assert len(last["items"]) == 2 and last["next"] is None and last["items"][-1]["seq"] == 1


def test_qms_log_filters_by_target_action_actor_and_day(filed):
    q, numbers = filed
    about = q.json("log", "--target", numbers[3])
    assert about["total"] == 1 and about["items"][0]["target"] == numbers[3]
    files = q.json("log", "--action", "record.", "--limit", "3")
    assert files["total"] == 12 and [e["target"] for e in files["items"]] == numbers[::-1][:3]
    assert q.json("log", "--action", "record.file", "--actor", "tester")["total"] == 12
    assert q.json("log", "--action", "record.file", "--actor", "测试员")["total"] == 12   # the printed name
    assert q.json("log", "--actor", "liming", "--action", "record.")["total"] == 0
    # the day the journal's time falls on in the workspace's zone (Asia/Shanghai: after 16:00 UTC
    # that is tomorrow) — the day a person types in --from/--to
    from qms.base.dates import local_time
    from qms.store.workspace import open_workspace
    day = local_time(q.json("log")["items"][0]["at"], open_workspace(q.root))[:10]
    assert q.json("log", "--action", "record.file", "--from", day, "--to", day)["total"] == 12
    assert q.json("log", "--to", "2000-01-01")["total"] == 0
    assert "option --from" in q.fail("log", "--from", "someday")


def test_api_log_answers_total_items_next(filed):
    q, numbers = filed
    from qms.web import create_app
    c = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    login(c, "auditor")
    page = c.get("/api/log", params={"action": "record.file", "limit": 5}).json()
    assert page["total"] == 12 and [e["target"] for e in page["items"]] == numbers[::-1][:5]
    assert page["next"] == "/api/log?action=record.file&limit=5&offset=5"
    assert c.get(page["next"]).json()["items"][0]["target"] == numbers[-6]
    everything = c.get("/api/log", params={"limit": 10**6}).json()          # more than the cap: the cap
    assert everything["total"] == len(journal(q)) and len(everything["items"]) == min(500, len(journal(q)))
    html = c.get("/log", params={"action": "record.file"}).text
    assert all(n in html for n in numbers)


def test_rebuild_refills_the_table_equal_and_verify_finds_an_edited_row(filed):
    q, numbers = filed
    before = table(q)
    assert len([r for r in before if isinstance(r[0], int)]) == len(journal(q))
    q("rebuild")
    assert table(q) == before
    assert q.json("verify")["ok"]
    # a row changed behind the journal's back: verify names it, with its own code
    edit(q, "UPDATE audit_trail SET actor='someone 某人', login='someone', name='某人' WHERE seq=3")
    report = q.json("verify", ok=False)
    (issue,) = report["issues"]
    assert issue["code"] == "TRAIL_DIFFERS" and "entry 3" in issue["message_en"] and "someone" in issue["message_en"]
    # a missing row and an extra one too
    edit(q, "DELETE FROM audit_trail WHERE seq=5;"
            "INSERT INTO audit_numbers(number, seq) VALUES('QR-FAKE-0001', 4)")
    issues = q.json("verify", ok=False)["issues"]
    assert {i["code"] for i in issues} == {"TRAIL_DIFFERS"}
    assert any("entry 5" in i["message_en"] and "missing" in i["message_en"] for i in issues)
    assert any("QR-FAKE-0001" in i["message_en"] for i in issues)
    q("rebuild")
    assert table(q) == before and q.json("verify")["ok"]


def test_a_catalog_from_before_the_table_is_filled_when_opened(filed):
    q, numbers = filed
    before = table(q)
    edit(q, "DROP TABLE audit_trail; DROP TABLE audit_numbers")
    page = q.json("log", "--target", numbers[0])            # the next command catches the table up
    assert page["total"] == 1 and page["items"][0]["action"] == "record.file"
    assert table(q) == before
    q("record", "file", "QR-SV-022-01", "--data", write_data(q, example_data("QR-SV-022-01"), "n.yaml"), "--no-pdf")
    assert q.json("log", "--limit", "1")["items"][0]["seq"] == len(journal(q))
    assert q.json("verify")["ok"]
