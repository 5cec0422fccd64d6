"""Where did the new model regress? Regression runs over a FiftyOne view.

:func:`find_regressions` reads a ground-truth field, two prediction fields
(the baseline's and the new model's) and the tags, runs the exact regression
search of :mod:`fiftyone_prime.core.regression`, stores a run
(:class:`RegressionResults`) and saves a view per regression mode holding
the mode's samples with both prediction fields.

Object-level regressions (``units="gt"``) compare two detection evaluations
of the same ground truth, object by object: a ground-truth object is right
under an evaluation when it is matched (``tp``), crowd objects left out as
for failure modes. They are a unit kind of the same comparison: the units
and their tags are read by :mod:`fiftyone_prime.integration.reading.units`,
searched by the same regression search, and stored as runs of
:data:`OBJECT_REGRESSIONS`, whose views hold exactly each mode's objects
(:func:`fiftyone_prime.integration.failure_modes.evaluations.unit_view`).
A multilabel classifier's (sample, class) pairs (the label and both
prediction fields ``Classifications``; ``units="gt"`` misses, ``"pred"``
false alarms) are the same kind of run over units, read with both outcomes
at once.

A regression run owns exactly what it created, as a failure-mode run does:
its run document and results, and the saved views whose ids it recorded
before writing them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

from fiftyone import ViewField as F

from fiftyone_prime.core.aliases import describe_aliases
from fiftyone_prime.core.defaults import LABEL_FIELD, TAGS_FIELD
from fiftyone_prime.core.regression import RegressionMode, run_regression_search
from fiftyone_prime.core.types import DEFAULT_PARAMS, SearchParams

from ..failure_modes.evaluations import multilabel_description, over_units
from ..reading import fields as fpf
from ..reading import units as fpu
from ..reading.input_cache import load_search_inputs, load_unit_inputs
from ..runs import views as fpv
from ..runs.classes import group_stats, input_counts
from ..runs.rows import format_interval, format_p, format_percent
from ..runs.run_guard import writes_run
from ..runs.run_kinds import RunKind, register
from ..runs.run_results import ModeRunConfig, ModeRunResults, PrimeRun, saved_mode
from ..runs.run_store import (
    check_run,
    delete_run,
    list_runs,
    load_run,
    start_run,
    validate_new_run_key,
)

logger = logging.getLogger(__name__)

#: The ``method`` of regression runs.
METHOD = "prime_regression"


#: The default key of a regression run.
RUN_KEY = "prime_regression"


@dataclass(frozen=True)
class SavedRegressionMode(RegressionMode):
    """A :class:`fiftyone_prime.core.RegressionMode` stored in a run.

    Attributes:
        view_name, view_id: its saved view (``None`` without one); the run
            owns the view with this id
        tag_fields, tag_labels: per tag, the field it was read from and its
            label there
    """

    view_name: Optional[str] = None
    view_id: Optional[str] = None
    tag_fields: tuple[str, ...] = ()
    tag_labels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["tag_fields"] = list(self.tag_fields)
        d["tag_labels"] = list(self.tag_labels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SavedRegressionMode:
        d = dict(d)
        d["tag_indices"] = []  # they index no stored matrix
        mode = super().from_dict(d)
        return dataclasses.replace(
            mode,
            tag_fields=tuple(d.get("tag_fields") or ()),
            tag_labels=tuple(d.get("tag_labels") or ()),
        )


class RegressionRunConfig(ModeRunConfig):
    """Configuration of a regression run.

    Args:
        label_field: the ground-truth ``Classification`` field
        baseline_field: the baseline model's ``Classification`` field
        pred_field: the new model's ``Classification`` field
        unit_spec (None): the units compared (the dict of a
            :class:`fiftyone_prime.integration.reading.units.UnitSpec`): the
            new model's detection evaluation (object-level runs) or a
            multilabel classifier's (sample, class) pairs; ``None`` for
            samples compared label to label
        **kwargs: ``tags_fields``, ``search_params``, ``procedure``,
            ``save_views``, ``max_views`` as in
            :class:`fiftyone_prime.integration.runs.run_results.ModeRunConfig`;
            with ``unit_spec``, ``unit_tag_kinds`` (and ``baseline_eval_key``
            for object-level runs)
    """

    _METHOD = METHOD

    def __init__(
        self, label_field=None, baseline_field=None, pred_field=None, unit_spec=None, **kwargs
    ):
        super().__init__(label_field, pred_field, unit_spec=unit_spec, **kwargs)
        self.baseline_field = baseline_field

    @property
    def spec(self) -> Optional[fpu.UnitSpec]:
        """The run's units, or ``None`` for samples compared label to label."""
        return fpu.UnitSpec.from_dict(self.unit_spec) if self.unit_spec else None


