"""What kinds of runs this package stores, each described once.

A :class:`RunKind` says what differs between the runs this package stores
(failure-mode runs, evaluation-unit runs, regression runs, tag audits): its
config, run and results classes, how it is named in messages, and, for runs
that save views, how a mode becomes a view and how that view is described.
Everything else (storing, listing, loading with FiftyOne's validation and the
fresh reload, deleting exactly the views a run created, saving views) is
written once, in :mod:`fiftyone_prime.integration.runs.run_store`, and takes the
kind as a parameter.

The kind of a stored run is decided here, once, from its config
(:func:`kind_of`); loaded results carry it (``results.kind``).
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True, eq=False)
class RunKind:
    """One kind of run.

    Attributes:
        name: a short identifier (``"failure_modes"``, ``"regressions"``...)
        label: the run named in messages (``"regression run"``)
        config_cls: its :class:`fiftyone.core.runs.RunConfig` class
        results_cls: its results class (a
            :class:`fiftyone_prime.integration.runs.run_results.PrimeRunResults`)
        mode_noun: what its modes are called (``"failure modes"``), ``None``
            for runs without modes
        parent: the kind whose runs it refines, when it shares that kind's
            config class (evaluation-unit runs are failure-mode runs: they
            are listed, loaded and deleted as such, and one may replace the
            other under a key)
        accepts: whether a config of ``config_cls`` is of this kind (for a
            kind that refines its parent)
        views (None): ``views(samples, results)`` returns a function
            ``mode -> view`` that builds the view holding exactly a mode's
            units (anything the views share, such as the tag fields, is
            resolved once per run); ``None`` for kinds that save no views
        describe (None): ``describe(results, mode)``, the text stored on a
            mode's saved view
        read_inputs (None): ``read_inputs(samples, config, extra_paths)``,
            the arrays a run's modes are measured on, read as the run read
            them (for re-measuring them on other data, or scoring them)
        check_views (None): ``check_views(results, views)`` with
            ``(name, view, size)`` per saved view, after they are saved:
            warns about views that do not hold exactly their mode's units
        delete_call: how a user deletes a run of the kind, with ``{key}``
            for its key (``"fp.delete_regressions(dataset, '{key}')"``)
        search (None): ``search(spec, inputs, tag_names, params)``, how a
            run over units searches what it read: ``(records,
            significance)`` (evaluation units: right or wrong; scores: the
            mean of a number)
    """

    name: str
    label: str
    config_cls: type
    results_cls: type
    mode_noun: Optional[str] = None
    parent: Optional[RunKind] = None
    accepts: Callable[[Any], bool] = lambda config: True
    views: Optional[Callable] = None
    describe: Optional[Callable] = None
    read_inputs: Optional[Callable] = None
    check_views: Optional[Callable] = None
    delete_call: str = "dataset.delete_run('{key}')"
    search: Optional[Callable] = None

    @property
    def run_cls(self) -> type:
        """Its :class:`fiftyone.core.runs.Run` class, found as FiftyOne finds
        it: the config's class name without ``Config``, in the same module."""
        module = sys.modules[self.config_cls.__module__]
        return getattr(module, self.config_cls.__name__[: -len("Config")])

    def refined(self, **changes) -> RunKind:
        """A kind whose runs are runs of this one (same config class), with
        ``changes`` (its name, label, results class, ``accepts``...)."""
        return dataclasses.replace(self, parent=self, **changes)

    @property
    def family(self) -> RunKind:
        """The kind whose config class it shares (itself, or the kind it
        refines, through any number of refinements)."""
        return self.parent.family if self.parent is not None else self

    def includes(self, other: Optional[RunKind]) -> bool:
        """Whether runs of ``other`` are runs of this kind (the same kind, or
        one that refines it, directly or through another)."""
        while other is not None:
            if other is self:
                return True
            other = other.parent
        return False

    def __repr__(self) -> str:
        return f"RunKind({self.name!r})"


_KINDS: list[RunKind] = []

#: The modules that define (and register) the kinds: imported before a kind
#: is decided, so that a run is never taken for the kind it refines because
#: the module of its own kind was not imported yet.
KIND_MODULES = (
    "fiftyone_prime.integration.runs.classes",
    "fiftyone_prime.integration.failure_modes.evaluations",
    "fiftyone_prime.integration.failure_modes.scores",
    "fiftyone_prime.integration.comparisons.regressions",
    "fiftyone_prime.integration.tagging.tag_audit",
    "fiftyone_prime.integration.failure_modes.hypothesis_runs",
)


def register(kind: RunKind) -> RunKind:
    """Adds ``kind`` to the kinds :func:`kind_of` knows, and tells its results
    class its kind (``results_cls.kind``). Returns it."""
    if any(k.name == kind.name for k in _KINDS):
        raise ValueError(f"A run kind named '{kind.name}' is registered already")
    _KINDS.append(kind)
    kind.results_cls.kind = kind
    return kind


def _import_kind_modules() -> None:
    """Imports the modules that register the kinds (a no-op once imported)."""
    for module in KIND_MODULES:
        importlib.import_module(module)


def kinds_saving_views() -> list[RunKind]:
    """Every registered kind whose runs save views, without the kinds that
    refine another (their runs are listed as the runs of the kind they
    refine)."""
    _import_kind_modules()
    return [k for k in _KINDS if k.views is not None and k.parent is None]


def kind_of(config) -> Optional[RunKind]:
    """The kind of a stored run, from its config: the most specific
    registered kind that accepts it, or ``None`` for a run of another
    package (an evaluation, a brain run...)."""
    _import_kind_modules()
    found = None
    for kind in _KINDS:
        if isinstance(config, kind.config_cls) and kind.accepts(config):
            if found is None or (kind is not found and found.includes(kind)):
                found = kind
    return found
