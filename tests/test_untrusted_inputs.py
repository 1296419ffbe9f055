"""Issue 11, the cases that need a story of their own: a planted pickle in the index, a
template escaping its sandbox, literal braces in values, odd encodings read correctly,
strict keys, outputs, import retries and chunked PDFs, permissions whatever the umask."""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import PASSWORDS, REPO, STAFF, copy_into, example_data, make_workspace, snapshot, write_data
from qms.adapters.convert import soffice_available

needs_soffice = pytest.mark.skipif(not soffice_available(), reason="LibreOffice not installed")
PHONE = "QR-SV-022-04"


class _Planted:
    """Unpickling this creates a file: the proof that whoosh opened a crafted index file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_in_the_index_never_runs(qms, tmp_path):
    qms("record", "file", PHONE, "--data", write_data(qms, example_data(PHONE), "p.yaml"), "--no-pdf")
    marker = tmp_path / "PWNED"
    index = qms.archive / "index"
    # a newer table of contents: whoosh would open it first
    (index / "_MAIN_99.toc").write_bytes(pickle.dumps(_Planted(marker)))
    out = qms("verify", ok=False).output
    assert "_MAIN_99.toc is not a file qms wrote" in out and "rebuilt from the archive" in out
    assert not marker.exists()
    assert not (index / "_MAIN_99.toc").exists()
    qms("verify")                                          # rebuilt: clean again
    # a segment file changed in place: caught by its hash, the search still answers
    toc = next(index.glob("_MAIN_*.toc"))
    toc.write_bytes(pickle.dumps(_Planted(marker)))
    hits = qms.json("search", "压缩机")["hits"]
    assert hits and not marker.exists()
    qms("verify")


def test_a_template_leaving_its_sandbox_is_refused_naming_template_and_tag(qms, tmp_path):
    from docx import Document
    marker = tmp_path / "PWNED"
    d = Document()
    d.add_paragraph("{{ form_title }}")
    d.add_paragraph(f"{{{{ lipsum.__globals__['os'].popen('touch {marker}').read() }}}}")
    d.save(qms.root / "templates" / "evil.docx")
    schema = yaml.safe_load((qms.root / "schemas" / f"{PHONE}.yaml").read_text(encoding="utf-8"))
    schema.update(id="QR-EVIL-01", template="evil.docx")
    (qms.root / "schemas" / "QR-EVIL-01.yaml").write_text(yaml.safe_dump(schema, allow_unicode=True),
                                                          encoding="utf-8")
    qms.apply_config()
    qms("record", "file", PHONE, "--data", write_data(qms, example_data(PHONE), "p.yaml"), "--no-pdf")
    before = snapshot(qms.archive)
    msg = qms.fail("record", "file", "QR-EVIL-01", "--data", write_data(qms, example_data(PHONE), "p.yaml"),
                   "--no-pdf")
    assert "evil.docx" in msg and "lipsum.__globals__" in msg and "sandbox" in msg
    assert not marker.exists()
    assert snapshot(qms.archive) == before
    assert not [p for p in qms.archive.rglob("*") if p.is_dir() and not any(p.iterdir())], "an empty folder"


def test_record_values_are_literal_text_byte_for_byte(qms):
    from docxtext import docx_text
    value = "{_{ 7*7 }_} {{ 7*7 }} {% if 1 %}x{% endif %} {_% raw %_} <b>&amp;</b>"
    data = example_data(PHONE, content=value)
    number = qms.json("record", "file", PHONE, "--data", write_data(qms, data, "p.yaml"), "--no-pdf")["number"]
    shown = qms.json("record", "show", number)
    assert shown["data"]["content"] == value
    text = docx_text(qms.root / shown["files"]["docx"])
    assert value in text


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_data_files_in_common_encodings_are_read_correctly(qms, encoding):
    data = example_data(PHONE)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    (qms.root / "p.yaml").write_bytes(text.encode(encoding))
    number = qms.json("record", "file", PHONE, "--data", qms.root / "p.yaml", "--no-pdf")["number"]
    assert qms.json("record", "show", number)["data"]["customer"] == data["customer"]
    (qms.root / "p.json").write_bytes(json.dumps(data, ensure_ascii=False, default=str).encode(encoding))
    number = qms.json("record", "file", PHONE, "--data", qms.root / "p.json", "--no-pdf")["number"]
    assert qms.json("record", "show", number)["data"]["handler"] == data["handler"]


def test_misspelled_keys_are_named_with_the_nearest_known_one(qms):
    src = yaml.safe_load((REPO / "examples" / "procedures" / "service-process-control.yaml").read_text("utf-8"))
    src["sections"][0]["bdy"] = src["sections"][0].pop("body")
    (qms.root / "s.yaml").write_text(yaml.safe_dump(src, allow_unicode=True), encoding="utf-8")
    msg = qms.fail("doc", "check", qms.root / "s.yaml")
    assert "`bdy`: unknown key; did you mean `body`?" in msg and "line" in msg
    src = yaml.safe_load((REPO / "examples" / "procedures" / "service-process-control.yaml").read_text("utf-8"))
    src["referenes"] = src.pop("references", [])
    (qms.root / "s.yaml").write_text(yaml.safe_dump(src, allow_unicode=True), encoding="utf-8")
    assert "did you mean `references`?" in qms.fail("doc", "check", qms.root / "s.yaml")


def test_duplicate_and_empty_csv_headers_name_the_column(qms):
    head = "call_date,customer,content,handler,customer"
    (qms.root / "d.csv").write_text(f"{head}\n2026-03-02,甲,乙,丙,丁\n", encoding="utf-8")
    msg = qms.fail("record", "import", PHONE, qms.root / "d.csv")
    assert "column 5 repeats the header of column 2" in msg and "customer" in msg
    (qms.root / "e.csv").write_text("call_date,customer,,content,handler\n2026-03-02,甲,丢失,乙,丙\n",
                                    encoding="utf-8")
    assert "column 3 has no header but holds values" in qms.fail("record", "import", PHONE, qms.root / "e.csv")


def test_outputs_never_land_in_the_archive(qms, tmp_path):
    number = qms.json("record", "file", PHONE, "--data", write_data(qms, example_data(PHONE), "p.yaml"),
                      "--no-pdf")["number"]
    docx = qms.root / qms.json("record", "show", number)["files"]["docx"]
    before = snapshot(qms.archive)
    assert "refusing to write inside the archive" in qms.fail("doc", "list", "--format", "csv", "-o",
                                                               qms.archive / "audit.log")
    assert "refusing to write inside the archive" in qms.fail("form", "blank", PHONE, "-o", docx)
    assert "does not exist" in qms.fail("doc", "list", "--format", "csv", "-o", tmp_path / "no" / "x.csv")
    assert "not a regular file" in qms.fail("doc", "list", "--format", "csv", "-o", "/dev/full")
    os.symlink(qms.archive / "catalog.sqlite", tmp_path / "link.csv")
    assert "refusing to write inside the archive" in qms.fail("doc", "list", "--format", "csv", "-o",
                                                               tmp_path / "link.csv")
    assert snapshot(qms.archive) == before
    qms("doc", "list", "--format", "csv", "-o", tmp_path / "list.csv")
    assert (tmp_path / "list.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_full_disk_is_one_clear_line(qms, tmp_path):
    """EFBIG from a file-size limit stands in for ENOSPC (same handling): the output helper
    says the disk is full and leaves no partial file."""
    script = (
        "import resource, signal, sys\n"
        "from qms.store import outputs\nfrom qms.base.errors import QmsError\nfrom qms.store.workspace import open_workspace\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        f"ws = open_workspace({str(qms.root)!r})\n"
        "try:\n"
        f"    outputs.write(ws, {str(tmp_path / 'big.csv')!r}, b'x' * 100000)\n"
        "except QmsError as e:\n    print(e.format())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "the disk is full" in out.stdout, out.stdout + out.stderr
    assert not list(tmp_path.glob("*big.csv*"))


def test_attachments_may_not_take_names_qms_gives_meaning_to(qms, tmp_path):
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    data = write_data(qms, example_data(PHONE), "p.yaml")
    before = snapshot(qms.archive)
    assert "may not be called 'manifest.json'" in qms.fail("record", "file", PHONE, "--data", data,
                                                           "--attach", tmp_path / "manifest.json")
    assert snapshot(qms.archive) == before
    assert not (qms.archive / "records").exists() or not any((qms.archive / "records").rglob("*"))


def test_an_imported_file_is_refused_the_second_time_unless_again(qms):
    csv_path = copy_into(qms, REPO / "examples" / "records" / "phone-log-2026-03.csv")
    filed = qms.json("record", "import", PHONE, csv_path, "--no-pdf")
    log = [e for e in qms.log() if e["action"] == "record.file"]
    import hashlib
    assert {e["data"]["source_sha256"] for e in log} == {hashlib.sha256(csv_path.read_bytes()).hexdigest()}
    before = snapshot(qms.archive)
    msg = qms.fail("record", "import", PHONE, csv_path, "--no-pdf")
    assert f"already imported as {filed[0]['number']} … {filed[-1]['number']} on" in msg and "--again" in msg
    assert snapshot(qms.archive) == before
    again = qms.json("record", "import", PHONE, csv_path, "--no-pdf", "--again")
    assert len(again) == len(filed)


@needs_soffice
def test_pdfs_are_made_in_chunks_and_a_failure_leaves_them_pending(qms, monkeypatch):
    import qms.adapters.convert as convert
    calls = []
    real = convert._run_soffice

    def counting(exe, indir, outdir, names, **kw):
        calls.append(len(names))
        return real(exe, indir, outdir, names, **kw)
    monkeypatch.setattr(convert, "_run_soffice", counting)
    monkeypatch.setenv("QMS_CONVERT_CHUNK", "2")
    # the soffice path's chunks (a batch would otherwise go to the resident converter, issue 21)
    cfg = qms.root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("resident: auto", "resident: off"), encoding="utf-8")
    qms.apply_config()
    rows = (REPO / "examples" / "records" / "phone-log-2026-03.csv").read_text(encoding="utf-8").splitlines()
    (qms.root / "five.csv").write_text("\n".join(rows[:6]) + "\n", encoding="utf-8")
    filed = qms.json("record", "import", PHONE, qms.root / "five.csv")
    assert calls == [2, 2, 1]
    assert all(qms.json("record", "show", f["number"])["files"].get("pdf") for f in filed)
    # LibreOffice missing: the records are filed, the message says how many PDFs wait, exit 3
    monkeypatch.setenv("QMS_SOFFICE", "/nonexistent/soffice")
    (qms.root / "three.csv").write_text("\n".join([rows[0]] + rows[6:9]) + "\n", encoding="utf-8")
    result = qms("record", "import", PHONE, qms.root / "three.csv", ok=False)
    assert result.exit_code == 3
    assert "3 records filed; PDFs pending for 3 — run `qms record pdf --pending`" in result.output
    assert len(result.output.strip().splitlines()) == 1
    # a retry never files twice
    assert "already imported" in qms.fail("record", "import", PHONE, qms.root / "three.csv")
    monkeypatch.delenv("QMS_SOFFICE")
    assert "converted 3 records" in qms("record", "pdf", "--pending").output
    qms("verify")


def test_nothing_in_the_archive_is_readable_by_others_whatever_the_umask(tmp_path):
    """Real commands in subprocesses started with umask 000: `init --admin`, a login and a user
    added in a new workspace; submit, every signature (each signer in their own session),
    release, file, import and verify in a workspace with its people."""
    exe = [sys.executable, "-m", "qms"]

    def run(ws: Path, who: str, *args, password: str | None = None):
        env = dict(os.environ, QMS_CONFIG_HOME=str(ws.parent / f"config-{who}"))
        done = subprocess.run([*exe, "-w", str(ws), *map(str, args)], capture_output=True, text=True, env=env,
                              input=(password or PASSWORDS[who]) + "\n" if "--password-stdin" in args else None,
                              preexec_fn=lambda: os.umask(0), timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    def others_can_read(ws: Path) -> None:
        found = subprocess.run(["find", str(ws / "archive"), "-perm", "/o=rwx"], capture_output=True, text=True)
        assert found.stdout == ""
        modes = {stat.S_IMODE(p.stat().st_mode) for p in (ws / "archive").rglob("*") if p.is_file()}
        assert modes and all(m & 0o007 == 0 for m in modes)

    new = tmp_path / "new" / "ws"
    new.parent.mkdir()
    done = subprocess.run([*exe, "init", str(new), "--admin", "admin", "--name", STAFF["admin"][0],
                           "--password-stdin"], input=PASSWORDS["admin"] + "\n", capture_output=True, text=True,
                          env=dict(os.environ, QMS_CONFIG_HOME=str(new.parent / "config-admin")),
                          preexec_fn=lambda: os.umask(0), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    run(new, "admin", "login", "admin", "--password-stdin")
    run(new, "admin", "user", "add", "tester", "--name", STAFF["tester"][0], "--roles", STAFF["tester"][1],
        "--password-stdin", password=PASSWORDS["tester"])
    others_can_read(new)

    ws = make_workspace(tmp_path / "ws").root
    source = REPO / "examples" / "procedures" / "service-process-control.yaml"
    run(ws, "tester", "doc", "submit", source)
    for role, login in [("编制", "zhangjh"), ("会签", "liming"), ("审定", "wanglx"), ("批准", "zhaogq")]:
        run(ws, login, "doc", "sign", "XX-XX-022", "--role", role, "--password-stdin")
    run(ws, "tester", "doc", "release", "XX-XX-022", "--issued", "2026-03-13", "--effective", "2026-03-20",
        *([] if soffice_available() else ["--no-pdf"]))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(example_data(PHONE), allow_unicode=True), encoding="utf-8")
    run(ws, "tester", "record", "file", PHONE, "--data", tmp_path / "p.yaml", "--no-pdf")
    run(ws, "tester", "record", "import", PHONE, REPO / "examples" / "records" / "phone-log-2026-03.csv", "--no-pdf")
    run(ws, "tester", "verify")
    others_can_read(ws)