class RegressionRun(PrimeRun):
    """A regression run; :meth:`cleanup` deletes the views it saved (by id)."""

    def get_fields(self, samples, key):
        c = self.config
        return [c.label_field, c.baseline_field, c.pred_field, *c.tags_fields]


class RegressionResults(ModeRunResults):
    """The regression modes of a run.

    Args:
        samples: the view the run searched
        config: the :class:`RegressionRunConfig`
        key: the run key
        regressions: :class:`SavedRegressionMode` records or their dicts
        groups: per class, ``{"size", "baseline_accuracy", "accuracy"}``
        num_samples, num_used: samples in the view, and searched
        num_missing_label, num_missing_prediction: samples left out
        num_tags: distinct tags seen
        significance: how the modes were tested (a dict)
        backend (None): a :class:`RegressionRun`
    """

    _MODES = "regressions"
    _MODE_CLS = SavedRegressionMode

    @property
    def regressions(self) -> list[SavedRegressionMode]:
        """The regression modes, in the search's order."""
        return list(self._modes)

    # ``failure_modes`` so that code written for failure-mode runs (the
    # check, reports) reads either kind.
    failure_modes = regressions

    def _set_regressions(self, modes) -> None:
        self._set_modes(modes)

    @classmethod
    def from_inputs(cls, samples, config, key, records, read, significance=None):
        """Results of the modes ``records`` found on ``read`` (the
        :class:`RegressionInputs`)."""
        inputs = read.inputs
        return cls(
            samples,
            config,
            key,
            regressions=records,
            groups=group_stats(read.groups, inputs.correct, read.baseline_correct),
            **input_counts(inputs),
            significance=significance,
        )

    def _headline(self) -> str:
        c = self.config
        return (
            f"PRIME regression run '{self.key}': {len(self._modes)} regression modes of "
            f"'{c.pred_field}' against '{c.baseline_field}' over {self.num_used} {self.unit_noun} "
            f"({self.num_tags} tags)"
        )

    def _missing_prediction(self) -> str:
        return "without both predictions"

    def _table(self) -> list[str]:
        """Both models' accuracies, baseline -> new, on each mode and on its class."""
        return regression_table(self._modes)


class ObjectRegressionResults(RegressionResults):
    """The regression modes of a run over units: the ground-truth objects of
    two detection evaluations (``units="gt"``), or a multilabel classifier's
    (sample, class) pairs. A :class:`RegressionResults` whose config also
    stores ``unit_spec`` (the new model's evaluation, or the multilabel
    units with both models' fields), ``unit_tag_kinds`` and, for objects,
    ``baseline_eval_key``."""

    @property
    def spec(self) -> fpu.UnitSpec:
        """The :class:`fiftyone_prime.integration.reading.units.UnitSpec` of the
        units compared."""
        return self.config.spec

    @property
    def units_description(self) -> str:
        """The units in words."""
        spec = self.spec
        if spec.is_multilabel:
            return multilabel_description(spec)
        return (
            f"ground-truth objects of '{spec.gt_field}', right when matched, under "
            f"evaluations '{self.config.baseline_eval_key}' (baseline) and "
            f"'{spec.eval_key}' (new)"
        )

    @property
    def unit_noun(self) -> str:
        return self.spec.noun

    def _units_lines(self) -> list[str]:
        return [f"units: {self.units_description}"]


