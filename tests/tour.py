"""The README's tour, run as written (the sqlite-utils habit of testing docs against the commands).

The block under "## A five-minute tour" is read from README.md and each line is run by
bash, in order, in one shell (so `cd` carries over), with HOME in a fresh folder (the tour's
`~/qms-ws` is a fresh workspace) and qms on PATH from this virtualenv. Every line must
exit 0; a failing line is named with its output. `check` asserts what the person following
it sees. The plain tour runs once per test process (conftest's `readme_tour`), shared by the
test that runs it as written and by the migration tests that start from its workspace.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from qms.adapters.pdf import pdf_text

REPO = Path(__file__).resolve().parents[1]


def tour_lines() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## A five-minute tour", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S).group(1)
    lines = []
    for raw in block.splitlines():
        # a comment starts at "  #" outside quotes; no tour line quotes a '#'
        line = re.split(r"\s{2,}#", raw, maxsplit=1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def run_tour(base: Path, database: str | None = None, init_extra: str = "") -> tuple[Path, str]:
    """Every line of the tour in one bash, HOME in base/home: (the workspace, what it printed)."""
    home = base / "home"
    home.mkdir()
    script = ["set -u"]
    lines = tour_lines()
    if database:
        lines = [ln.replace("qms init ~/qms-ws ", f"qms init ~/qms-ws --database {database} {init_extra} ".replace(
            "  ", " "), 1) for ln in lines]
    for i, line in enumerate(lines):
        # each line on its own; stop at the first that fails and say which
        script.append(f"{line}\nrc=$?; if [ $rc -ne 0 ]; then echo \"TOUR LINE {i} FAILED ($rc): "
                      f"{line.replace(chr(34), chr(39))}\" >&2; exit 1; fi")
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    env.update(HOME=str(home), PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}")
    # `source .venv/bin/activate` must work from the checkout: the test's interpreter is that venv
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=REPO, env=env, text=True,
                         capture_output=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return home / "qms-ws", run.stdout


def check(ws: Path, out: str) -> Path:
    """What the person following the tour sees."""
    assert "华东精密机械有限公司" in (ws / "config.yaml").read_text(encoding="utf-8")
    assert "XXXXXX" not in pdf_text(ws / "现场服务报告.pdf")
    assert "华东精密机械有限公司" in pdf_text(ws / "现场服务报告.pdf")
    assert "□维修" in pdf_text(ws / "现场服务报告.pdf").replace(" ", "")
    assert "phone: 0553-4821399" in out or "联系电话: 0553-4821399" in out
    assert "hits（共" in out and "of" in out
    # the log names each person by login and printed name: the signers from their own sessions, you elsewhere
    for who in ("zhangjh 张建华", "liming 李明", "wanglx 王立新", "zhaogq 赵国庆", "liufang 刘芳"):
        assert who in out, who
    assert "doc.reject" in out
    sheet = load_workbook(ws / "受控文件清单.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "华东精密机械有限公司" and rows[1][0] == "受控文件清单"
    volume = pdf_text(ws / "2026服务电话记录.pdf")
    assert "服务电话记录" in volume and "年度汇编" in volume and "第 1 页 共" in volume
    assert "Contents" not in volume
    return ws
