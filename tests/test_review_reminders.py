"""Periodic review and reminders (issue 23): 30 days before a review's due date it is on the
owner's to-do exactly once — `qms tick` run twice, two ticks at once in other processes — and a
reminder e-mail with a Chinese subject reaches a real local SMTP server once; after the due date it
is overdue; closing it 继续有效 moves the next date on by the period."""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import signal
import shutil
import socket
import subprocess
import sys
from email.header import decode_header, make_header

import pytest
import time_machine

from conftest import faketime_env, PASSWORDS, REPO, release_procedure, snapshot
from qms.base.dates import today
from qms.review.reviews import add_months


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self):
        return [str(make_header(decode_header(m["Subject"]))) for m in self.messages]


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    inbox.port = port
    yield inbox
    ctl.stop()


def relogin(qms, *logins):
    for login in logins:
        qms.as_(login)("login", login, "--password-stdin", input=PASSWORDS[login] + "\n")


@pytest.fixture
def reviewed(qms, smtp):
    """QP-SC-015 released today with `review: 2` (months); tester (its owner) has an e-mail address."""
    number, due = release_for_review(qms, smtp)
    return qms, number, due


def release_for_review(qms, smtp):
    """Mail through `smtp`, tester's address, QP-SC-015 released today with `review: 2`: (number, due)."""
    cfg = qms.root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"\nnotify:\n  smtp: {{host: 127.0.0.1, port: {smtp.port}, "
                   "from: qms@example.com}\n", encoding="utf-8")
    qms.apply_config()
    qms.as_("admin")("user", "edit", "tester", "--email", "tester@example.com")
    src = (REPO / "examples" / "tour" / "procedure.yaml").read_text(encoding="utf-8")
    (qms.root / "procedure.yaml").write_text(src + "\nreview: 2\n", encoding="utf-8")
    shutil.copyfile(REPO / "examples" / "tour" / "flow.png", qms.root / "flow.png")
    on = today().isoformat()
    number = release_procedure(qms, qms.root / "procedure.yaml", issued=on, effective=on)
    return number, add_months(today(), 2)


def at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(10)).astimezone(), tick=False)


def reminder_events(qms, key_prefix: str) -> list[dict]:
    out = []
    for line in (qms.archive / "audit.log").read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        if e.get("action") == "reminder" and e.get("target", "").startswith(key_prefix):
            out.append(e)
    return out


def reviews_on_todo(qms, login="tester"):
    return [i for i in qms.as_(login).json("todo")["items"] if i["kind"] == "review"]


def test_review_appears_30_days_ahead_once_overdue_after_and_closing_moves_it_on(reviewed, smtp):
    qms, number, due = reviewed
    (row,) = qms.json("review", "list")
    assert row["due"] == due.isoformat() and row["state"] == "scheduled" and row["owner"] == "tester"
    assert not reviews_on_todo(qms)
    with at(due - dt.timedelta(days=31)):
        relogin(qms, "tester")
        assert not reviews_on_todo(qms)
        qms("tick")
        assert not reminder_events(qms, f"review:{number}")
    with at(due - dt.timedelta(days=30)):
        relogin(qms, "tester")
        assert len(reviews_on_todo(qms)) == 1
        first = qms.json("tick")
        second = qms.json("tick")
        assert first["created"] == [f"review:{number}:{due}:due"] and second["created"] == []
        assert len(reviews_on_todo(qms)) == 1
        assert len(reminder_events(qms, f"review:{number}")) == 1
        subjects = smtp.subjects()
        assert subjects == [f"【定期评审】{number} 客户服务过程控制程序 将于 {due} 到期"]
        assert smtp.messages[0]["To"] == "tester@example.com"
        assert [r["number"] for r in qms.json("review", "list", "--due-before", due.isoformat())] == [number]
    with at(due + dt.timedelta(days=1)):
        relogin(qms, "tester")
        (item,) = reviews_on_todo(qms)
        assert item["overdue"] and item["due"] == due.isoformat()
        assert qms.json("tick")["created"] == [f"review:{number}:{due}:overdue"]
        assert len(smtp.messages) == 2 and "逾期" in smtp.subjects()[1]
        before = snapshot(qms.archive)
        qms.fail("review", "close", number, "--outcome", "继续有效", "--comment", "仍适用", "--password-stdin",
                 input="wrong-password\n")
        assert {k: v for k, v in snapshot(qms.archive).items() if k != "audit.log" and "catalog" not in k} == \
            {k: v for k, v in before.items() if k != "audit.log" and "catalog" not in k}
        res = qms.json("review", "close", number, "--outcome", "继续有效", "--comment", "仍适用",
                       "--password-stdin", input=PASSWORDS["tester"] + "\n")
        assert res["next_due"] == add_months(due, 2).isoformat() and res["meaning"] == "定期评审：继续有效"
        assert not reviews_on_todo(qms)
        (row,) = qms.json("review", "list")
        assert row["due"] == add_months(due, 2).isoformat() and row["state"] == "scheduled"
        assert row["last_review"]["outcome"] == "继续有效"


