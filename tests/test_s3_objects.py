"""Archived files in a bucket with Object Lock (issue 26): the keeper's session on a workspace whose
config.yaml names `storage.objects`, against moto's S3 server in its own process (tests/s3_server.py),
so moving this process's clock leaves the server's — the one a lock is judged by — where it is."""

from __future__ import annotations

import ast
import datetime as dt
import json
import shutil
import socket
import sqlite3
from pathlib import Path

import boto3
import pytest
import time_machine

from qms.base.errors import Conflict, Refused
from qms.store.object_sync import open_store, retention_end
from qms.store.objects import COMPLIANCE
from qms.store.workspace import open_workspace

from click.testing import CliRunner

from qms.cli import cli

from conftest import PASSWORDS, Qms, add_staff, example_data, make_scan, write_data

SRC = Path(__file__).resolve().parents[1] / "src" / "qms"


def file_on(qms: Qms, form_id: str, on: str, **changes) -> str:
    path = write_data(qms, example_data(form_id, **changes), f"{form_id}-{on}-{len(changes)}.yaml")
    return qms.json("record", "file", form_id, "--data", path, "--on", on, "--no-pdf")["number"]


def store_of(qms: Qms):
    return open_store(open_workspace(qms.root))


def folder_of(qms: Qms, number: str) -> str:
    return qms.json("record", "show", number)["versions"][0]["folder"]


def purge(qms: Qms, *args: str, ok: bool = True):
    """The keeper proposes, 刘军 (管理者代表) approves with his password."""
    proposal = qms.json("purge", *args, "--yes")["proposal"]
    assert proposal, "nothing was proposed"
    return qms.as_("liujun")("disposal", "approve", proposal, "--password-stdin", "--json", ok=ok,
                             input=PASSWORDS["liujun"] + "\n")


def raw_client(s3_server):
    return boto3.client("s3", endpoint_url=s3_server.endpoint)


def bucket_and_key(qms: Qms, rel: str) -> tuple[str, str]:
    store = store_of(qms)
    return store.bucket, store.key(rel)


def codes(report: dict) -> list[tuple[str, str]]:
    return [(i["code"], i["target"].rsplit("/", 1)[-1]) for i in report["issues"]]


# ------------------------------------------------------------------ filing

def test_a_filed_record_lands_in_the_bucket_locked_until_its_retention_end(s3_workspace):
    q = s3_workspace
    number = file_on(q, "QR-SV-022-03", "2026-11-01")          # kept 5 years from filing
    shown = q.json("record", "show", number)
    folder = shown["versions"][0]["folder"]
    store = store_of(q)
    versions = store.versions(folder)
    names = sorted(v.rel.rsplit("/", 1)[-1] for v in versions)
    assert names == sorted(["data.yaml", "manifest.json", f"{number}.docx"])
    for v in versions:                 # each byte as archived, locked until the day it becomes due
        assert store.get(v.rel, v.version_id) == (q.root / v.rel).read_bytes()
        assert store.retention(v.rel, v.version_id) == (COMPLIANCE, retention_end(shown["retention_until"]))
    assert retention_end(shown["retention_until"]).date().isoformat() > shown["retention_until"]
    assert q.json("verify")["issues"] == []


def test_a_locked_object_cannot_be_deleted_or_overwritten_through_the_store(s3_workspace):
    q = s3_workspace
    number = file_on(q, "QR-SV-022-03", "2026-11-01")
    store = store_of(q)
    (v,) = [v for v in store.versions(folder_of(q, number)) if v.rel.endswith("data.yaml")]
    with pytest.raises(Conflict, match="refusing to overwrite"):
        store.put(v.rel, b"number: forged\n")
    with pytest.raises(Refused, match="refused to delete"):
        store.delete_version(v.rel, v.version_id)
    assert store.get(v.rel) == (q.root / v.rel).read_bytes()
    assert q.json("verify")["issues"] == []


def test_a_hold_is_an_s3_legal_hold_and_its_release_lifts_it(s3_workspace):
    q = s3_workspace
    number = file_on(q, "QR-SV-022-03", "2019-04-15")          # due since 2024: no retention lock left
    store = store_of(q)
    folder = folder_of(q, number)
    q("hold", "add", number, "--reason", "用户投诉纠纷，法务部要求保留")
    versions = store.versions(folder)
    assert versions and all(store.held(v.rel, v.version_id) for v in versions)
    with pytest.raises(Refused):
        store.delete_version(versions[0].rel, versions[0].version_id)
    q("hold", "release", number, "--reason", "纠纷已结案")
    assert not any(store.held(v.rel, v.version_id) for v in store.versions(folder))


