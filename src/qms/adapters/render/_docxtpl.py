"""The docxtpl adapter: the only module that touches docxtpl and jinja.

How rendering works, and why it is not `DocxTemplate(path).render()`:
docxtpl re-reads the package with python-docx and re-runs its regex
preprocessing and a jinja compile on every render (~40 renders/s). Here a
template is prepared once: each XML part that holds template tags is patched
with docxtpl's own `patch_xml` and compiled by jinja; every other part is put
into a ready-made zip. A render then only runs the compiled templates, applies
docxtpl's post-processing (`resolve_listing`: \\n → line break …), checks the
XML is well formed and appends the rendered parts to a copy of that zip.

Values are XML-escaped (jinja autoescape, as docxtpl's autoescape=True), and
characters XML cannot hold are dropped. Differences from docxtpl: InlineImage
and Subdoc (which need a live DocxTemplate) are not supported; tables in a
part that uses {%tc %} column loops, unless their layout is "fixed", get their
columns sized from the rendered content (tables.py: docxtpl's fix_tables only
adds or removes grid columns, and miscounts nested tables).
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from docx.opc.oxml import parse_xml
from docxtpl import DocxTemplate
from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from ...base.errors import InvalidInput, QmsError
from ...base.textfmt import nobreak
from .tables import fit_tables
import traceback

_XML_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Parts that may hold template tags. Styles, numbering, settings, media are copied as they are.
_TEMPLATED_PART = re.compile(
    r"^(word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml|docProps/core\.xml)$")
_WORD_PART = re.compile(r"^word/")
_TC_LOOP = re.compile(r"\{%-?\s*tc\s")
_TAGS = re.compile(r"<[^>]+>")
# Characters XML 1.0 cannot hold; \a and \f stay: docxtpl turns them into paragraph / page breaks.
_BAD_CHARS = re.compile("[\x00-\x06\x08\x0b\x0e-\x1f\r\ufffe\uffff]")


# docxtpl's preprocessing (patch_xml) and post-processing (resolve_listing) use no
# instance state: one idle instance lends them, so we track docxtpl's syntax exactly.
_DOCXTPL = DocxTemplate(None)


def _clean_char(m: re.Match) -> str:
    return "\n" if m.group() in ("\r", "\x0b") else ""


def _finalize(value: Any) -> Any:
    """Every {{ value }} passes here before escaping: None prints as blank, bad characters go."""
    if value is None:
        return ""
    if type(value) is str and _BAD_CHARS.search(value):
        value = _BAD_CHARS.sub(_clean_char, value.replace("\r\n", "\n"))
    return value


# Sandboxed: a template is data a workspace owner (or whoever planted a config.yaml and
# templates/ in a parent folder) wrote, not code — {{ lipsum.__globals__ … }} is refused.
class _Sandbox(SandboxedEnvironment):
    """jinja's sandbox turns a refused attribute into an Undefined that prints as blank; here it
    is an error at once, so the template's author learns which tag was refused."""

    def unsafe_undefined(self, obj, attribute):
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    # A name starting with "__" is refused even where the object has no such attribute: no
    # template needs one, and probing for them is how sandbox escapes begin.
    def getattr(self, obj, attribute):
        if isinstance(attribute, str) and attribute.startswith("__"):
            self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        if isinstance(argument, str) and argument.startswith("__"):
            self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)


_ENV = _Sandbox(autoescape=True, finalize=_finalize)
_ENV.filters["nobreak"] = nobreak     # {{ number|nobreak }}: kept on one line (textfmt.nobreak)

# docxtpl's escapes for literal braces in a template ({_{ prints {{). Turned into jinja string
# literals when the template is compiled, never replaced in the rendered XML: a record value
# holding "{_{ 7*7 }_}" must print exactly that.
_LITERAL_BRACES = (("{_{", "{{ '{{' }}"), ("}_}", "{{ '}}' }}"), ("{_%", "{{ '{%' }}"), ("%_}", "{{ '%}' }}"))
_TAG_IN_LINE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


@dataclass(frozen=True)
class _Part:
    name: str
    template: Template
    source: str       # the patched XML, for error messages
    word: bool        # WordprocessingML: apply docxtpl's post-processing
    fit_tables: bool  # has {%tc %} column loops: size autofit tables from content


