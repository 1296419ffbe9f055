"""The command line: parse options, call one library function, render. No logic lives here.

One module per command group (documents, records, retention, search, admin, identity); this
one holds the root group and its table of commands; `exit_status` the error → exit status mapping,
`env` the workspace/session `Env`.

`qms --help` must start fast: the root group lists its commands from COMMAND_TABLE below and
imports a command's module (and with it the services) only when that command runs. The table's
help lines are the commands' own (tests/test_cli_startup.py keeps them in step)."""

from __future__ import annotations

import importlib
import os
from typing import NamedTuple

import click

from .exit_status import QmsGroup


class Entry(NamedTuple):
    module: str                 # under qms.cli
    attr: str                   # the click command in it
    help: str                   # its short help, shown by `qms --help` without importing it
    also: tuple[str, ...] = ()  # modules that attach subcommands to it on import


COMMAND_TABLE: dict[str, Entry] = {
    'capa': Entry('quality_process', 'capa', 'NC/CAPA (纠正预防措施): new, action, verify, close, show.'),
    'checkpoint': Entry('admin', 'checkpoint', "Sign the journal's head with a key kept outside the archive."),
    'compile': Entry('retention', 'compile_cmd', "The yearly volume (每年汇编成册) of one form's records."),
    'config': Entry('admin', 'config_group', 'What governs the archive: config.yaml, schemas/, templates/ (journaled when applied).'),
    'cr': Entry('quality_process', 'cr', 'Change requests (变更申请): new, approve, show, list.'),
    'disposal': Entry('retention', 'disposal', '销毁审批: proposals, their approval by a second person, and the certificates (kept permanently).'),
    # doc import / doc diff (doc_word), doc receive-copy / return-copy (quality_process)
    'doc': Entry('documents', 'doc', 'Controlled documents (程序文件): write, sign, release, revise, withdraw.',
                 ('doc_word', 'quality_process')),
    'form': Entry('records', 'form', 'Record forms (schemas/*.yaml).'),
    'hold': Entry('retention', 'hold', 'Legal holds: a held record is never disposed.'),
    'init': Entry('admin', 'init', 'Create a new workspace in DIRECTORY: defaults, first administrator, signing key.'),
    'jobs': Entry('scan', 'jobs', 'Work that waits (OCR …): what is queued, done, failed.'),
    'keys': Entry('identity', 'keys', "The organisation's signing key that seals released PDFs."),
    'kpi': Entry('kpi', 'kpi', 'KPIs (kpis/*.yaml): check, show, the CAPAs a missed target proposes.'),
    'log': Entry('admin', 'log_cmd', 'The audit trail: who did what, when — newest first, a page at a time (--json: {total, items, next}).'),
    'login': Entry('identity', 'login', 'Open a session for this workspace (idle timeout and lifetime from config.yaml).'),
    'logout': Entry('identity', 'logout', "End this workspace's session."),
    'migrate': Entry('admin', 'migrate_cmd', 'Copy this workspace to PostgreSQL (+ a bucket) or back to a folder; rerun to resume.'),
    'purge': Entry('retention', 'purge', 'Propose every record past retention and not on hold for destruction (销毁审批).'),
    'rebuild': Entry('admin', 'rebuild', "Rebuild the catalog: the journal's projection applied from its first event."),
    'record': Entry('records', 'record', 'Records: file, import, sign, amend, show, list.'),
    'recover': Entry('admin', 'recover', "Finish what a crashed command's journal event promised; remove what none promised."),
    'reindex': Entry('admin', 'reindex', 'Rebuild the search index from the archive.'),
    'report': Entry('kpi', 'report', 'Reports over the records (the monthly quality report).'),
    'retention': Entry('retention', 'retention', 'Retention periods: what is due for disposal.'),
    'review': Entry('quality_process', 'review', 'Periodic review (定期评审): list what is due, close a review by signature.'),
    'scan': Entry('scan', 'scan', 'Signed paper coming back: the scan inbox and the review queue.'),
    'search': Entry('search', 'search', 'Full-text search; characters written together (Chinese, digits, letters) match exactly '
                                        'that string; FIELD：value searches one field of a form (label or name).'),
    'serve': Entry('admin', 'serve', 'The web application: auditors, approvers, engineers, keepers in a browser.'),
    'template': Entry('templates', 'template', 'The .docx templates of procedures and record forms (edited in Word or LibreOffice).'),
    'tick': Entry('quality_process', 'tick_cmd', 'Create due reminders (exactly once) and send their e-mails; for cron (qms serve ticks itself).'),
    'todo': Entry('quality_process', 'todo_cmd', '我的待办: everything waiting on you, overdue first.'),
    'training': Entry('quality_process', 'training', 'Read-and-understood (阅读确认): assignments, acknowledge, matrix, who has not read.'),
    # user edit (quality_process)
    'user': Entry('identity', 'user', "People: add, list, show, roles, disable, passwd (an admin's session changes them).",
                  ('quality_process',)),
    'verify': Entry('auditing', 'verify_cmd', 'Check files, manifests and the journal against each other, the catalog and the index.'),
    'whoami': Entry('identity', 'whoami', "The session's user, roles and permissions."),
}


class LazyGroup(QmsGroup):
    """The root group: commands come from COMMAND_TABLE, their modules load when one is resolved."""

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(COMMAND_TABLE))

    def get_command(self, ctx, name):
        if name not in self.commands and name in COMMAND_TABLE:
            entry = COMMAND_TABLE[name]
            module = importlib.import_module(f"{__name__}.{entry.module}")
            for extra in entry.also:
                importlib.import_module(f"{__name__}.{extra}")
            self.add_command(getattr(module, entry.attr), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        """As click's, but a command not yet loaded shows its table line (no import for --help)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            cmd = self.commands.get(name)
            if cmd is not None:
                if not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit)))
            else:
                stand_in = click.Command(name, help=COMMAND_TABLE[name].help)     # shortened as click would
                rows.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", metavar="DIR", help="Workspace folder (else $QMS_WORKSPACE, else the nearest folder upward holding config.yaml).")
@click.version_option(package_name="qms")
@click.pass_context
def cli(ctx, workspace):
    """qms — controlled documents and quality records (ISO 9001 / ISO 13485).

    Every command that changes state needs a session (qms login) holding the permission for it."""
    # Nothing qms (or SQLite, whoosh, LibreOffice under it) creates is readable by others,
    # whatever the caller's umask: the archive holds customer names and phone numbers.
    os.umask(os.umask(0) | 0o027)
    # The composition root loads every service (~200 ms): by name here, so `qms --help` skips it.
    importlib.import_module("qms.startup").start()
    ctx.obj = importlib.import_module(f"{__name__}.env").Env(workspace)    # identity, storage: by name too


def main():
    cli(prog_name="qms")


if __name__ == "__main__":
    main()