def _tick_process(qms, day: dt.date):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "qms", "-w", str(qms.root),
                             "tick", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=faketime_env(f"{day} 10:00:00", env), text=True)


@pytest.mark.skipif(shutil.which("faketime") is None, reason="Debian faketime")
def test_two_ticks_at_once_in_other_processes_make_one_reminder_and_one_mail(reviewed, smtp):
    qms, number, due = reviewed
    day = due - dt.timedelta(days=30)
    procs = [_tick_process(qms, day) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    created = [json.loads(o)["created"] for o, _ in outs]
    assert sorted(map(len, created)) == [0, 1]          # one made it, the other found it made
    assert len(reminder_events(qms, f"review:{number}:{due}:due")) == 1
    assert smtp.subjects().count(f"【定期评审】{number} 客户服务过程控制程序 将于 {due} 到期") == 1
    # once more, later: nothing new for that key
    p = _tick_process(qms, day)
    p.communicate(timeout=120)
    assert len(reminder_events(qms, f"review:{number}:{due}:due")) == 1 and len(smtp.messages) == 1


def test_bad_review_input_is_refused_in_one_line(reviewed):
    qms, number, due = reviewed
    before = snapshot(qms.archive)
    out = qms.fail("review", "close", number, "--outcome", "继续有效", "--comment", "x", "--password-stdin",
                   input=PASSWORDS["tester"] + "\n")
    assert "尚未开始" in out
    assert "评审结论" in qms.fail("review", "close", number, "--outcome", "maybe", "--comment", "x")
    assert "QP-XX-404" in qms.fail("review", "close", "QP-XX-404", "--outcome", "继续有效", "--comment", "x")
    assert "--due-before" in qms.fail("review", "list", "--due-before", "2026-13-45")
    (qms.root / "bad.yaml").write_text((qms.root / "procedure.yaml").read_text(encoding="utf-8")
                                       .replace("review: 2", "review: forever"), encoding="utf-8")
    assert "review" in qms.fail("doc", "check", qms.root / "bad.yaml")
    assert snapshot(qms.archive) == before


def test_closing_needs_revision_opens_a_change_request_and_obsolete_withdraws(reviewed):
    qms, number, due = reviewed
    cfg = qms.root / "config.yaml"        # four months on: passwords must not expire meanwhile
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("max_age: 90d", "max_age: 0"), encoding="utf-8")
    qms.apply_config()
    with at(due - dt.timedelta(days=10)):
        relogin(qms, "tester")
        out = qms.fail("review", "close", number, "--outcome", "需修订", "--comment", "流程已变")
        assert "--approvers" in out
        res = qms.json("review", "close", number, "--outcome", "需修订", "--comment", "投诉流程已变",
                       "--approvers", "zhaogq", "--password-stdin", input=PASSWORDS["tester"] + "\n")
        cr = qms.json("cr", "show", res["cr"])
        assert cr["affects"] == [number] and cr["reason"] == "投诉流程已变" and cr["status"] == "pending"
    nxt = add_months(due, 2)
    with at(nxt - dt.timedelta(days=5)):
        relogin(qms, "tester")
        assert [r["due"] for r in qms.json("review", "list")] == [nxt.isoformat()]
        qms("review", "close", number, "--outcome", "作废", "--comment", "业务已取消", "--password-stdin",
            input=PASSWORDS["tester"] + "\n")
        assert qms.json("review", "list") == []
        assert qms.documents()[0]["status"] == "obsolete"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("faketime") is None, reason="Debian faketime")
