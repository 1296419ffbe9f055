"""Move src/qms's modules into layer packages and rewrite every import that names a moved module.

    python tools/relayout.py            # from the repository root; `git mv`s and rewrites in place
    python tools/relayout.py --dry-run  # print the moves and the files whose imports would change

Idempotent: a move whose old file is gone is done, and an import is rewritten only while the old
module it names still exists at the start of the run, so a second run changes nothing. Modules
it has never seen (packages other people added) keep their place; only their imports of moved
modules change, relative or absolute (a relative import is resolved against the importing file's
old place and written relative to its new one).
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

# Old module (or package) → new place. The layers, lowest first (README, "Architecture"):
#   base      imported by every layer, imports nothing of qms outside itself
#   store     files, the journal, the catalog (SQLite) and its projection, post-commit events
#   adapters  every third-party internal lives in one module (LibreOffice, pypdf, pyHanko, docxtpl, openpyxl)
#   domain    what a procedure, a form, a revision, a record is; named catalog reads; what a reader sees
#   identity  people, permissions, passwords, sessions, signatures: every service asks it
#   services  one package per capability: documents, records, search, retention, integrity;
#             worklist above them (what waits for whom)
#   startup   the composition root (services subscribe to the writer's events)
#   interfaces  cli, web
MOVES: dict[str, str] = {
    # base
    "qms.errors": "qms.base.errors",
    "qms.dates": "qms.base.dates",                   # the one clock: today(), now_iso(), local_time()
    "qms.inputs": "qms.base.input_limits",           # bounded reads of untrusted files (records/inputs stays)
    "qms.yamlsrc": "qms.base.yaml_source",           # PyYAML with line numbers; config.yaml is read by store
    "qms.textfmt": "qms.base.textfmt",               # display width of Chinese text: terminal and docx tables
    # store
    "qms.workspace": "qms.store.workspace",
    "qms.archive": "qms.store.archive",
    "qms.audit": "qms.store.audit",
    "qms.journal": "qms.store.journal",
    "qms.writer": "qms.store.writer",
    "qms.events": "qms.store.events",
    "qms.projection": "qms.store.projection",
    "qms.replay": "qms.store.replay",
    "qms.catalog": "qms.store.catalog",
    "qms.downloads": "qms.store.downloads",          # only files a manifest lists
    "qms.outputs": "qms.store.outputs",              # files a user asks for with -o
    "qms.hooks": "qms.store.hooks",                  # followers of a commit, registered by services at start-up
    "qms.journalkey": "qms.store.journalkey",        # the journal's Ed25519 key: the signed batches
    # adapters
    "qms.render": "qms.adapters.render",             # package: docxtpl, jinja, lxml
    "qms.convert": "qms.adapters.convert",           # LibreOffice
    "qms.pdf": "qms.adapters.pdf",                   # pypdf, fpdf2
    "qms.stamp": "qms.adapters.stamp",
    "qms.seal": "qms.adapters.pades",                # pyHanko: the PAdES seal of released PDFs
    "qms.xlsxtables": "qms.adapters.xlsx_tables",    # openpyxl
    "qms.figures": "qms.adapters.figures",           # Pillow: pictures put into a rendered .docx
    # domain
    "qms.docsource": "qms.domain.docsource",
    "qms.forms": "qms.domain.forms",
    "qms.revisions": "qms.domain.revisions",
    "qms.docstate": "qms.domain.docstate",
    "qms.recordstate": "qms.domain.recordstate",
    "qms.labels": "qms.domain.labels",
    "qms.results": "qms.domain.results",
    "qms.trail": "qms.domain.trail",
    "qms.views": "qms.domain.text_views",            # terminal text of doc/record show (web has its own)
    # services
    "qms.esign": "qms.identity.esign",               # the one password re-check before a signature
    "qms.keys": "qms.identity.keys",                 # the organisation's signing key
    "qms.identity.projection": "qms.identity.user_projection",
    "qms.identity.policy": "qms.domain.policy",      # roles → permissions, password rules: what config.yaml says
    "qms.identity.setup": "qms.integrity.workspace_setup",
    "qms.todo.signing": "qms.identity.completion",
    "qms.scan._ocrmypdf": "qms.adapters.ocr",        # OCRmyPDF on tesseract: the OCR job and the scan inbox
    "qms.flows": "qms.domain.flows",
    # one name once in the tree (issues 22–24 brought service.py ×5, projection.py ×6, …)
    "qms.capa.service": "qms.capa.capas",
    "qms.change.service": "qms.change.requests",
    "qms.review.service": "qms.review.reviews",
    "qms.training.service": "qms.training.readings",
    "qms.scan.projection": "qms.scan.scan_rows",
    "qms.jobs.projection": "qms.jobs.job_rows",
    "qms.kpi.projection": "qms.kpi.kpi_rows",
    "qms.todo.projection": "qms.todo.quality_rows",
    "qms.change.projection": "qms.change.change_rows",
    "qms.web.routes.kpi": "qms.web.routes.kpi_pages",
    "qms.web.routes.scan": "qms.web.routes.scan_pages",
    "qms.cli.quality": "qms.cli.quality_process",
    "qms.scan.pages": "qms.scan.page_images",
    "qms.jobs.ocr": "qms.jobs.ocr_job",
    "qms.kpi.service": "qms.kpi.measures",                 # a procedure's flow: block, parsed and drawn (graphviz)   # a to-do completed by e-signature (password + meaning)   # qms init: a workspace, its admin, its first config
    "qms.documents.context": "qms.documents.procedure_context",
    "qms.documents.views": "qms.documents.document_views",
    "qms.records.context": "qms.records.record_context",
    "qms.records.views": "qms.records.record_views",
    "qms.template_check": "qms.records.template_check",   # qms template check / new
    "qms.search.seal": "qms.search.hashlist",        # the index's hash list, checked before whoosh opens a file
    "qms.retention": "qms.retention.periods",        # the module becomes a package of that name
    "qms.disposal": "qms.retention.disposal",
    "qms.volumes": "qms.retention.volumes",
    "qms.verify": "qms.integrity.verify",
    "qms.checkpoint": "qms.store.checkpoint",        # the writer makes them every N events: storage
    "qms.governance": "qms.integrity.governance",    # qms config apply: what governs the archive, journaled
    "qms.rebuild": "qms.integrity.rebuild",
    "qms.problems": "qms.integrity.problems",        # verify's codes and messages
    "qms.reports": "qms.documents.reports",          # the master list of controlled documents
    "qms.inbox": "qms.worklist.inbox",               # what waits for whom: over documents and records
    # interfaces
    "qms.web.forms": "qms.web.form_posts",
}

# Names that moved between modules on this branch before the move (cycles broken, one of each), in
# the old layout's terms: an import of (module, name) from a branch written before it is pointed at
# the new home, renamed with an alias where the name changed. Uses through a module attribute
# (`retention.purge(...)`) are not rewritten: the lead fixes those by hand (the tests name them).
SYMBOLS: dict[tuple[str, str], tuple[str, str]] = {
    ("qms.web.app", "render"): ("qms.web.pages", "render"),
    ("qms.web.app", "json_response"): ("qms.web.pages", "json_response"),
    ("qms.cli", "QmsGroup"): ("qms.cli.env", "QmsGroup"),
    ("qms.cli", "Env"): ("qms.cli.env", "Env"),
    ("qms.cli", "pass_env"): ("qms.cli.env", "pass_env"),
    ("qms.retention", "purge"): ("qms.disposal", "purge"),
    ("qms.retention", "dispose"): ("qms.disposal", "dispose"),
    ("qms.search.entries", "reindex"): ("qms.search.indexing", "update_index"),
    ("qms.search.service", "open_index"): ("qms.search.indexing", "open_index"),
    ("qms.search.service", "all_entries"): ("qms.search.indexing", "all_entries"),
    ("qms.search.entries", "SCAN_NAME"): ("qms.recordstate", "SCAN_NAME"),
    ("qms.records.signing", "filer_fields"): ("qms.records.filer_signature", "filer_fields"),
    ("qms.records.signing", "sign_as_filer"): ("qms.records.filer_signature", "sign_as_filer"),
    ("qms.records.signing", "others_named"): ("qms.records.filer_signature", "others_named"),
}

# Data files that travel with a module (read beside it through __file__).
DATA_MOVES: dict[str, str] = {
    "src/qms/fonts.conf": "src/qms/adapters/fonts.conf",      # convert.py's fontconfig for LibreOffice
}

# New packages and what they hold (their __init__ docstring).
PACKAGES = {
    "qms.base": "The lowest layer: errors, the clock and dates, bounded input, YAML with line numbers, text width.",
    "qms.store": "Storage: the workspace, the archive, the journal (audit.log), the one write path, the catalog\n"
                 "and its projection, post-commit events. Imports only qms.base.",
    "qms.adapters": "Every third-party internal in one module each: LibreOffice, pypdf/fpdf2, pyHanko, docxtpl,\n"
                    "openpyxl, Pillow.",
    "qms.domain": "What a procedure, a form, a revision and a record are; named catalog reads; what a reader sees.",
    "qms.retention": "Retention periods and legal holds, disposal (销毁审批) and the yearly volumes.",
    "qms.integrity": "Trust: verify, checkpoints, rebuilding the catalog from the journal.",
    "qms.worklist": "What waits for whom, across documents and records (above both).",
}

SCAN = ("src/qms", "tests", "bench", "scripts", "tools")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".sh", ".cfg", ".ini", ".txt", ".yaml"}
SRC = Path("src")


def module_of(path: Path) -> tuple[str, bool]:
    """('qms.store.writer', False) for src/qms/store/writer.py; packages end with True."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def file_of(module: str) -> Path | None:
    base = SRC.joinpath(*module.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base
    return None


def live_moves() -> dict[str, str]:
    """The moves not yet done: the old module's file (not a package of the same name) exists."""
    out = {}
    for old, new in MOVES.items():
        f = file_of(old)
        if f is None:
            continue
        if f.is_dir() and file_of(new) is not None:
            continue          # old name is now the new package (qms.retention): done
        out[old] = new
    return out


def mapped(module: str, moves: dict[str, str]) -> str:
    """The new name of `module` (or of the package it lives in), else itself."""
    for old in sorted(moves, key=len, reverse=True):
        if module == old or module.startswith(old + "."):
            return moves[old] + module[len(old):]
    return module


# ------------------------------------------------------------------ moving files

def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True)