# ------------------------------------------------------------------ display


def arrow(before: float, after: float) -> str:
    """``80.0% -> 30.0%``."""
    return f"{format_percent(before)} -> {format_percent(after)}"


#: (header, width, render) of the regression table's columns.
REGRESSION_COLUMNS = (
    ("class", 16, lambda m: str(m.group)),
    ("tags", 30, lambda m: " + ".join(m.tags)),
    ("size", 6, lambda m: str(m.size)),
    ("acc (base -> new)", 17, lambda m: arrow(m.baseline_accuracy, m.accuracy)),
    ("class acc (base -> new)", 23, lambda m: arrow(m.group_baseline_accuracy, m.group_accuracy)),
    ("drop (pts)", 10, lambda m: f"{m.drop * 100:.1f}"),
    ("p", 8, lambda m: format_p(m.p_value)),
    ("adj. p", 8, lambda m: format_p(m.adjusted_p_value)),
)


def regression_row(mode) -> dict[str, str]:
    """A regression mode as display strings by header, plus its view name
    and its aliases (``"also as {x, y} (41 samples, 88% shared)"``, or ``""``)."""
    row = {h: render(mode) for h, _, render in REGRESSION_COLUMNS}
    row["view"] = getattr(mode, "view_name", None) or ""
    row[ALIASES_COLUMN] = describe_aliases(mode)
    return row


#: The header of a regression row's aliases (the panel's and the operator's tables).
ALIASES_COLUMN = "aliases"


def regression_table(modes) -> list[str]:
    """The modes as a fixed-width plain-text table (header, rule, rows)."""

    def cell(text, width, left):
        text = text[:width]
        return f"{text:<{width}}" if left else f"{text:>{width}}"

    header = " ".join(cell(h, w, i < 2) for i, (h, w, _) in enumerate(REGRESSION_COLUMNS))
    lines = [header, "-" * len(header)]
    for m in modes:
        lines.append(
            " ".join(
                cell(render(m), w, i < 2) for i, (_, w, render) in enumerate(REGRESSION_COLUMNS)
            )
        )
    return lines


def describe_regression(mode, run_key: str) -> str:
    """A one-paragraph description of a regression mode, for its saved view."""
    return (
        f"PRIME regression mode of class '{mode.group}' with tags {{{', '.join(mode.tags)}}}: "
        f"accuracy {arrow(mode.baseline_accuracy, mode.accuracy)} (baseline -> new; "
        f"{mode.baseline_num_correct} -> {mode.num_correct} of {mode.size}; new 95% CI "
        f"{format_interval(mode.accuracy_ci)}), vs "
        f"{arrow(mode.group_baseline_accuracy, mode.group_accuracy)} on the class "
        f"(n={mode.group_size}); {mode.num_losses} losses and {mode.num_wins} wins; "
        f"p = {format_p(mode.p_value)}, adjusted p = {format_p(mode.adjusted_p_value)}. "
        + (f"{describe_aliases(mode).capitalize()}. " if getattr(mode, "aliases", ()) else "")
        + f"Run '{run_key}'."
    )


# ------------------------------------------------------------------ reading


@dataclass
class RegressionInputs:
    """The arrays of a regression search, read from a view.

    Attributes:
        inputs: the :class:`fiftyone_prime.integration.reading.fields.SearchInputs`
            of the new model (rows: samples with a label and both predictions)
        baseline_correct: per row, whether the baseline is right
    """

    inputs: Union[fpf.SearchInputs, fpu.UnitInputs]
    baseline_correct: np.ndarray

    @property
    def sources(self) -> list:
        """The tag sources read."""
        return self.inputs.sources

    @property
    def groups(self):
        """The group (class) of each row."""
        inputs = self.inputs
        return inputs.labels if isinstance(inputs, fpu.UnitInputs) else inputs.groups


