"""Render .docx files from docxtpl templates: controlled procedures and records.

The API the rest of qms calls, with plain dict contexts (the keys are listed on each):

- render_procedure(template, ctx, out)                       procedure.py
- RecordRenderer(template).render(ctx, out) / .render_bytes  record.py

_docxtpl.py is the only module touching docxtpl and jinja (sandbox, prepared-template cache,
patching); tables.py sizes table columns from their content.
"""

from __future__ import annotations

from ._docxtpl import TemplateUse, template_uses
from .procedure import PROCEDURE_MODEL, render_procedure
from .record import RecordRenderer

__all__ = ["render_procedure", "RecordRenderer"]
