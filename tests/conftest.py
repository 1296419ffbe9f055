"""Shared fixtures: real workspaces in tmp_path, the real CLI through click's CliRunner."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from qms.cli import cli
from qms.base.dates import now
from qms.startup import start

start()      # the services subscribe to the writer's events, as the CLI and the web do

REPO = Path(__file__).resolve().parents[1]

# The secrets store's MAC key lives outside the workspace (qms.identity.secrets.secret_key_path), named after the
# journal's first entry: one folder for the whole run, so every copy of the template finds its key
# (and nothing is written to the real ~/.config/qms/keys). Subprocesses inherit it.
import os as _os  # noqa: E402
import tempfile as _tempfile  # noqa: E402
_os.environ.setdefault("QMS_KEY_DIR", _tempfile.mkdtemp(prefix="qms-test-keys-"))
DATA = Path(__file__).parent / "data"


# The people of a test workspace: login → (printed name, roles). Each password is PASSWORDS[login].
STAFF = {
    "admin": ("管理员", "admin"),
    "tester": ("测试员", "author,clerk,keeper"),       # the default session of the `qms` fixture
    "zhangjh": ("张建华", "编制"),
    "liming": ("李明", "会签"),
    "zhoujing": ("周静", "会签"),
    "sunlq": ("孙立强", "会签"),                          # the third 会签 of the example procedures
    "wanglx": ("王立新", "审定"),
    "chenfang": ("陈芳", "标审"),
    "zhaogq": ("赵国庆", "批准"),
    "auditor": ("审核员", "auditor"),
    "wangfang": ("王芳", "keeper,manager"),              # a keeper who is also 管理者代表 (issue 18)
    "liujun": ("刘军", "manager"),                       # 管理者代表: approves disposals
}
PASSWORDS = {login: f"{login}-pass-2026" for login in STAFF}
LOGIN_OF = {name: login for login, (name, _) in STAFF.items()}


class Qms:
    """Runs `qms -w WS …` like a user would, in that user's session, and keeps the result.

    Each person has their own config folder (their own session token), as on their own account."""

    def __init__(self, root: Path, config_home: Path | None = None, login: str | None = None):
        self.root = root
        self.config_home = config_home
        self.login = login
        self.runner = CliRunner()

    def as_(self, login: str) -> "Qms":
        """The same workspace in `login`'s session (logged in by make_workspace)."""
        return Qms(self.root, self.root.parent / f"config-{login}", login)

    def __call__(self, *args, ok: bool = True, input: str | None = None):
        env = {"QMS_CONFIG_HOME": str(self.config_home)} if self.config_home else None
        result = self.runner.invoke(cli, ["-w", str(self.root), *map(str, args)], input=input, env=env,
                                    catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"qms {' '.join(map(str, args))} failed ({result.exit_code}):\n{result.output}")
        return result

    def json(self, *args, **kw):
        result = self(*args, "--json", **kw)
        return json.loads(result.stdout)

    def pages(self, *args) -> list[dict]:
        """Every item of a paged list's `--json` ({total, items, next}): its pages followed to the end."""
        out, offset = [], 0
        while offset is not None:
            page = self.json(*args, "--limit", "500", "--offset", str(offset))
            out += page["items"]
            offset = page["next"]
        return out

    def log(self, *args) -> list[dict]:
        """The audit trail (filtered by `args`), oldest first (`qms log` pages it newest first)."""
        return self.pages("log", *args)[::-1]

    def records(self, *args) -> list[dict]:
        """Every record `qms record list` gives (filtered by `args`), newest filing first."""
        return self.pages("record", "list", *args)

    def documents(self, *args) -> list[dict]:
        """The whole master list as `qms doc list --json` pages it, by number."""
        return self.pages("doc", "list", *args)

    def fail(self, *args, input: str | None = None) -> str:
        """Run a command that must be refused: exit 1, one clear message, no traceback."""
        result = self(*args, ok=False, input=input)
        assert result.exit_code == 1, f"expected exit 1, got {result.exit_code}:\n{result.output}"
        assert "Traceback" not in result.output
        return result.output

    def sign(self, number: str, role: str, name: str, *extra, ok: bool = True, password: str | None = None):
        """`name` signs NUMBER as ROLE in their own session, typing their password."""
        login = LOGIN_OF[name]
        return self.as_(login)("doc", "sign", number, "--role", role, "--password-stdin", *extra, ok=ok,
                               input=(password or PASSWORDS[login]) + "\n")

    def sign_fail(self, number: str, role: str, name: str, *extra, password: str | None = None) -> str:
        login = LOGIN_OF[name]
        return self.as_(login).fail("doc", "sign", number, "--role", role, "--password-stdin", *extra,
                                    input=(password or PASSWORDS[login]) + "\n")

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    def apply_config(self, login: str = "admin") -> dict:
        """What `qms config apply` does for the admin after an edit of config.yaml, a schema or a
        template (writes are refused until then) — called as the library, so a test that has just
        shortened session or password lifetimes needs no fresh admin session (test_governance
        runs the command itself)."""
        return apply_config(self.root, login)