def read_regression_inputs(
    samples,
    label_field: str,
    baseline_field: str,
    pred_field: str,
    tags_field,
    reuse: bool = True,
    spec: Optional[fpu.UnitSpec] = None,
) -> RegressionInputs:
    """Checks the fields and reads them in one pass (from the input cache
    when ``reuse`` and nothing changed; a fresh read replaces the entry).
    With ``spec`` (a multilabel classifier's units, whose ``baseline_field``
    is the baseline) the units are read with
    :func:`fiftyone_prime.integration.reading.units.read_units`, both
    outcomes at once.

    Raises:
        TypeError: if a field is not a ``Classification`` field (both
            prediction fields must be of the same kind)
        ValueError: if a field is missing, the two fields are the same, or
            the two models predicted on different samples
    """
    if baseline_field == pred_field:
        raise ValueError(
            f"`baseline_field` and `pred_field` are the same field '{pred_field}'; "
            "compare two models' predictions"
        )
    if spec is not None:
        n_new = int(samples.exists(label_field).exists(pred_field).count())
        n_base = int(samples.exists(label_field).exists(baseline_field).count())
        n_both = int(samples.exists(label_field).exists(pred_field).exists(baseline_field).count())
        _check_same_samples(n_new, n_base, n_new - n_both, pred_field, baseline_field)
        sources = fpu.unit_tag_sources(samples, spec, tags_field)
        inputs, how = load_unit_inputs(samples, spec, sources, reuse=reuse)
        logger.info("Units %s in %.2fs %s", how.source, how.seconds, how.reason)
        return RegressionInputs(inputs, inputs.baseline_correct)
    fpf.validate_classification_field(samples, label_field, "label_field")
    fpf.validate_classification_field(samples, baseline_field, "baseline_field")
    fpf.validate_classification_field(samples, pred_field, "pred_field")
    path = f"{baseline_field}.label"
    inputs, how = load_search_inputs(
        samples, label_field, pred_field, tags_field, baseline_field=baseline_field, reuse=reuse
    )
    logger.info("Inputs %s in %.2fs %s", how.source, how.seconds, how.reason)
    baseline = inputs.extra[path]
    # The samples each model predicted on (among those with a label) must be the same.
    n_base = int(samples.exists(label_field).exists(baseline_field).count())
    no_base = int(np.equal(baseline, None).sum())
    _check_same_samples(inputs.num_used, n_base, no_base, pred_field, baseline_field)
    return RegressionInputs(inputs, inputs.labels == baseline)


def _check_same_samples(n_new, n_base, only_new, pred_field, baseline_field) -> None:
    """Raises unless both models predicted on the same labelled samples."""
    if only_new or n_base != n_new:
        raise ValueError(
            f"The two models predicted on different samples: {n_new} labelled samples "
            f"have a '{pred_field}' prediction and {n_base} a '{baseline_field}' prediction "
            f"({only_new} have only the first). Compare them on the same samples, "
            f"e.g. samples.exists('{baseline_field}').exists('{pred_field}')"
        )


#: The settings of a detection evaluation that decide which objects match:
#: two evaluations compared object by object must agree on them.
MATCHING_SETTINGS = ("method", "iou", "classwise", "iscrowd", "use_masks", "use_boxes", "tolerance")


