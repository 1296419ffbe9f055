"""qms template check / new: the .docx templates a person edits in Word or LibreOffice."""

from __future__ import annotations

import click

from ..records.template_check import check_templates, new_template
from .env import QmsGroup, pass_env
from .options import FilePath, emit, json_option


@click.group(cls=QmsGroup)
def template():
    """The .docx templates of procedures and record forms (edited in Word or LibreOffice)."""


@template.command("check")
@click.argument("files", nargs=-1, type=FilePath(exists=True, dir_okay=False))
@json_option
@pass_env
def template_check(env, files, as_json):
    """Check templates (default: every .docx in templates/): explicit East Asian fonts, zh-CN,
    every placeholder a field of its form or the procedure model, no macros, no external links.
    A file that passes gets fixed zip timestamps, so a check-in diff shows only its content."""
    reports = check_templates(env.ws, list(files) or None)
    emit([r.to_json() for r in reports], as_json,
         lambda rows: "\n".join(f"ok {r['file']} ({r['kind']}){' — timestamps normalised' if r['normalised'] else ''}"
                                for r in rows))


@template.command("new")
@click.option("--form", "form_id", required=True, metavar="ID", help="The form whose fields the starter lists.")
@click.option("-o", "--output", required=True, metavar="FILE", help="The .docx to write.")
@json_option
@pass_env
def template_new(env, form_id, output, as_json):
    """A starter .docx for a form from its schema, to lay out in Word."""
    emit(new_template(env.ws, form_id, output), as_json)


COMMANDS = [template]
