"""`qms serve` with two worker processes (issue 21): a session, CSRF tokens, result messages and
search totals hold whichever worker answers; static files are cached, pages are not."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import PASSWORDS

CLOSE = {"connection": "close"}          # a new connection per request: the kernel picks the worker


def browser_login(url: str, login: str) -> httpx.Client:
    """Log in through the form, as a browser does (the login CSRF cookie, then the session cookie)."""
    c = httpx.Client(base_url=url, headers=CLOSE, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"login": login, "password": PASSWORDS[login], "csrf_token": token})
    assert r.status_code == 303 and "qms_session" in c.cookies, r.text
    return c


def spread(c: httpx.Client, paths: list[str], rounds: int = 6) -> list[httpx.Response]:
    """Every path `rounds` times from 6 threads at once, each request on its own connection."""
    cookies = dict(c.cookies)

    def get(path):
        return httpx.get(c.base_url.join(path), cookies=cookies, headers=CLOSE, timeout=30,
                         follow_redirects=False)
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(get, paths * rounds))


def test_one_login_holds_on_both_workers(served):
    c = browser_login(served.url, "tester")
    answers = spread(c, ["/search?q=空压机", f"/records/{served.record}", "/api/search?q=保养", "/keeper"])
    assert [r.status_code for r in answers] == [200] * len(answers), \
        [(r.status_code, r.headers.get("location")) for r in answers if r.status_code != 200]
    assert len({r.headers["x-qms-worker"] for r in answers}) == 2       # both workers answered
    totals = {(r.json()["total"], r.headers["x-qms-worker"]) for r in answers if r.url.path == "/api/search"}
    assert len({t for t, _ in totals}) == 1                              # the same total from each


def test_a_post_with_its_csrf_token_works_whichever_worker_answers(served):
    c = browser_login(served.url, "tester")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/keeper").text).group(1)
    workers, shown = set(), set()
    for i in range(12):
        action = "hold" if i % 2 == 0 else "release-hold"
        r = c.post(f"/keeper/{action}", data={"csrf_token": csrf, "number": served.record, "reason": f"审核 {i}"})
        assert r.status_code == 303, r.text
        workers.add(r.headers["x-qms-worker"])
        # the result message, signed with the session, is shown by whichever worker opens the page
        for page in spread(c, [r.headers["location"]], rounds=2):
            assert page.status_code == 200
            shown.add((page.headers["x-qms-worker"], '<p class="flash">' in page.text))
        forged = c.post(f"/keeper/{action}", data={"csrf_token": "x" * 64, "number": served.record, "reason": "伪造"})
        assert forged.status_code == 403
        workers.add(forged.headers["x-qms-worker"])
        if len(workers) == 2 and len({w for w, ok in shown if ok}) == 2:
            break
    assert len(workers) == 2
    assert len({w for w, ok in shown if ok}) == 2, shown
    log = served.qms.log("--target", served.record)
    assert not any("伪造" in str(e) for e in log)


def test_a_session_ended_on_one_worker_is_ended_on_the_other(served):
    c = browser_login(served.url, "auditor")
    cookies = dict(c.cookies)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/search").text).group(1)
    assert c.post("/logout", data={"csrf_token": csrf}).status_code == 303
    answers = spread(httpx.Client(base_url=served.url, cookies=cookies), ["/api/search?q=保养"], rounds=8)
    assert {r.status_code for r in answers} == {401}
    assert len({r.headers["x-qms-worker"] for r in answers}) == 2


def test_static_files_are_cached_and_pages_are_not(served):
    c = browser_login(served.url, "auditor")
    page = c.get("/search")
    assert page.headers["cache-control"] == "private, no-store"
    assert c.get("/api/search?q=保养").headers["cache-control"] == "private, no-store"
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert {link.split("?")[0] for link in links} >= {"/static/app.css", "/static/app.js"}
    for link in links:
        assert re.fullmatch(r"/static/[\w.]+\?v=[0-9a-f]{12}", link)
        r = httpx.get(served.url + link)                               # no session needed
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "x-content-type-options" in r.headers
    plain = httpx.get(served.url + "/static/app.css")                  # an old or hand-typed URL
    assert plain.headers["cache-control"] == "public, no-cache" and plain.headers["etag"]
    again = httpx.get(served.url + "/static/app.css", headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304
    wrong = httpx.get(served.url + "/static/app.css?v=000000000000")   # an older version's hash
    assert wrong.headers["cache-control"] == "public, no-cache"
    assert httpx.get(served.url + "/static/nothing.css").headers["cache-control"] == "private, no-store"


def test_forty_browsers_opening_at_once_are_spread_over_both_workers(served):
    """Each keeps its connection (as a browser does): uvicorn's one shared socket gave all twenty of
    a burst to one worker while the other idled; a socket per worker (SO_REUSEPORT) spreads them."""
    import asyncio

    async def one_browser():
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as c:
            return (await c.get("/login")).headers["x-qms-worker"]

    async def burst():
        return await asyncio.gather(*(one_browser() for _ in range(40)))
    workers = asyncio.run(burst())
    counts = sorted(workers.count(w) for w in set(workers))
    assert len(counts) == 2 and counts[0] >= 8, counts       # 8 of 40: a split that even chance misses 1 in 40,000


def test_a_worker_killed_is_replaced_on_its_socket_and_a_taken_port_is_one_line(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    from conftest import free_port, make_workspace
    q = make_workspace(tmp_path / "ws")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    qms_bin = str(Path(sys.executable).with_name("qms"))
    proc = subprocess.Popen([qms_bin, "-w", str(q.root), "serve", "--port", str(port), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def workers_seen(n=40):
        seen = {}
        for _ in range(n):
            try:
                r = httpx.get(url + "/login", headers=CLOSE, timeout=5)
                seen[r.headers["x-qms-worker"]] = r.status_code
            except httpx.TransportError:
                time.sleep(0.1)
        return seen
    try:
        for _ in range(300):
            if len(workers_seen(4)) == 2:
                break
            time.sleep(0.1)
        first = workers_seen()
        assert len(first) == 2 and set(first.values()) == {200}
        # the same port again, by another qms serve: refused in one line, the first one untouched
        again = subprocess.run([qms_bin, "-w", str(q.root), "serve", "--port", str(port), "--workers", "2"],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 5 and f"127.0.0.1:{port}" in again.stderr and "in use" in again.stderr
        assert "Traceback" not in again.stderr + again.stdout
        # kill -9 one worker: requests keep being answered, and two workers answer again
        children = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "spawn_main"], capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 2, children
        os.kill(int(children[0]), signal.SIGKILL)
        for _ in range(300):
            now = workers_seen(8)
            if len(now) == 2 and set(now) != set(first):
                break
            time.sleep(0.1)
        assert len(now) == 2 and set(now) != set(first) and set(now.values()) == {200}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert "starting another on its socket" in out


def test_every_page_runs_on_the_routes_own_few_threads():
    """A plain-function route would run on anyio's default threads (forty, shared with static files
    and downloads); every one goes through common.in_thread's limiter instead."""
    import inspect
    from starlette.routing import Route
    from qms.web.routes import ROUTES
    from qms.web.routes.common import ROUTE_THREADS
    plain = [r.path for r in ROUTES if isinstance(r, Route) and not inspect.iscoroutinefunction(r.endpoint)]
    assert plain == [] and 1 <= ROUTE_THREADS <= 8