def object_units(samples, baseline_eval_key: str, eval_key: str, units: Optional[str]):
    """The :class:`fiftyone_prime.integration.reading.units.UnitSpec` of the
    baseline's and the new model's evaluations when they are detection
    evaluations compared object by object, ``None`` when they are
    classification evaluations (compared sample by sample). Reads nothing but the
    evaluations' configs.

    Raises:
        ValueError: the evaluations are of different kinds, of different
            ground-truth fields or matching settings, of the same
            predictions, or ``units`` does not fit
    """
    specs = [
        fpu.resolve_units(samples, eval_key=key, units=units)
        for key in (baseline_eval_key, eval_key)
    ]
    base, new = specs
    if base.eval_type != new.eval_type:
        raise ValueError(
            f"Evaluations '{baseline_eval_key}' ({base.eval_type}) and '{eval_key}' "
            f"({new.eval_type}) are of different kinds; compare two classification or two "
            "detection evaluations"
        )
    if not new.is_objects:
        return None
    if new.units != fpu.GT:
        raise ValueError(
            f"`units='{new.units}'`: regressions compare the two models on the same units, "
            "and each model has its own predicted objects; use units='gt' (ground-truth "
            "objects, right when matched)"
        )
    if base.gt_field != new.gt_field:
        raise ValueError(
            f"Evaluations '{baseline_eval_key}' and '{eval_key}' evaluate different "
            f"ground-truth fields ('{base.gt_field}' and '{new.gt_field}'); object-level "
            "regressions compare two evaluations of the same ground truth"
        )
    root = samples._root_dataset
    configs = [root.get_evaluation_info(k).config for k in (baseline_eval_key, eval_key)]
    differ = [
        f"{name} {getattr(configs[0], name, None)!r} != {getattr(configs[1], name, None)!r}"
        for name in MATCHING_SETTINGS
        if getattr(configs[0], name, None) != getattr(configs[1], name, None)
    ]
    if differ:
        raise ValueError(
            f"Evaluations '{baseline_eval_key}' and '{eval_key}' match objects differently "
            f"({'; '.join(differ)}); evaluate both models with the same settings "
            "(evaluate_detections(..., iou=...)) to compare them object by object"
        )
    if base.pred_field == new.pred_field:
        raise ValueError(
            f"Evaluations '{baseline_eval_key}' and '{eval_key}' evaluate the same predictions "
            f"'{new.pred_field}' with the same settings; compare two models' evaluations"
        )
    return base, new


def read_object_regression_inputs(
    samples, spec: fpu.UnitSpec, baseline_eval_key: str, tags_field
) -> RegressionInputs:
    """Reads the ground-truth objects of the new model's evaluation ``spec``
    (groups, outcomes, tags from object attributes and image fields) with
    each one's outcome under ``baseline_eval_key``, in one pass.

    Raises:
        ValueError: an object is a unit of one evaluation but was not
            evaluated by the other (the models were evaluated on different
            samples)
    """
    sources = fpu.unit_tag_sources(samples, spec, tags_field)
    inputs = fpu.read_units(samples, spec, sources, object_paths=[baseline_eval_key])
    outcome = inputs.object_extra[baseline_eval_key]
    evaluated = np.isin(outcome, ["tp", "fn"])
    if not evaluated.all():
        raise ValueError(
            f"{int((~evaluated).sum())} of the {inputs.num_used} ground-truth objects evaluated "
            f"by '{spec.eval_key}' were not evaluated by '{baseline_eval_key}'; evaluate both "
            "models on the same samples"
        )
    return RegressionInputs(inputs, outcome == "tp")


# ------------------------------------------------------------------ the run


def check_is_regression_run(dataset, run_key: str) -> None:
    """Raises unless ``run_key`` is a regression run of the dataset."""
    check_run(dataset, run_key, REGRESSIONS)


def list_regression_runs(dataset) -> list[str]:
    """The keys of the dataset's regression runs, sorted."""
    return list_runs(dataset, REGRESSIONS)


def load_regressions(dataset, run_key: str = RUN_KEY) -> RegressionResults:
    """Loads the results of a regression run (validated, and reloaded when
    another process changed the run since they were cached)."""
    return load_run(dataset, run_key, REGRESSIONS)


def delete_regressions(dataset, run_key: str) -> None:
    """Deletes a regression run and exactly the saved views it created."""
    delete_run(dataset, run_key, REGRESSIONS)


def _validate_new_key(dataset, run_key, overwrite) -> None:
    """:func:`fiftyone_prime.integration.runs.run_store.validate_new_run_key` for
    a regression run."""
    validate_new_run_key(dataset, run_key, overwrite, REGRESSIONS)


