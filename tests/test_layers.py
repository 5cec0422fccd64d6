"""The package's import graph: no circle, and no import from a lower layer to a higher one.

Read from the source with ``ast``: module-level and function-level (lazy)
imports alike, since a lazy import that only hides a circle is still one.
Importing ``a.b.c`` also runs the packages ``a.b`` and ``a`` (their
``__init__``), unless the importer is inside them; those count as imports too.
"""

import ast
from pathlib import Path

import pytest

from tests.fo_env import REPO_ROOT

PACKAGE = "fiftyone_prime"
INTEGRATION = f"{PACKAGE}.integration"

#: The layers, lowest first; a module is in the layer of its longest prefix
#: here. A module imports only from its own layer or lower ones.
LAYERS = [
    ("core", [f"{PACKAGE}.core"]),
    ("models", [f"{PACKAGE}.models"]),
    # the integration package itself: only the old module paths (aliases)
    ("integration", [INTEGRATION]),
    ("reading", [f"{INTEGRATION}.reading"]),
    ("runs", [f"{INTEGRATION}.runs"]),
    ("tagging", [f"{INTEGRATION}.tagging"]),
    ("failure_modes", [f"{INTEGRATION}.failure_modes"]),
    ("comparisons", [f"{INTEGRATION}.comparisons"]),
    ("reports", [f"{INTEGRATION}.reports"]),
    ("jobs", [f"{INTEGRATION}.jobs"]),
    ("pipeline", [f"{INTEGRATION}.pipeline"]),
    (
        "top",
        [
            f"{PACKAGE}.plugin",
            f"{PACKAGE}.cli",
            f"{PACKAGE}.cli_args",
            f"{PACKAGE}.cli_compare",
            f"{PACKAGE}.quickstart",
            f"{PACKAGE}.__main__",
            PACKAGE,
        ],
    ),
]

#: The most modules directly in integration/ (besides its __init__).
MAX_DIRECT_INTEGRATION_MODULES = 6


def package_modules(root: Path = REPO_ROOT) -> dict[str, tuple[Path, bool]]:
    """Every module of the package: name -> (path, is a package)."""
    modules = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def import_graph(modules) -> dict[str, dict[str, int]]:
    """importer -> {imported module: line of the first import}, within the package."""

    def known(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, (path, is_package) in modules.items():
        package = name.split(".") if is_package else name.split(".")[:-1]
        edges = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:  # `from pkg import module` imports the module
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in modules else module)
            for target in targets:
                if not target.startswith(PACKAGE):
                    continue
                target = known(target)
                # the target and the packages above it that the importer is not in
                chain = target.split(".")
                for i in range(len(chain), 1, -1):
                    ancestor = ".".join(chain[:i])
                    if ancestor == name or name.startswith(ancestor + "."):
                        break
                    if ancestor in modules:
                        edges.setdefault(ancestor, node.lineno)
        graph[name] = edges
    return graph


def layer_of(name: str) -> int:
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def cycles(graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph(package_modules())


def test_every_module_has_a_layer():
    assert [m for m in package_modules() if layer_of(m) is None] == []


def test_no_import_circle(graph):
    assert cycles(graph) == []


def test_no_import_from_a_lower_layer_to_a_higher_one(graph):
    upward = [
        f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]}) at line {line}"
        for a, edges in graph.items()
        for b, line in edges.items()
        if layer_of(b) > layer_of(a)
    ]
    assert upward == []


def test_at_most_six_modules_directly_in_integration():
    folder = REPO_ROOT / PACKAGE / "integration"
    direct = sorted(p.name for p in folder.glob("*.py") if p.name != "__init__.py")
    assert len(direct) <= MAX_DIRECT_INTEGRATION_MODULES, direct


# The checks themselves, on small made-up packages.


def _write(root: Path, files: dict[str, str]) -> dict:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package_modules(root)


def test_a_lazy_import_that_closes_a_circle_is_found(tmp_path):
    modules = _write(
        tmp_path,
        {
            f"{PACKAGE}/__init__.py": "",
            f"{PACKAGE}/a.py": "from . import b\n",
            f"{PACKAGE}/b.py": "def f():\n    from .a import g\n",
        },
    )
    assert cycles(import_graph(modules)) == [[f"{PACKAGE}.a", f"{PACKAGE}.b"]]


def test_importing_a_submodule_counts_its_package(tmp_path):
    # x imports p.q, so p/__init__ runs, which imports x: a circle through
    # the package, as leases -> jobs.records -> jobs/__init__ -> ... was
    modules = _write(
        tmp_path,
        {
            f"{PACKAGE}/__init__.py": "",
            f"{PACKAGE}/x.py": f"from {PACKAGE}.p.q import y\n",
            f"{PACKAGE}/p/__init__.py": "from .r import z\n",
            f"{PACKAGE}/p/q.py": "y = 1\n",
            f"{PACKAGE}/p/r.py": "from .. import x\n",
        },
    )
    graph = import_graph(modules)
    assert f"{PACKAGE}.p" in graph[f"{PACKAGE}.x"]
    assert f"{PACKAGE}.p" not in graph[f"{PACKAGE}.p.r"]  # its own package is running
    assert cycles(graph) == [[f"{PACKAGE}.p", f"{PACKAGE}.p.r", f"{PACKAGE}.x"]]


def test_an_upward_import_is_named():
    assert layer_of(f"{INTEGRATION}.runs.leases") < layer_of(f"{INTEGRATION}.jobs.records")
    assert layer_of(f"{INTEGRATION}.reading.fields") < layer_of(f"{INTEGRATION}.runs.run_store")
    assert layer_of(f"{PACKAGE}.core.search") < layer_of(f"{PACKAGE}.models.base")
    assert layer_of(f"{PACKAGE}.plugin.operators") == len(LAYERS) - 1