class PreparedDocx:
    """A .docx template parsed and compiled once, rendered many times."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise QmsError(f"cannot read the template: {exc.strerror or exc}", file=self.path) from None
        try:
            zin = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise InvalidInput("not a .docx file (not a zip archive)", file=self.path) from None
        if "word/document.xml" not in zin.namelist():
            raise InvalidInput("not a .docx file (no word/document.xml)", file=self.path)
        parts: list[_Part] = []
        static = io.BytesIO()
        with zin, zipfile.ZipFile(static, "w", zipfile.ZIP_DEFLATED) as zs:
            for info in zin.infolist():
                raw = zin.read(info)
                part = self._compile(info.filename, raw) if _TEMPLATED_PART.match(info.filename) else None
                if part is not None:
                    parts.append(part)
                else:
                    zs.writestr(_zip_info(info), raw)
        self.parts = tuple(parts)
        self.static = static.getvalue()

    def _compile(self, name: str, raw: bytes) -> _Part | None:
        if b"{" not in raw:
            return None
        try:
            # python-docx's parser drops blank text between elements, as docxtpl does
            src = etree.tostring(parse_xml(raw), encoding="unicode")
        except etree.XMLSyntaxError as exc:
            raise InvalidInput(f"{name} is not well-formed XML: {exc}", file=self.path) from None
        word = bool(_WORD_PART.match(name))
        src_text = ""
        if word:
            src_text = _TAGS.sub("", src)
            src = _DOCXTPL.patch_xml(src)
        if word and "_" in src:
            for escape, literal in _LITERAL_BRACES:
                src = src.replace(escape, literal)
        if not ("{{" in src or "{%" in src or "{#" in src):
            return None
        if word:
            # one paragraph per line, so jinja's line numbers point at a paragraph (as docxtpl)
            src = re.sub(r"<w:p([ >])", r"\n<w:p\1", src)
        try:
            template = _ENV.from_string(src)
        except TemplateSyntaxError as exc:
            raise InvalidInput(f"template syntax error in {name}: {exc.message}{_near(src, exc.lineno)}",
                           file=self.path) from None
        return _Part(name, template, src, word, word and bool(_TC_LOOP.search(src_text)))

    def render_bytes(self, ctx: Mapping[str, Any]) -> bytes:
        rendered = [(part.name, self._render_part(part, ctx)) for part in self.parts]
        buf = io.BytesIO(self.static)
        # append mode: the unchanged parts are already compressed; only the rendered ones are new
        with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as zout:
            for name, data in rendered:
                zout.writestr(_zip_info(name), data)
        return buf.getvalue()

    def _render_part(self, part: _Part, ctx: Mapping[str, Any]) -> bytes:
        try:
            xml = part.template.render(ctx)
        except SecurityError as exc:
            raise InvalidInput(f"template tag {_tag(part.source, exc)} in {part.name} is not allowed: "
                           f"{exc} (templates run in a sandbox)", file=self.path) from None
        except Exception as exc:  # any failure inside the template is the template's (or its data's)
            lineno = getattr(exc, "lineno", None)
            raise InvalidInput(f"cannot render {part.name}: {type(exc).__name__}: {exc}"
                           f"{_near(part.source, lineno)}",
                           file=self.path) from exc
        if part.word:
            xml = xml.replace("\n<w:p>", "<w:p>").replace("\n<w:p ", "<w:p ")
            if "\n" in xml or "\t" in xml or "\a" in xml or "\f" in xml:
                xml = _resolve_listing(xml)
        data = xml.encode("utf-8")
        try:
            root = etree.fromstring(data)
        except etree.XMLSyntaxError as exc:
            # a mismatched {%p %}/{%tr %} pair cuts elements in half; Word would call the file corrupt
            raise InvalidInput(f"the template produces invalid XML in {part.name} ({exc}); "
                           "check that every {%p/{%tr/{%tc block is closed in the same kind of element",
                           file=self.path) from None
        if part.fit_tables and fit_tables(root):
            return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        return _XML_DECL + data


def _tag(source: str, exc: Exception) -> str:
    """The tag (as written in the template) that tripped the sandbox: the one on the failing
    line that names the refused attribute, else the first tag on that line."""
    lineno = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            lineno = frame.lineno
    lines = source.splitlines()
    candidates = _TAG_IN_LINE.findall(_TAGS.sub("", lines[lineno - 1])) if lineno and lineno <= len(lines) else []
    if not candidates:
        candidates = _TAG_IN_LINE.findall(_TAGS.sub("", source))
    m = re.search(r"attribute '([^']+)'", str(exc))
    pick = next((c for c in candidates if m and m.group(1) in c), candidates[0] if candidates else "?")
    return f"`{pick[:120]}`"


def _resolve_listing(xml: str) -> str:
    """docxtpl's resolve_listing (\n → line break, \t → tab, \a → new paragraph, \f → page
    break), applied only to the paragraphs that hold such a character: the same result,
    without running its regexes over every paragraph of the document."""
    chunks = xml.split("</w:p>")
    for i in range(len(chunks) - 1):
        chunk = chunks[i]
        if "\n" in chunk or "\t" in chunk or "\a" in chunk or "\f" in chunk:
            start = max(chunk.rfind("<w:p>"), chunk.rfind("<w:p "))
            if start >= 0:
                done = _DOCXTPL.resolve_listing(chunk[start:] + "</w:p>")
                chunks[i] = chunk[:start] + done[:-len("</w:p>")]
    return "</w:p>".join(chunks)


def _zip_info(info: zipfile.ZipInfo | str) -> zipfile.ZipInfo:
    name = info if isinstance(info, str) else info.filename
    out = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    out.compress_type = zipfile.ZIP_DEFLATED
    out.external_attr = 0o644 << 16
    return out


def _near(src: str, lineno: int | None) -> str:
    """The text of the template around a jinja line number (the tags stripped), for error messages."""
    if not src or not lineno:
        return ""
    lines = src.splitlines()[max(lineno - 3, 0):lineno + 2]
    text = " ".join(t for t in (_TAGS.sub("", line).strip() for line in lines) if t)
    return f" (near: {text[:160]})" if text else ""


@functools.lru_cache(maxsize=32)
def _prepared_cached(path: str, mtime_ns: int, size: int) -> PreparedDocx:
    return PreparedDocx(Path(path))


def prepared(template: Path) -> PreparedDocx:
    """A prepared template, reused while the file is unchanged."""
    path = Path(template)
    try:
        st = path.stat()
    except OSError as exc:
        raise QmsError(f"cannot read the template: {exc.strerror or exc}", file=path) from None
    return _prepared_cached(str(path.resolve()), st.st_mtime_ns, st.st_size)


def write(out: Path, data: bytes) -> None:
    """Write the finished bytes; a failed write leaves no partial file behind."""
    out = Path(out)
    try:
        with open(out, "wb") as fh:
            fh.write(data)
    except BaseException:
        out.unlink(missing_ok=True)
        raise




# ------------------------------------------------------------------ what a template asks for (qms template check)

@dataclass
class TemplateUse:
    """The placeholders of one templated part, as jinja parses them."""
    part: str
    names: set[str]                 # top-level names the template reads (not its loop variables)
    data_keys: dict[str, str]       # data.X / data['X'] → the tag that names it
    unknown_tags: dict[str, str]    # name → the tag that first reads it
    private: list[str]              # tags reaching for an attribute starting with "_" (sandbox probing)
    macros: list[str]               # {% macro %} definitions: a template holds text, not code


def template_uses(path: Path) -> list[TemplateUse]:
    """Every templated part of a .docx with its placeholders; a syntax error is InvalidInput naming
    the file, the part and the tag (as rendering would)."""
    out = []
    for part in prepared(path).parts:
        tree = _ENV.parse(part.source)
        tags = _TAG_IN_LINE.findall(part.source)

        def tag_with(word: str) -> str:
            return next((t for t in tags if re.search(rf"\b{re.escape(word)}\b", t)), word)
        names = set(meta.find_undeclared_variables(tree))
        data_keys: dict[str, str] = {}
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            base = node.node
            key = node.attr if isinstance(node, nodes.Getattr) else \
                (node.arg.value if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) else None)
            if isinstance(base, nodes.Name) and base.name == "data" and key:
                data_keys[key] = tag_with(key)
        private = [tag_with(n.attr) for n in tree.find_all(nodes.Getattr) if n.attr.startswith("_")]
        private += [tag_with(n.arg.value) for n in tree.find_all(nodes.Getitem)
                    if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str) and n.arg.value.startswith("_")]
        macros = [tag_with(m.name) for m in tree.find_all(nodes.Macro)]
        out.append(TemplateUse(part.name, names, data_keys, {n: tag_with(n) for n in names}, private, macros))
    return out
