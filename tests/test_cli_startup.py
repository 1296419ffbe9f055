"""`qms --help` lists every command from the root group's table without importing a command module
(issue 20: start-up). The table must name exactly what the modules define, with their own help."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from qms.cli import COMMAND_TABLE, cli
from conftest import example_data, write_data

SRC = Path(__file__).resolve().parents[1] / "src"


def test_the_table_names_every_command_the_modules_define():
    modules = {e.module for e in COMMAND_TABLE.values()} | {m for e in COMMAND_TABLE.values() for m in e.also}
    defined = {}
    for name in sorted(modules):
        for command in importlib.import_module(f"qms.cli.{name}").COMMANDS:
            defined[command.name] = (name, command)
    assert set(COMMAND_TABLE) == set(defined)
    for name, entry in COMMAND_TABLE.items():
        command = getattr(importlib.import_module(f"qms.cli.{entry.module}"), entry.attr)
        assert command is defined[name][1], name
        assert entry.help == command.get_short_help_str(10**6), name


def test_help_lists_the_table_and_a_resolved_group_has_its_attached_subcommands():
    out = CliRunner().invoke(cli, ["--help"]).output
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.startswith("  ")}
    assert listed == set(COMMAND_TABLE)
    ctx = click.Context(cli)
    assert {"import", "diff", "receive-copy", "return-copy", "check"} <= set(cli.get_command(ctx, "doc").commands)
    assert "edit" in cli.get_command(ctx, "user").commands
    assert cli.get_command(ctx, "no-such-command") is None


def test_help_loads_no_command_module_and_no_service():
    script = ("import sys; from qms.cli import cli; cli(['--help'], prog_name='qms', standalone_mode=False); "
              "print('MODULES', *sorted(m for m in sys.modules if m.startswith('qms')))")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    help_text, modules = res.stdout.split("MODULES")
    assert "capa" in help_text and "record" in help_text    # the help was printed
    loaded = set(modules.split())
    assert "qms.cli" in loaded
    heavy = {m for m in loaded if m.startswith(("qms.documents", "qms.records", "qms.startup", "qms.store", "qms.identity"))}
    assert heavy == set()
    assert {m for m in loaded if m.startswith("qms.cli.")} <= {"qms.cli.exit_status"}


def test_start_imports_no_service_yet_a_commit_reaches_every_subscriber_and_handler(qms):
    """start() hands the services over by name: a command that writes nothing (record show) loads
    none of them; the first commit loads the projection's handlers and the search indexer, so the
    record filed in that same process is found."""
    import os
    data = write_data(qms, example_data("QR-SV-022-04", customer="启动测试电力公司"), "call.yaml")
    script = """if True:
        import sys
        from pathlib import Path
        from qms.startup import start
        services = ("qms.search", "qms.documents", "qms.kpi", "qms.review", "qms.training", "qms.change",
                    "qms.integrity", "qms.scan", "qms.jobs", "qms.capa", "qms.todo.sources", "qms.records")
        start()
        print("START", *sorted(m for m in sys.modules if m.startswith(services)))
        from qms.records import file_record
        from qms.search.service import search
        from qms.store.workspace import open_workspace
        ws = open_workspace(Path(sys.argv[1]))
        number = file_record(ws, "QR-SV-022-04", Path(sys.argv[2]), actor="test", pdf=False).data["number"]
        print("FOUND", number, *[h["number"] for h in search(ws, "启动测试电力公司")])
        print("LOADED", *sorted(m for m in sys.modules if m.startswith("qms.")))
    """
    res = subprocess.run([sys.executable, "-c", script, str(qms.root), str(data)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    assert res.returncode == 0, res.stderr[-2000:]
    lines = {line.split(" ", 1)[0]: line.split()[1:] for line in res.stdout.splitlines()}
    assert lines["START"] == []
    number, *found = lines["FOUND"]
    assert found == [number]                                     # the indexer subscribed by name ran
    assert {"qms.jobs.job_rows", "qms.scan.scan_rows", "qms.kpi.kpi_rows", "qms.todo.quality_rows",
            "qms.search.indexing", "qms.training.assign", "qms.change.follow"} <= set(lines["LOADED"])