def regression_view(samples, config, mode, sources=None):
    """The samples of the mode's class carrying every tag, with both
    predictions (``sources``: the run's tag sources, resolved when not given)."""
    if sources is None:
        sources = fpf.tag_sources(samples, config.tags_fields)
    source_of = {s.field: s for s in sources}
    expr = (
        (F(f"{config.label_field}.label") == F.literal(mode.group))
        & (F(f"{config.pred_field}.label") != None)  # noqa: E711
        & (F(f"{config.baseline_field}.label") != None)  # noqa: E711
    )
    by_field: dict[str, list[str]] = {}
    for field, label in zip(mode.tag_fields, mode.tag_labels):
        by_field.setdefault(field, []).append(label)
    for field, labels in by_field.items():
        expr &= source_of[field].match_expression(labels)
    return samples.match(expr)


@writes_run("regression search")
def find_regressions(
    samples,
    *,
    baseline_field: str = "predictions_v1",
    pred_field: str = "predictions_v2",
    label_field: str = LABEL_FIELD,
    tags_field: Union[str, Sequence[str]] = TAGS_FIELD,
    run_key: str = RUN_KEY,
    baseline_eval_key: Optional[str] = None,
    eval_key: Optional[str] = None,
    units: Optional[str] = None,
    min_size: int = DEFAULT_PARAMS.min_size,
    min_drop: float = DEFAULT_PARAMS.min_drop,
    min_gain: float = DEFAULT_PARAMS.min_gain,
    max_tags: int = DEFAULT_PARAMS.max_tags,
    minimal: bool = DEFAULT_PARAMS.minimal,
    alpha: Optional[float] = DEFAULT_PARAMS.alpha,
    error_control: str = DEFAULT_PARAMS.error_control,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    reuse_inputs: bool = True,
    progress=None,
    confidence_thresh: Optional[float] = None,
) -> RegressionResults:
    """Finds where a new model regressed against a baseline, per class, as
    minimal tag sets, and saves them as a run with a view per mode.

    With ``change = acc_new - acc_baseline``, a tag set of a class is a
    regression mode when it has ``>= min_size`` samples, its change is at
    least ``min_drop`` below the class's, removing any of its tags raises
    the change by ``>= min_gain``, and (``minimal``) it holds no smaller
    mode; see :func:`fiftyone_prime.core.find_regressions` for the exact
    definition and the conditional test. Each mode shows both models'
    accuracies on the set and on the class.

    Examples::

        import fiftyone_prime as fp

        results = fp.find_regressions(
            dataset, baseline_field="resnet50", pred_field="vit_b16"
        )
        print(results.summary())

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        baseline_field ("predictions_v1"): the baseline's ``Classification`` field
        pred_field ("predictions_v2"): the new model's ``Classification`` field
        label_field ("ground_truth"): the ground-truth ``Classification`` field
        tags_field ("prime_tags"): the tag field(s), as in
            :func:`fiftyone_prime.find_failure_modes`
        run_key ("prime_regression"): the key of the run
        baseline_eval_key (None), eval_key (None): classification
            evaluation runs (``evaluate_classifications``) whose prediction
            fields to compare instead of ``baseline_field`` and
            ``pred_field``; their ground truth must be ``label_field``. Or
            two detection evaluations (``evaluate_detections``) of the same
            ground-truth field with the same matching settings (IoU, method,
            classwise, crowd attribute), compared object by object
            (``units="gt"``); ``label_field`` is then their ground truth
        units (None): the units compared. With detection evaluations,
            ``"gt"`` (the default): ground-truth objects, right under an
            evaluation when matched (crowd objects left out); tags may then
            also be object attributes by their path
            (``"ground_truth.detections.attrs"``), and each mode's view holds
            exactly its objects, with both models' predictions. With a
            multilabel classifier (the three fields ``Classifications``), as
            in :func:`fiftyone_prime.find_failure_modes`: ``"gt"`` (the
            default) compares the misses of present classes, ``"pred"`` the
            false alarms of the classes either model predicts (a unit is
            right under a model when its prediction of the class's presence
            is, so the new model's misses of classes the baseline predicted
            count there too); each mode's view holds a sample per unit
        min_size, min_drop, min_gain, max_tags, minimal, alpha,
            error_control: the definition's thresholds, the level and what it
            bounds (``"fdr"``, ``"fdr_by"`` or ``"fwer"``), as in
            :func:`fiftyone_prime.core.find_regressions`
        save_views (True): whether to save a view per mode
        max_views (2000): the most saved views (largest drops first)
        overwrite (False): whether to replace a regression run with that key
        reuse_inputs (True): whether to reuse the inputs cached by an earlier
            search of the same view and fields while no sample changed
            (``False`` reads afresh and replaces the cached entry)
        progress (None): a FiftyOne ``progress`` argument
        confidence_thresh (None): for a multilabel classifier, the least
            confidence of a prediction that counts, as in
            :func:`fiftyone_prime.find_failure_modes`

    Returns:
        a :class:`RegressionResults`

    Raises:
        ValueError: a field is missing, the models predicted on different
            samples, the evaluations are of different ground-truth fields or
            matching settings, the key is taken (or not a regression run, with
            ``overwrite``), or a view name is taken; nothing is written then
        TypeError: a field has the wrong type
    """
    # The keywords in SearchParams' field order (SearchParams.names()).
    params = SearchParams(min_size, min_drop, min_gain, max_tags, minimal, alpha, error_control)
    return search_regressions(
        samples,
        params,
        baseline_field=baseline_field,
        pred_field=pred_field,
        label_field=label_field,
        tags_field=tags_field,
        run_key=run_key,
        baseline_eval_key=baseline_eval_key,
        eval_key=eval_key,
        units=units,
        save_views=save_views,
        max_views=max_views,
        overwrite=overwrite,
        reuse_inputs=reuse_inputs,
        progress=progress,
        confidence_thresh=confidence_thresh,
    )


