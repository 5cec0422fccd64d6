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
from typing import Any, Optional, Union

import fiftyone.core.runs as focr

from fiftyone_prime.core.significance import BH_PROCEDURE, PROCEDURE
from fiftyone_prime.core.types import FailureMode, SearchParams

from .rows import text_table

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


class FailureModeRunConfig(focr.RunConfig):
    """Configuration of a failure-mode search run.

    Args:
        label_field: the ground-truth ``Classification`` field
        pred_field: the predicted ``Classification`` field
        tags_fields: the fields the tags were read from
        search_params: the :class:`fiftyone_prime.core.SearchParams`, or
            its dict (as stored; validated when read)
        procedure: the multiple-testing procedure that adjusted the p-values
        save_views: whether saved views were created
        max_views: the most saved views the run creates (the modes with the
            largest drops get them)
        **kwargs: any other JSON-serializable parameters. Runs stored by
            version 0.1 kept the thresholds as separate attributes; they are
            read into ``search_params``
    """

    def __init__(
        self,
        label_field=None,
        pred_field=None,
        tags_fields=None,
        search_params=None,
        procedure=PROCEDURE,
        save_views=True,
        max_views=None,
        **kwargs,
    ):
        kwargs.pop("method", None)
        kwargs.pop("tag_kinds", None)  # stored by version 0.1, never read
        legacy = {k: kwargs.pop(k) for k in SearchParams.names() if k in kwargs}
        if search_params is None:
            # Version 0.1 had no significance filter: its runs kept every mode.
            search_params = {"alpha": None, **legacy} if legacy else {}
        if not isinstance(search_params, SearchParams) and "error_control" not in search_params:
            # Runs stored before the choice existed used family-wise control.
            search_params = {**search_params, "error_control": "fwer"}
        super().__init__(method=METHOD, **kwargs)
        self.label_field = label_field
        self.pred_field = pred_field
        self.tags_fields = list(tags_fields or [])
        if not isinstance(search_params, SearchParams):  # read from the database
            search_params = SearchParams.from_dict(dict(search_params))
        self.search_params = search_params.to_dict()
        self.procedure = procedure
        self.save_views = save_views
        self.max_views = max_views

    @property
    def params(self) -> SearchParams:
        """The search parameters as a :class:`fiftyone_prime.core.SearchParams`."""
        return SearchParams.from_dict(self.search_params)


class FailureModeRun(focr.Run):
    """A failure-mode search run; :meth:`cleanup` deletes the views it saved."""

    def get_fields(self, samples, key):
        fields_ = [self.config.label_field, self.config.pred_field]
        return fields_ + list(self.config.tags_fields)

    def cleanup(self, samples, key):
        """Deletes the saved views this run created, by the ids it recorded
        before writing them: listed views and the unlisted documents an
        interrupted save left behind. Views with other ids are kept, whatever
        their names."""
        results = self.load_run_results(samples, key, cache=False, load_view=False)
        if results is None:
            return
        from .views import delete_views

        deleted = delete_views(samples._root_dataset, results.view_ids)
        logger.debug("Deleted %d saved views of run '%s'", deleted, key)


