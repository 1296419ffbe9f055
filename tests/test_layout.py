"""The folders are the map: the layer contracts hold, names are unique, imports are visible.

Computed from the code (grimp, the graph import-linter checks), so a new module that breaks a
rule fails here with its name."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "qms"
# The adapters that wrap a heavy third-party library may be imported lazily too (their reason says which).
LAZY_ADAPTERS = {"qms.adapters.render", "qms.search.index", "qms.search._postgres"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_layer_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    res = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                         text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_no_two_modules_share_a_name():
    names = Counter(p.stem for p in _modules() if p.name not in ("__init__.py", "__main__.py"))
    assert [n for n, c in names.items() if c > 1] == []


def _sccs(graph: grimp.ImportGraph) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for v in sorted(graph.modules):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_modules():
    sys.path.insert(0, str(ROOT / "src"))
    graph = grimp.build_graph("qms", exclude_type_checking_imports=True, cache_dir=None)
    assert [" ".join(c) for c in _sccs(graph)] == []


def _third_party(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom) and node.level:
        return False
    root = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name).split(".")[0]
    return root != "qms" and root not in sys.stdlib_module_names


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] + ["_"]
    base = parts[:len(parts) - node.level]
    return ".".join(base + ([node.module] if node.module else []))


def test_imports_are_at_the_top_except_heavy_libraries_with_a_reason():
    bad = []
    for p in _modules():
        text = p.read_text(encoding="utf-8")
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                where = f"{p.relative_to(ROOT)}:{node.lineno}"
                lazy_adapter = isinstance(node, ast.ImportFrom) and node.level and \
                    any(_absolute(p, node).startswith(a) for a in LAZY_ADAPTERS)
                if not (_third_party(node) or lazy_adapter):
                    bad.append(f"{p.relative_to(ROOT)} {ast.unparse(node)}")
                elif "# lazy:" not in lines[node.end_lineno - 1] and "# lazy:" not in lines[node.lineno - 2]:
                    bad.append(f"{p.relative_to(ROOT)} {ast.unparse(node)} (say why it is lazy: `# lazy: …`)")
    assert bad == []


def test_the_readme_architecture_names_the_top_level_packages():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = set()
    for row in (line for line in section.splitlines() if line.startswith("| ")):
        cell = row.split("|")[2]
        while re.search(r"\([^()]*\)", cell):          # a package's modules, in parentheses, are not top level
            cell = re.sub(r"\([^()]*\)", "", cell)
        named.update(re.findall(r"`([a-z_]+)/`", cell))
    tree = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert named == tree, f"README names {sorted(named - tree)} not in the tree; tree has {sorted(tree - named)} unnamed"


def test_one_clock():
    """Every 'what time is it' in the product goes through qms.base.dates (now, today, timestamp,
    now_iso), so time_machine moves it all; nothing reads an environment variable for the clock."""
    clock = re.compile(r"\btime\.time\(|\bdatetime\.now\(|\bdate\.today\(|\butcnow\(|\bdt\.datetime\.now\(")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in _modules() if p.name != "dates.py"
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if clock.search(line)]
    assert hits == []