def search_regressions(
    samples,
    params: SearchParams = DEFAULT_PARAMS,
    *,
    baseline_field: str = "predictions_v1",
    pred_field: str = "predictions_v2",
    label_field: str = "ground_truth",
    tags_field: Union[str, Sequence[str]] = "prime_tags",
    run_key: str = RUN_KEY,
    baseline_eval_key: Optional[str] = None,
    eval_key: Optional[str] = None,
    units: Optional[str] = None,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    reuse_inputs: bool = True,
    progress=None,
    confidence_thresh: Optional[float] = None,
) -> RegressionResults:
    """:func:`find_regressions` with the search parameters as one
    :class:`SearchParams`: what the operator and the CLI call; the object is
    passed on unchanged to the core search and the run config."""
    if not isinstance(params, SearchParams):
        raise TypeError(f"`params` must be a SearchParams; got {type(params).__name__}")
    fpf.check_sample_collection(samples, "find_regressions")
    specs = None  # object-level: the baseline's and the new model's evaluations
    spec = None  # the units compared, when not samples label to label
    if baseline_eval_key is not None or eval_key is not None:
        if baseline_eval_key is None or eval_key is None:
            raise ValueError("Pass both `baseline_eval_key` and `eval_key`, or neither")
        specs = object_units(samples, baseline_eval_key, eval_key, units)
        spec = None if specs is None else specs[1]
    elif fpu.is_multilabel(
        samples, label_field=label_field, baseline_field=baseline_field, pred_field=pred_field
    ):
        spec = fpu.multilabel_spec(
            samples, label_field, pred_field, units, confidence_thresh, baseline_field
        )
    elif units not in (None, fpu.SAMPLES):
        raise ValueError(
            f"`units='{units}'` needs two detection evaluations (`baseline_eval_key` and "
            "`eval_key`) of the same ground truth, or a multilabel classifier (the label "
            "and both prediction fields Classifications fields)"
        )
    if confidence_thresh is not None and (spec is None or not spec.is_multilabel):
        raise ValueError(
            "`confidence_thresh` applies to multilabel classifiers only (the label and both "
            "prediction fields Classifications fields)"
        )
    run = start_run(
        samples,
        run_key,
        REGRESSIONS if spec is None else OBJECT_REGRESSIONS,
        overwrite=overwrite,
        save_views=save_views,
        max_views=max_views,
        progress=progress,
    )
    if specs is not None:
        base, spec = specs
        read = read_object_regression_inputs(samples, spec, baseline_eval_key, tags_field)
        unit_config = dict(
            unit_spec=spec.to_dict(),
            unit_tag_kinds=dict(read.inputs.kinds),
            baseline_eval_key=baseline_eval_key,
        )
        fields = (spec.gt_field, base.pred_field, spec.pred_field)
        return _search(samples, run, params, read, *fields, save_views, max_views, unit_config)
    if baseline_eval_key is not None:
        for role, key in (("baseline_eval_key", baseline_eval_key), ("eval_key", eval_key)):
            gt, field = fpf.resolve_eval_key(samples, key, role)
            if gt != label_field:
                raise ValueError(
                    f"`{role}`: evaluation '{key}' compares with '{gt}', not with "
                    f"label_field '{label_field}'"
                )
            if role == "eval_key":
                pred_field = field
            else:
                baseline_field = field
    read = read_regression_inputs(
        samples, label_field, baseline_field, pred_field, tags_field, reuse_inputs, spec
    )
    unit_config = None
    if spec is not None:  # a multilabel classifier's (sample, class) pairs
        unit_config = dict(unit_spec=spec.to_dict(), unit_tag_kinds=dict(read.inputs.kinds))
    return _search(
        samples,
        run,
        params,
        read,
        label_field,
        baseline_field,
        pred_field,
        save_views,
        max_views,
        unit_config,
    )


