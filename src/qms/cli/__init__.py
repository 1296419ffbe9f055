"""The command line: parse options, call one library function, render. No logic lives here.

One module per command group (documents, records, retention, search, admin, identity); this
one holds the root group, the error → exit status mapping and the workspace/session `Env`.
Heavy third-party libraries load lazily in the adapters: `qms --help` must start fast."""

from __future__ import annotations

import os

import click

from ..startup import start
from . import admin, documents, identity, records, retention, search, templates
from . import doc_word  # noqa: F401  (adds doc import / doc diff to the doc group)
from . import kpi, quality_process as quality, scan  # quality: todo, review, training, tick, user edit, copies' receipts
from .env import Env, QmsGroup, pass_env


@click.group(cls=QmsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", metavar="DIR", help="Workspace folder (else $QMS_WORKSPACE, else the nearest folder upward holding config.yaml).")
@click.version_option(package_name="qms")
@click.pass_context
def cli(ctx, workspace):
    """qms — controlled documents and quality records (ISO 9001 / ISO 13485).

    Every command that changes state needs a session (qms login) holding the permission for it."""
    # Nothing qms (or SQLite, whoosh, LibreOffice under it) creates is readable by others,
    # whatever the caller's umask: the archive holds customer names and phone numbers.
    os.umask(os.umask(0) | 0o027)
    start()
    ctx.obj = Env(workspace)


for _module in (admin, documents, identity, records, retention, search, templates, quality, scan, kpi):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main():
    cli(prog_name="qms")


if __name__ == "__main__":
    main()
