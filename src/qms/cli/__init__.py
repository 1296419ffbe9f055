"""The command line: parse options, call one library function, render. No logic lives here.

One module per command group (documents, records, retention, search, admin, identity); this
one holds the root group, the error → exit status mapping and the workspace/session `Env`.
Modules import heavy libraries inside their commands: `qms --help` must start fast."""

from __future__ import annotations

import os

import click

from ..errors import QmsError


class QmsGroup(click.Group):
    """Turns a QmsError into one line on stderr and its class's exit status (README, "Exit status")."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except QmsError as exc:
            text = exc.format()     # one line; a list of bad rows (InvalidRows) one line per row
            err = click.ClickException(text if getattr(exc, "multiline", False) else text.replace("\n", " "))
            err.exit_code = exc.exit_code
            raise err from None


class Env:
    def __init__(self, workspace: str | None):
        self._workspace_arg = workspace
        self._ws = None

    @property
    def ws(self):
        if self._ws is None:
            from ..workspace import find_workspace
            from ..writer import catch_up
            self._ws = find_workspace(self._workspace_arg)
            catch_up(self._ws)      # a catalog behind the journal (a crashed command) catches up first
        return self._ws

    @property
    def user(self):
        """The session's user (qms login); refused with one line when there is no valid session."""
        from ..identity.sessions import current_user
        return current_user(self.ws)

    def act(self, permission: str) -> str:
        """The journal's actor (login and name) of a state change, once the session holds `permission`;
        else one line naming what is missing, before anything is read or written."""
        from ..identity import require
        return require(self.user, permission).actor


pass_env = click.make_pass_decorator(Env)


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
    ctx.obj = Env(workspace)


# The command modules need QmsGroup, Env and pass_env above: they are imported last.
from . import admin, documents, identity, records, retention, search  # noqa: E402
from . import scan as _scan  # noqa: E402
from . import doc_word  # noqa: E402,F401  (adds doc import / doc diff to the doc group)
from . import quality  # noqa: E402  (todo, review, training, tick; user edit; doc receive-copy/return-copy)

for _module in (admin, documents, identity, records, retention, search, quality, _scan):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main():
    cli(prog_name="qms")


if __name__ == "__main__":
    main()

# KPIs and the monthly report (issue 24)
from . import kpi as _kpi_commands  # noqa: E402

for _command in _kpi_commands.COMMANDS:
    cli.add_command(_command)