def test_a_signed_scan_and_an_amendment_are_written_once_and_locked_too(s3_workspace, tmp_path):
    q = s3_workspace
    number = file_on(q, "QR-SV-022-02", "2026-11-02")
    scan = make_scan(tmp_path / "signed.pdf", f"{number} signed: Wang Haitao")
    q("record", "sign", number, "--scan", scan, "--signer", "王海涛")
    fix = write_data(q, example_data("QR-SV-022-02", customer="鞍钢集团矿业公司"), "fix.yaml")
    q("record", "amend", number, "--data", fix, "--reason", "客户名称补全", "--no-pdf")
    shown = q.json("record", "show", number)
    end = retention_end(shown["retention_until"])
    store = store_of(q)
    for version in shown["versions"]:
        for v in store.versions(version["folder"]):
            assert store.retention(v.rel, v.version_id) == (COMPLIANCE, end), v.rel
    v1 = shown["versions"][0]["folder"]
    # the manifest is the one file the archive replaces: its versions are its history, the newest is current
    manifests = [v for v in store.versions(v1) if v.rel.endswith("manifest.json")]
    assert len(manifests) == 2 and store.get(manifests[0].rel, manifests[0].version_id) == \
        (q.root / v1 / "manifest.json").read_bytes()
    assert q.json("verify")["issues"] == []


# ------------------------------------------------------------------ purge

def test_a_purge_deletes_each_version_and_its_certificate_lists_them(s3_workspace):
    q = s3_workspace
    number = file_on(q, "QR-SV-022-03", "2019-04-15")          # kept until 2024-04-15: due
    folder = folder_of(q, number)
    store = store_of(q)
    before = {(store.key(v.rel), v.version_id) for v in store.versions(folder)}
    assert len(before) == 3
    done = json.loads(purge(q).stdout)
    assert done["disposed"] == [number]
    cert = q.json("disposal", "show", done["certificate"])
    (entry,) = cert["records"]
    assert {(o["key"], o["version_id"]) for o in entry["objects"]} == before
    assert store.versions(folder) == []
    # the certificate's own files are in the bucket too, and everything agrees
    assert store.versions(cert["folder"])
    assert q.json("verify")["issues"] == []


def test_purge_before_retention_end_is_refused_by_the_store_even_if_the_catalog_is_edited(s3_workspace, s3_server):
    q = s3_workspace
    real_today = dt.date.today()
    filed_on = real_today.replace(year=real_today.year - 5)      # kept through today: due tomorrow
    number = file_on(q, "QR-SV-022-03", filed_on.isoformat())
    assert q.json("record", "show", number)["retention_until"] == real_today.isoformat()
    folder = folder_of(q, number)
    store = store_of(q)
    kept = {(v.rel, v.version_id) for v in store.versions(folder)}
    # someone edits the catalog to make the record look long due
    with sqlite3.connect(q.root / "archive" / "catalog.sqlite") as db:
        db.execute("UPDATE records SET retention_until='2000-01-01' WHERE number=?", (number,))
    res = q("purge", "--yes", ok=False)          # due is read from the journal, which disagrees
    assert res.exit_code == 3 and "disagrees with the journal" in res.output
    # and this machine's clock moved a day on (the server's did not): qms thinks it due, the store says no
    with time_machine.travel(dt.datetime.combine(real_today + dt.timedelta(days=1), dt.time(9)).astimezone(),
                             tick=False):
        for login in ("tester", "liujun"):           # a day on: log in again under that clock
            q.as_(login)("login", login, "--password-stdin", input=PASSWORDS[login] + "\n")
        res = purge(q, ok=False)
        assert res.exit_code == 1 and "Traceback" not in res.output
        if s3_server.kind == "moto":       # moto judges the lock by its own clock
            assert "locked (COMPLIANCE)" in res.output and "nothing was destroyed" in res.output
        else:                              # a real server will not even sign with a clock a day off (403)
            assert "refused" in res.output
    assert {(v.rel, v.version_id) for v in store.versions(folder)} == kept
    assert (q.root / folder / "data.yaml").is_file()
    assert q.json("record", "show", number)["status"] != "disposed"
    with pytest.raises(Refused):
        store.delete_version(*sorted(kept)[0])


# ------------------------------------------------------------------ verify