def apply_config(root: Path, login: str = "admin") -> dict:
    """The workspace's current config.yaml, schemas and templates applied (journaled) by `login`."""
    from qms.integrity.governance import apply_config as apply
    from qms.identity.users import get_user
    from qms.store.workspace import open_workspace
    ws = open_workspace(root)
    return apply(ws, actor=get_user(ws, login))


_TEMPLATE: Path | None = None


def cli_init(root: Path, org: str | None = None):
    """`qms init ROOT [--org ORG] --admin admin` as a user types it; returns the click result."""
    result = CliRunner().invoke(cli, ["init", str(root), *(["--org", org] if org else []), "--admin", "admin",
                                      "--name", STAFF["admin"][0], "--password-stdin"],
                                input=PASSWORDS["admin"] + "\n")
    assert result.exit_code == 0, result.output
    return result


def add_staff(root: Path) -> Qms:
    """The admin logs in and adds every other STAFF user, each of whom logs in in their own config
    folder beside the workspace; returns the tester's session."""
    admin = Qms(root).as_("admin")
    admin("login", "admin", "--password-stdin", input=PASSWORDS["admin"] + "\n")
    for login, (name, roles) in STAFF.items():
        if login != "admin":
            admin("user", "add", login, "--name", name, "--roles", roles, "--password-stdin",
                  input=PASSWORDS[login] + "\n")
            admin.as_(login)("login", login, "--password-stdin", input=PASSWORDS[login] + "\n")
    return admin.as_("tester")


def _template() -> Path:
    """One workspace with every STAFF user and their sessions, made once per test run through the CLI
    (qms init --admin, user add, login); each test gets a copy (argon2 and key generation cost time)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        import atexit
        import tempfile
        base = Path(tempfile.mkdtemp(prefix="qms-template-"))
        atexit.register(shutil.rmtree, base, True)
        cli_init(base / "ws")
        add_staff(base / "ws")
        _TEMPLATE = base
    return _TEMPLATE


def _sessions_begin_now(root: Path) -> None:
    """A copy's people logged in just now, as if each had typed their password (argon2 costs time),
    not when the template was made: their sessions are as fresh as the workspace."""
    from qms.identity.secrets import open_secrets       # qms's own writer: its triggers re-seal each row's MAC
    from qms.store.workspace import open_workspace
    with open_secrets(open_workspace(root)) as db:
        db.execute("UPDATE sessions SET created_at = ?, last_seen = ?", (now().timestamp(),) * 2)


def make_workspace(root: Path) -> Qms:
    """A fresh workspace at `root` with the STAFF users, each logged in in their own config folder
    beside it; returns the tester's session (author, clerk, keeper)."""
    base = _template()
    shutil.copytree(base / "ws", root, symlinks=True)
    for home in base.glob("config-*"):
        shutil.copytree(home, root.parent / home.name, dirs_exist_ok=True)
    _sessions_begin_now(root)
    return Qms(root).as_("tester")


