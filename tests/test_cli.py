"""The command line's own choices, as a user meets them (the services have their own tests)."""

from __future__ import annotations

from conftest import example_data, write_data


def test_record_pdf_converts_the_numbers_named_else_every_pending_one(qms):
    data = write_data(qms, example_data("QR-SV-022-04"), "call.yaml")
    first, second = (qms.json("record", "file", "QR-SV-022-04", "--data", data, "--no-pdf")["number"]
                     for _ in range(2))
    assert "converted 1 records" in qms("record", "pdf", first).output
    assert qms.json("record", "show", first)["files"].get("pdf")
    assert not qms.json("record", "show", second)["files"].get("pdf")
    assert qms("record", "pdf", second, "--pending", ok=False).exit_code == 2     # one or the other
    assert "converted 1 records" in qms("record", "pdf", "--pending").output     # the old command, unchanged
    assert "converted 0 records" in qms("record", "pdf").output
