"""The house rules of the code's structure, read from the imports themselves (no module is run):

- no import cycle: no module imports one that imports it back, however long the loop;
- the local cloud (localcloud) imports nothing of globalctl, bench, chaos or harness: it is given
  the regions, and the tools drive it, never the reverse;
- globalctl imports no harness code (bench, chaos, harness) and its engines never import a
  command (commands/ is the thin layer on top, main.py above it);
- the Lambda code (src/) imports none of the tools: it is deployed alone;
- nothing edits sys.path (but the local Lambda runtime's bootstrap, as Lambda's does): bench and
  chaos are packages run with `python -m`, src/ reaches the tests through pytest's `pythonpath`.

Every function-level import counts as much as a top-level one: a lazy import still ties two modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# (folder holding top-level packages, the packages in it that are this project's)
PACKAGE_ROOTS = {
    "cli": ("globalctl", "localcloud"),
    ".": ("bench", "chaos", "harness"),
    "src": ("api", "stream", "custom_resources", "common"),
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, packages in PACKAGE_ROOTS.items():
        base = (ROOT / folder).resolve()
        for package in packages:
            for path in sorted((base / package).rglob("*.py")):
                parts = path.relative_to(base).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, level: int, target: str | None) -> str:
    """The absolute name a (possibly relative) import in `module` names."""
    if level == 0:
        return target or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports: `from pkg import sub` names pkg.sub when sub is a
    module, else pkg (the name comes from pkg's __init__)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                named.add(candidate if candidate in MODULES else base)
    targets = set()
    for name in named:
        while name and name not in MODULES:  # `import a.b.c` of a module a.b.c, or a name inside one
            name = name.rpartition(".")[0]
        if name and name != module:
            targets.add(name)
    return targets


GRAPH = {module: imports_of(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_scan_sees_the_project() -> None:
    """A scan that found nothing would pass every rule below."""
    assert {"globalctl.main", "localcloud.supervisor", "bench.run", "chaos.analysis", "api.app"} <= set(MODULES)
    assert "localcloud.lifecycle" in GRAPH["globalctl.localcloud"]


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


FORBIDDEN = {
    "localcloud": {"globalctl", "bench", "chaos", "harness"},
    "globalctl": {"bench", "chaos", "harness"},
    "api": {"globalctl", "localcloud", "bench", "chaos", "harness"},
    "stream": {"globalctl", "localcloud", "bench", "chaos", "harness"},
    "custom_resources": {"globalctl", "localcloud", "bench", "chaos", "harness"},
    "common": {"globalctl", "localcloud", "bench", "chaos", "harness"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_across_a_boundary(package: str) -> None:
    crossings = sorted(f"{module} -> {target}" for module, targets in GRAPH.items() if _top(module) == package
                       for target in targets if _top(target) in FORBIDDEN[package])
    assert crossings == []


def test_engines_never_import_commands() -> None:
    upward = sorted(f"{module} -> {target}" for module, targets in GRAPH.items()
                    if _top(module) == "globalctl" and not module.startswith(("globalctl.commands", "globalctl.main"))
                    for target in targets if target.startswith(("globalctl.commands", "globalctl.main")))
    assert upward == []
    commands = [m for m in GRAPH if m.startswith("globalctl.commands.")]
    assert commands and not any("globalctl.main" in GRAPH[m] for m in commands)


def _edits_sys_path(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        target = node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value  # sys.path.insert(...), sys.path.append(...)
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            target = next((t.value if isinstance(t, ast.Subscript) else t for t in targets), None)
        if (isinstance(target, ast.Attribute) and target.attr == "path" and isinstance(target.value, ast.Name)
                and target.value.id == "sys" and node is not target):
            lines.append(node.lineno)
    return sorted(lines)


# The one exception is emulated AWS behaviour: the Lambda worker's bootstrap puts the function's
# task root first on sys.path, as Lambda's runtime puts /var/task first.
LAMBDA_BOOTSTRAP = "localcloud.awslambda.runtime.worker"


def test_nothing_edits_sys_path() -> None:
    edits = {name: lines for name, path in MODULES.items() if (lines := _edits_sys_path(path))}
    assert set(edits) <= {LAMBDA_BOOTSTRAP}


def test_the_sys_path_scan_sees_an_edit(tmp_path: Path) -> None:
    sample = tmp_path / "edits.py"
    sample.write_text("import sys\nsys.path.insert(0, 'x')\nsys.path[:] = []\nsys.path += ['y']\nprint(sys.path)\n")
    assert _edits_sys_path(sample) == [2, 3, 4]
