"""Run classes that store failure-mode searches on a dataset, like brain runs.

Runs are stored with :mod:`fiftyone.core.runs` under the dataset's runs, so
they are listed with ``dataset.list_runs()``, loaded with
``dataset.load_run_results(key)``, renamed and deleted like any run, and they
load in a fresh process because these classes are importable from the
installed ``fiftyone_prime`` package.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import numpy as np

from fiftyone_prime.core.significance import BH_PROCEDURE
from fiftyone_prime.core.types import FailureMode, SearchParams

from ..reading.fields import class_codes
from ..reading.run_inputs import read_run_inputs
from .rows import describe, text_table
from .run_kinds import RunKind, register
from .run_results import ModeRunConfig, ModeRunResults, PrimeRun, _same

logger = logging.getLogger(__name__)

#: The ``method`` of every run this package stores.
METHOD = "prime"


@dataclass(frozen=True)
class SavedFailureMode(FailureMode):
    """A :class:`fiftyone_prime.core.FailureMode` stored in a run.

    Its tags are identified by ``tag_fields`` and ``tag_labels``;
    ``tag_indices`` (column indices of the search's matrix, which is not
    stored) is empty.

    Attributes:
        view_name: the name of the saved view holding its samples, or ``None``
            when views were not saved (``save_views=False``, or beyond
            ``max_views``)
        view_id: the id of that saved view's document; the run owns the view
            with this id (never a view found by name)
        tag_fields: for each tag (in the order of ``tags``), the field it was
            read from
        tag_labels: for each tag, its label in that field (the tag's name
            without the field prefix that several tag fields add)
        metrics: scores computed later (e.g. CLIP similarity), by name
    """

    view_name: Optional[str] = None
    view_id: Optional[str] = None
    tag_fields: tuple[str, ...] = ()
    tag_labels: tuple[str, ...] = ()
    metrics: Optional[dict] = None

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["tag_fields"] = list(self.tag_fields)
        d["tag_labels"] = list(self.tag_labels)
        d["metrics"] = dict(self.metrics) if self.metrics else None
        return d

    @classmethod
    def _from_json(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs = super()._from_json(kwargs)
        kwargs["tag_indices"] = ()  # runs of 0.1 stored them; they index no stored matrix
        kwargs["tag_fields"] = tuple(kwargs.get("tag_fields") or ())
        kwargs["tag_labels"] = tuple(kwargs.get("tag_labels") or ())
        return kwargs

    @property
    def caption_tags(self) -> tuple[str, ...]:
        """The tags as plain labels, for captions and descriptions."""
        return self.tag_labels or self.tags


class FailureModeRunConfig(ModeRunConfig):
    """Configuration of a failure-mode search run.

    Args:
        label_field: the ground-truth ``Classification`` field
        pred_field: the predicted ``Classification`` field
        tags_fields: the fields the tags were read from
        search_params: the :class:`fiftyone_prime.core.SearchParams`, or
            its dict (as stored; validated when read)
        **kwargs: ``procedure``, ``save_views``, ``max_views`` as in
            :class:`fiftyone_prime.integration.runs.run_results.ModeRunConfig`,
            and any other JSON-serializable parameters. Runs stored by
            version 0.1 kept the thresholds as separate attributes; they are
            read into ``search_params``
    """

    _METHOD = METHOD

    def __init__(
        self, label_field=None, pred_field=None, tags_fields=None, search_params=None, **kwargs
    ):
        kwargs.pop("tag_kinds", None)  # stored by version 0.1, never read
        legacy = {k: kwargs.pop(k) for k in SearchParams.names() if k in kwargs}
        if search_params is None:
            # Version 0.1 had no significance filter: its runs kept every mode.
            search_params = {"alpha": None, **legacy} if legacy else {}
        if not isinstance(search_params, SearchParams) and "error_control" not in search_params:
            # Runs stored before the choice existed used family-wise control.
            search_params = {**search_params, "error_control": "fwer"}
        super().__init__(label_field, pred_field, tags_fields, search_params, **kwargs)


class FailureModeRun(PrimeRun):
    """A failure-mode search run; :meth:`cleanup` deletes the views it saved."""

    def get_fields(self, samples, key):
        fields_ = [self.config.label_field, self.config.pred_field]
        return fields_ + list(self.config.tags_fields)


def input_counts(inputs) -> dict:
    """A results' counts of the samples and tags of the search inputs
    ``inputs`` (a :class:`fiftyone_prime.integration.reading.fields.SearchInputs`)."""
    return dict(
        num_samples=inputs.num_samples,
        num_used=inputs.num_used,
        num_missing_label=inputs.num_missing_label,
        num_missing_prediction=inputs.num_missing_prediction,
        num_tags=len(inputs.tag_keys),
    )


def group_stats(groups, correct: np.ndarray, baseline_correct: Optional[np.ndarray] = None) -> dict:
    """Size and accuracy of each class, by class name (``groups``: as
    :attr:`~fiftyone_prime.integration.reading.fields.SearchInputs.groups`), and the
    baseline's accuracy when ``baseline_correct`` is given (a regression run)."""
    names, codes = class_codes(groups)
    sizes = np.bincount(codes, minlength=len(names))
    stats = {str(n): {"size": int(k)} for n, k in zip(names, sizes)}
    columns = [("baseline_accuracy", baseline_correct)] if baseline_correct is not None else []
    for key, right in [*columns, ("accuracy", correct)]:
        counts = np.bincount(codes, weights=right, minlength=len(names))
        for n, k, r in zip(names, sizes, counts):
            stats[str(n)][key] = float(r / k)
    return stats


