"""Reading record data: a YAML/JSON file for one record, CSV/XLSX rows for an import.

Bounded like every input (size, encoding incl. GB18030, control characters, depth, digits,
zip bombs); the generic safety helpers are qms.base.input_limits."""

from __future__ import annotations

import json
from pathlib import Path

from ..base.errors import InvalidInput, QmsError
from ..base.yaml_source import load_yaml
from ..base.input_limits import (MAX_NUMBER_DIGITS, check_depth, read_text, control_char_error, decode,
                                 read_bytes)
import csv
import io
import zipfile

MAX_IMPORT_BYTES = 100 * 1024 * 1024     # a CSV/XLSX import: far above 10,000 rows


def read_data_file(path: Path):
    """Record data from YAML or JSON; returns (data, YamlSource or None)."""
    if path.suffix.lower() == ".json":
        return read_json(path), None
    src = load_yaml(path)
    return src.data, src


def read_json(path: Path):
    """JSON record data, bounded like YAML: size, encoding, control characters, depth, digits."""

    def big_int(text):
        if len(text) > MAX_NUMBER_DIGITS:
            raise InvalidInput(f"a number of {len(text)} digits is too long; quote it if it is text", file=path)
        return int(text)
    try:
        data = json.loads(read_text(path, what="JSON file"), parse_int=big_int)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except RecursionError:
        raise InvalidInput("malformed JSON: nested too deeply", file=path) from None
    check_depth(data, file=path)
    return data


def read_rows(path: Path, encoding: str | None = None) -> list[tuple[int, dict]]:
    """(row number in the file, {header: value}) for each data row of a CSV or XLSX file; a CSV in
    `encoding` (the user's --encoding) when given, else UTF-8 or GB18030 when it decodes cleanly."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise InvalidInput("expected a .csv or .xlsx file", file=path)
    data = read_bytes(path, limit=MAX_IMPORT_BYTES, what="import file")
    if suffix == ".csv":
        # UTF-8 (BOM or not), UTF-16 with BOM, else GB18030: Excel on Chinese Windows saves GBK
        text = decode(data, path, encoding=encoding, table=True,
                      hint="give its encoding with --encoding (e.g. --encoding big5), or save it as UTF-8")
        err = control_char_error(text.replace("\r\n", "\n"), file=path)
        if err is not None:
            raise err
        # Not splitlines(): a quoted cell may span lines (numbered steps typed in Excel) and keeps
        # its line breaks; `lines` is where each row starts in the file, for error messages.
        reader = csv.reader(io.StringIO(text, newline=""))
        rows, lines, end = [], [], 0
        try:
            for r in reader:
                rows.append(r)
                lines.append(end + 1)
                end = reader.line_num
        except csv.Error as exc:
            limit = csv.field_size_limit()
            why = (f"a cell is longer than {limit // 1024} KiB" if "field larger" in str(exc)
                   else f"not valid CSV ({exc})")
            raise InvalidInput(why, file=path, line=end + 1) from None
    else:
        rows = xlsx_rows(path, data)
        lines = list(range(1, len(rows) + 1))
    if not rows or not any(str(c).strip() for c in rows[0]):
        raise InvalidInput("the file has no header row", file=path, row=1)
    header = [str(h).strip() for h in rows[0]]
    seen: dict[str, int] = {}
    for j, h in enumerate(header, 1):
        if not h:
            if any(j <= len(r) and str(r[j - 1]).strip() for r in rows[1:]):
                raise InvalidInput(f"column {j} has no header but holds values; name it or delete it",
                               file=path, row=1)
            continue
        if h in seen:
            raise InvalidInput(f"column {j} repeats the header of column {seen[h]}; each field once",
                           file=path, row=1, field=h[:60])
        seen[h] = j
    out = []
    for i, r in zip(lines[1:], rows[1:]):
        if not any(str(c).strip() for c in r):
            continue
        if len(r) > len(header) and any(str(c).strip() for c in r[len(header):]):
            raise InvalidInput(f"row has {len(r)} cells but the header has {len(header)} columns", file=path, row=i)
        out.append((i, {h: (r[j] if j < len(r) else "") for j, h in enumerate(header) if h}))
    return out


# An .xlsx is a zip: refuse before openpyxl inflates anything that could not be a real sheet.
XLSX_MAX_UNPACKED = 200 * 1024 * 1024
XLSX_MAX_RATIO = 200
XLSX_MAX_MEMBERS = 2000


def xlsx_rows(path: Path, data: bytes) -> list[list]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise InvalidInput("not an .xlsx workbook (not a zip archive)", file=path) from None
    if len(infos) > XLSX_MAX_MEMBERS:
        raise InvalidInput(f"the workbook holds {len(infos)} parts; refusing more than {XLSX_MAX_MEMBERS}", file=path)
    total = sum(i.file_size for i in infos)
    if total > XLSX_MAX_UNPACKED:
        raise InvalidInput(f"the workbook unpacks to {total // 1048576} MB; refusing more than "
                       f"{XLSX_MAX_UNPACKED // 1048576} MB", file=path)
    for i in infos:
        if i.file_size > 1048576 and i.file_size > XLSX_MAX_RATIO * max(i.compress_size, 1):
            raise InvalidInput(f"part {i.filename[:60]!r} unpacks {i.file_size // max(i.compress_size, 1)} times "
                           "its size (a zip bomb?); refusing it", file=path)
    from openpyxl import load_workbook    # lazy: openpyxl loads in ~150 ms; only XLSX files need it
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = [["" if v is None else v for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    except QmsError:
        raise
    except Exception as exc:   # openpyxl raises many types for a damaged file
        raise InvalidInput(f"cannot read the workbook ({type(exc).__name__})", file=path) from None
    for n, r in enumerate(rows, 1):
        for v in r:
            if isinstance(v, str):
                err = control_char_error(v, file=path, row=n)
                if err is not None:
                    err.line = None
                    raise err
    return rows

