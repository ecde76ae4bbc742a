"""The layers stay layers: imports flow one way only, and no module imports itself round a circle.

    simulator (the conversation) -> scoring (the judge) -> dojo (the training centre) -> app.py + ui/ (the web)
    -> dojo.cli (the commands, the top of the house)

Read from the source with `ast`, every import counts, also the ones inside functions (a lazy import up the
house is still an arrow up the house).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("simulator", "scoring", "dojo", "ui")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = project_modules()


def imports_of(name: str, path: Path) -> set[str]:
    """Every module `name` imports (absolute names; `from a import b` is a.b when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES)
    return out


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def top(module: str) -> str:
    return module.split(".")[0]


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


# What each layer may not import: everything above it, and the frameworks of the layers above it.
FORBIDDEN = {
    "simulator": ("scoring", "dojo", "app", "ui", "gradio", "gradio_client", "sqlalchemy", "alembic"),
    "scoring": ("dojo", "app", "ui", "gradio", "gradio_client", "sqlalchemy", "alembic"),
    "dojo": ("app", "ui", "gradio", "gradio_client", "dojo.cli"),  # dojo.cli itself is exempt, below
    "ui": ("dojo.cli",),
    "app": ("dojo.cli",),
}


def layer_of(module: str) -> str | None:
    if within(module, "dojo.cli") or module == "dojo.__main__":
        return None  # the top of the house (and `python -m dojo`, which is it) may import anything
    return top(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_layer_above_it(module):
    rules = FORBIDDEN.get(layer_of(module) or "", ())
    upward = sorted(i for i in GRAPH[module] for banned in rules if within(i, banned))
    assert not upward, f"{module} imports {', '.join(upward)}, which is above its layer"


def test_only_the_model_modules_import_torch_or_transformers():
    allowed = {"simulator.backends", "simulator.model_files", "scoring.embeddings"}
    heavy = {m for m, imports in GRAPH.items()
             if any(top(i) in ("torch", "transformers") for i in imports)}
    assert heavy <= allowed, f"{sorted(heavy - allowed)} import torch or transformers"


def test_only_the_llamacpp_engine_imports_llama_cpp():
    users = {m for m, imports in GRAPH.items() if any(top(i) == "llama_cpp" for i in imports)}
    assert users == {"simulator.llamacpp"}, sorted(users)


def test_gradio_lives_in_the_web_layer_only():
    users = {m for m, imports in GRAPH.items() if any(top(i) == "gradio" for i in imports)}
    assert users and all(top(m) in ("app", "ui") for m in users), sorted(users)


def test_there_is_no_import_circle():
    """Tarjan's strongly connected components over the project's own modules: each must be a single module."""
    edges = {m: sorted(i for i in imports if i in MODULES and i != m) for m, imports in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_the_layer_rules_see_real_imports():
    """The rules above would pass on an empty graph: check the parser finds the arrows we know exist."""
    assert "simulator.scenario" in GRAPH["scoring.rubric"]
    assert "dojo.store" in GRAPH["dojo.services"]
    assert "dojo.services" in GRAPH["dojo.cli.serve"]
    assert "app" in GRAPH["dojo.cli.serve"]
    assert "dojo.cli.score" in GRAPH["dojo.cli.qa"]
