"""QmsGroup: the error → exit status mapping every command group shares. Apart from `env` (which
loads identity and storage) so the root group and `qms --help` need nothing but click and errors."""

from __future__ import annotations

import click

from ..base.errors import QmsError


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
