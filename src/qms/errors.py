"""The one exception type for mistakes a user can fix."""

from __future__ import annotations

import re
from pathlib import Path

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class QmsError(Exception):
    """A user-fixable error: the CLI prints it on one line and exits 1.

    `where` names the file (and row/field/line) so the message points at the fix.
    """

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
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        text = f"{prefix}: {self.message}" if prefix else self.message
        # one line, whatever a file name or value holds: control characters are shown escaped
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