def test_verify_reports_an_object_edited_missing_or_added_in_the_bucket(s3_workspace, s3_server):
    q = s3_workspace
    locked = file_on(q, "QR-SV-022-03", "2026-11-01")
    old = file_on(q, "QR-SV-022-03", "2019-04-15")              # no lock left: its objects can be deleted
    s3 = raw_client(s3_server)
    # a new version put beside the locked one (Object Lock stops deletes, not new versions)
    bucket, key = bucket_and_key(q, f"{folder_of(q, locked)}/data.yaml")
    s3.put_object(Bucket=bucket, Key=key, Body=b"number: forged\n")
    # an unlocked object deleted for good, and an object nobody filed
    gone = f"{folder_of(q, old)}/{old}.docx"
    (v,) = [v for v in store_of(q).versions(folder_of(q, old)) if v.rel == gone]
    s3.delete_object(Bucket=bucket, Key=bucket_and_key(q, gone)[1], VersionId=v.version_id)
    s3.put_object(Bucket=bucket, Key=bucket_and_key(q, "archive/records/extra.txt")[1], Body=b"x")
    report = q.json("verify", ok=False)
    assert sorted(codes(report)) == sorted([("OBJECT_CHANGED", "data.yaml"), ("OBJECT_MISSING", f"{old}.docx"),
                                            ("OBJECT_UNLISTED", "extra.txt")])
    changed = next(i for i in report["issues"] if i["code"] == "OBJECT_CHANGED")
    assert "2 versions" in changed["message_en"] and "对象存储中的对象已被改动" in changed["message_zh"]


def test_a_local_copy_edited_is_reported_and_the_bucket_keeps_the_filed_bytes(s3_workspace):
    q = s3_workspace
    number = file_on(q, "QR-SV-022-03", "2026-11-01")
    rel = f"{folder_of(q, number)}/data.yaml"
    filed = (q.root / rel).read_bytes()
    (q.root / rel).write_bytes(filed + b"# edited\n")
    report = q.json("verify", ok=False)
    assert ("CONTENT_CHANGED", "data.yaml") in codes(report)
    assert store_of(q).get(rel) == filed


# ------------------------------------------------------------------ several servers, no shared disk

def test_a_record_missing_here_is_read_from_the_bucket(s3_workspace):
    q = s3_workspace
    number = file_on(q, "QR-SV-022-03", "2026-11-01", customer="鞍钢集团矿业公司")
    shown = q.json("record", "show", number)
    folder = q.root / shown["versions"][0]["folder"]
    shutil.rmtree(folder)                      # filed through another server: not on this disk
    again = q.json("record", "show", number)
    assert again["data"] == shown["data"] and again["files"] == shown["files"]
    assert (folder / f"{number}.docx").is_file()
    assert q.json("verify")["issues"] == []


def test_a_bucket_that_does_not_answer_is_said_and_recover_finishes_the_copy(s3_workspace, s3_server):
    q = s3_workspace
    cfg = q.root / "config.yaml"
    good = cfg.read_text(encoding="utf-8")
    before = len(store_of(q).versions(""))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    cfg.write_text(good.replace(s3_server.endpoint, closed), encoding="utf-8")    # (storage: is not governed)
    path = write_data(q, example_data("QR-SV-022-03"), "down.yaml")
    res = q("record", "file", "QR-SV-022-03", "--data", path, "--on", "2026-11-01", "--no-pdf", ok=False)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "committed" in res.output and "qms recover" in res.output and len(res.output.strip().splitlines()) == 1
    cfg.write_text(good, encoding="utf-8")               # the bucket answers again
    q.as_("admin")("recover")                            # finishes the copy
    assert len(store_of(q).versions("")) == before + 3
    assert q.json("verify")["issues"] == []


# ------------------------------------------------------------------ qms init --objects

def test_init_with_objects_files_into_a_locked_bucket_it_creates(tmp_path, s3_server):
    root = tmp_path / "site"
    url = s3_server.bucket_url()
    res = CliRunner().invoke(cli, ["init", str(root), "--admin", "admin", "--name", "管理员", "--password-stdin",
                                   "--objects", url, "--s3-endpoint", s3_server.endpoint],
                             input=PASSWORDS["admin"] + "\n")
    assert res.exit_code == 0, res.output
    q = add_staff(root)
    number = file_on(q, "QR-SV-022-03", "2026-11-01")
    store = store_of(q)
    assert store.url == url and store.versions(folder_of(q, number))
    assert "AWS_SECRET" not in (root / "config.yaml").read_text(encoding="utf-8")
    assert q.json("verify")["issues"] == []


# ------------------------------------------------------------------ the adapter

def test_boto3_is_imported_by_one_module_only():
    importers = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in ("boto3", "botocore") for n in names):
                importers.append(path.relative_to(SRC).as_posix())
    assert sorted(set(importers)) == ["store/s3_objects.py"]


def test_the_embedded_default_keeps_the_archive_folder(qms):
    number = file_on(qms, "QR-SV-022-03", "2026-11-01")
    store = open_store(open_workspace(qms.root))
    assert not store.remote
    folder = qms.json("record", "show", number)["versions"][0]["folder"]
    assert {v.rel.rsplit("/", 1)[-1] for v in store.versions(folder)} == {"data.yaml", "manifest.json",
                                                                          f"{number}.docx"}