def _search(
    samples,
    run,
    params,
    read: RegressionInputs,
    label_field,
    baseline_field,
    pred_field,
    save_views,
    max_views,
    unit_config=None,
) -> RegressionResults:
    """Searches what ``read`` holds and finishes ``run``, for any unit kind
    (``unit_config``: what a run over units' config also stores)."""
    inputs = read.inputs
    multiple = len(inputs.sources) > 1
    names = [fpf.tag_display_name(k, multiple) for k in inputs.tag_keys]
    outcome = run_regression_search(
        inputs.tags,
        read.baseline_correct,
        inputs.correct,
        read.groups,
        tag_names=names,
        params=params,
    )
    records = [saved_mode(SavedRegressionMode, m, inputs.tag_keys) for m in outcome.regressions]
    config = RegressionRunConfig(
        label_field=label_field,
        baseline_field=baseline_field,
        pred_field=pred_field,
        tags_fields=[s.field for s in inputs.sources],
        search_params=params,
        procedure=outcome.significance.procedure,
        save_views=save_views,
        max_views=max_views,
        **(unit_config or {}),
    )
    results = run.finish(config, records, read, significance=outcome.significance.to_dict())
    logger.info(
        "Found %d regression modes (%d more met the definition but are not significant)",
        len(results),
        outcome.significance.num_not_significant,
    )
    return results


def _regression_views(samples, results, sources=None):
    config = results.config
    if sources is None:
        sources = fpf.tag_sources(samples, config.tags_fields)
    return lambda mode: regression_view(samples, config, mode, sources)


#: Regression runs: where a new model got worse than a baseline.
REGRESSIONS = register(
    RunKind(
        name="regressions",
        label="regression run",
        config_cls=RegressionRunConfig,
        results_cls=RegressionResults,
        mode_noun="regression modes",
        views=_regression_views,
        describe=lambda results, mode: describe_regression(mode, results.key),
        delete_call="fp.delete_regressions(dataset, '{key}')",
    )
)


#: Regression runs over units (the ground-truth objects of two detection
#: evaluations, or a multilabel classifier's (sample, class) pairs):
#: regression runs whose config also stores ``unit_spec`` and
#: ``unit_tag_kinds`` (and ``baseline_eval_key`` for objects); their views
#: hold exactly each mode's units.
OBJECT_REGRESSIONS = register(
    over_units(
        REGRESSIONS,
        describe_regression,
        name="object_regressions",
        label="object-level regression run",
        results_cls=ObjectRegressionResults,
    )
)
