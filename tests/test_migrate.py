"""`qms migrate` (issue 26): the README tour's workspace moved to PostgreSQL + a bucket (moto) by the
command as an admin types it — killed with SIGKILL at random moments ten times and run again
until it finishes — then compared with the source: the journal's bytes, verify on both sides,
every catalog table, every archived file in the bucket, and what the tour's commands print.
Then back to a folder, and the refusals (an unreachable database or bucket, a foreign journal)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from qms.store import audit, catalog
from qms.store.object_sync import open_store
from qms.store.replay import compare, trail_differences
from qms.store.workspace import open_workspace

from conftest import example_data, make_workspace, write_data

KILLS = 10
STEPS = ("files", "journal", "secrets", "catalog", "objects", "config", "index")    # as qms migrate names them
# what a person following the tour reads back (liufang's session, copied with the secrets store)
TOUR_READS = (("record", "list"), ("record", "show", "QR-SV-022-04-2026-0003"), ("doc", "list"),
              ("doc", "show", "QP-SC-015"), ("log", "--target", "QP-SC-015"), ("record", "list", "--json"),
              ("log", "--json", "--limit", "500"))
# search: the same hits and totals; a score may differ in its last digit (an index rebuilt in one go
# weighs terms a little differently from one grown a commit at a time — so does `qms reindex`)
SEARCHES = (("压缩机",), ("赵建国", "--kind", "record"), ("QR-SV-022-02",), ("客户：华东电力",))


class Cli:
    """`qms -w WS …` in a subprocess, as the tour's person (HOME) or another session's folder."""

    def __init__(self, home: Path, config_home: Path | None = None):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
        self.env["HOME"] = str(home)
        if config_home:
            self.env["QMS_CONFIG_HOME"] = str(config_home)

    def argv(self, ws: Path, *args) -> list[str]:
        return [sys.executable, "-m", "qms", "-w", str(ws), *map(str, args)]

    def __call__(self, ws: Path, *args, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(ws, *args), env=self.env, input=input, text=True, capture_output=True,
                              timeout=600)


def snapshot(root: Path) -> dict[str, str]:
    """Every file of a workspace folder with its hash, but the lock's note (who holds it) and the
    secrets store, where the admin's own session notes when it was last seen."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"
            and not p.name.startswith("secrets.sqlite")}


