"""qms verify: what an auditor runs. A module of its own, so that it loads only the check, not the
services of the other upkeep commands (serve's scan watcher, init, migrate: 0.1 s of its start)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .env import pass_env
from .options import emit, json_option
from ..integrity.verify import verify


@click.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also prove the journal still extends this signed checkpoint.")
@click.option("--deep", is_flag=True, hidden=True, help="Kept for scripts: every check now runs by default.")
@json_option
@pass_env
def verify_cmd(env, checkpoint_file, deep, as_json):
    """Check files, manifests and the journal against each other, the catalog and the index.
    Exit status 3 when a problem is found."""
    rep = verify(env.ws, checkpoint=Path(checkpoint_file) if checkpoint_file else None)
    if as_json:
        emit(rep.to_json(), True)
    else:
        for p in rep.problems:
            click.echo(f"PROBLEM {p}")
        for n in rep.pdf_pending[:20]:
            click.echo(f"PENDING {n}: PDF rendition not made yet")
        if len(rep.pdf_pending) > 20:
            click.echo(f"PENDING … and {len(rep.pdf_pending) - 20} more")
        click.echo(f"{'ok' if rep.ok else 'FAILED'}: {rep.folders} folders, {rep.files} files, "
                   f"{rep.audit_entries} audit entries, {len(rep.problems)} problems"
                   + (f"; PDFs pending for {len(rep.pdf_pending)} records — run `qms record pdf --pending`"
                      if rep.pdf_pending else ""))
    if not rep.ok:
        sys.exit(3)


COMMANDS = [verify_cmd]