class FailureModeResults(ModeRunResults):
    """The failure modes of a run, with the statistics of the search.

    Args:
        samples: the view the run searched
        config: the :class:`FailureModeRunConfig`
        key: the run key
        failure_modes: a list of :class:`SavedFailureMode` or their dicts
        groups: per class, ``{"size": n, "accuracy": acc}``
        num_samples: the number of samples in the searched view
        num_used: the number of samples searched (with a label and a prediction)
        num_missing_label: samples left out for lacking a label
        num_missing_prediction: samples left out for lacking a prediction
        num_tags: the number of distinct tags seen
        significance (None): how the modes were tested: the procedure,
            ``alpha``, a bound of the number of tag sets tested, the
            corrected per-set level, and how many modes of the definition
            were left out as not significant
        metrics_info (None): how the CLIP metrics were computed (model,
            caption template), once :func:`compute_failure_mode_metrics` ran
        validation (None): the held-out re-measurement of
            :func:`validate_failure_modes`
        backend (None): a :class:`FailureModeRun`
    """

    _MODES = "failure_modes"
    _MODE_CLS = SavedFailureMode
    _FIELDS: ClassVar[dict] = {"metrics_info": _same, "validation": _same}

    #: The units the modes hold (``None``: samples compared by their label
    #: and prediction fields); see :class:`EvalFailureModeResults`.
    spec = None

    @classmethod
    def from_inputs(cls, samples, config, key, records, inputs, significance=None):
        """Results of the modes ``records`` found or measured on ``inputs``
        (a :class:`fiftyone_prime.integration.reading.fields.SearchInputs`)."""
        return cls(
            samples,
            config,
            key,
            failure_modes=records,
            groups=group_stats(inputs.groups, inputs.correct),
            **input_counts(inputs),
            significance=significance,
        )

    @property
    def failure_modes(self) -> list[SavedFailureMode]:
        """The failure modes, in the search's order."""
        return list(self._modes)

    def _set_failure_modes(self, modes: list[SavedFailureMode]) -> None:
        self._set_modes(modes)

    def sorted(self, by: str = "drop", reverse: bool = True) -> list[SavedFailureMode]:
        """Returns the failure modes sorted by a field or a metric.

        Args:
            by ("drop"): a :class:`SavedFailureMode` attribute (``drop``,
                ``size``, ``accuracy``, ...) or the name of a metric in
                ``metrics``
            reverse (True): whether to sort in descending order

        Returns:
            a list of :class:`SavedFailureMode`; modes without the metric come last
        """

        def value(m):
            v = getattr(m, by, None) if hasattr(m, by) else (m.metrics or {}).get(by)
            return v

        if self._modes and by not in self._modes[0].__dataclass_fields__:
            if not any(by in (m.metrics or {}) for m in self._modes):
                raise ValueError(
                    f"Unknown sort key '{by}'; use a failure-mode attribute such as "
                    "'drop', 'size' or 'accuracy', or a metric name"
                )
        present = [m for m in self._modes if value(m) is not None]
        missing = [m for m in self._modes if value(m) is None]
        return sorted(present, key=value, reverse=reverse) + missing

    def _significance_lines(self) -> list[str]:
        sig = self.significance or {}
        if sig.get("alpha") is None and self.config.procedure == BH_PROCEDURE:
            return [
                f"re-measured modes of run '{getattr(self.config, 'source_run_key', '?')}'; "
                f"adjusted p-values are Benjamini-Hochberg over these {len(self._modes)} modes "
                "(false discovery rate)"
            ]
        return super()._significance_lines()

    def _table(self) -> list[str]:
        return text_table(self._modes, with_metrics=any(m.metrics for m in self._modes))

    def applied_config(self, samples, **kwargs) -> FailureModeRunConfig:
        """The config of a run that re-measures these modes on ``samples``
        (another dataset or view), read as this run read them.

        Args:
            samples: the target collection
            **kwargs: the new run's ``procedure``, ``save_views`` and
                ``max_views``
        """
        config = self.config
        return FailureModeRunConfig(
            label_field=config.label_field,
            pred_field=config.pred_field,
            tags_fields=config.tags_fields,
            search_params=config.params,
            source_dataset=self.samples._root_dataset.name,
            source_run_key=self.key,
            **kwargs,
        )


def _failure_mode_views(samples, results, sources=None):
    """The failure-mode kind's views: the samples of a mode's class carrying
    every tag (``sources``: the run's tag fields, as the search resolved
    them; resolved here when not given)."""
    from ..reading.fields import tag_sources
    from .views import failure_mode_view

    config = results.config
    if sources is None:
        sources = tag_sources(samples, config.tags_fields)

    def view(mode):
        keys = list(zip(mode.tag_fields, mode.tag_labels))
        return failure_mode_view(
            samples, config.label_field, config.pred_field, mode.group, sources, keys
        )

    return view


#: Failure-mode runs: samples compared by a label and a prediction field.
FAILURE_MODES = register(
    RunKind(
        name="failure_modes",
        label="failure-mode run",
        config_cls=FailureModeRunConfig,
        results_cls=FailureModeResults,
        mode_noun="failure modes",
        views=_failure_mode_views,
        describe=lambda results, mode: describe(mode, results.key),
        read_inputs=read_run_inputs,
        delete_call="fp.delete_failure_modes(dataset, '{key}')",
    )
)
