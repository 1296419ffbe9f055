"""The pieces every command module needs: the workspace/session `Env`, and QmsGroup (the error →
exit status mapping, held in exit_status so the root group loads without identity and storage)."""

from __future__ import annotations

import click

from ..adapters import resident
from ..identity import require
from ..identity.sessions import current_user
from ..store.workspace import find_workspace
from ..store.writer import catch_up
from .exit_status import QmsGroup  # noqa: F401  (re-exported: the command modules take it from here)


class Env:
    def __init__(self, workspace: str | None):
        self._workspace_arg = workspace
        self._ws = None

    @property
    def ws(self):
        if self._ws is None:
            self._ws = find_workspace(self._workspace_arg)
            catch_up(self._ws)      # a catalog behind the journal (a crashed command) catches up first
            resident.configure(self._ws.config.convert_resident)      # which conversions keep LibreOffice running
        return self._ws

    @property
    def user(self):
        """The session's user (qms login); refused with one line when there is no valid session."""
        return current_user(self.ws)

    def act(self, permission: str) -> str:
        """The journal's actor (login and name) of a state change, once the session holds `permission`;
        else one line naming what is missing, before anything is read or written."""
        return require(self.user, permission).actor


pass_env = click.make_pass_decorator(Env)