def move_files(moves: dict[str, str], dry: bool) -> None:
    for old, new in sorted(moves.items()):
        src = file_of(old)
        if src is None or file_of(new) is not None:
            continue          # moved already (a package's module moved with it, or qms.retention)
        dst = SRC.joinpath(*new.split("."))
        if src.is_file():
            dst = dst.with_suffix(".py")
        for pkg in _packages_above(new):
            _ensure_package(pkg, dry)
        print(f"git mv {src} {dst}")
        if not dry:
            dst.parent.mkdir(parents=True, exist_ok=True)
            git("mv", str(src), str(dst))


def move_data(dry: bool) -> None:
    for old, new in DATA_MOVES.items():
        if Path(old).exists() and not Path(new).exists():
            print(f"git mv {old} {new}")
            if not dry:
                Path(new).parent.mkdir(parents=True, exist_ok=True)
                git("mv", old, new)


def _packages_above(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def _ensure_package(pkg: str, dry: bool) -> None:
    init = SRC.joinpath(*pkg.split(".")) / "__init__.py"
    if init.exists() or (SRC.joinpath(*pkg.split(".")).with_suffix(".py").exists() and pkg not in MOVES):
        return
    old_module = SRC.joinpath(*pkg.split(".")).with_suffix(".py")
    if old_module.exists() and not dry:
        # qms.retention: the module moves first so the package can take its name
        new = MOVES[pkg]
        dst = SRC.joinpath(*new.split(".")).with_suffix(".py")
        dst.parent.mkdir(parents=True, exist_ok=True)
        print(f"git mv {old_module} {dst}")
        git("mv", str(old_module), str(dst))
    doc = PACKAGES.get(pkg, "")
    print(f"create {init}")
    if not dry:
        init.parent.mkdir(parents=True, exist_ok=True)
        init.write_text(f'"""{doc}"""\n' if doc else "", encoding="utf-8")
        git("add", str(init))


# ------------------------------------------------------------------ rewriting imports

def _absolute(importer: str, is_pkg: bool, level: int, module: str | None) -> str:
    base = importer.split(".") if is_pkg else importer.split(".")[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _relative(importer_new: str, is_pkg: bool, target: str) -> tuple[int, str]:
    """(level, module) to name `target` from the module `importer_new`."""
    here = importer_new.split(".") if is_pkg else importer_new.split(".")[:-1]
    there = target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    level = len(here) - common + 1
    return level, ".".join(there[common:])


def _fmt_from(level: int, module: str, names: list[tuple[str, str | None]]) -> str:
    items = ", ".join(n if a is None else f"{n} as {a}" for n, a in names)
    head = f"from {'.' * level}{module} import "
    line = head + items
    if len(line) <= 110:
        return line
    out, cur = [], head + "("
    for i, (n, a) in enumerate(names):
        piece = (n if a is None else f"{n} as {a}") + (", " if i < len(names) - 1 else ")")
        if len(cur) + len(piece) > 110 and cur.strip():
            out.append(cur.rstrip())
            cur = " " * len(head + "(")
        cur += piece
    out.append(cur)
    return "\n".join(out)


def rewrite_source(text: str, importer_old: str | None, importer_new: str | None, is_pkg: bool,
                   moves: dict[str, str], known: set[str]) -> str:
    """`importer_old/new`: the module's name before and after the move (None outside src)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            new_text = _rewrite_from(node, importer_old, importer_new, is_pkg, moves, known)
        elif isinstance(node, ast.Import):
            new_text = _rewrite_import(node, moves)
        else:
            continue
        if new_text is None:
            continue
        indent = " " * node.col_offset
        new_text = new_text.replace("\n", "\n" + indent)
        edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, new_text))
    for lo, col, hi, end_col, new_text in sorted(edits, reverse=True):
        head = lines[lo - 1][:col]
        tail = lines[hi - 1][end_col:]
        lines[lo - 1:hi] = [head + new_text + tail]
    return "".join(lines)


def _rewrite_import(node: ast.Import, moves) -> str | None:
    changed, parts = False, []
    for a in node.names:
        name = mapped(a.name, moves) if a.name.split(".")[0] == "qms" else a.name
        if name != a.name:
            changed = True
            if a.asname is None and "." in a.name:
                # `import qms.convert` binds `qms` and code says qms.convert.x: keep that spelling working
                parts.append(f"{name} as {a.name.rsplit('.', 1)[1]}")   # pragma: unusual; reported below
                print(f"  note: `import {a.name}` became `import {name} as …`; check its uses", file=sys.stderr)
                continue
        parts.append(name if a.asname is None else f"{name} as {a.asname}")
    return f"import {', '.join(parts)}" if changed else None


def _rewrite_from(node: ast.ImportFrom, importer_old, importer_new, is_pkg, moves, known) -> str | None:
    if node.level == 0:
        if not node.module or node.module.split(".")[0] != "qms":
            return None
        target = node.module
    else:
        if importer_old is None:
            return None
        target = _absolute(importer_old, is_pkg, node.level, node.module)
    # each imported name: a submodule (moves on its own) or an attribute of `target`
    groups: dict[str, list[tuple[str, str | None]]] = {}
    order = []
    for a in node.names:
        sub = f"{target}.{a.name}"
        if a.name != "*" and (sub in known or sub in moves):
            new_sub = mapped(sub, moves)
            parent, _, leaf = new_sub.rpartition(".")
            alias = a.asname if a.asname else (a.name if leaf != a.name else None)
            key = parent
            item = (leaf, alias)
        elif (target, a.name) in SYMBOLS:
            home, name = SYMBOLS[(target, a.name)]
            key = mapped(home, moves)
            item = (name, a.asname or (a.name if name != a.name else None))
        else:
            key = mapped(target, moves)
            item = (a.name, a.asname)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(item)
    unchanged_names = [(a.name, a.asname) for a in node.names]
    new_importer = importer_new if importer_new is not None else None
    stmts = []
    for key in order:
        if node.level == 0:
            stmts.append(_fmt_from(0, key, groups[key]))
        else:
            level, mod = _relative(new_importer, is_pkg, key)
            stmts.append(_fmt_from(level, mod, groups[key]))
    # unchanged? (same target, same names, same level) → leave the original text alone
    if node.level == 0 and order == [node.module] and groups[node.module] == unchanged_names:
        return None
    if node.level and len(order) == 1:
        level, mod = _relative(new_importer, is_pkg, order[0])
        if level == node.level and mod == (node.module or "") and groups[order[0]] == unchanged_names:
            return None
    return "\n".join(stmts)


def rewrite_python_strings(text: str, moves: dict[str, str]) -> str:
    """rewrite_strings inside a module's string literals and comments only: in code, `qms.archive`
    is as likely a variable's attribute (the tests' `qms` fixture) as a module."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out, last = [], 0
    for tok in tokens:
        if tok.type not in (tokenize.STRING, tokenize.COMMENT):
            continue
        start = offsets[tok.start[0] - 1] + tok.start[1]
        end = offsets[tok.end[0] - 1] + tok.end[1]
        out.append(text[last:start])
        out.append(rewrite_strings(text[start:end], moves))
        last = end
    out.append(text[last:])
    return "".join(out)


def rewrite_strings(text: str, moves: dict[str, str]) -> str:
    """Dotted names and source paths of moved modules in strings, comments and docs."""
    for old in sorted(moves, key=len, reverse=True):
        new = moves[old]
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", new, text)
        old_path, new_path = old.replace(".", "/"), new.replace(".", "/")
        text = re.sub(rf"(?<![\w/]){re.escape(old_path)}\.py\b", new_path + ".py", text)
        text = re.sub(rf"(?<![\w/]){re.escape(old_path)}/", new_path + "/", text)
    return text


def all_modules() -> dict[str, bool]:
    return dict(module_of(p) for p in SRC.rglob("*.py"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    if not (SRC / "qms").is_dir():
        print("run from the repository root (src/qms not found)", file=sys.stderr)
        return 2
    moves = live_moves()
    if not moves:
        print("nothing to move: the layout is already in place")
        return 0
    before = all_modules()                       # old names, before any move
    new_name = {m: mapped(m, moves) for m in before}
    known = set(before) | set(new_name.values())
    old_name = {n: o for o, n in new_name.items()}
    move_files(moves, args.dry_run)
    move_data(args.dry_run)
    changed = 0
    for root in SCAN:
        for p in sorted(Path(root).rglob("*")) if Path(root).exists() else []:
            if not p.is_file() or p.suffix not in TEXT_SUFFIXES or "__pycache__" in p.parts:
                continue
            if p.resolve() == Path(__file__).resolve():
                continue          # the mapping above names the old modules on purpose
            if p.suffix == ".py":
                old_mod = new_mod = None
                is_pkg = p.name == "__init__.py"
                if p.is_relative_to(SRC):
                    here, is_pkg = module_of(p)
                    if args.dry_run:          # nothing moved: the file is at its old place
                        old_mod, new_mod = here, new_name.get(here, here)
                    else:
                        old_mod, new_mod = old_name.get(here, here), here
                text = p.read_text(encoding="utf-8")
                try:
                    out = rewrite_source(text, old_mod, new_mod, is_pkg, moves, known)
                except SyntaxError as exc:
                    print(f"  skipped {p}: {exc}", file=sys.stderr)
                    continue
                out = rewrite_python_strings(out, moves)
            else:
                text = p.read_text(encoding="utf-8")
                out = rewrite_strings(text, moves)
            if out != text:
                changed += 1
                print(f"rewrote {p}")
                if not args.dry_run:
                    p.write_text(out, encoding="utf-8")
    for extra in ("pyproject.toml", "Makefile", "README.md"):
        p = Path(extra)
        if p.exists():
            text = p.read_text(encoding="utf-8")
            out = rewrite_strings(text, moves)
            if out != text:
                print(f"rewrote {p}")
                if not args.dry_run:
                    p.write_text(out, encoding="utf-8")
    print(f"{len(moves)} moves, {changed} files rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