class FailureModeResults(focr.RunResults):
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

    def __init__(
        self,
        samples,
        config,
        key,
        failure_modes=None,
        groups=None,
        num_samples=0,
        num_used=0,
        num_missing_label=0,
        num_missing_prediction=0,
        num_tags=0,
        significance=None,
        metrics_info=None,
        validation=None,
        backend=None,
        **kwargs,
    ):
        super().__init__(samples, config, key, backend=backend, **kwargs)
        self._modes = [
            m if isinstance(m, SavedFailureMode) else SavedFailureMode.from_dict(m)
            for m in (failure_modes or [])
        ]
        self.groups = dict(groups or {})
        self.num_samples = num_samples
        self.num_used = num_used
        self.num_missing_label = num_missing_label
        self.num_missing_prediction = num_missing_prediction
        self.num_tags = num_tags
        self.significance = significance
        self.metrics_info = metrics_info
        self.validation = validation

    @property
    def failure_modes(self) -> list[SavedFailureMode]:
        """The failure modes, in the search's order."""
        return list(self._modes)

    def _set_failure_modes(self, modes: list[SavedFailureMode]) -> None:
        self._modes = list(modes)

    @property
    def view_names(self) -> list[str]:
        """The names of the saved views this run created."""
        return [m.view_name for m in self._modes if m.view_name]

    @property
    def view_ids(self) -> list[str]:
        """The ids of the saved-view documents this run created (or was about
        to create when it was interrupted)."""
        return [m.view_id for m in self._modes if m.view_id]

    def __len__(self) -> int:
        return len(self._modes)

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

    def load_view(self, mode: Union[int, str, SavedFailureMode]):
        """Loads the saved view of a failure mode.

        Args:
            mode: the failure mode, its index in :attr:`failure_modes`, or its
                view name

        Returns:
            a :class:`fiftyone.core.view.DatasetView`
        """
        if isinstance(mode, int):
            mode = self._modes[mode]
        name = mode.view_name if isinstance(mode, SavedFailureMode) else mode
        if not name:
            raise ValueError("This failure mode has no saved view (save_views=False)")
        return self.samples._root_dataset.load_saved_view(name)

    def summary(self) -> str:
        """Returns a plain-text table of the failure modes."""
        lines = [
            f"PRIME run '{self.key}': {len(self._modes)} failure modes over "
            f"{self.num_used} samples ({self.num_tags} tags)"
        ]
        sig = self.significance or {}
        if sig.get("alpha") is not None:
            fdr = sig.get("error_control", "fwer") != "fwer"
            rate = "false-discovery rate" if fdr else "family-wise"
            lines.append(
                f"significant at alpha={sig['alpha']:g} ({sig['procedure']}, {rate} over "
                f"<= {sig['family_size']:,.0f} tag sets); {sig['num_not_significant']} more met "
                "the definition but could be chance (alpha=None keeps them)"
            )
            if sig.get("num_aliases"):
                lines.append(
                    f"{sig['num_aliases']} more are proxies of a stronger mode of their class, "
                    "listed as its aliases"
                )
        elif self.config.procedure == BH_PROCEDURE:
            lines.append(
                f"re-measured modes of run '{getattr(self.config, 'source_run_key', '?')}'; adjusted "
                f"p-values are "
                f"Benjamini-Hochberg over these {len(self._modes)} modes (false discovery rate)"
            )
        elif sig and sig.get("tested_family") is None:  # alpha=None adjusts nothing
            lines.append(
                "every mode of the definition (alpha=None), with p-values; no adjusted "
                "p-values (no error control asked for)"
            )
        elif sig:
            lines.append(
                f"every mode of the definition (alpha=None); adjusted p-values are "
                f"{sig['procedure']} over <= {sig['family_size']:,.0f} tag sets"
            )
        if self.num_missing_label or self.num_missing_prediction:
            lines.append(
                f"left out: {self.num_missing_label} without a label, "
                f"{self.num_missing_prediction} without a prediction"
            )
        if self.config.save_views and len(self.view_names) < len(self._modes):
            lines.append(
                f"{len(self._modes) - len(self.view_names)} failure modes have no saved "
                f"view (max_views={self.config.max_views}); all are listed below"
            )
        lines += text_table(self._modes, with_metrics=any(m.metrics for m in self._modes))
        return "\n".join(lines)

    def serialize(self, reflective=False):
        return {
            "cls": self.cls,
            "failure_modes": [m.to_dict() for m in self._modes],
            "groups": self.groups,
            "num_samples": self.num_samples,
            "num_used": self.num_used,
            "num_missing_label": self.num_missing_label,
            "num_missing_prediction": self.num_missing_prediction,
            "num_tags": self.num_tags,
            "significance": self.significance,
            "metrics_info": self.metrics_info,
            "validation": self.validation,
        }

    def get_meta(self):
        return {"num_failure_modes": len(self._modes), "num_used": self.num_used}

    @classmethod
    def _from_dict(cls, d, samples, config, key):
        return cls(samples, config, key, **d)
