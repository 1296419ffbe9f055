"""Several servers (issue 26): two `qms serve` processes, each with its own working folder (no
shared disk), on one PostgreSQL database and one bucket. The second folder is what README
"Several sites" says a second server needs: config.yaml, schemas/, templates/, .qms/ and the
secrets key (QMS_KEY_DIR, shared by the test run) — not archive/."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from PIL import Image

from qms.adapters import ocr
from qms.adapters.pdf import pdf_text
from qms.cli import cli
from qms.jobs import run_pending
from qms.store.workspace import open_workspace

from conftest import (faketime_env, PASSWORDS, STAFF, Qms, add_staff, example_data, free_port, make_scan,
                      wait_until_serving, write_data)
from test_review_reminders import release_for_review, smtp  # noqa: F401 (smtp: the fixture, a real local SMTP server)

SERVER_FILES = ("config.yaml", "schemas", "templates", ".qms")


def init_shared(root: Path, database: str, s3=None) -> Qms:
    """`qms init ROOT --database … [--objects s3://… --s3-endpoint …]`, then the staff."""
    objects = ["--objects", s3.bucket_url(), "--s3-endpoint", s3.endpoint] if s3 else []
    result = CliRunner().invoke(cli, ["init", str(root), "--database", database, *objects, "--admin", "admin",
                                      "--name", STAFF["admin"][0], "--password-stdin"], input=PASSWORDS["admin"] + "\n")
    assert result.exit_code == 0, result.output
    return add_staff(root)


def second_folder(one: Path, two: Path) -> Path:
    two.mkdir()
    for name in SERVER_FILES:
        src = one / name
        if src.is_dir():
            shutil.copytree(src, two / name)
        elif src.is_file():
            shutil.copyfile(src, two / name)
    assert not (two / "archive").exists()
    return two


def start_server(root: Path, log: Path) -> types.SimpleNamespace:
    port = free_port()
    out = open(log, "w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("qms")), "-w", str(root), "serve", "--port",
                             str(port), "--workers", "1"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, proc, log)
    assert proc.poll() is None, log.read_text()
    return types.SimpleNamespace(url=url, proc=proc, out=out, log=log, root=root)


def stop_server(server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
    server.out.close()


def api_login(url: str, login: str) -> httpx.Client:
    r = httpx.post(url + "/api/login", json={"login": login, "password": PASSWORDS[login]}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    return httpx.Client(base_url=url, timeout=120, headers={"authorization": f"Bearer {body['token']}",
                                                            "x-csrf-token": body["csrf_token"]})


def same_session(client: httpx.Client, url: str) -> httpx.Client:
    """The session opened on one server, used on the other (sessions are in the database)."""
    return httpx.Client(base_url=url, timeout=120, headers=dict(client.headers))


def as_json(data: dict) -> dict:
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


@pytest.fixture
def two_servers(tmp_path, pg_database, s3_server):
    one = init_shared(tmp_path / "a", pg_database, s3_server)
    two = second_folder(one.root, tmp_path / "b")
    a = start_server(one.root, tmp_path / "a.log")
    try:
        b = start_server(two, tmp_path / "b.log")
    except BaseException:
        stop_server(a)
        raise
    try:
        yield types.SimpleNamespace(a=a, b=b, qms=one, two=Qms(two).as_("tester"))
    finally:
        stop_server(a)
        stop_server(b)


def test_a_record_filed_through_one_server_is_found_shown_and_signed_through_the_other(two_servers, tmp_path):
    s = two_servers
    on_a = api_login(s.a.url, "tester")
    filed = on_a.post("/api/records", json={"form": "QR-SV-022-02", "data": as_json(example_data("QR-SV-022-02")),
                                            "pdf": True})
    assert filed.status_code == 200, filed.text
    number = filed.json()["number"]
    assert filed.json()["status"] == "awaiting_signature"
    folder_b = s.b.root / "archive"
    assert not any(folder_b.rglob("manifest.json")) if folder_b.exists() else True   # nothing on B's disk yet

    # B: the same session, the record in its list and on its page; its PDF read from the bucket
    on_b = same_session(on_a, s.b.url)
    listed = on_b.get("/api/records", params={"form": "QR-SV-022-02"}).json()
    assert [r["number"] for r in listed["items"]] == [number]
    page = on_b.get(f"/records/{number}")
    assert page.status_code == 200 and number in page.text
    shown = on_b.get(f"/api/records/{number}").json()
    assert shown["status"] == "awaiting_signature"
    pdf = on_b.get(f"/files/{number}/{number}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    got = tmp_path / "from-b.pdf"
    got.write_bytes(pdf.content)
    assert "华东电力设备有限公司" in pdf_text(got)
    assert pdf.headers["x-content-sha256"] == on_a.get(f"/files/{number}/{number}.pdf").headers["x-content-sha256"]

    # B: the customer-signed scan attached through B's record page
    scan = make_scan(tmp_path / "signed.pdf", "signed by Wang Haitao")
    signed = on_b.post(f"/records/{number}/scan", data={"signer": "王海涛", "signer_role": "用户代表"},
                       files={"scan": ("signed.pdf", scan.read_bytes(), "application/pdf")})
    assert signed.status_code == 303, signed.text
    # A sees it signed, and both scan and the earlier files in one manifest (B fetched the folder first)
    after = on_a.get(f"/api/records/{number}")
    assert after.status_code == 200, after.text + s.a.log.read_text()[-3000:]
    after = after.json()
    assert after["status"] == "filed"
    assert [sig["signer"] for sig in after["signatures"]] == ["王海涛"]
    assert after["files"].get("scan", "").endswith("signed-scan.pdf")      # A fetched what B added
    scan_on_a = on_a.get(f"/files/{number}/signed-scan.pdf")
    scan_on_b = on_b.get(f"/files/{number}/signed-scan.pdf")
    assert scan_on_a.status_code == scan_on_b.status_code == 200
    assert scan_on_a.content == scan_on_b.content
    assert on_a.get(f"/files/{number}/{number}.pdf").status_code == 200
    # the journal, the bucket and each server's folder agree
    assert problems(s.qms) == [] and problems(s.two) == []


def problems(q: Qms) -> list[str]:
    out = q("verify", ok=False).output
    return [ln for ln in out.splitlines() if ln.startswith("PROBLEM") or "FAILED" in ln]


def test_search_on_one_server_finds_what_the_other_filed(two_servers):
    s = two_servers
    on_a = api_login(s.a.url, "tester")
    data = as_json(example_data("QR-SV-022-02", customer="远山精工股份有限公司"))
    number = on_a.post("/api/records", json={"form": "QR-SV-022-02", "data": data, "pdf": False}).json()["number"]
    hits = same_session(on_a, s.b.url).get("/api/search", params={"q": "远山精工"}).json()
    assert hits["total"] == 1 and number in json.dumps(hits, ensure_ascii=False)


def test_four_filers_across_two_servers_give_gap_free_numbers(two_servers):
    """4 filers at once, two through each server's API: every number given once, none skipped, each
    filing in the journal once, and both servers list the same records."""
    s = two_servers
    each = 6
    clients = [api_login(url, "tester") for url in (s.a.url, s.b.url, s.a.url, s.b.url)]
    data = as_json(example_data("QR-SV-022-04"))

    def filer(c: httpx.Client) -> list[str]:
        out = []
        for _ in range(each):
            r = c.post("/api/records", json={"form": "QR-SV-022-04", "data": data, "pdf": False})
            assert r.status_code == 200, r.text
            out.append(r.json()["number"])
        return out
    with ThreadPoolExecutor(4) as pool:
        got = [n for batch in pool.map(filer, clients) for n in batch]
    assert len(got) == len(set(got)) == 4 * each
    listed = s.qms.records("--form", "QR-SV-022-04")
    assert sorted(int(r["number"].rsplit("-", 1)[1]) for r in listed) == list(range(1, 4 * each + 1))
    assert sorted(r["number"] for r in listed) == sorted(got)
    filed = [e for e in s.qms.log("--action", "record.file") if e["target"].startswith("QR-SV-022-04")]
    assert sorted(e["target"] for e in filed) == sorted(got)
    on_b = same_session(clients[0], s.b.url)
    page = on_b.get("/api/records", params={"form": "QR-SV-022-04", "limit": 100}).json()
    assert sorted(r["number"] for r in page["items"]) == sorted(got)
    # a write on B first brings B's folder up to the journal: every record A filed is on B's disk too
    last = on_b.post("/api/records", json={"form": "QR-SV-022-04", "data": data, "pdf": False}).json()["number"]
    on_disk = {p.parent.parent.name for p in (s.b.root / "archive" / "records").rglob("manifest.json")}
    assert on_disk >= set(got) and (s.b.root / "archive" / "objects.seq").is_file()
    assert last not in got


# ------------------------------------------------------------------ the job queue and the scheduler

def test_an_ocr_job_is_run_once_across_two_servers_and_the_other_reads_the_scan_from_the_bucket(
        tmp_path, pg_database, s3_server, monkeypatch):
    """A photo signed through server A queues an OCR job; B's worker claims it (a database lock) and
    OCRs the scan it never had on its disk; A's worker, running meanwhile, leaves it alone."""
    one = init_shared(tmp_path / "a", pg_database, s3_server)
    two = second_folder(one.root, tmp_path / "b")
    number = one.json("record", "file", "QR-SV-022-02", "--data",
                      write_data(one, example_data("QR-SV-022-02"), "r.yaml"), "--no-pdf")["number"]
    photo = tmp_path / "IMG_2001.jpg"
    Image.new("RGB", (600, 800), "white").save(photo, "JPEG")
    one("record", "sign", number, "--scan", photo, "--signer", "王海涛:用户代表")
    (job,) = one.json("jobs")
    assert job["kind"] == "ocr" and job["state"] == "queued"

    started, go_on, calls = threading.Event(), threading.Event(), []

    def slow_ocr(src, out, text):           # the recognising, slow enough for the other server to try
        calls.append(Path(src))
        started.set()
        go_on.wait(30)
        shutil.copyfile(src, out)
        text.write_text("机房通风良好没有异味", encoding="utf-8")
    monkeypatch.setattr(ocr, "ocr_pdf", slow_ocr)
    monkeypatch.setattr(ocr, "available", lambda: [])
    with ThreadPoolExecutor(1) as pool:
        on_b = pool.submit(run_pending, open_workspace(two), actor="server-b")
        assert started.wait(60)
        on_a = run_pending(open_workspace(one.root), actor="server-a")
        go_on.set()
        done = on_b.result(timeout=120)
    assert [r.outcome for r in on_a] == ["skipped"]
    assert [r.outcome for r in done] == ["done"]
    assert len(calls) == 1 and two in calls[0].parents          # B read the scan it fetched from the bucket
    (job,) = one.json("jobs")
    assert job["state"] == "done"
    log = one.log()
    assert [e["actor"] for e in log if e["action"] == "scan.ocr"] == ["server-b"]
    assert [e["actor"] for e in log if e["action"] == "job.done"] == ["server-b"]
    assert run_pending(open_workspace(one.root), actor="server-a") == []
    # A's folder is brought up to the journal (verify catches up first): B's OCR'd copy is there too
    folder = one.root / job["args"]["scan"].rpartition("/")[0]
    assert not (folder / "signed-scan.ocr.txt").exists()
    assert one.json("verify")["ok"]
    assert (folder / "signed-scan.ocr.txt").read_text(encoding="utf-8") == "机房通风良好没有异味"


