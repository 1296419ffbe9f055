"""An auditor's script reads what verify found by code, not by wording (README, "verify codes")."""

from __future__ import annotations

from qms.integrity.problems import CODES
from conftest import REPO
from test_records import phone_rows, write_csv


def _file_two_calls(qms):
    path = write_csv(qms.root / "calls.csv", phone_rows(2))
    return [r["number"] for r in qms.json("record", "import", "QR-SV-022-04", str(path), "--no-pdf")]


def test_a_changed_and_an_unlisted_file_come_with_codes_and_chinese_messages(qms):
    numbers = _file_two_calls(qms)
    assert qms.json("verify")["issues"] == []
    folder = next((qms.archive / "records").rglob(numbers[0])) / "v1"
    data = folder / "data.yaml"
    data.chmod(0o600)
    data.write_text(data.read_text(encoding="utf-8") + "# 改过\n", encoding="utf-8")
    (folder / "extra.txt").write_text("不该在这里", encoding="utf-8")
    report = qms.json("verify", ok=False)
    by_code = {i["code"]: i for i in report["issues"]}
    assert set(by_code) >= {"CONTENT_CHANGED", "UNLISTED_FILE"}
    changed = by_code["CONTENT_CHANGED"]
    assert changed["target"].endswith("/data.yaml") and "SHA-256" in changed["message_en"]
    assert changed["message"] == changed["message_zh"] and "内容已变" in changed["message"]   # zh-CN workspace
    assert by_code["UNLISTED_FILE"]["target"].endswith("/extra.txt")
    assert all(i["code"] in CODES for i in report["issues"])
    assert len(report["issues"]) == len(report["problems"])


def test_the_readme_lists_every_code():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert [c for c in CODES if f"`{c}`" not in readme] == []
