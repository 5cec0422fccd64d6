"""The public surface: what the docs tell users to call exists; the top level
holds what users call, each name and module path written once; the classes
earlier versions exported stay importable; the type stub follows the mapping.

``python tests/test_public_names.py`` rewrites ``fiftyone_prime/__init__.pyi``
from ``fiftyone_prime/__init__.py``'s ``_NAMES``.
"""

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
INIT = REPO_ROOT / "fiftyone_prime" / "__init__.py"
STUB = REPO_ROOT / "fiftyone_prime" / "__init__.pyi"


def _mappings():
    """``(public, kept)``: ``{module: names}`` each, from ``_NAMES`` as
    written (read without importing anything)."""
    tree = ast.parse(INIT.read_text())
    names = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "_NAMES"
    )
    public = {module: kinds[0] for module, kinds in names.items() if kinds[0]}
    kept = {module: kinds[1] for module, kinds in names.items() if kinds[1]}
    return public, kept


def stub_text() -> str:
    """The stub's text before formatting: one import per module, re-exported."""
    public, kept = _mappings()
    lines = [
        '"""Generated from __init__.py\'s _NAMES by tests/test_public_names.py;',
        'do not edit: run `python tests/test_public_names.py`."""',
        "",
    ]
    for module in sorted(set(public) | set(kept)):
        names = sorted(public.get(module, ()) + kept.get(module, ()))
        lines.append(f"from {module} import {', '.join(f'{n} as {n}' for n in names)}")
    every = sorted(n for names in public.values() for n in names)
    lines += ["", "__version__: str", f"__all__ = {every!r}", ""]
    return "\n".join(lines)


def _stub_contents(text):
    """What a stub declares: ``{(module, name, alias)}`` and its ``__all__``."""
    imports, every = set(), None
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom):
            imports |= {(node.module, a.name, a.asname) for a in node.names}
        elif isinstance(node, ast.Assign) and node.targets[0].id == "__all__":
            every = ast.literal_eval(node.value)
    return imports, every


def write_stub():
    STUB.write_text(stub_text())
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "check", "--fix", "-q", str(STUB)], check=False)
    subprocess.run([str(ruff), "format", "-q", str(STUB)], check=True)


def test_every_fp_name_in_the_readme_and_docs_exists_and_is_documented():
    import fiftyone_prime as fp

    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    names = sorted(set(re.findall(r"\bfp\.([A-Za-z_]\w*)", text)))
    assert len(names) >= 10
    for name in names:
        assert name in fp.__all__, name
        assert callable(getattr(fp, name)), name
        assert getattr(fp, name).__doc__, name


def test_the_top_level_is_what_users_call():
    import fiftyone_prime as fp

    for name in fp.__all__:
        value = getattr(fp, name)
        # functions, and the one error users catch; no class users only receive
        assert inspect.isfunction(value) or issubclass(value, Exception), name
        assert value.__module__ == fp._DEFINED_IN[name], name  # where the mapping says
        assert value.__doc__, name
    assert len(fp.__all__) == len(set(fp.__all__)) >= 20
    assert sorted(set(dir(fp)) & set(fp._DEFINED_IN)) == fp.__all__


def test_the_classes_earlier_versions_exported_stay_importable():
    import fiftyone_prime as fp
    from fiftyone_prime import FailureModeResults, RegressionResults, SearchParams
    from fiftyone_prime.core.types import SearchParams as defined
    from fiftyone_prime.integration.comparisons.regressions import RegressionResults as regressions
    from fiftyone_prime.integration.runs.classes import FailureModeResults as results

    assert (FailureModeResults, RegressionResults, SearchParams) == (results, regressions, defined)
    _, kept = _mappings()
    for module, names in kept.items():
        for name in names:
            assert name not in fp.__all__, name
            assert inspect.isclass(getattr(fp, name)), name
            assert getattr(fp, name).__module__ == module, name
    try:
        fp.no_such_name  # noqa: B018
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("an unknown name resolved")


def test_each_name_and_module_path_is_written_once():
    """In ``__init__.py``'s code (its docstring aside), every public or kept
    name and every module path is one string, once."""
    tree = ast.parse(INIT.read_text())
    strings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    strings.remove(ast.get_docstring(tree, clean=False))
    public, kept = _mappings()
    names = [n for mapping in (public, kept) for names in mapping.values() for n in names]
    for name in names:
        assert strings.count(name) == 1, name
    for module in set(public) | set(kept):
        assert strings.count(module) == 1, module
    assert not [s for s in strings if s.startswith("fiftyone_prime.") and s not in public | kept]
    assert "TYPE_CHECKING" not in INIT.read_text()


def test_the_type_stub_is_generated_from_the_mapping():
    stale = "fiftyone_prime/__init__.pyi is stale: run `python tests/test_public_names.py`"
    assert STUB.exists(), stale
    assert _stub_contents(STUB.read_text()) == _stub_contents(stub_text()), stale


def test_importing_the_package_imports_no_module_of_it():
    code = (
        "import sys, fiftyone_prime; "
        "print(sorted(m for m in sys.modules if m.startswith(('fiftyone_prime.', 'fiftyone'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert out.stdout.strip() == "['fiftyone_prime']"


if __name__ == "__main__":
    write_stub()
    print(f"wrote {STUB}")