def _tick(root: Path, day) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "qms", "-w", str(root),
                             "tick", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=faketime_env(f"{day} 10:00:00", env), text=True)


@pytest.mark.skipif(shutil.which("faketime") is None, reason="Debian faketime")
def test_two_servers_ticking_at_once_make_each_reminder_once_and_send_it_once(tmp_path, pg_database, smtp):
    """The scheduler of two servers (two folders, one database) ticks at the same moment on the day a
    periodic review opens: one reminder, one e-mail; a later tick on either makes nothing new."""
    one = init_shared(tmp_path / "a", pg_database)
    number, due = release_for_review(one, smtp)
    two = second_folder(one.root, tmp_path / "b")
    day = due - dt.timedelta(days=30)
    procs = [_tick(root, day) for root in (one.root, two)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    created = [json.loads(o)["created"] for o, _ in outs]
    assert sorted(map(len, created)) == [0, 1], created
    key = f"review:{number}:{due}:due"
    assert [e["target"] for e in one.log("--action", "reminder")] == [key]
    assert smtp.subjects() == [f"【定期评审】{number} 客户服务过程控制程序 将于 {due} 到期"]
    assert len([e for e in one.log("--action", "reminder.sent")]) == 1
    for root in (two, one.root):          # later, on either server: nothing new, nothing sent again
        p = _tick(root, day)
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0 and json.loads(out)["created"] == [], err
    assert len(one.log("--action", "reminder")) == 1 and len(smtp.messages) == 1
