"""A release may carry a future 发布 date (issue 18): the revision is 待发布 until then, controlled
copies go out before it, its dates can be corrected with a reason while it waits, and on the day
it is current. The clock moves with time-machine, never with a product switch."""

from __future__ import annotations

import datetime as dt

import time_machine

from qms.adapters.pdf import pdf_text

from conftest import DATA, PASSWORDS, Qms, copy_into, release_procedure, snapshot

TODAY = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.timezone.utc)          # 09:00 in Shanghai


def relogin(qms: Qms) -> None:
    """The session idles out when the clock jumps a day: the tester logs in again that morning."""
    qms("login", "tester", "--password-stdin", input=PASSWORDS["tester"] + "\n")


def test_a_release_dated_tomorrow_waits_takes_copies_and_is_current_on_the_day(qms):
    with time_machine.travel(TODAY, tick=False) as clock:
        number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"), issued="2026-12-04",
                                   effective="2026-12-04", pdf=True)
        shown = qms.json("doc", "show", number)
        assert shown["status"] == "pending_release"
        assert "待发布" in qms("doc", "show", number).output
        assert "待发布" in qms("doc", "list").output
        copy = qms.json("doc", "issue-copy", number, "--holder", "物业服务中心")      # before 发布
        assert copy["copy_no"] == 1 and copy["revision"] == "A/0"
        assert "受控副本" in pdf_text(qms.root / copy["file"])

        clock.move_to(dt.datetime(2026, 12, 4, 1, 0, tzinfo=dt.timezone.utc))
        relogin(qms)
        assert qms.json("doc", "show", number)["status"] == "effective"
        assert number in {d["number"] for d in qms.documents() if d["status"] == "effective"}
        # issued now: its dates are history
        before = snapshot(qms.archive)
        msg = qms.fail("doc", "redate", number, "--issued", "2026-12-10", "--effective", "2026-12-10",
                       "--reason", "x")
        assert "was issued" in msg and len(msg.strip().splitlines()) == 1
        assert snapshot(qms.archive) == before


def test_the_dates_of_a_waiting_release_are_corrected_with_a_reason(qms):
    with time_machine.travel(TODAY, tick=False) as clock:
        number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"), issued="2026-12-05",
                                   effective="2026-12-08")
        before = snapshot(qms.archive)
        assert "before today" in qms.fail("doc", "redate", number, "--issued", "2026-12-01", "--effective",
                                          "2026-12-08", "--reason", "录入错误")
        assert "--reason" in qms.fail("doc", "redate", number, "--issued", "2026-12-06", "--effective",
                                      "2026-12-08", "--reason", " ")
        assert "nothing to correct" in qms.fail("doc", "redate", number, "--issued", "2026-12-05", "--effective",
                                                "2026-12-08", "--reason", "x")
        assert snapshot(qms.archive) == before
        res = qms.json("doc", "redate", number, "--issued", "2026-12-07", "--effective", "2026-12-09",
                       "--reason", "总经理出差，发布推迟两天")
        assert (res["previous_issued"], res["issued"], res["effective"]) == ("2026-12-05", "2026-12-07", "2026-12-09")
        shown = qms.json("doc", "show", number)
        assert (shown["issued"], shown["effective"], shown["status"]) == ("2026-12-07", "2026-12-09",
                                                                          "pending_release")
        entry = qms.log("--target", number)[-1]
        assert (entry["action"], entry["data"]["reason"]) == ("doc.redate", "总经理出差，发布推迟两天")
        assert qms.json("verify")["ok"] is True

        clock.move_to(dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.timezone.utc))
        relogin(qms)
        assert qms.json("doc", "show", number)["status"] == "released"             # 发布, not yet 实施
        assert qms.json("doc", "show", number, "--as-of", "2026-12-09")["status"] == "effective"
