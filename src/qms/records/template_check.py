"""`qms template check`: the shipped .docx templates are what a person edits in Word or
LibreOffice; this checks what a generator used to guarantee, and names the file and the
placeholder of every problem.

- fonts: explicit East Asian fonts (no theme fonts, which Word resolves per machine), and the
  document's default language zh-CN;
- placeholders: each parses in the sandbox, names a field of its form (`data.X`) or the
  record/procedure model, reaches for no `_private` attribute, defines no macro;
- no macros (vbaProject), no external links or images (a rendered record would fetch them);
- zip timestamps normalised (1980-01-01) so that checking a template in changes only its content.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import InvalidInput, QmsError
from ..store import outputs
from ..domain.forms import FormSchema, load_form, load_forms_quietly
from .record_context import record_context
from ..domain.results import Change
from ..store.workspace import Workspace

PROCEDURE_TEMPLATE = "procedure.docx"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_THEME = re.compile(rb'w:(?:ascii|eastAsia|hAnsi|cs)Theme="([^"]*)"', re.I)
_DOC_DEFAULTS = re.compile(rb"<w:docDefaults>.*?</w:docDefaults>", re.S)


@dataclass
class TemplateReport:
    path: Path
    kind: str                                   # "procedure" or "record (FORM, …)"
    problems: list[str] = field(default_factory=list)
    normalised: bool = False

    def to_json(self) -> dict:
        return {"file": str(self.path), "kind": self.kind, "ok": not self.problems, "problems": self.problems,
                "normalised": self.normalised}


def check_templates(ws: Workspace, files: list[Path] | None = None, *, normalise: bool = True) -> list[TemplateReport]:
    """Check FILES (default: every .docx in the workspace's templates/); with `normalise`, a file
    that passes gets fixed zip timestamps. Raises InvalidInput listing every problem when one fails."""
    paths = [Path(f) for f in files] if files else sorted(ws.templates_dir.glob("*.docx"))
    forms = load_forms_quietly(ws)
    reports = [check_template(ws, p, forms) for p in paths]
    bad = [f"{r.path}: {p}" for r in reports for p in r.problems]
    if bad:
        raise InvalidInput("\n".join(bad))
    if normalise:
        for r in reports:
            r.normalised = normalise_zip(r.path)
    return reports


def check_template(ws: Workspace, path: Path, forms: dict[str, FormSchema] | None = None) -> TemplateReport:
    from ..adapters.render import PROCEDURE_MODEL, template_uses    # lazy: the renderer brings docxtpl and python-docx (~80 ms); only checking a template needs them
    forms = load_forms_quietly(ws) if forms is None else forms
    users = [f for f in forms.values() if f.template == path.name]
    procedure = path.name == PROCEDURE_TEMPLATE and not users
    report = TemplateReport(path, "procedure" if procedure else
                            f"record ({', '.join(f.id for f in users) or 'no form names it'})")
    try:
        with zipfile.ZipFile(path) as z:
            parts = {n: z.read(n) for n in z.namelist()}
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"not a .docx file ({exc})")
        return report
    report.problems += _package_problems(parts)
    try:
        uses = template_uses(path)
    except QmsError as exc:
        report.problems.append(exc.format().replace(f"{path}: ", ""))
        return report
    if procedure:
        allowed, fields = set(PROCEDURE_MODEL), None
    else:
        sample = users[0] if users else next(iter(forms.values()), None)
        allowed = set(record_context(ws, sample, {}, blank=True)) if sample else set()
        fields = {f.name for form in users for f in form.fields} if users else None
    for u in uses:
        for tag in u.private:
            report.problems.append(f"{u.part}: placeholder {tag} reaches for a private attribute (refused by the sandbox)")
        for tag in u.macros:
            report.problems.append(f"{u.part}: {tag} defines a macro; a template holds placeholders, not code")
        for name in sorted(u.names - allowed):
            report.problems.append(f"{u.part}: placeholder {u.unknown_tags[name]} names {name!r}, which the "
                                   f"{'procedure' if procedure else 'record'} model does not have")
        if fields is not None:
            for key, tag in sorted(u.data_keys.items()):
                if key not in fields:
                    report.problems.append(f"{u.part}: placeholder {tag} names data.{key}, not a field of "
                                           f"{', '.join(f.id for f in users)}")
    return report


def _package_problems(parts: dict[str, bytes]) -> list[str]:
    out = []
    if any(n.lower().endswith("vbaproject.bin") for n in parts) or b"macroEnabled" in parts.get("[Content_Types].xml", b""):
        out.append("holds macros (vbaProject.bin); save it as a plain .docx")
    for name, raw in parts.items():
        if name.endswith(".rels"):
            for target in re.findall(rb'Target="([^"]*)"[^>]*TargetMode="External"|TargetMode="External"[^>]*Target="([^"]*)"', raw):
                link = (target[0] or target[1]).decode("utf-8", "replace")
                out.append(f"{name}: an external link or image ({link}); embed it or remove it")
    for name in ("word/styles.xml", "word/document.xml"):
        for theme in sorted(set(_THEME.findall(parts.get(name, b"")))):
            out.append(f"{name}: a theme font ({theme.decode()}); choose the font by name (e.g. 宋体, 黑体)")
    defaults = _DOC_DEFAULTS.search(parts.get("word/styles.xml", b""))
    block = defaults.group() if defaults else b""
    if not re.search(rb"<w:rFonts[^>]*w:eastAsia=\"[^\"]+\"", block):
        out.append("word/styles.xml: no East Asian font in the document defaults (w:eastAsia)")
    if not re.search(rb"<w:lang[^>]*w:eastAsia=\"zh-CN\"", block):
        out.append("word/styles.xml: the document's default East Asian language is not zh-CN")
    return out


def normalise_zip(path: Path) -> bool:
    """Rewrite the zip with fixed member timestamps (content, order and compression kept); True if changed."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        if all(i.date_time == FIXED_TIME for i in infos):
            return False
        members = [(i, z.read(i)) for i in infos]
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as out:
        for info, raw in members:
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME)
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            out.writestr(fixed, raw)
    tmp.replace(path)
    return True


def new_template(ws: Workspace, form_id: str, out: Path | str) -> Change:
    """A starter .docx for FORM from its schema; it passes the check (and says so)."""
    from ..adapters.render.starter import write_starter    # lazy: python-docx (~60 ms) only for writing a starter
    form = load_form(ws, form_id)
    out = outputs.check(ws, out, (".docx",))
    write_starter(form, out)
    normalise_zip(out)
    report = check_template(ws, out)
    if report.problems:          # the starter is ours: a problem here is a bug, said plainly
        raise QmsError(f"the starter template fails its own check: {report.problems[0]}", file=out)
    return Change(f"wrote {out}: a starter template for {form.id} ({form.title}); lay it out in Word, "
                  f"then name it in the form's schema (template: {out.name}) and run qms template check",
                  {"file": str(out), "form": form.id})
