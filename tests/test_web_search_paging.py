"""The search page and /api/search beyond the count cap (issue 21): the total shown is one the
pages can reach, every reachable page opens directly, a page beyond is clamped (page) or refused
(API) saying why; sorted by relevance or by date either way."""

from __future__ import annotations

import datetime
import re
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from webkit import login  # noqa: E402


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from conftest import make_workspace
    from qms.search import IndexDoc, SearchIndex
    from qms.web import create_app
    q = make_workspace(tmp_path_factory.mktemp("paging") / "ws")
    cfg = q.root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("count_cap: 1000", "count_cap: 50"), encoding="utf-8")
    q.apply_config()
    docs = [IndexDoc(number=f"QR-P-{i:04d}", kind="record", form="QR-P", title="服务记录",
                     text=f"更换滤芯，第{i}台" if i % 2 else f"回访客户，第{i}台", customer="", people=[],
                     status="filed", date=datetime.date(2025, 1, 1) + datetime.timedelta(days=(i * 7) % 300))
            for i in range(160)]
    SearchIndex(q.root / "archive" / "index").rebuild(docs)
    yield create_app(q.root), docs


def client(app) -> TestClient:
    c = TestClient(app, base_url="http://127.0.0.1")
    login(c, "auditor")
    return c


def test_beyond_the_cap_the_page_says_50_plus_and_reaches_the_first_50(app):
    a, docs = app
    c = client(a)
    html = c.get("/search", params={"q": "滤芯"}).text
    assert re.search(r'id="total">50\+<', html)
    assert "第 1 / 3 页" in html                                     # 50 reachable: three pages of 20
    last = c.get("/search", params={"q": "滤芯", "page": 3}).text
    assert len(re.findall(r'class="hit-title"', last)) == 10 and 'id="page-note"' not in last
    beyond = c.get("/search", params={"q": "滤芯", "page": 40})
    assert beyond.status_code == 200 and "第 3 / 3 页" in beyond.text
    assert "只能翻到前 50 条结果" in beyond.text


def test_a_page_beyond_the_results_shows_the_last_one(app):
    a, docs = app
    c = client(a)
    holding = [d for d in docs if "第15" in d.text]                      # 第15台 and 第150…159台
    html = c.get("/search", params={"q": "第15", "page": 2}).text
    assert f'id="total">{len(holding)}<' in html and "已显示最后一页" in html


def test_api_refuses_an_offset_beyond_the_cap_and_sorts_by_date(app):
    a, docs = app
    c = client(a)
    r = c.get("/api/search", params={"q": "滤芯", "offset": 40, "limit": 20})
    assert r.status_code == 200 and r.json()["total"] == 50 and r.json()["total_exact"] is False
    assert len(r.json()["hits"]) == 10                                  # up to the 50th hit, no further
    r = c.get("/api/search", params={"q": "滤芯", "offset": 60})
    assert r.status_code == 400 and "beyond the first 50 hits" in r.json()["error"]
    holding = sorted(d.date.isoformat() for d in docs if "滤芯" in d.text)
    oldest = c.get("/api/search", params={"q": "滤芯", "sort": "oldest", "limit": 20}).json()["hits"]
    assert [h["date"] for h in oldest] == holding[:20]
    newest = c.get("/api/search", params={"q": "滤芯", "sort": "newest", "limit": 20}).json()["hits"]
    assert [h["date"] for h in newest] == holding[::-1][:20]
    r = c.get("/api/search", params={"q": "滤芯", "sort": "random"})
    assert r.status_code == 400 and "unknown sort" in r.json()["error"]
    page = c.get("/search", params={"q": "滤芯", "sort": "random"})
    assert page.status_code == 400 and "排序方式“random”不存在" in page.text
    html = c.get("/search", params={"q": "滤芯", "sort": "oldest"}).text
    assert '<option value="oldest" selected>' in html and "sort=oldest" in html
