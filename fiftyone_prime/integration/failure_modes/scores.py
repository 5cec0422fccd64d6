"""Failure modes of a score: where is the mean of a number per unit worst?

``fp.find_failure_modes(samples, score_field=...)`` (or ``eval_key=`` of a
regression or segmentation evaluation) searches a number per unit (an
error, a loss, an IoU, an accuracy) instead of right or wrong, with PRIME's
definition on the mean score (:func:`fiftyone_prime.core.find_score_modes`).
The units, their tags and their views are those of evaluation-unit runs
(:mod:`fiftyone_prime.integration.reading.units`,
:mod:`fiftyone_prime.integration.failure_modes.evaluations`): a score run is
an evaluation-unit run whose outcome is a number, stored, listed, loaded and
deleted as a failure-mode run.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Optional

import numpy as np

from fiftyone_prime.core.scores import ScoreMode, run_score_search
from fiftyone_prime.core.types import SearchParams

from ..runs.rows import SCORE_COLUMNS, text_table
from ..runs.run_kinds import register
from ..runs.run_results import saved_mode
from .evaluations import EVALUATION_UNITS, EvalFailureModeResults

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SavedScoreMode(ScoreMode):
    """A :class:`fiftyone_prime.core.scores.ScoreMode` stored in a run.

    Attributes:
        view_name, view_id: its saved view (``None`` without one); the run
            owns the view with this id
        tag_fields, tag_labels: per tag, the field it was read from and its
            label there
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
    def from_dict(cls, d: dict[str, Any]) -> SavedScoreMode:
        d = dict(d)
        d["tag_indices"] = []  # they index no stored matrix
        mode = super().from_dict(d)
        return dataclasses.replace(
            mode,
            tag_fields=tuple(d.get("tag_fields") or ()),
            tag_labels=tuple(d.get("tag_labels") or ()),
        )

    @property
    def caption_tags(self) -> tuple[str, ...]:
        """The tags as plain labels, for captions and descriptions."""
        return self.tag_labels or self.tags


def search_scores(spec, inputs, names, params: SearchParams):
    """Searches the scores of units read by
    :func:`fiftyone_prime.integration.reading.units.read_units`.

    Returns:
        ``(records, significance)``: the :class:`SavedScoreMode` records and
        the search's significance record
    """
    groups = inputs.labels if spec.is_grouped or spec.is_objects else None
    outcome = run_score_search(
        inputs.tags,
        inputs.scores,
        groups,
        tag_names=names,
        params=params,
        higher_is_worse=spec.higher_is_worse,
    )
    records = [saved_mode(SavedScoreMode, m, inputs.tag_keys) for m in outcome.modes]
    return records, outcome.significance


def group_means(labels: np.ndarray, scores: np.ndarray) -> dict:
    """Per group (by name), its size and mean score."""
    index: dict = {}
    codes = np.fromiter(
        (index.setdefault(g, len(index)) for g in labels.tolist()), np.int64, len(labels)
    )
    sizes = np.bincount(codes, minlength=len(index))
    sums = np.bincount(codes, weights=scores, minlength=len(index))
    groups = {
        str(n): {"size": int(k), "mean_score": float(s / k)} for n, k, s in zip(index, sizes, sums)
    }
    return dict(sorted(groups.items()))


class ScoreModeResults(EvalFailureModeResults):
    """The modes of a score run: tag sets whose units' mean score is worst.

    Each mode (a :class:`SavedScoreMode`) has its mean score and its group's,
    ``drop`` (how much worse, in the score's units), an interval, a p-value
    and an adjusted p-value. ``groups`` holds each group's size and mean
    score.
    """

    _MODE_CLS = SavedScoreMode

    @classmethod
    def from_inputs(cls, samples, config, key, records, inputs, significance=None):
        """Results of the modes ``records`` found or measured on the units
        ``inputs`` (a :class:`fiftyone_prime.integration.reading.units.UnitInputs`
        with ``scores``)."""
        return cls(
            samples,
            config,
            key,
            failure_modes=records,
            groups=group_means(inputs.labels, inputs.scores),
            num_samples=inputs.num_samples,
            num_used=inputs.num_used,
            num_missing_label=inputs.num_missing_label,
            num_missing_prediction=inputs.num_missing_prediction,
            num_tags=len(inputs.tag_keys),
            significance=significance,
            num_units=inputs.num_units,
            num_crowd=inputs.num_crowd,
        )

    @property
    def higher_is_worse(self) -> bool:
        """The score's direction."""
        return bool(self.spec.higher_is_worse)

    @property
    def score_description(self) -> str:
        """The score in words: what it is and its direction."""
        spec = self.spec
        what = spec.score_field if isinstance(spec.score_field, str) else "an expression"
        direction = "higher is worse" if spec.higher_is_worse else "lower is worse"
        text = f"score '{what}' ({direction})"
        if spec.score_fill is not None:
            text += f"; units without one score {spec.score_fill:g}"
        return text

    @property
    def units_description(self) -> str:
        return f"{super().units_description}, {self.score_description}"

    def _missing_prediction(self) -> str:
        return "without a finite score"

    def _table(self) -> list[str]:
        return text_table(self._modes, any(m.metrics for m in self._modes), SCORE_COLUMNS)

    def applied_config(self, samples, **kwargs):
        config = super().applied_config(samples, **kwargs)
        config.search_params = self.config.search_params
        return config


def _describe(results, mode) -> str:
    direction = "higher" if results.higher_is_worse else "lower"
    return (
        f"PRIME score mode of group '{mode.group}' with tags {{{', '.join(mode.tags)}}}: mean "
        f"score {mode.mean:.4g} vs {mode.group_mean:.4g} for the group ({direction} is worse; "
        f"n={mode.size}). Units: {results.units_description}. Run '{results.key}'."
    )


#: Score runs: evaluation-unit runs whose outcome is a number per unit
#: (``unit_spec["score_field"]``), not right or wrong.
SCORES = register(
    EVALUATION_UNITS.refined(
        name="scores",
        label="score run",
        results_cls=ScoreModeResults,
        accepts=lambda config: bool((getattr(config, "unit_spec", None) or {}).get("score_field")),
        describe=_describe,
        search=search_scores,
    )
)
