"""The layering rules of docs/ARCHITECTURE.md, checked statically (ast over the sources).

- nothing outside ``training/`` and ``varbind/cli/`` imports ``varbind.training``;
- no package module is longer than :data:`MAX_LINES` lines;
- the package has no import cycle (imports inside functions count; imports under
  ``if TYPE_CHECKING:`` do not, they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Import name -> folder, as pyproject.toml's package-dir maps them.
FOLDERS = {"varbind": ROOT / "varbind", "varbind.training": ROOT / "training",
           "varbind.annotations": ROOT / "annotations", "varbind.workflows": ROOT / "workflows"}
MAX_LINES = 500
#: Old import paths kept as thin re-exports for one release; the package itself must not use
#: them (they would hide where a name lives and could close a cycle).
COMPAT_MODULES = {
    "varbind.align", "varbind.attr_store", "varbind.attribution", "varbind.bundle",
    "varbind.context", "varbind.deltas", "varbind.discover", "varbind.explain",
    "varbind.genome", "varbind.gia", "varbind.gradcam_motifs", "varbind.gradients",
    "varbind.inputs", "varbind.layers", "varbind.motifs", "varbind.plot", "varbind.predict",
    "varbind.score", "varbind.variants", "varbind.windows", "varbind.writers",
    "varbind.training.peaks", "varbind.training.structure",
}


def package_modules() -> dict[str, Path]:
    """``{dotted module name: source file}`` of every module of the package."""
    modules = {}
    for prefix, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([prefix, *parts])] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every import statement that can run (skips ``if TYPE_CHECKING:`` bodies)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that module ``name`` imports (``from pkg import mod`` resolves
    to ``pkg.mod`` when that is a module)."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph[nxt])))
    return None


def _may_import_training(module: str) -> bool:
    return module.startswith(("varbind.training", "varbind.cli"))


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "varbind.training.train" in graph and "varbind.workflows.genome_wide" in graph
    assert "varbind.training.models" in graph["varbind.training.train"]
    assert "varbind.errors" in graph["varbind.cli.score"]


def test_only_training_and_cli_import_training():
    offenders = sorted(f"{module} imports {target}"
                       for module, targets in import_graph().items()
                       if not _may_import_training(module)
                       for target in targets if target.startswith("varbind.training"))
    assert not offenders, "the core must not import varbind.training:\n" + "\n".join(offenders)


def test_compat_modules_are_thin_and_unused():
    graph, modules = import_graph(), package_modules()
    users = sorted(f"{module} imports {target}" for module, targets in graph.items()
                   if module not in COMPAT_MODULES for target in targets & COMPAT_MODULES)
    assert not users, "import the new path, not the re-export:\n" + "\n".join(users)
    for name in COMPAT_MODULES:
        body = ast.parse(modules[name].read_text()).body
        assert all(isinstance(n, (ast.Expr, ast.ImportFrom)) for n in body), name


#: Layers of docs/ARCHITECTURE.md, highest first: (module prefix, layer). A module imports
#: only from its own layer and those below.
LAYERS = [("varbind.cli", 7), ("varbind.__main__", 7), ("varbind.workflows", 6),
          ("varbind.training", 6), ("varbind.parallel", 5), ("varbind.interpret", 4),
          ("varbind.scoring", 3), ("varbind.model", 2), ("varbind.genomics", 1),
          ("varbind.annotations", 1), ("varbind.simulate", 1), ("varbind.demo", 1),
          ("varbind.config", 1)]


def layer_of(module: str) -> int:
    """The layer of ``module`` (0: the base modules directly under ``varbind/``)."""
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return 0


def test_imports_point_down_the_layers():
    upward = sorted(f"{module} (layer {layer_of(module)}) imports {target} "
                    f"(layer {layer_of(target)})"
                    for module, targets in import_graph().items()
                    if module not in COMPAT_MODULES
                    for target in targets if layer_of(target) > layer_of(module))
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_readme_python_imports_work():
    """Every ``from varbind... import ...`` line of the Python examples in the README and the
    documentation pages imports."""
    import importlib
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    lines = [(page.name, *found) for page in pages
             for found in re.findall(r"^from (varbind[\w.]*) import ([\w, ]+)",
                                     page.read_text(), flags=re.M)]
    assert lines, "the docs have Python examples"
    for page, module, names in lines:
        imported = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(imported, name), f"{page}: {name} not in {module}"


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_look_for(tmp_path):
    assert layer_of("varbind.scoring.run") == 3 and layer_of("varbind.errors") == 0
    assert layer_of("varbind.training.train") == 6 and layer_of("varbind.cli.score") == 7
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    modules = {"varbind.x": Path("x.py"), "varbind.training": Path("t/__init__.py"),
               "varbind.training.models": Path("t/models.py")}
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from varbind.training import models\n"
                     "if TYPE_CHECKING:\n    import varbind.x\n")
    assert imported_modules("varbind.y", probe, modules) == {"varbind.training.models"}


@pytest.mark.parametrize("module", sorted(package_modules()))
def test_module_is_short(module):
    path = package_modules()[module]
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (at most {MAX_LINES})"