def migrate_killed(cli: Cli, ws: Path, args: tuple, target: Path, kills: int, rng: random.Random):
    """Run `qms migrate` and SIGKILL it at a random moment — a random step, then up to 0.4 s into it
    (the first kill up to 0.1 s into the files or the journal, while they are first copied) — `kills`
    times, then run it to the end. Returns (the step each kill interrupted, the last run's JSON)."""
    interrupted = []
    while True:
        proc = subprocess.Popen(cli.argv(ws, *args, "--json"), env=cli.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if len(interrupted) < kills:
            aim = rng.choice(STEPS[:2] if not interrupted else STEPS)
            seen = "start"
            for line in proc.stderr:
                if line.startswith("qms migrate: "):
                    seen = line.split()[2]
                    if seen == aim:
                        break
            time.sleep(rng.uniform(0.0, 0.4 if interrupted else 0.1))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                rest = proc.communicate()[1]
                steps = [seen] + [ln.split()[2] for ln in rest.splitlines() if ln.startswith("qms migrate: ")]
                interrupted.append(steps[-1])
                if all(STEPS.index(step) < STEPS.index("config") for step in interrupted):
                    # config.yaml comes last: a half-filled target is never a workspace naming its storage
                    assert not (target / "config.yaml").exists(), interrupted
                continue
        out, err = proc.communicate()          # the run that was not killed
        assert proc.returncode == 0, err
        return interrupted, json.loads(out)


@pytest.fixture(scope="module")
def tour(readme_tour):
    """The workspace the README tour leaves (the one test_readme_tour checks: it is only read here),
    with an admin's session beside the tour's person's."""
    ws = readme_tour[0]
    home = ws.parent
    admin = Cli(home, home / ".qms-admin")
    r = admin(ws, "login", "admin", "--password-stdin", input="admin-pw-2026\n")
    assert r.returncode == 0, r.stderr
    return types.SimpleNamespace(ws=ws, home=home, admin=admin, person=Cli(home))


@pytest.fixture(scope="module")
def migrated(tour, pg_cluster, s3_server):
    """The tour's workspace migrated, killed KILLS times at random moments and resumed."""
    target = tour.home / "on-postgresql"
    url, bucket = pg_cluster.create_database(), s3_server.bucket_url()
    args = ("migrate", "--to", url, "--objects", bucket, "--s3-endpoint", s3_server.endpoint, "--into", target)
    before = snapshot(tour.ws)
    started = time.monotonic()
    interrupted, out = migrate_killed(tour.admin, tour.ws, args, target, KILLS, random.Random(26))
    return types.SimpleNamespace(target=target, url=url, bucket=bucket, endpoint=s3_server.endpoint,
                                 interrupted=interrupted,
                                 report=out, before=before, seconds=time.monotonic() - started)


def test_a_migration_killed_ten_times_and_resumed_ends_equal_to_the_source(tour, migrated):
    src, dst = open_workspace(tour.ws), open_workspace(migrated.target)
    print(f"\nkilled during {migrated.interrupted}; {len(migrated.interrupted) + 1} runs in {migrated.seconds:.0f} s; "
          f"last run: {migrated.report['seconds']:.1f} s")
    assert len(migrated.interrupted) == KILLS and migrated.report["resumed"]
    assert len(set(migrated.interrupted)) >= 3, migrated.interrupted     # the kills fell in different steps
    # the source was read, never changed
    assert snapshot(tour.ws) == migrated.before
    # the target names its database and bucket; nothing of the catalog or journal is a file there
    assert dst.config.storage == {"database": migrated.url, "objects": migrated.bucket,
                                  "s3_endpoint": migrated.endpoint}
    assert not (migrated.target / "archive" / "audit.log").exists()
    assert not (migrated.target / ".qms-migrating").exists()
    # the journal: the same bytes, line for line (copied, never re-made)
    assert dst.audit_path.read_bytes() == (tour.ws / "archive" / "audit.log").read_bytes()
    # verify passes on both sides
    for ws in (tour.ws, migrated.target):
        rep = json.loads(tour.admin(ws, "verify", "--json").stdout)
        assert rep["ok"] and rep["problems"] == [], (ws, rep["problems"])
    # every catalog table equal
    with catalog.reading(src) as a, catalog.reading(dst) as b:
        assert compare(a, b) == [] and compare(b, a) == []
        assert trail_differences(b, audit.entries_after(src.audit_path, 0)) == []
    # every archived file in the bucket, byte for byte, and nothing else
    store = open_store(dst)
    objects = {v.rel: v for v in store.versions("") if not v.deleted}
    archived = {p.relative_to(tour.ws).as_posix() for sub in ("documents", "records", "disposals")
                for p in (tour.ws / "archive" / sub).rglob("*") if p.is_file()}
    assert set(objects) == archived and len(archived) > 100
    for rel in sorted(archived):
        assert store.get(rel) == (tour.ws / rel).read_bytes(), rel
    # the tour's commands read the same, in the tour person's own session
    for args in TOUR_READS:
        a, b = tour.person(tour.ws, *args), tour.person(migrated.target, *args)
        assert a.returncode == 0 and a.stdout == b.stdout, (args, a.stderr, b.stderr)
    for args in SEARCHES:
        a, b = (json.loads(tour.person(ws, "search", *args, "--json", "--limit", "100").stdout)
                for ws in (tour.ws, migrated.target))
        assert a["total"] == b["total"] > 0, args
        assert sorted(h["number"] for h in a["hits"]) == sorted(h["number"] for h in b["hits"]), args


def test_back_to_a_folder_gives_the_source_again(tour, migrated):
    back = tour.home / "back-in-a-folder"
    # a folder this server never had (filed through another: no shared disk) is read from the bucket
    gone = sorted((migrated.target / "archive" / "records").rglob("manifest.json"))[0].parent
    shutil.rmtree(gone)
    killed, report = migrate_killed(tour.admin, migrated.target, ("migrate", "--to", back), back, 4,
                                    random.Random(6))
    assert len(killed) == 4 and report["resumed"] and report["storage"] == {}
    assert (back / "archive" / "audit.log").read_bytes() == (tour.ws / "archive" / "audit.log").read_bytes()
    assert snapshot(back / "archive" / "records") == snapshot(tour.ws / "archive" / "records")
    assert "storage" not in (back / "config.yaml").read_text(encoding="utf-8")
    rep = json.loads(tour.admin(back, "verify", "--json").stdout)
    assert rep["ok"], rep["problems"]
    with catalog.reading(open_workspace(tour.ws)) as a, catalog.reading(open_workspace(back)) as b:
        assert compare(a, b) == [] and compare(b, a) == []
    for args in TOUR_READS[:4]:
        assert tour.person(back, *args).stdout == tour.person(tour.ws, *args).stdout, args


# ------------------------------------------------------------------ refused, with the source untouched

def _refused(q, *args) -> str:
    admin = q.as_("admin")
    before = snapshot(q.root)
    out = admin.fail("migrate", *args)
    assert snapshot(q.root) == before
    assert len(out.strip().splitlines()) == 1, out
    return out


def test_an_unreachable_database_or_bucket_is_one_line_and_nothing_is_made(qms, tmp_path, pg_database):
    target = tmp_path / "target"
    out = _refused(qms, "--to", "postgresql://postgres@127.0.0.1:1/nowhere", "--into", target)
    assert "cannot be reached" in out and not target.exists()
    out = _refused(qms, "--to", pg_database, "--objects", "s3://qms-nowhere/p", "--s3-endpoint",
                   "http://127.0.0.1:1", "--into", target)
    assert "qms-nowhere" in out and not target.exists()
    assert "--into DIR is required" in _refused(qms, "--to", pg_database)


def test_a_database_holding_another_journal_is_refused(qms, tmp_path, pg_database):
    second = make_workspace(tmp_path / "second" / "ws")     # made from the same template as qms …
    for q in (qms, second):                                 # … each then with a journal of its own
        q("record", "file", "QR-SV-022-04", "--data", write_data(q, example_data("QR-SV-022-04"), "r.yaml"),
          "--no-pdf")
    qms.as_("admin")("migrate", "--to", pg_database, "--into", tmp_path / "first-target")
    out = _refused(second, "--to", pg_database, "--into", tmp_path / "second-target")
    assert "different journal" in out and not (tmp_path / "second-target").exists()
    # a folder that holds something else
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine", encoding="utf-8")
    assert "not empty" in _refused(qms, "--to", pg_database, "--into", tmp_path / "busy")


def test_only_an_admin_migrates(qms, tmp_path):
    out = qms.as_("zhangjh").fail("migrate", "--to", tmp_path / "copy")
    assert "archive.maintain" in out and not (tmp_path / "copy").exists()


def test_a_bucket_prefix_holding_objects_is_refused(qms, tmp_path, pg_cluster, s3_server):
    bucket = s3_server.bucket_url()
    qms("record", "file", "QR-SV-022-04", "--data", write_data(qms, example_data("QR-SV-022-04"), "r.yaml"), "--no-pdf")
    qms.as_("admin")("migrate", "--to", pg_cluster.create_database(), "--objects", bucket, "--s3-endpoint",
                     s3_server.endpoint, "--into", tmp_path / "first")
    out = _refused(qms, "--to", pg_cluster.create_database(), "--objects", bucket, "--s3-endpoint",
                   s3_server.endpoint, "--into", tmp_path / "second")
    assert "already holds objects" in out and not (tmp_path / "second").exists()
