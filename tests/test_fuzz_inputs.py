"""Every input a user or an attacker can give (issue 11): generated bad inputs across YAML,
JSON, CSV, XLSX, paths, ids, dates, encodings, template tags and outputs.

Each case must exit 1 with one line, no traceback, within a time and memory bound, and leave
the archive byte-identical. One session workspace with records and a released procedure
gives the cases real state to hit; every case runs in a logged-in session holding the
permission for its command (the tester's, or a signer's for `doc sign`), so the input itself
is what gets refused. The cases that could exhaust memory or hang (billion
laughs, zip bomb, endless devices, 10 MB files) run in a subprocess under resource limits;
the rest run in-process under an alarm and a peak-memory check.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import resource
import shutil
import signal
import tracemalloc
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import PASSWORDS, REPO, make_workspace, release_procedure
from conftest import snapshot as file_snapshot


def snapshot(folder: Path) -> tuple:
    """Every file with its hash and every folder: an empty folder left behind is a change too."""
    folders = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir()) \
        if folder.exists() else []
    return file_snapshot(folder), folders


from qms.cli import cli

RNG = random.Random(11)
CASE_SECONDS = 10
CASE_MEMORY_MB = 300          # growth of the test process's peak RSS allowed for one case
SUBPROCESS_MEMORY = 1 << 31   # address-space limit for the risky cases (2 GiB)

PHONE = "QR-SV-022-04"        # flat form, imported from CSV/XLSX
REPORT = "QR-SV-022-02"       # every field type: text, date, choice, table (with numbers), signature


@dataclass
class Case:
    name: str
    args: list                     # CLI arguments after `-w WS`; "{ws}" / "{f:NAME}" filled in
    files: dict = field(default_factory=dict)   # NAME -> bytes written beside the workspace first
    risky: bool = False            # run in a subprocess under resource limits
    workspace: str = "main"        # or the name of a small workspace made for the case
    secret: str | None = None      # text of the input that must not appear in the message
    who: str = "tester"            # whose session runs it (a --password-stdin command types their password)


def sample(form_id: str) -> dict:
    data = yaml.safe_load((REPO / "examples" / "records" / f"{form_id}.yaml").read_text(encoding="utf-8"))
    return json.loads(json.dumps(data, default=str))      # dates as ISO text: JSON and YAML alike


def as_yaml(data) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")


PHONE_HEADER = "call_date,call_time,caller,customer,phone,product,content,handling,result,handler"
PHONE_ROW = "2026-03-02,08:47,陈光辉,安徽皖江水泥有限公司,0553-4821307,空气压缩机 XK-160,主电机过载保护跳闸,电话指导,已恢复,周丽"

CONTROL = [chr(c) for c in [*range(0, 9), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f, 0x85, 0x9f]]
BAD_IDS = ["../../../../elsewhere/f", "..", "../x", "a/b", "/etc/passwd", "QR\x00SV", "QR\nSV", "QR SV",
           "", " ", ".hidden", "~", "QR-SV-022-04/../../x", "x" * 300, "QR-SV-022-04\u202e", "\\..\\x",
           "QR-SV-022-04\x0b"]
BAD_DATES = ["9999-12-31", "10000-01-01", "0001-01-01", "1899-12-31", "3000-01-01", "2026-02-30", "2026-13-01",
             "2026/2/30", "2026年13月1日", "today", "", "２０２６-０１-０１", "2026-03-01T10:00", "9" * 5000, "2026-03-01\x00"]
EVIL_TAGS = [
    "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER') }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ range.__self__ }}",
    "{{ number.__class__.__base__.__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ (fields|first).__class__.__init__.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
]


# ------------------------------------------------------------------ generated cases

def yaml_cases() -> list[Case]:
    cases = []
    good = sample(PHONE)
    for ch in CONTROL:                                       # every control character, in a value
        text = as_yaml(good).decode().replace("周丽", f"周{ch}丽")
        cases.append(Case(f"yaml-control-U+{ord(ch):04X}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": text.encode("utf-8")}))
        cases.append(Case(f"yaml-control-key-U+{ord(ch):04X}", ["doc", "check", "{f:s.yaml}"],
                          {"s.yaml": f"number: QP-SC-0{ord(ch):02X}\ntitle: 标题{ch}\n".encode()}))
    for depth in (65, 100, 1000, 3000):
        flow = "[" * depth + "]" * depth
        block = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"
        cases.append(Case(f"yaml-deep-flow-{depth}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": f"customer: {flow}\n".encode()}))
        cases.append(Case(f"yaml-deep-block-{depth}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": block.encode()}))
    for n in (4301, 5000, 20000):
        cases.append(Case(f"yaml-digits-{n}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": as_yaml(good).replace(b"handler:", f"phone: {'7' * n}\nhandler:".encode())
                           .replace(b"phone: 021-57883216\n", b"")}))
    for alias in ("a: &x 1\nb: *x\n", "customer: &c 华东\ncaller: *c\n", "<<: &m {customer: x}\nq: {<<: *m}\n",
                  "x: &a [1]\ny: [*a, *a]\n"):
        cases.append(Case(f"yaml-alias-{len(cases)}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": alias.encode()}))
    for i, d in enumerate(BAD_DATES):
        cases.append(Case(f"yaml-date-{i}-{d[:12]!r}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": as_yaml({**good, "call_date": d})}))
    # every field of the richest form given a value of the wrong shape
    report = sample(REPORT)
    wrong = [{"a": 1}, [1, 2], "not-a-date", "1e999", "nan", "不在选项内", [{"part": {"x": 1}}], [["a"]],
             [{"nope": 1}], [{"qty": "many"}], True]
    for key in report:
        for value in RNG.sample(wrong, 3):
            data = {**report, key: value}
            if key in ("fault", "work_done", "customer", "product", "engineer") and isinstance(value, str) \
                    and value not in ("",):
                data[key] = {"nested": value}                 # a text field: only a mapping is wrong
            if key in ("notice_no", "contact", "address", "model", "serial_no", "customer_opinion",
                       "customer_signature", "fault", "work_done", "customer", "product", "engineer") \
                    and not isinstance(value, (dict, list)):
                data[key] = [value]
            cases.append(Case(f"yaml-wrong-{key}-{type(value).__name__}-{len(cases)}",
                              ["record", "file", REPORT, "--data", "{f:d.yaml}", "--no-pdf"], {"d.yaml": as_yaml(data)}))
    for key in ("custmer", "handlr", "call-date", "客户", "x" * 500):
        cases.append(Case(f"yaml-unknown-field-{key[:10]}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": as_yaml({**good, key: "x"})}))
    secret = "$6$Zq0.secret.salt$hunter2hunter2hunter2"
    cases.append(Case("yaml-shadow-like", ["record", "file", PHONE, "--data", "{f:shadow}"],
                      {"shadow": f"root:{secret}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n".encode()},
                      secret=secret))
    cases.append(Case("yaml-shadow-like-mapping", ["record", "file", PHONE, "--data", "{f:shadow.yaml}"],
                      {"shadow.yaml": f"root: {secret}\n".encode()}, secret=secret))
    for blob in (b"\xff\xfe\x00\x00garbage", bytes(range(256)), b"\x89PNG\r\n\x1a\n" + bytes(64), b"",
                 "customer: 华东\n".encode("utf-16-le"), "customer: \x00\n".encode()):
        cases.append(Case(f"yaml-bytes-{len(cases)}", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
                          {"d.yaml": blob}))
    for name in ("manifest.json", ".hidden", "a\x0bb.pdf"):
        cases.append(Case(f"attach-{name!r}", ["record", "file", PHONE, "--data", "{f:d.yaml}", "--attach",
                                               f"{{f:{name}}}", "--no-pdf"],
                          {"d.yaml": as_yaml(good), name: b"{}"}))
    cases += [
        Case("data-missing", ["record", "file", PHONE, "--data", "/nonexistent/d.yaml"]),
        Case("data-folder", ["record", "file", PHONE, "--data", "/tmp"]),
        Case("data-nul-in-name", ["record", "file", PHONE, "--data", "d\x00.yaml"]),
        Case("data-dev-null", ["record", "file", PHONE, "--data", "/dev/null"]),
        Case("data-dev-zero", ["record", "file", PHONE, "--data", "/dev/zero"], risky=True),
        Case("data-dev-urandom-json", ["record", "file", PHONE, "--data", "/dev/urandom"], risky=True),
        Case("yaml-billion-laughs", ["record", "file", PHONE, "--data", "{f:d.yaml}"], {"d.yaml": _laughs()},
             risky=True),
        Case("yaml-flow-1MB-of-brackets", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
             {"d.yaml": b"customer: " + b"[" * (1 << 20) + b"\n"}),
        Case("yaml-11MB", ["record", "file", PHONE, "--data", "{f:d.yaml}"],
             {"d.yaml": b"customer: " + b"x" * (11 << 20) + b"\n"}, risky=True),
    ]
    return cases


def _laughs() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("customer: *i")
    return ("\n".join(lines) + "\n").encode()


def json_cases() -> list[Case]:
    cases = []
    good = sample(PHONE)
    for depth in (65, 1000, 100_000):
        cases.append(Case(f"json-deep-{depth}", ["record", "file", PHONE, "--data", "{f:d.json}"],
                          {"d.json": ("[" * depth + "]" * depth).encode()}))
        cases.append(Case(f"json-deep-in-value-{depth}", ["record", "file", PHONE, "--data", "{f:d.json}"],
                          {"d.json": ('{"customer": ' + "[" * depth + "]" * depth + "}").encode()}))
    for n in (4301, 10000):
        cases.append(Case(f"json-digits-{n}", ["record", "file", PHONE, "--data", "{f:d.json}"],
                          {"d.json": json.dumps({**good, "call_date": "2026-03-09"})[:-1].encode()
                           + f', "phone": {"9" * n}}}'.encode()}))
    encodings = {"utf-16-bom-bad": codecs.BOM_UTF16_LE + '{"customer": [1]}'.encode("utf-16-le"),
                 "utf-16-nobom": json.dumps(good, ensure_ascii=False).encode("utf-16-le"),
                 "utf-32": json.dumps(good, ensure_ascii=False).encode("utf-32"),
                 "latin1-garbage": b'{"customer": "\xe9\xe8\xff"}\x00',
                 "truncated": json.dumps(good, ensure_ascii=False).encode()[:40],
                 "nan-number": b'{"call_date": NaN}', "array": b"[1, 2, 3]", "string": b'"text"', "null": b"null",
                 "empty": b"", "bom-only": codecs.BOM_UTF8}
    for name, blob in encodings.items():
        cases.append(Case(f"json-{name}", ["record", "file", PHONE, "--data", "{f:d.json}"], {"d.json": blob}))
    for ch in RNG.sample(CONTROL, 8):
        cases.append(Case(f"json-control-U+{ord(ch):04X}", ["record", "file", PHONE, "--data", "{f:d.json}"],
                          {"d.json": json.dumps({**good, "caller": f"王{ch}"}, ensure_ascii=False).encode()}))
    for i, d in enumerate(RNG.sample(BAD_DATES, 6)):
        cases.append(Case(f"json-date-{i}-{d[:10]!r}", ["record", "file", PHONE, "--data", "{f:d.json}"],
                          {"d.json": json.dumps({**good, "call_date": d}, ensure_ascii=False).encode()}))
    return cases


def csv_cases() -> list[Case]:
    cases = []
    row = PHONE_ROW.split(",")
    header = PHONE_HEADER.split(",")

    def csv_of(head, *rows) -> bytes:
        return ("\n".join([",".join(head)] + [",".join(r) for r in rows]) + "\n").encode("utf-8")

    for i in range(len(header)):
        dup = header[:] + [header[i]]
        cases.append(Case(f"csv-duplicate-{header[i]}", ["record", "import", PHONE, "{f:p.csv}", "--no-pdf"],
                          {"p.csv": csv_of(dup, row + ["x"])}))
        empty = header[:]
        empty.insert(i, "")
        cases.append(Case(f"csv-empty-header-{i}", ["record", "import", PHONE, "{f:p.csv}", "--no-pdf"],
                          {"p.csv": csv_of(empty, row[:i] + ["lost value"] + row[i:])}))
    for name, (col, value) in {"date-far": (0, "9999-12-31"), "date-bad": (0, "2026-02-30"),
                               "date-word": (0, "昨天"), "required-empty": (3, ""),
                               "cell-130KiB": (6, "长" * (130 * 1024)), "cell-nul": (6, "a\x00b"),
                               "cell-vt": (6, "a\x0bb"), "cell-esc": (6, "\x1b[31m"),
                               "date-deep": (0, "[" * 5000)}.items():
        bad = row[:]
        bad[col] = value
        cases.append(Case(f"csv-{name}", ["record", "import", PHONE, "{f:p.csv}", "--no-pdf"],
                          {"p.csv": csv_of(header, row, bad)}))
    for name, blob in {"unknown-column": csv_of(header + ["备注x"], row + ["y"]),
                       "missing-required": csv_of(header[1:], row[1:]),
                       "too-many-cells": csv_of(header, row + ["extra"]),
                       "header-only": csv_of(header), "empty": b"", "blank-lines": b"\n\n\n",
                       "utf16-nobom": csv_of(header, row).decode().encode("utf-16-le"),
                       "binary": bytes(range(256)) * 4,
                       "unclosed-quote": csv_of(header, row[:6] + ['"unclosed'] + row[7:]),
                       "gb18030-bad-date": ("\n".join([PHONE_HEADER, PHONE_ROW.replace("2026-03-02", "二〇二六")])
                                            + "\n").encode("gb18030")}.items():
        cases.append(Case(f"csv-{name}", ["record", "import", PHONE, "{f:p.csv}", "--no-pdf"], {"p.csv": blob}))
    cases.append(Case("import-wrong-suffix", ["record", "import", PHONE, "{f:p.txt}"], {"p.txt": b"x"}))
    cases.append(Case("import-missing", ["record", "import", PHONE, "/nonexistent/p.csv"]))
    return cases


def xlsx_cases(xlsx: dict[str, bytes]) -> list[Case]:
    cases = [Case(f"xlsx-{name}", ["record", "import", PHONE, f"{{f:{name}.xlsx}}", "--no-pdf"],
                  {f"{name}.xlsx": blob}, risky=name == "bomb") for name, blob in xlsx.items()]
    cases.append(Case("xlsx-not-zip", ["record", "import", PHONE, "{f:t.xlsx}"], {"t.xlsx": b"PK\x03\x04 not a zip"}))
    cases.append(Case("xlsx-text", ["record", "import", PHONE, "{f:t.xlsx}"], {"t.xlsx": PHONE_HEADER.encode()}))
    return cases


def id_cases() -> list[Case]:
    cases = []
    for bad in BAD_IDS:
        tag = repr(bad)[:24]
        cases += [Case(f"form-show-{tag}", ["form", "show", bad]),
                  Case(f"form-blank-{tag}", ["form", "blank", bad, "-o", "{f:out.docx}"]),
                  Case(f"record-file-form-{tag}", ["record", "file", bad, "--data", "{f:d.yaml}"],
                       {"d.yaml": as_yaml(sample(PHONE))}),
                  Case(f"record-import-form-{tag}", ["record", "import", bad, "{f:p.csv}"],
                       {"p.csv": (PHONE_HEADER + "\n" + PHONE_ROW + "\n").encode()}),
                  Case(f"compile-form-{tag}", ["compile", "--form", bad, "--year", "2026", "-o", "{f:v.pdf}"]),
                  Case(f"record-show-{tag}", ["record", "show", bad]),
                  Case(f"record-sign-{tag}", ["record", "sign", bad, "--scan", "{f:s.pdf}", "--signer", "王"],
                       {"s.pdf": b"%PDF-1.4\n%%EOF\n"}),
                  Case(f"hold-add-{tag}", ["hold", "add", bad, "--reason", "r"]),
                  Case(f"doc-show-{tag}", ["doc", "show", bad]),
                  Case(f"doc-sign-{tag}", ["doc", "sign", bad, "--role", "编制", "--password-stdin"],
                       who="zhangjh")]
    return cases


OUTPUT_TARGETS = ["archive/audit.log", "archive/catalog.sqlite", "{data_yaml}", "{manifest}", "{docx}", "{doc_docx}",
                  "archive/index.sha256", "archive",
                  "archive/new.csv", "archive/../archive/x.csv", "{link}", "{hardlink}", "/nonexistent/x.csv",
                  "/dev/full", "/dev/null", "{ws}/no-such-folder/x.csv", "/tmp"]


def output_cases() -> list[Case]:
    cases = []
    for target in OUTPUT_TARGETS:
        tag = target.strip("{}").replace("/", "_")[:30]
        cases += [Case(f"doclist-csv-{tag}", ["doc", "list", "--format", "csv", "-o", target]),
                  Case(f"doclist-xlsx-{tag}", ["doc", "list", "--format", "xlsx", "-o", target]),
                  Case(f"doclist-table-{tag}", ["doc", "list", "-o", target]),
                  Case(f"form-blank-{tag}", ["form", "blank", PHONE, "-o", target]),
                  Case(f"doc-render-{tag}", ["doc", "render", "{f:src.yaml}", "-o", target],
                       {"src.yaml": (REPO / "examples" / "procedures" / "service-process-control.yaml").read_bytes()}),
                  Case(f"compile-{tag}", ["compile", "--form", PHONE, "--year", "2026", "-o", target])]
    return cases


def date_cases() -> list[Case]:
    cases = []
    for i, d in enumerate(BAD_DATES):
        tag = f"{i}-{repr(d)[:14]}"
        cases += [Case(f"on-{tag}", ["record", "file", PHONE, "--data", "{f:d.yaml}", "--on", d, "--no-pdf"],
                       {"d.yaml": as_yaml(sample(PHONE))}),
                  Case(f"retention-as-of-{tag}", ["retention", "report", "--as-of", d]),
                  Case(f"purge-as-of-{tag}", ["purge", "--as-of", d, "--dry-run"]),
                  Case(f"doc-show-as-of-{tag}", ["doc", "show", "{doc}", "--as-of", d]),
                  Case(f"search-from-{tag}", ["search", "压缩机", "--from", d]),
                  Case(f"release-{tag}", ["doc", "release", "{doc}", "--issued", d, "--effective", d])]
    return cases


def source_cases() -> list[Case]:
    """Procedure sources with every key misspelled at every level: refused, the key named."""
    from qms.domain.docsource import RECORD_KEYS, REFERENCE_KEYS, SECTION_KEYS, SOURCE_KEYS, TABLE_KEYS
    base = {"number": "QP-FZ-001", "title": "模糊测试程序", "kind": "procedure", "department": "质量部",
            "sections": [{"title": "目的", "body": "b", "table": {"caption": "c", "columns": ["a"], "rows": [["1"]]}}],
            "references": [{"number": "XX-XX-031", "title": "t"}], "records": [{"id": PHONE, "title": "t"}]}
    cases = []

    def typo(key: str) -> str:
        i = RNG.randrange(len(key))
        return key[:i] + key[i + 1:] if len(key) > 3 else key + "s"

    for known, where in ((SOURCE_KEYS, ()), (SECTION_KEYS, ("sections", 0)),
                         (TABLE_KEYS, ("sections", 0, "table")), (REFERENCE_KEYS, ("references", 0)),
                         (RECORD_KEYS, ("records", 0))):
        for key in known:
            src = json.loads(json.dumps(base))
            node = src
            for part in where:
                node = node[part]
            node[typo(key)] = node.pop(key, "x")
            cases.append(Case(f"source-typo-{'.'.join(map(str, where)) or 'top'}-{key}", ["doc", "check", "{f:s.yaml}"],
                              {"s.yaml": as_yaml(src)}))
    for section_key, top_key in (("bdy", "referenes"), ("tabel", "record"), ("sectons", "terms_")):
        src = json.loads(json.dumps(base))
        src["sections"][0][section_key] = "lost"
        cases.append(Case(f"source-issue-typo-{section_key}", ["doc", "check", "{f:s.yaml}"], {"s.yaml": as_yaml(src)}))
        src = json.loads(json.dumps(base))
        src[top_key] = ["lost"]
        cases.append(Case(f"source-issue-typo-{top_key}", ["doc", "check", "{f:s.yaml}"], {"s.yaml": as_yaml(src)}))
    for number in ("../../x", "/QP/SC", "QP-SC-..", "QP-SC-015\x0b"):   # QP/SC is a valid number (HX/QP-05)
        cases.append(Case(f"source-number-{number!r}", ["doc", "submit", "{f:s.yaml}"],
                          {"s.yaml": as_yaml({**base, "number": number})}))
    return cases


def workspace_cases() -> list[Case]:
    """Small workspaces of their own: misspelled config and form-schema keys, hostile form ids,
    templates that try to leave the sandbox."""
    cases = []
    for i in range(15):
        cases.append(Case(f"config-typo-{i}", ["form", "list"], workspace=f"config-{i}"))
    for i in range(12):
        cases.append(Case(f"schema-typo-{i}", ["form", "list"], workspace=f"schema-{i}"))
    for i in range(4):
        cases.append(Case(f"schema-evil-id-{i}", ["record", "file", "EVIL", "--data", "{f:d.yaml}"],
                          {"d.yaml": b"x: 1\n"}, workspace=f"evilid-{i}"))
    for i, _tag in enumerate(EVIL_TAGS):
        cases.append(Case(f"template-sandbox-{i}", ["form", "blank", f"EV-{i:02d}", "-o", "{f:out.docx}"],
                          workspace="evil"))
    cases.append(Case("verify-garbage-catalog", ["verify"], workspace="garbage-catalog"))
    cases.append(Case("log-garbage-catalog", ["record", "list"], workspace="garbage-catalog"))
    return cases


# ------------------------------------------------------------------ the session workspace

@pytest.fixture(scope="session")
def fuzz(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    q = make_workspace(root / "ws")
    q("record", "file", PHONE, "--data", _write(root, "p.yaml", as_yaml(sample(PHONE))), "--no-pdf")
    q("record", "file", REPORT, "--data", _write(root, "r.yaml", as_yaml(sample(REPORT))), "--no-pdf")
    q("record", "import", PHONE, _write(root, "p.csv", (PHONE_HEADER + "\n" + PHONE_ROW + "\n").encode()), "--no-pdf")
    doc = release_procedure(q, REPO / "examples" / "procedures" / "service-process-control.yaml")
    archive = q.archive
    record_folder = next(archive.glob(f"records/{PHONE}/*/*/v1"))
    subs = {"{data_yaml}": str(record_folder / "data.yaml"), "{manifest}": str(record_folder / "manifest.json"),
            "{docx}": str(next(record_folder.glob("*.docx"))), "{ws}": str(q.root), "{doc}": doc,
            "{doc_docx}": str(next(archive.glob("documents/*/A-0/*.docx"))),
            "{link}": str(root / "link.csv"), "{hardlink}": str(root / "hard.csv")}
    os.symlink(archive / "audit.log", root / "link.csv")
    os.link(record_folder / "data.yaml", root / "hard.csv")
    spaces = _small_workspaces(root / "spaces")
    return {"root": root, "ws": q.root, "subs": subs, "spaces": spaces, "xlsx": _xlsx_files()}


def _write(root: Path, name: str, data: bytes) -> Path:
    (root / name).write_bytes(data)
    return root / name


def _small_workspaces(base: Path) -> dict[str, Path]:
    from qms.store.workspace import (DOCUMENTS_KEYS, KIND_KEYS, ORG_KEYS, PATHS_KEYS, RECORDS_KEYS,
                                     REVISION_KEYS, ROLE_KEYS)
    from qms.domain.forms import COLUMN_KEYS, FIELD_KEYS, FORM_KEYS, RETENTION_KEYS
    spaces = {}
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config_typos = [((), "locale"), ((), "documents"), ((), "records"), ((), "identity"), ((), "paths"),
                    (("organisation",), "name"),
                    (("organisation",), "name_en"), (("documents",), "number_pattern"),
                    (("documents",), "keep_obsolete"), (("documents", "revision"), "first"),
                    (("documents", "kinds", "procedure"), "series"), (("documents", "approvals", 0), "multiple"),
                    (("records",), "numbering"), (("records", "retention"), "period"), (("paths",), "schemas")]
    assert {k for _, k in config_typos} <= set(("locale", "documents", "records", "identity", "paths") + ORG_KEYS
                                                + DOCUMENTS_KEYS + REVISION_KEYS + KIND_KEYS + ROLE_KEYS
                                                + RECORDS_KEYS + PATHS_KEYS + RETENTION_KEYS)
    for i, (where, key) in enumerate(config_typos):
        cfg = json.loads(json.dumps(config))
        node = cfg
        for part in where:
            node = node[part]
        node[key[:-1] if len(key) > 4 else key + "x"] = node.pop(key)
        spaces[f"config-{i}"] = _space(base / f"config-{i}", cfg)
    form = yaml.safe_load((REPO / "schemas" / f"{REPORT}.yaml").read_text(encoding="utf-8"))
    schema_typos = [((), k) for k in ("title", "procedure", "date_field", "retention", "signature_required",
                                      "template", "note", "fields")]
    table = next(i for i, f in enumerate(form["fields"]) if f.get("columns"))     # the report's parts table
    schema_typos += [(("fields", 0), "label"), (("fields", 0), "required"), (("fields", table, "columns", 0), "label"),
                     (("retention",), "period")]
    assert {k for _, k in schema_typos} <= set(FORM_KEYS + FIELD_KEYS + COLUMN_KEYS + RETENTION_KEYS)
    for i, (where, key) in enumerate(schema_typos):
        f = json.loads(json.dumps(form))
        node = f
        for part in where:
            node = node[part]
        node[key[:-1]] = node.pop(key)
        spaces[f"schema-{i}"] = _space(base / f"schema-{i}", config, {"F.yaml": f})
    for i, evil in enumerate(["../../../../elsewhere/f", "../x", "a/../../b", "x\x00y"]):
        spaces[f"evilid-{i}"] = _space(base / f"evilid-{i}", config,
                                       {"E.yaml": {"id": evil, "title": "t", "fields": [{"name": "x"}]}},
                                       people=True)
    # templates that try to leave the jinja sandbox, one form each
    from docx import Document
    evil_forms = {}
    space = _space(base / "evil", config)
    (space / "templates").mkdir(exist_ok=True)
    for i, tag in enumerate(EVIL_TAGS):
        d = Document()
        d.add_paragraph("{{ form_title }}")
        d.add_paragraph(tag.replace("MARKER", str(base / "MARKER")))
        d.save(space / "templates" / f"evil-{i}.docx")
        evil_forms[f"EV-{i:02d}.yaml"] = {"id": f"EV-{i:02d}", "title": "t", "template": f"evil-{i}.docx",
                                          "fields": [{"name": "x"}]}
    (space / "schemas").mkdir(exist_ok=True)
    for name, f in evil_forms.items():
        (space / "schemas" / name).write_text(yaml.safe_dump(f), encoding="utf-8")
    spaces["evil"] = space
    garbage = _space(base / "garbage-catalog", config)
    (garbage / "archive").mkdir()
    (garbage / "archive" / "catalog.sqlite").write_bytes(b"this is not a database\x00" * 100)
    spaces["garbage-catalog"] = garbage
    return spaces


def _space(path: Path, config: dict, schemas: dict | None = None, people: bool = False) -> Path:
    """A small workspace with only `schemas`; with `people`, the STAFF users logged in (their config
    folders beside it), for a state-changing command that must reach its input; without, a
    workspace with no users for the read-only commands (form list, form blank, verify, record list)."""
    if people:
        make_workspace(path)
        shutil.rmtree(path / "schemas")
        shutil.rmtree(path / "templates")
    else:
        path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    (path / "schemas").mkdir()
    shutil.copytree(REPO / "templates", path / "templates")
    for name, data in (schemas or {}).items():
        (path / "schemas" / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _xlsx_files() -> dict[str, bytes]:
    import io
    from openpyxl import Workbook

    def book(*rows) -> bytes:
        wb = Workbook()
        for r in rows:
            wb.active.append(r)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    header = PHONE_HEADER.split(",")
    row = PHONE_ROW.split(",")
    out = {"duplicate-header": book(header + ["customer"], row + ["x"]),
           "empty-header": book(header[:3] + [None] + header[3:], row[:3] + ["lost"] + row[3:]),
           "far-date": book(header, ["9999-12-31"] + row[1:]),
           "unknown-column": book(header + ["备注"], row + ["x"]),
           "header-only": book(header), "no-rows": book()}
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(60):
                fh.write(chunk)
    out["bomb"] = bomb.getvalue()
    return out


# ------------------------------------------------------------------ running one case

def all_cases(xlsx_names=("duplicate-header", "empty-header", "far-date", "unknown-column", "header-only",
                          "no-rows", "bomb")) -> list[Case]:
    placeholder = {n: b"" for n in xlsx_names}
    return (yaml_cases() + json_cases() + csv_cases() + xlsx_cases(placeholder) + id_cases() + output_cases()
            + date_cases() + source_cases() + workspace_cases())


CASES = all_cases()
CASE_NUMBER = {c.name: i for i, c in enumerate(CASES)}


def test_there_are_enough_generated_cases():
    assert len(CASES) >= 300, len(CASES)
    assert len({c.name for c in CASES}) == len(CASES), "case names are unique"


def _materialise(case: Case, fuzz) -> tuple[Path, Path, list[str]]:
    """The case's files in a folder of its own beside the workspaces (a plain folder: pytest's tmp_path
    per case cost more than most cases), and its arguments filled in."""
    ws = fuzz["ws"] if case.workspace == "main" else fuzz["spaces"][case.workspace]
    folder = fuzz["root"] / "cases" / f"{CASE_NUMBER[case.name]:04d}"
    folder.mkdir(parents=True)
    files = dict(case.files)
    for name in list(files):
        if name.endswith(".xlsx") and not files[name] and name[:-5] in fuzz["xlsx"]:
            files[name] = fuzz["xlsx"][name[:-5]]
    for name, data in files.items():
        (folder / name).write_bytes(data)
    args = []
    for a in case.args:
        a = str(a)
        if a.startswith("{f:"):
            a = str(folder / a[3:-1])
        for key, value in fuzz["subs"].items():
            a = a.replace(key, value)
        if a.startswith("archive"):
            a = str(ws / a)
        args.append(a)
    return ws, folder, args


_AFTER: dict[Path, tuple] = {}


def archive_before(ws: Path) -> tuple:
    """The archive's snapshot before a case: as the previous case in this workspace left it, hashed
    right after it ran (nothing else writes between cases), so each case hashes the archive once."""
    if ws not in _AFTER:
        _AFTER[ws] = snapshot(ws / "archive")
    return _AFTER[ws]


def archive_after(ws: Path) -> tuple:
    _AFTER[ws] = snapshot(ws / "archive")     # a changed archive is the next case's starting point
    return _AFTER[ws]


# A case refused for its session or permission never reached the input it was written for.
IDENTITY_REFUSALS = ("no session", "lacks the permission", "lacks a permission", "session ended", "session expired",
                     "wrong password", "log in first", "log in again", "登录名或密码错误", "wrong login or password")


def _check(case: Case, code: int, out: str, crashed: BaseException | None):
    assert crashed is None or isinstance(crashed, SystemExit), f"{case.name}: {type(crashed).__name__}: {crashed}"
    assert "Traceback" not in out, f"{case.name}: traceback\n{out[-2000:]}"
    if case.args[:1] == ["verify"]:       # an integrity problem: verify's own status and report
        assert code == 3 and "PROBLEM" in out, f"{case.name}: exit {code}, expected 3\n{out[-1000:]}"
        return
    assert code == 1, f"{case.name}: exit {code}, expected 1\n{out[-1000:]}"
    assert not any(why in out for why in IDENTITY_REFUSALS), f"{case.name}: refused by identity, not its input: {out}"
    lines = [line for line in out.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"{case.name}: expected one line, got {len(lines)}:\n{out[:1500]}"
    assert len(lines[0]) < 1200, f"{case.name}: a message of {len(lines[0])} characters"
    if case.secret:
        assert case.secret not in out and "hunter2" not in out, f"{case.name}: echoes the file's content: {out}"


def _session(case: Case, ws: Path) -> dict:
    """The case's user's config folder (their session token), beside the workspace."""
    return {"QMS_CONFIG_HOME": str(ws.parent / f"config-{case.who}")}


def _password(case: Case, args: list) -> str | None:
    return PASSWORDS[case.who] + "\n" if "--password-stdin" in args else None


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout(f"case ran longer than {CASE_SECONDS} s")


@pytest.mark.parametrize("case", [c for c in CASES if not c.risky], ids=lambda c: c.name)
def test_refused_in_one_line(case, fuzz):
    ws, _, args = _materialise(case, fuzz)
    before = archive_before(ws)
    # this case's own peak (ru_maxrss only grows over the process, so an earlier case would hide it)
    tracemalloc.start()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        result = CliRunner().invoke(cli, ["-w", str(ws), *args], catch_exceptions=True, env=_session(case, ws),
                                    input=_password(case, args))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        grown = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    _check(case, result.exit_code, result.output, result.exception)
    assert grown < CASE_MEMORY_MB, f"{case.name}: peak memory grew by {grown:.0f} MB"
    assert archive_after(ws) == before, f"{case.name}: the archive changed"
    assert not (fuzz["root"] / "spaces" / "MARKER").exists(), "a template ran a command"


@pytest.mark.parametrize("case", [c for c in CASES if c.risky], ids=lambda c: c.name)
def test_refused_under_resource_limits(case, fuzz):
    ws, folder, args = _materialise(case, fuzz)
    before = archive_before(ws)

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY, SUBPROCESS_MEMORY))
        resource.setrlimit(resource.RLIMIT_CPU, (CASE_SECONDS * 2, CASE_SECONDS * 2))
    proc = subprocess.run([sys.executable, "-m", "qms", "-w", str(ws), *args], env=dict(os.environ, **_session(case, ws)),
                          input=_password(case, args), capture_output=True, text=True, errors="replace",
                          timeout=CASE_SECONDS * 3,
                          preexec_fn=limits, cwd=folder)
    _check(case, proc.returncode, proc.stdout + proc.stderr, None)
    assert archive_after(ws) == before, f"{case.name}: the archive changed"
