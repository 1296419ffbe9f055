"""No login oracle (issue 19): an unknown login, a wrong password and a disabled account get the
same message, status and body, in about the same time; failures lock by login and by client
address, known login or not; the login form carries a CSRF token."""

from __future__ import annotations

import re
import statistics
import time

import pytest
import yaml
from starlette.testclient import TestClient

from conftest import PASSWORDS, Qms, make_workspace


@pytest.fixture
def ws(tmp_path) -> Qms:
    q = make_workspace(tmp_path / "ws")
    q.as_("admin")("user", "disable", "zhoujing", "--reason", "离职")
    return q


def set_lockout(q: Qms, **lockout):
    cfg = q.root / "config.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data.setdefault("identity", {})["lockout"] = {**(data["identity"].get("lockout") or {}), **lockout}
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def form_token(c: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)


def test_unknown_wrong_and_disabled_get_one_message_status_and_body(ws):
    from qms.web import create_app
    c = TestClient(create_app(ws.root), base_url="http://127.0.0.1")
    token = form_token(c)
    answers = []
    for login, password in [("nosuchuser", "whatever-1"), ("liming", "wrong-password"),
                            ("zhoujing", PASSWORDS["zhoujing"])]:
        r = c.post("/login", data={"login": login, "password": password, "csrf_token": token})
        answers.append((r.status_code, r.text))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401 and "登录名或密码错误" in answers[0][1]
    api = [c.post("/api/login", json={"login": lg, "password": "wrong-password"})
           for lg in ("nosuchuser", "liming", "zhoujing")]
    assert {(r.status_code, r.text) for r in api} == {(401, api[0].text)}
    # the CLI says the same; the journal still knows which it was
    outs = {ws(*["login", lg, "--password-stdin"], ok=False, input="wrong-password\n").output
            for lg in ("nosuchuser", "liming", "zhoujing")}
    assert len(outs) == 1 and "登录名或密码错误" in outs.pop()
    reasons = {(e["target"], e["data"]["reason"]) for e in ws.log() if e["action"] == "login.failed"}
    assert {("nosuchuser", "unknown login"), ("liming", "wrong password"), ("zhoujing", "disabled")} <= reasons


def test_an_english_workspace_says_it_in_english(ws):
    cfg = ws.root / "config.yaml"
    cfg.write_text(re.sub(r"(?m)^locale:.*$", "locale: en", cfg.read_text(encoding="utf-8")), encoding="utf-8")
    assert "wrong login or password" in ws("login", "nosuchuser", "--password-stdin", ok=False, input="x\n").output


def test_an_unknown_login_takes_as_long_as_a_wrong_password(ws):
    """Medians of 30 timed attempts each differ by less than 20% (a dummy argon2 check)."""
    from qms.identity.permissions import NotAuthenticated
    from qms.identity.users import authenticate
    from qms.store.workspace import open_workspace
    set_lockout(ws, attempts=1000)
    w = open_workspace(ws.root)

    def timed(login: str, password: str) -> float:
        t = time.perf_counter()
        with pytest.raises(NotAuthenticated):
            authenticate(w, login, password)
        return time.perf_counter() - t

    def spread() -> tuple[float, dict]:
        times = {"unknown": [], "wrong": [], "disabled": []}
        for i in range(30):             # interleaved, so a load spike on the machine hits all three
            times["unknown"].append(timed(f"nosuch{i % 3}", "wrong-password"))
            times["wrong"].append(timed("liming", "wrong-password"))
            times["disabled"].append(timed("zhoujing", PASSWORDS["zhoujing"]))
        medians = {k: statistics.median(v) for k, v in times.items()}
        return (max(medians.values()) - min(medians.values())) / max(medians.values()), medians

    timed("nosuchuser", "warm-up")
    # The machine is shared: a round disturbed by other work is measured again (at most three
    # rounds). Without the dummy check an unknown login is ~40% faster in every round.
    rounds = []
    for _ in range(3):
        rounds.append(spread())
        if rounds[-1][0] < 0.20:
            break
    assert rounds[-1][0] < 0.20, rounds


def test_twenty_attempts_at_an_unknown_login_lock_it_like_a_known_one(ws):
    for who in ("nosuchuser", "liming"):
        outs = [ws("login", who, "--password-stdin", ok=False, input="wrong-password\n").output for _ in range(20)]
        assert "登录名或密码错误" in outs[0]
        assert sum("已暂时锁定" in o for o in outs) >= 14, (who, outs[-1])      # locked after the 5th
    assert "已暂时锁定" in ws("login", "liming", "--password-stdin", ok=False,
                             input=PASSWORDS["liming"] + "\n").output       # even the right password


def test_a_client_address_that_keeps_failing_is_locked_whatever_login_it_tries(ws):
    from qms.web import create_app
    c = TestClient(create_app(ws.root), base_url="http://127.0.0.1")
    token = form_token(c)
    # 20 = 4 × the login limit, each at a different login: no login reaches its own limit
    for i in range(20):
        c.post("/login", data={"login": f"guess{i}", "password": "x", "csrf_token": token})
    r = c.post("/login", data={"login": "auditor", "password": PASSWORDS["auditor"], "csrf_token": token})
    assert r.status_code == 401 and "已暂时锁定" in r.text
    other = TestClient(create_app(ws.root), base_url="http://127.0.0.1", client=("10.0.0.9", 5000))
    r = other.post("/login", data={"login": "auditor", "password": PASSWORDS["auditor"],
                                   "csrf_token": form_token(other)}, follow_redirects=False)
    assert r.status_code == 303                     # another address is not locked out


def test_post_login_without_the_form_token_is_refused(ws):
    from qms.web import create_app
    c = TestClient(create_app(ws.root), base_url="http://127.0.0.1")
    r = c.post("/login", data={"login": "auditor", "password": PASSWORDS["auditor"]}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text and "qms_session" not in r.headers.get("set-cookie", "")
    r = c.post("/login", data={"login": "auditor", "password": PASSWORDS["auditor"], "csrf_token": "forged" * 5},
               follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/login", data={"login": "auditor", "password": PASSWORDS["auditor"], "csrf_token": form_token(c)},
               follow_redirects=False)
    assert r.status_code == 303 and "qms_session" in r.headers["set-cookie"]
    # a form on another site can post text/plain that parses as JSON: not to the API
    r = c.post("/api/login", content='{"login": "auditor", "password": "%s"}' % PASSWORDS["auditor"],
               headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_failure_counts_stay_exact_when_attempts_overlap(ws):
    """The argon2 check runs outside the store's write lock; the counter is updated under it."""
    from concurrent.futures import ThreadPoolExecutor
    from qms.identity.permissions import NotAuthenticated
    from qms.identity.users import authenticate, user_details
    from qms.store.workspace import open_workspace
    set_lockout(ws, attempts=50)
    w = open_workspace(ws.root)

    def attempt(_):
        try:
            authenticate(w, "liming", "wrong-password")
        except NotAuthenticated:
            pass
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(attempt, range(12)))
    assert user_details(w, "liming")["failed_attempts"] == 12
