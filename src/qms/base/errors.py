"""What can go wrong, by kind: QmsError and its ladder, each kind with the exit status the CLI gives it."""

from __future__ import annotations

import re
from pathlib import Path

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class QmsError(Exception):
    """A user-fixable error: the CLI prints it on one line and exits 1.

    `where` names the file (and row/field/line) so the message points at the fix.
    """
    exit_code = 1

    def __init__(self, message: str, *, file: str | Path | None = None,
                 field: str | None = None, line: int | None = None,
                 row: int | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.line = line
        self.row = row
        super().__init__(self.format())

    def format(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:       # a command-line option is named as typed: option --from
            where.append(f"option {self.field}" if str(self.field).startswith("--") else f"field '{self.field}'")
        prefix = ", ".join(where)
        text = f"{prefix}: {self.message}" if prefix else self.message
        # one line, whatever a file name or value holds: control characters are shown escaped
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


# The ladder: what kind of problem, and the exit status a script can rely on (README, "Exit status").
# Plain QmsError stays a user error (1) so every existing raise keeps its meaning.

class NotFound(QmsError):
    """A number, form or file that does not exist."""


class Conflict(QmsError):
    """The archive's state does not allow this now (already signed, already released …)."""


class InvalidInput(QmsError):
    """A source, data file or option that does not validate."""


class Refused(QmsError):
    """Policy says no (permissions, separation of duties, outputs into the archive)."""


class ToolMissing(QmsError):
    """A program qms needs (LibreOffice) is not installed."""
    exit_code = 4


class Integrity(QmsError):
    """The archive, the journal or the catalog disagree: found by verify, or refused by a write."""
    exit_code = 3


class Busy(QmsError):
    """Another qms command holds the workspace's write lock (a command that would not wait): try again."""
    exit_code = 5


class InvalidRows(InvalidInput):
    """Several bad rows of one import, each on a line of its own (file, row, field, what was
    expected): the user fixes them all in one pass instead of one per run."""
    multiline = True
    SHOWN = 100     # a wholly wrong file does not print ten thousand lines

    def __init__(self, summary: str, errors: list[QmsError], *, file=None):
        self.errors = list(errors)
        super().__init__(summary, file=file)

    def format(self) -> str:
        lines = [super().format()] + [e.format() for e in self.errors[:self.SHOWN]]
        if len(self.errors) > self.SHOWN:
            lines.append(f"… and {len(self.errors) - self.SHOWN} more rows with errors")
        return "\n".join(lines)
