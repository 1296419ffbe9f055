"""Records: fill a form, number it, render it, file it write-once; signed scans; amendments.

The package's public API, as callers (cli, web, inbox, retention, bench, tests) use it:

- inputs:  reading a record's YAML/JSON, CSV/XLSX rows (read_rows)
- filing:  prepare, Filing, file_records / file_record / file_record_data, import_records
- pdfs:    convert_pending, PdfPending
- signing: sign (the customer's scan), amend, the filer's electronic signature
- scans:   the scan as a PDF (a phone photo put on an A4 page), for the CLI and the web alike
- context: record_context, blank_form
- views:   show (with every signature and the version it covers), list_records, list_page (one page, newest first, in SQL); record_row is
           qms.domain.recordstate's
"""

from ..domain.recordstate import SCAN_NAME
from ..domain.recordstate import record_row
from .record_context import blank_form, record_context, template_path
from .filing import (Filing, file_record, file_record_data, file_records, import_records, prepare,
                     record_date_for, sequence_key)
from .inputs import MAX_IMPORT_BYTES, read_rows
from .pdfs import PdfPending, convert_pending
from .filer_signature import filer_fields, sign_as_filer
from .signing import amend, sign
from .record_views import list_page, list_records, show, with_columns

__all__ = ["SCAN_NAME", "MAX_IMPORT_BYTES", "Filing", "PdfPending", "amend", "blank_form", "convert_pending",
           "file_record", "file_record_data", "file_records", "filer_fields", "import_records", "list_page", "list_records",
           "prepare", "read_rows", "record_context", "record_date_for", "record_row", "sequence_key", "show",
           "sign", "sign_as_filer", "template_path", "with_columns"]