def test_two_server_processes_make_one_reminder_and_one_mail(reviewed, smtp):
    """`qms serve` ticks by itself (first round a second after start): two servers on one workspace,
    time moved to 30 days before the due date, make the reminder once and send it once."""
    import time
    qms, number, due = reviewed
    day = due - dt.timedelta(days=30)
    # the servers' timers wait on the monotonic clock: faketime moves the calendar only
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    servers = [subprocess.Popen([sys.executable, "-m", "qms", "-w", str(qms.root),
                                 "serve", "--port", str(_free_port())], stdout=subprocess.DEVNULL,
                                stderr=open(qms.root.parent / f"serve-{i}.log", "w"), env=faketime_env(f"{day} 10:00:00", env),
                                # faketime forks the server: stop the whole group, or qms serve and its
                                # worker processes outlive the test
                                start_new_session=True) for i in range(2)]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not smtp.messages:
            time.sleep(0.5)
        time.sleep(3)             # both servers have ticked at least once more by now
    finally:
        for p in servers:
            os.killpg(p.pid, signal.SIGTERM)
        for p in servers:
            p.wait(timeout=30)
    logs = "".join((qms.root.parent / f"serve-{i}.log").read_text() for i in range(2))
    assert len(reminder_events(qms, f"review:{number}:{due}:due")) == 1, logs[-3000:]
    assert smtp.subjects() == [f"【定期评审】{number} 客户服务过程控制程序 将于 {due} 到期"]


@pytest.mark.skipif(shutil.which("faketime") is None, reason="Debian faketime")
def test_a_tick_killed_after_logging_the_reminder_is_finished_by_the_next_once(reviewed, smtp):
    """Killed (SIGKILL) right after the reminder reached the journal, before the catalog or the mail:
    the next tick recovers the catalog from the journal, makes no second reminder and sends the mail."""
    qms, number, due = reviewed
    day = due - dt.timedelta(days=30)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "QMS_CRASH_AT": "logged:1"}
    crashed = subprocess.run([sys.executable, "-m", "qms", "-w", str(qms.root),
                              "tick"], env=faketime_env(f"{day} 10:00:00", env), capture_output=True, text=True, timeout=120)
    assert crashed.returncode != 0
    assert len(reminder_events(qms, f"review:{number}:{due}:due")) == 1 and smtp.messages == []
    p = _tick_process(qms, day)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert json.loads(out)["created"] == [] and json.loads(out)["sent"] == [f"review:{number}:{due}:due"]
    assert len(reminder_events(qms, f"review:{number}:{due}:due")) == 1 and len(smtp.messages) == 1


def test_the_owner_closes_the_review_from_the_web_home_page(reviewed):
    import warnings
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

    from qms.web import create_app
    from webkit import login
    qms, number, due = reviewed
    with at(due - dt.timedelta(days=3)):
        c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
        csrf = login(c, "tester")
        home = c.get("/")
        assert f"{number} 客户服务过程控制程序 定期评审" in home.text and "关闭评审" in home.text
        assert [i["kind"] for i in c.get("/api/todo").json()["items"]] == ["review"]
        r = c.post(f"/reviews/{number}/close", data={"outcome": "继续有效", "comment": "仍适用",
                                                     "password": "wrong-password", "csrf_token": csrf})
        assert r.status_code == 400
        r = c.post(f"/reviews/{number}/close", data={"outcome": "继续有效", "comment": "仍适用",
                                                     "password": PASSWORDS["tester"], "csrf_token": csrf})
        assert r.status_code == 200 and "继续有效" in r.text and f"下次评审 {add_months(due, 2)}" in r.text
        assert "定期评审" not in c.get("/").text.split("<main>")[1]
        assert "下次评审" in c.get("/documents").text
