"""FiftyOne glue: reading arrays from views, runs, saved views.

Imports fiftyone; never imports torch. One subpackage per purpose, in layer
order (each imports only from those before it): ``reading``, ``runs``,
``tagging``, ``failure_modes``, ``comparisons``, ``reports``, ``jobs``; then
:mod:`~fiftyone_prime.integration.pipeline`, which calls them all.

The modules that once lay directly here keep their old import paths
(``integration.fields``, ``integration.regressions``...):
FiftyOne stores a run's config and results classes by import path, and
users import them. Importing an old path gives the moved module itself
(the same module object), through the finder below.
"""

import importlib
import importlib.abc
import importlib.util
import pkgutil
import sys

# old module (directly in this package) -> its module now. ``runs`` and
# ``tagging`` are now subpackages of the same name, which forward the old
# modules' names themselves (see their ``__init__``).
MOVED = {
    "bson_columns": "reading.bson_columns",
    "checks": "comparisons.checks",
    "crops": "reading.crops",
    "evaluations": "failure_modes.evaluations",
    "explore": "failure_modes.explore",
    "fields": "reading.fields",
    "holdout": "failure_modes.holdout",
    "input_cache": "reading.input_cache",
    "leases": "runs.leases",
    "metrics": "failure_modes.metrics",
    "object_tags": "tagging.object_tags",
    "reader": "reading.reader",
    "regression_report": "reports.regression_report",
    "regressions": "comparisons.regressions",
    "repair": "runs.repair",
    "report": "reports.report",
    "rows": "runs.rows",
    "run_guard": "runs.run_guard",
    "run_store": "runs.run_store",
    "search": "failure_modes.search",
    "tag_audit": "tagging.tag_audit",
    "units": "reading.units",
    "view_list": "runs.view_list",
    "views": "runs.views",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``fiftyone_prime.integration.<old>`` as the moved module."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == __name__ and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        name = spec.name.rpartition(".")[2]
        module = importlib.import_module(f"{__name__}.{MOVED[name]}")
        self._spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self._spec  # importlib set the alias's spec; keep the module's own


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name):
    # ``integration.fields`` (an old module) as an attribute, as before
    if name in MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def forward_names(package: str, module: str):
    """A module ``__getattr__`` for ``package`` that was once a module: the
    names of the module it became (``package.module``), except the
    package's own submodules, so ``package.Name`` keeps working."""

    def __getattr__(name):
        pkg = sys.modules[package]
        submodules = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
        if name.startswith("__") or name in submodules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = importlib.import_module(f"{package}.{module}")
        try:
            return getattr(target, name)
        except AttributeError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

    return __getattr__
