"""The KPI dashboard and the records behind a number on the web (issue 24); the page looked at as a
picture in test_kpi_visual.py."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from webkit import login  # noqa: E402
from test_kpi import generate, write_csvs  # noqa: E402


def test_dashboard_shows_targets_red_green_and_drills_down(qms):
    notices, reports = generate()
    a, b = write_csvs(qms.root, notices, reports)
    qms("record", "import", "QR-SV-022-01", a, "--no-pdf")
    qms("record", "import", "QR-SV-022-02", b, "--no-pdf")
    from qms.web import create_app
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c, "auditor")
    page = c.get("/kpi")
    assert page.status_code == 200
    for title in ("平均响应时间", "一次修复率", "用户满意率", "服务电话月度量"):
        assert title in page.text
    assert "目标 ≤ 24.0 小时" in page.text and "目标 ≥ 90.0%" in page.text
    assert "kpi-met" in page.text and "kpi-missed" in page.text     # 2026-05: met and missed KPIs
    svg = c.get("/kpi/response-time/chart.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text
    drill = c.get("/kpi/response-time/2026-03")
    march = [r for r in reports if r["day"].isoformat()[:7] == "2026-03"]
    assert drill.status_code == 200 and drill.text.count('href="/records/QR-SV-022-02-') == len(march)
    assert c.get("/kpi/nosuch/chart.svg").status_code == 404
