"""Exit status as the README's "Exit status" table promises it, one kind of failure at a time:
0 done, 1 a mistake to fix (not found, conflict, bad input, refused), 2 click's usage error,
3 integrity, 4 a missing program, 5 a busy workspace."""

from __future__ import annotations

import re

from conftest import REPO, example_data, write_data

from qms.base import errors


def _readme_statuses() -> dict[int, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d) \| (.+) \|$", section, re.M)}


def test_each_error_class_exits_with_the_status_the_readme_gives_it():
    statuses = _readme_statuses()
    assert set(statuses) == {0, 1, 2, 3, 4, 5}
    for cls in (errors.QmsError, errors.NotFound, errors.Conflict, errors.InvalidInput, errors.Refused):
        assert cls.exit_code == 1, cls
    assert errors.Integrity.exit_code == 3 and "integrity" in statuses[3]
    assert errors.ToolMissing.exit_code == 4 and "LibreOffice" in statuses[4]
    assert errors.Busy.exit_code == 5 and "busy" in statuses[5] and not issubclass(errors.Busy, errors.Integrity)


def test_a_user_sees_each_status_from_the_command_line(qms, monkeypatch):
    assert qms("verify").exit_code == 0
    # 1: a number that does not exist, a login that exists already, a file that is not valid, a refusal
    assert "NO-SUCH-1" in qms.fail("record", "show", "NO-SUCH-1")
    assert "exists already" in qms.as_("admin").fail("user", "add", "tester", "--name", "某人", "--roles", "clerk",
                                                      "--password-stdin", input="x\n")
    (qms.root / "bad.yaml").write_text("number: [\n", encoding="utf-8")
    assert "malformed YAML" in qms.fail("doc", "check", qms.root / "bad.yaml")
    assert "refusing to write inside the archive" in qms.fail("form", "blank", "QR-SV-022-01",
                                                               "-o", qms.archive / "blank.docx")
    # 2: click's own usage error
    assert qms("record", "pdf", "--no-such-option", ok=False).exit_code == 2
    # 4: LibreOffice missing
    monkeypatch.setenv("QMS_SOFFICE", str(qms.root / "no-such-soffice"))
    missing = qms("form", "blank", "QR-SV-022-01", "-o", qms.root / "blank.pdf", ok=False)
    assert missing.exit_code == 4 and "LibreOffice" in missing.output and "Traceback" not in missing.output
    # 3: verify finds an archived file changed behind qms's back
    data = write_data(qms, example_data("QR-SV-022-04"), "call.yaml")
    number = qms.json("record", "file", "QR-SV-022-04", "--data", data, "--no-pdf")["number"]
    docx = next(qms.archive.rglob(f"{number}.docx"))
    docx.write_bytes(docx.read_bytes() + b"tampered")
    result = qms("verify", ok=False)
    assert result.exit_code == 3 and "PROBLEM" in result.output
