"""The package's import graph, read statically (AST), stays a one-way street.

* no import cycles between kerasinit modules (``TYPE_CHECKING`` imports count: a cycle that
  only type checkers see still ties two modules into one);
* no function-local import of a kerasinit module (only optional dependencies such as
  TensorFlow, scipy, matplotlib, h5py or JAX may be imported lazily);
* the layers point one way: parity, porting, nn -> modules -> bridge -> mappings;
* ``import kerasinit.mappings`` does not import torch (checked in a fresh interpreter).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import kerasinit

ROOT = Path(kerasinit.__file__).parent
PACKAGE = "kerasinit"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _target(node: ast.Import | ast.ImportFrom, current: str) -> list[str]:
    """kerasinit modules an import statement loads (the deepest module each name denotes)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
    base = node.module or ""
    if node.level:
        pkg = current if _is_package(current) else current.rpartition(".")[0]
        for _ in range(node.level - 1):
            pkg = pkg.rpartition(".")[0]
        base = f"{pkg}.{base}" if base else pkg
    if base.split(".")[0] != PACKAGE:
        return []
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if sub in MODULES else base)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str) -> tuple[set[str], list[tuple[int, str]]]:
    """(module-level targets incl. TYPE_CHECKING ones, [(line, target)] of function-local ones)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    top: set[str] = set()
    local: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _target(child, name):
                    if in_function:
                        local.append((child.lineno, target))
                    else:
                        top.add(target)
            nested = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, nested)

    visit(tree, False)
    top.discard(name)
    return top, local


GRAPH = {name: _imports(name)[0] for name in MODULES}


def test_graph_is_read() -> None:
    assert "kerasinit.mappings.parse" in GRAPH["kerasinit.bridge.initializer"]
    assert "kerasinit.modules.params" in MODULES


def test_no_function_local_kerasinit_imports() -> None:
    found = [f"{name}:{line} imports {target}"
             for name in MODULES for line, target in _imports(name)[1]]
    assert found == []


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(GRAPH):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_cycle_finder_finds_a_cycle() -> None:
    saved = dict(GRAPH)
    try:
        GRAPH["kerasinit.mappings.fans"] = GRAPH["kerasinit.mappings.fans"] | {
            "kerasinit.bridge.initializer"}
        assert any("kerasinit.mappings.fans" in c for c in _cycles())
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


#: lower rank = lower layer; a module may import only from its own rank or below.
_RANK = {"mappings": 0, "_text": 0, "_deps": 0, "_version": 0, "bridge": 1, "layouts": 1, "modules": 2, "nn": 3, "porting": 4,
         "parity": 4}


def _rank(name: str) -> int | None:
    parts = name.split(".")
    return _RANK.get(parts[1]) if len(parts) > 1 else None


def test_layers_point_one_way() -> None:
    wrong = []
    for name, targets in GRAPH.items():
        rank = _rank(name)
        if rank is None:
            continue
        for target in targets:
            other = _rank(target)
            if other is None or other > rank:
                wrong.append(f"{name} -> {target}")
    assert sorted(wrong) == []


def _fresh(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT.parent)
    return sorted(out.stdout.split())


def test_mappings_import_no_torch() -> None:
    code = ("import sys, kerasinit.mappings, kerasinit.mappings.table, kerasinit.mappings.layers; "
            "print(*sorted(m for m in ('torch', 'numpy', 'kerasinit.bridge') if m in sys.modules))")
    assert _fresh(code) == []


def test_package_import_stays_light_until_used() -> None:
    code = ("import sys, kerasinit; print(*sorted(m for m in ('torch', 'kerasinit.bridge') "
            "if m in sys.modules)); kerasinit.get; print('torch' in sys.modules)")
    assert _fresh(code) == ["True"]
