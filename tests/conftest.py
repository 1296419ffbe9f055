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
