"""qms form … and qms record …: record forms, filing, signing, amending."""

from __future__ import annotations

import click

from .env import QmsGroup, pass_env
from .options import FilePath, emit, json_option, output_option, page_options, emit_page, progress_bar, read_secret, warn
from ..domain.forms import form_summaries, forms_table, load_forms, form_sheet, load_form, field_labels
from ..records import (blank_form, file_record, import_records, convert_pending, sign, amend, show,
                       list_page)
from ..domain.text_views import record_text, record_list_text


@click.group(cls=QmsGroup)
def form():
    """Record forms (schemas/*.yaml)."""


@form.command("list")
@json_option
@pass_env
def form_list(env, as_json):
    """Every form: id, title, procedure, retention, signature required."""
    forms = list(load_forms(env.ws).values())        # read once: the JSON and the table show the same forms
    emit(form_summaries(forms), as_json, lambda xs: forms_table(forms, env.ws.config.locale))


@form.command("show")
@click.argument("form_id", metavar="ID")
@json_option
@pass_env
def form_show(env, form_id, as_json):
    """A form's fields, numbering and retention."""
    the_form = load_form(env.ws, form_id)
    emit(the_form.to_json(), as_json, lambda d: form_sheet(the_form, env.ws.config.locale))


@form.command("blank")
@click.argument("form_id", metavar="ID")
@output_option("FILE.docx or FILE.pdf", required=True)
@pass_env
def form_blank(env, form_id, output):
    """A blank printable form."""
    click.echo(f"wrote blank form {blank_form(env.ws, form_id, output)}")


@click.group(cls=QmsGroup)
def record():
    """Records: file, import, sign, amend, show, list."""


@record.command("file")
@click.argument("form_id", metavar="ID")
@click.option("--data", "data_file", required=True, type=FilePath(), help="FILE.yaml or FILE.json")
@click.option("--on", metavar="DATE", help="The date the record was made (default: the form's date field, else today).")
@click.option("--attach", multiple=True, type=FilePath(), help="A file to keep with the record (repeatable).")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF/A rendition (qms record pdf --pending makes it later).")
@click.option("--sign", "esign", is_flag=True, help="Sign the form's filer fields (e.g. 服务工程师) as yourself.")
@click.option("--password-stdin", is_flag=True, help="With --sign: read your password from standard input.")
@json_option
@pass_env
def record_file(env, form_id, data_file, on, attach, no_pdf, esign, password_stdin, as_json):
    """File one record of form ID."""
    actor = env.act("record.file")
    res = file_record(env.ws, form_id, data_file, actor=actor, on=on, attachments=list(attach), pdf=not no_pdf,
                      signer=env.user if esign else None, filer=env.user,
                      password=lambda: read_secret(password_stdin, "Your password to sign"))
    emit({"number": res.data["number"], "status": res.data["status"]}, as_json, res.message)
    warn(res.data)


@record.command("import")
@click.argument("form_id", metavar="ID")
@click.argument("path", type=FilePath())
@click.option("--on", metavar="DATE", help="Record date for every row (default: each row's date field).")
@click.option("--no-pdf", is_flag=True, help="Defer PDF renditions (qms record pdf --pending).")
@click.option("--again", is_flag=True, help="Import a file that was imported before (same SHA-256).")
@click.option("--encoding", metavar="NAME", help="The CSV's encoding when it is not UTF-8 or GB18030 (e.g. big5).")
@json_option
@pass_env
def record_import(env, form_id, path, on, no_pdf, again, encoding, as_json):
    """File one record per row of a CSV or XLSX file; all rows or none."""
    actor = env.act("record.import")
    with progress_bar("filing") as progress:
        filed = import_records(env.ws, form_id, path, actor=actor, on=on, pdf=not no_pdf, again=again,
                               progress=progress, encoding=encoding)
    first, last = filed[0]["number"], filed[-1]["number"]
    emit([{"number": f["number"], "status": f["status"]} for f in filed], as_json,
         f"imported {len(filed)} records of {form_id}: {first} … {last}")


@record.command("pdf")
@click.argument("numbers", nargs=-1, metavar="[NUMBER]...")
@click.option("--pending", is_flag=True, help="Every record still without a PDF: the default without NUMBERs "
                                                "(kept for the scripts and messages that name it).")
@pass_env
def record_pdf(env, numbers, pending):
    """Make the PDF/A renditions deferred by --no-pdf (LibreOffice in chunks of 100): of the records
    NUMBER… only, else of every record still without one."""
    if numbers and pending:
        raise click.UsageError("give record NUMBERs or --pending, not both")
    done = convert_pending(env.ws, actor=env.act("record.pdf"), numbers=list(numbers) or None)
    click.echo(f"converted {len(done)} records to PDF/A")


@record.command("sign")
@click.argument("number")
@click.option("--scan", required=True, type=FilePath(), help="The signed scan: a PDF, or a photo of the signed "
                                                             "form (JPEG, PNG), put on an A4 page as the web does.")
@click.option("--signer", "signers", required=True, multiple=True, metavar="NAME[:ROLE]",
              help="Who signed on paper, e.g. 王海涛:用户代表 (repeatable: the customer, the engineer …).")
@click.option("--signer-role", help="The role of a --signer given without one, e.g. 用户代表.")
@click.option("--signed-on", metavar="DATE", help="The date written by the signature (default today): the "
                                                  "customer's date the record's pages show.")
@json_option
@pass_env
def record_sign(env, number, scan, signers, signer_role, signed_on, as_json):
    """Attach the signed scan; the record becomes valid (filed)."""
    actor = env.act("record.sign")
    pairs = []
    for s in signers:
        name, _, role = s.replace("：", ":").partition(":")
        pairs.append((name, role or signer_role or ""))
    res = sign(env.ws, number, scan=scan, signers=pairs, actor=actor, signed_on=signed_on)
    emit(res, as_json)


@record.command("amend")
@click.argument("number")
@click.option("--data", "data_file", type=FilePath(), help="The whole record again (YAML or JSON).")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Change one field (repeatable).")
@click.option("--reason", required=True)
@click.option("--no-pdf", is_flag=True)
@json_option
@pass_env
def record_amend(env, number, data_file, sets, reason, no_pdf, as_json):
    """A new version of NUMBER beside the original: --set for what changed, or --data for all."""
    res = amend(env.ws, number, data_file, reason=reason, actor=env.act("record.amend"), pdf=not no_pdf,
                sets=list(sets))
    emit(res, as_json)


@record.command("show")
@click.argument("number")
@json_option
@pass_env
def record_show(env, number, as_json):
    """A record: data, status, signatures, files, versions."""
    d = show(env.ws, number)
    emit(d, as_json, lambda x: record_text(env.ws, x, field_labels(env.ws, x["form"])))


@record.command("list")
@click.option("--form", "form_id", metavar="ID")
@click.option("--status", type=click.Choice(["awaiting_signature", "filed"]))
@click.option("--year", type=int)
@click.option("--customer", metavar="TEXT", help="Records whose customer contains TEXT.")
@page_options
@json_option
@pass_env
def record_list(env, form_id, status, year, customer, limit, offset, as_json):
    """Records, newest filing first, filtered by form, status, year, customer; a page at a time
    (--json: {total, items, next})."""
    page = list_page(env.ws, form=form_id, status=status, year=year, customer=customer, limit=limit, offset=offset)
    emit_page(page, as_json, lambda xs: record_list_text(env.ws, xs))


COMMANDS = [form, record]
