"""Controlled documents: submit → sign → release → (revise) → obsolete, and what a reader sees.

lifecycle.py  the approval state machine (submit, sign, reject, withdraw, release, obsolete)
context.py    what a procedure is rendered with (check, render context, preview)
copies.py     controlled copies (issue, list, recall) and the stamped reading copies
views.py      show one document, list them all

Catalog reads go through qms.domain.docstate; writes through qms.store.writer.
"""

from .procedure_context import (SCOPE_TITLES, TERM_SECTION_TITLES, TERMS_TITLE, check,
                                cross_reference_warnings, preview, render_context, render_docx)
from .copies import copies, issue_copy, recall, superseded_name
from .lifecycle import DEFAULT_MEANINGS, obsolete, redate, reject, release, sign, submit, withdraw
from .document_views import document_page, list_documents, show

__all__ = ["DEFAULT_MEANINGS", "SCOPE_TITLES", "TERM_SECTION_TITLES", "TERMS_TITLE", "check", "copies",
           "cross_reference_warnings", "issue_copy", "document_page", "list_documents", "obsolete", "preview", "recall",
           "redate", "reject", "release", "render_context", "render_docx", "show", "sign", "submit", "superseded_name",
           "withdraw"]
