"""qms doc import / qms doc diff: procedures from Word, and the redline between two revisions."""

from __future__ import annotations

import click

from .documents import doc
from .env import pass_env
from .options import FilePath, emit, json_option, output_option
from ..documents.wordimport import import_docx
from ..documents.redline import redline_for, as_html, as_text
from ..base.errors import InvalidInput
from ..documents.redline_pdf import write_pdf
from ..store import outputs


@doc.command("import")
@click.argument("source", type=FilePath(exists=True, dir_okay=False))
@output_option("The procedure source to write (default: beside FILE, named FILE.yaml).")
@click.option("--check", "check_only", is_flag=True, help="Show what would be made; write nothing.")
@json_option
@pass_env
def doc_import(env, source, output, check_only, as_json):
    """Read a procedure written in Word (.docx) into a procedure source (YAML); nothing is archived."""
    res = import_docx(env.ws, source, output, check=check_only)
    if as_json:
        return emit(res, True)
    if check_only:
        click.echo(res.data["source"])
    for line in res.data["unplaced"]:
        click.echo(f"not placed: {line}", err=True)
    for line in res.data["notes"]:
        click.echo(f"note: {line}", err=True)
    for line in res.data["warnings"]:
        click.echo(f"warning: {line}", err=True)
    click.echo(res.message)


@doc.command("diff")
@click.argument("number")
@click.option("--from", "from_rev", metavar="REV", help="The older revision (default: the one before --to).")
@click.option("--to", "to_rev", metavar="REV", help="The newer revision (default: the newest).")
@click.option("--format", "fmt", type=click.Choice(["text", "html", "pdf"]), default="text")
@output_option("Write the redline to a file (required for --format pdf).")
@pass_env
def doc_diff(env, number, from_rev, to_rev, fmt, output):
    """The redline (修订对照) of NUMBER between two revisions: clause by clause, words inserted and deleted."""
    if fmt == "pdf" and not output:
        raise InvalidInput("--format pdf needs -o FILE.pdf (the 修订对照表 is a file)", field="output")
    red = redline_for(env.ws, number, from_rev, to_rev)
    if fmt == "pdf":
        click.echo(f"wrote {write_pdf(env.ws, red, output)}")
        return
    text = as_html(red) if fmt == "html" else as_text(red)
    if output:
        click.echo(f"wrote {outputs.write(env.ws, output, text.encode('utf-8'))}")
    else:
        click.echo(text)


COMMANDS: list = []