def copy_workspace(qms: Qms, root: Path) -> Qms:
    """A private copy of a workspace with its people's config folders (sessions); the tester's session."""
    shutil.copytree(qms.root, root)
    for home in qms.root.parent.glob("config-*"):
        shutil.copytree(home, root.parent / home.name, dirs_exist_ok=True)
    return Qms(root).as_("tester")


def nothing_archived(qms: Qms) -> bool:
    """No document, record or disposal folder yet (the journal holds the test users from the start)."""
    return not any((qms.archive / sub).exists() for sub in ("documents", "records", "disposals", "index"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its hash: 'byte-identical' means equal snapshots."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def _config_home(tmp_path, monkeypatch):
    """Session tokens go to a config folder of the test, never the real ~/.config/qms."""
    monkeypatch.setenv("QMS_CONFIG_HOME", str(tmp_path / "config-home"))


@pytest.fixture
def qms(tmp_path) -> Qms:
    return make_workspace(tmp_path / "ws")


def copy_into(qms: Qms, src: Path, name: str | None = None) -> Path:
    dst = qms.root / (name or src.name)
    shutil.copyfile(src, dst)
    return dst


def release_procedure(qms: Qms, source: Path, *, issued="2026-03-13", effective="2026-03-20", pdf=False,
                      change=None, signers=None) -> str:
    """check → submit → sign by every role → release; returns the document number."""
    qms("doc", "check", source)
    args = ["doc", "submit", source] + (["--change", change] if change else [])
    number = qms.json(*args)["number"]
    for role, name in signers or [("编制", "张建华"), ("会签", "李明"), ("会签", "周静"), ("审定", "王立新"),
                                  ("标审", "陈芳"), ("批准", "赵国庆")]:
        qms.sign(number, role, name)
    qms("doc", "release", number, "--issued", issued, "--effective", effective, *([] if pdf else ["--no-pdf"]))
    return number


# ------------------------------------------------------------------ records (issues 4 and 6)

def example_data(form_id: str, **changes) -> dict:
    """The shipped sample record of a form (examples/records/<id>.yaml), with some fields changed."""
    import yaml
    data = yaml.safe_load((REPO / "examples" / "records" / f"{form_id}.yaml").read_text(encoding="utf-8"))
    return {**data, **changes}


def write_data(qms: Qms, data: dict, name: str) -> Path:
    """Record data as a user would save it: .json or .yaml by the name's suffix."""
    path = qms.root / name
    if path.suffix == ".json":
        path.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    else:
        import yaml
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_scan(path: Path, *lines: str, pages: int = 1) -> Path:
    """A small real PDF standing in for a customer-signed scan (fpdf2, Latin text: fast)."""
    from fpdf import FPDF
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=14)
    for n in range(1, pages + 1):
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 10, f"page {n} of {pages}", new_x="LMARGIN", new_y="NEXT")
    path.write_bytes(bytes(pdf.output()))
    return path


# --- PostgreSQL (issue 26): one real cluster per test process, a fresh database per test ---------

@pytest.fixture(scope="session")
def pg_cluster():
    from pg_cluster import start_cluster
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_database(pg_cluster) -> str:
    """The URL of a new empty database on the session's PostgreSQL (for storage.database)."""
    return pg_cluster.create_database()


# --- the README tour (tour.py): run once per test process ---------------------------------------

@pytest.fixture(scope="session")
def readme_tour(tmp_path_factory) -> tuple[Path, str]:
    """(the workspace the README tour leaves, what its commands printed). Read, never changed, by
    test_readme_tour (what the person sees) and test_migrate (its source): one tour, not two —
    the scheduler below keeps both files on one worker."""
    from tour import run_tour
    return run_tour(tmp_path_factory.mktemp("readme-tour"))


