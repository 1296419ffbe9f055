"""Shared fixtures: real workspaces in tmp_path, the real CLI through click's CliRunner."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from qms.cli import cli
from qms.workspace import init_workspace

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


class Qms:
    """Runs `qms -w WS --as ACTOR …` like a user would and keeps the result."""

    def __init__(self, root: Path, actor: str = "测试员"):
        self.root = root
        self.actor = actor
        self.runner = CliRunner()

    def __call__(self, *args, ok: bool = True, actor: str | None = None, input: str | None = None):
        result = self.runner.invoke(cli, ["-w", str(self.root), "--as", actor or self.actor, *map(str, args)],
                                    input=input, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"qms {' '.join(map(str, args))} failed ({result.exit_code}):\n{result.output}")
        return result

    def json(self, *args, **kw):
        result = self(*args, "--json", **kw)
        return json.loads(result.stdout)

    def fail(self, *args) -> str:
        """Run a command that must be refused: exit 1, one clear message, no traceback."""
        result = self(*args, ok=False)
        assert result.exit_code == 1, f"expected exit 1, got {result.exit_code}:\n{result.output}"
        assert "Traceback" not in result.output
        return result.output

    @property
    def archive(self) -> Path:
        return self.root / "archive"


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
    ws = init_workspace(tmp_path / "ws")
    return Qms(ws.root)


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
        qms("doc", "sign", number, "--role", role, "--name", name)
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