# --- scheduling on xdist workers (make test: -n 2 --dist loadfile) ------------------------------
# Files that share a session fixture too costly to make twice run on the same worker, and the
# longest files start first: xdist's own order (most tests first) left the minute-long single-test
# tours for the end, where one worker ran them while the other had nothing left to do.
SAME_WORKER = {"tests/test_migrate.py": "tests/test_readme_tour.py"}
LONGEST_FIRST = ("tests/test_readme_tour.py", "tests/test_migrate.py", "tests/test_readme_tour_postgresql.py",
                 "tests/test_journal.py", "tests/test_readme_tour_s3.py", "tests/test_several_servers.py",
                 "tests/test_storage_contract.py", "tests/test_scan.py", "tests/test_nothing_lost.py")


@pytest.hookimpl(optionalhook=True)        # `-p no:xdist` runs the suite without it
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadFileScheduling

    class Scheduler(LoadFileScheduling):
        def _split_scope(self, nodeid):
            scope = super()._split_scope(nodeid)
            return SAME_WORKER.get(scope, scope)
    config.option.loadscopereorder = False          # the collection's order below is the queue's
    return Scheduler(config, log)


def pytest_collection_modifyitems(config, items):
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def rank(name: str) -> tuple:
        if name in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(name))
        return (1, -len(files[name]))               # then xdist's own heuristic: most tests first
    items[:] = [item for name in sorted(files, key=rank) for item in files[name]]


# ------------------------------------------------------------------ a real server (issue 21)

def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, proc, log: Path) -> None:
    """Until `qms serve` at URL answers its login page (30 s); an error with its log if it does not,
    or if the process ended."""
    import time
    import httpx
    for _ in range(300):
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("qms serve did not answer: " + log.read_text())


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """`qms serve --workers 2` on a workspace with one filed record (its number: .record): the base
    URL as .url, the workspace as .qms. Answers say which worker they came from (X-Qms-Worker)."""
    import subprocess
    import sys
    import types
    q = make_workspace(tmp_path_factory.mktemp("served") / "ws")
    number = q.json("record", "file", "QR-SV-022-04", "--data",
                    write_data(q, example_data("QR-SV-022-04"), "r.yaml"), "--no-pdf")["number"]
    port = free_port()
    log = open(q.root.parent / "serve.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("qms")), "-w", str(q.root), "serve",
                             "--port", str(port), "--workers", "2"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, proc, q.root.parent / "serve.log")
        yield types.SimpleNamespace(url=url, qms=q, record=number, log=q.root.parent / "serve.log")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()

# --- S3 with Object Lock (issue 26): moto's server per test process, or QMS_TEST_S3_ENDPOINT -------

@pytest.fixture(scope="session")
def s3_server():
    from s3_server import start_server
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def s3_workspace(tmp_path, s3_server) -> Qms:
    """A workspace whose archived files also go to a fresh bucket (storage.objects), as `qms init
    --objects s3://… --s3-endpoint …` writes it."""
    root = tmp_path / "ws"
    q = make_workspace(root)
    url = s3_server.bucket_url()
    cfg = root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").rstrip("\n") + f"\n\nstorage:\n  objects: {json.dumps(url)}\n"
                   f"  s3_endpoint: {json.dumps(s3_server.endpoint)}\n", encoding="utf-8")
    # (no config apply: storage: is where the archive is kept, not what governs it — issue 26, qms migrate)
    q.bucket_url = url
    return q


# --- a moved clock in another process (Debian faketime) -------------------------------------------

FAKETIME_LIB = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)


def faketime_env(when: str, env: dict) -> dict:
    """ENV for a process whose clock starts at WHEN ("2027-01-04 10:00:00"): Debian faketime's library,
    preloaded. Not its `faketime` wrapper: both keep a semaphore and shared memory per pid in
    /dev/shm that a killed process leaves behind, and when a later process is given the same pid
    the wrapper exits ("faketime: sem_open: File exists" — a fresh clone's suite failed so, with 136
    left in /dev/shm) where the library goes on without them."""
    return {**env, "LD_PRELOAD": str(FAKETIME_LIB), "FAKETIME": f"@{when}"}
