"""Failure modes of any FiftyOne evaluation: units and outcomes read from an
evaluation run (or a boolean outcome), searched, stored and saved as views
that hold exactly each mode's units.

:func:`find_evaluation_failure_modes` is what
``fp.find_failure_modes(samples, eval_key=..., units=..., correct_field=...)``
runs. See :mod:`fiftyone_prime.integration.reading.units` for what the units are.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from typing import ClassVar, Optional, Union

import numpy as np

from fiftyone import ViewField as F

from fiftyone_prime.core.defaults import RUN_KEY, TAGS_FIELD
from fiftyone_prime.core.search import run_search
from fiftyone_prime.core.types import DEFAULT_PARAMS, ScoreParams, SearchParams

from ..reading import fields as fpf
from ..reading import units as fpu
from ..reading.input_cache import load_unit_inputs
from ..reading.run_inputs import (  # noqa: F401 (CropFiles and run_tag_sources were defined here)
    CropFiles,
    read_run_units,
    run_tag_sources,
)
from ..runs import views as fpv
from ..runs.classes import (
    FAILURE_MODES,
    FailureModeResults,
    FailureModeRunConfig,
    SavedFailureMode,
    input_counts,
)
from ..runs.run_guard import writes_run
from ..runs.run_kinds import RunKind, kind_of, register
from ..runs.run_results import _count, saved_mode
from ..runs.run_store import start_run

logger = logging.getLogger(__name__)

#: What :func:`evaluation_state` says of a run's evaluation.
CURRENT, DELETED, RERUN, NO_EVALUATION = "current", "deleted", "rerun", "none"


@writes_run("search")
def find_evaluation_failure_modes(
    samples,
    *,
    eval_key: Optional[str] = None,
    units: Optional[str] = None,
    correct_field=None,
    label_field: Optional[str] = None,
    pred_field: Optional[str] = None,
    tags_field: Union[str, Sequence[str]] = TAGS_FIELD,
    run_key: str = RUN_KEY,
    params: SearchParams = DEFAULT_PARAMS,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    progress=None,
    score_field=None,
    higher_is_worse: Optional[bool] = None,
    group_field: Optional[str] = None,
    confidence_thresh: Optional[float] = None,
    reuse_inputs: bool = True,
) -> EvalFailureModeResults:
    """Finds failure modes over the units of an evaluation run.

    Examples::

        import fiftyone_prime as fp

        dataset.evaluate_detections("predictions", gt_field="ground_truth", eval_key="eval")
        results = fp.find_failure_modes(
            dataset, eval_key="eval", units="gt",
            tags_field="ground_truth.detections.attrs", run_key="det",
        )
        view = results.load_view(0)  # exactly the missed-or-found objects of mode 0

    Args:
        samples: a dataset or view
        eval_key (None): the evaluation whose units and outcomes are read
            (``evaluate_classifications``: samples; ``evaluate_detections``:
            objects)
        units (None): ``"samples"``, ``"gt"`` (ground-truth objects, wrong
            when missed; the default for detections) or ``"pred"`` (predicted
            objects, wrong when false positives)
        correct_field (None): a boolean field or object attribute path, or a
            ``ViewExpression`` on the unit, used as the outcome instead of the
            evaluation's
        label_field (None), pred_field (None): with ``eval_key``, optional
            and must match the evaluation's fields; without it,
            ``label_field`` groups the units of ``correct_field``; without
            either, two ``Classifications`` fields: a multilabel
            classifier, whose units are (sample, class) pairs (``units``
            ``"gt"``, the default: misses; ``"pred"``: false alarms; see
            :mod:`fiftyone_prime.integration.reading.units`)
        tags_field ("prime_tags"): image-level tag fields, object attributes
            by their path (``"ground_truth.detections.attrs"``: a list of
            strings, a string, a bool or a Classification(s)), or a list of
            both; objects inherit their image's tags
        run_key ("prime"): the key to store the run under
        params (the defaults): the :class:`fiftyone_prime.SearchParams`
        save_views (True), max_views, overwrite, progress: as in
            :func:`fiftyone_prime.find_failure_modes`
        score_field (None), higher_is_worse (None), group_field (None): a
            number per unit instead of right or wrong, as in
            :func:`fiftyone_prime.find_failure_modes` (see
            :func:`fiftyone_prime.integration.reading.units.resolve_units`)
        confidence_thresh (None): multilabel units: the least confidence of
            a prediction that counts
        reuse_inputs (True): whether to reuse the units cached by an earlier
            read of the same view while no sample changed (``False`` reads
            afresh and replaces the cached entry)

    Returns:
        an :class:`EvalFailureModeResults` (a
        :class:`~fiftyone_prime.integration.failure_modes.scores.ScoreModeResults`
        for a score)

    Raises:
        ValueError: a missing evaluation key, units that do not fit, an
            attribute path that does not exist, an existing run key; nothing
            is written then
        TypeError: an unsupported evaluation type or a field of the wrong type
    """
    if not isinstance(params, SearchParams):
        raise TypeError(f"`params` must be a SearchParams; got {type(params).__name__}")
    spec = fpu.resolve_units(
        samples,
        eval_key=eval_key,
        units=units,
        correct_field=correct_field,
        label_field=label_field,
        pred_field=pred_field,
        score_field=score_field,
        higher_is_worse=higher_is_worse,
        group_field=group_field,
        confidence_thresh=confidence_thresh,
    )
    if spec.is_scored and not isinstance(params, ScoreParams):
        params = ScoreParams(**params.to_dict())  # the same values, in the score's units
    kind = unit_kind(spec, params)
    run = start_run(
        samples,
        run_key,
        kind,
        overwrite=overwrite,
        save_views=save_views,
        max_views=max_views,
        progress=progress,
    )
    sources = fpu.unit_tag_sources(samples, spec, tags_field)
    logger.info("Reading the %s of %s...", spec.noun, _describe_spec(spec))
    inputs, _ = load_unit_inputs(samples, spec, sources, reuse=reuse_inputs)
    multiple = len(sources) > 1
    names = [fpf.tag_display_name(k, multiple) for k in inputs.tag_keys]
    logger.info("Searching %d tags over %d %s...", len(names), inputs.num_used, spec.noun)
    records, significance = kind.search(spec, inputs, names, params)
    config = _config(
        spec,
        inputs.kinds,
        label_field=spec.group_field,
        pred_field=spec.pred_field,
        tags_fields=[s.field for s in sources],
        search_params=params.to_dict(),
        procedure=significance.procedure,
        save_views=save_views,
        max_views=max_views,
    )
    results = run.finish(config, records, inputs, significance=significance.to_dict())
    logger.info(
        "Found %d failure modes over %d %s (%d more met the definition but are not significant)",
        len(results),
        inputs.num_used,
        spec.noun,
        significance.num_not_significant,
    )
    return results


def unit_kind(spec: fpu.UnitSpec, params: SearchParams = DEFAULT_PARAMS):
    """The kind of a run over the units of ``spec``, as :func:`kind_of`
    decides it from the config the run will store: evaluation units, or a
    kind that refines them (a score's)."""
    return kind_of(_config(spec, {}, search_params=params))


def search_units(spec: fpu.UnitSpec, inputs, names, params: SearchParams):
    """How evaluation-unit runs search their units (``RunKind.search``):
    right or wrong outcomes.

    Returns:
        ``(records, significance)``: the saved modes and the search's
        significance record
    """
    outcome = run_search(inputs.tags, inputs.correct, inputs.labels, tag_names=names, params=params)
    records = [saved_mode(SavedFailureMode, m, inputs.tag_keys) for m in outcome.failure_modes]
    return records, outcome.significance


def _describe_spec(spec: fpu.UnitSpec) -> str:
    if spec.is_multilabel:
        return f"'{spec.gt_field}' against '{spec.pred_field}'"
    if spec.is_scored and spec.eval_key is None:
        return f"score {fpu._describe_score(spec)}"
    if spec.eval_key is None:
        return f"'{spec.group_field}' with outcome {spec.correct_field!r}"
    what = {fpu.GT: "ground truth", fpu.PRED: "predictions", fpu.SAMPLES: "samples"}[spec.units]
    if spec.is_scored:
        what += f", score {fpu._describe_score(spec)}"
    return f"evaluation '{spec.eval_key}' ({spec.eval_method}, {what})"


# -------------------------------------------------------------------- views


def unit_view(samples, spec: fpu.UnitSpec, sources, kinds: dict, group, tag_keys):
    """The view holding exactly the units of ``group`` that carry every tag.

    Sample units: the matching samples. Object units: the samples with at
    least one matching object, their ``group_field`` filtered to exactly
    those objects (units only: evaluated, not crowd), so the number of
    objects in the view is the mode's size.

    Args:
        samples: the view the run searched
        spec: the :class:`fiftyone_prime.integration.reading.units.UnitSpec`
        sources: the :class:`fiftyone_prime.integration.reading.units.UnitTagSource` list
        kinds: per tag field, the kind read (as recorded by the run)
        group: the group label
        tag_keys: ``(field, label)`` per tag of the mode
    """
    by_field: dict[str, list[str]] = {}
    for field, label in tag_keys:
        by_field.setdefault(field, []).append(label)
    source_of = {s.field: s for s in sources}
    image_expr = None
    object_expr = None
    for field, labels in by_field.items():
        source = source_of[field]
        if source.level == "image":
            expr = source.tag_source.match_expression(labels)
            image_expr = expr if image_expr is None else image_expr & expr
        else:
            expr = source.object_expression(labels, kinds.get(field))
            object_expr = expr if object_expr is None else object_expr & expr
    if spec.is_multilabel:
        return multilabel_view(samples, spec, group, image_expr)
    if not spec.is_objects:
        expr = spec.sample_filter()
        if spec.is_grouped:
            expr &= F(spec.group_path) == F.literal(group)
        if image_expr is not None:
            expr &= image_expr
        return samples.match(expr)
    view = samples if image_expr is None else samples.match(image_expr)
    expr = spec.unit_filter() & (F("label") == F.literal(group))
    if object_expr is not None:
        expr &= object_expr
    return view.filter_labels(spec.group_field, expr, only_matches=True)


def multilabel_view(samples, spec: fpu.UnitSpec, group, image_expr=None):
    """The samples of a multilabel classifier's units of class ``group``
    (those carrying the image tags ``image_expr``), every label field shown
    with only that class's labels.

    ``"gt"`` units: the samples whose ground truth lists the class;
    ``"pred"`` units: those where a compared model predicts it (at least
    ``confidence_thresh`` confident). Samples lacking the ground truth or a
    prediction field are not units. The predictions keep the class's labels
    below the threshold too, with their confidence, so a miss shows what the
    model said. The view holds one sample per unit: its size is the mode's.
    """
    is_class = F("label") == F.literal(group)
    models = [spec.pred_field] + ([spec.baseline_field] if spec.baseline_field else [])
    view = samples if image_expr is None else samples.match(image_expr)
    for field in (spec.gt_field, *models):
        view = view.exists(field)
    if spec.units == fpu.GT:
        has = F(f"{spec.gt_field}.classifications").filter(is_class).length() > 0
    else:
        counts = is_class
        if spec.confidence_thresh is not None:
            counts = is_class & (F("confidence") >= spec.confidence_thresh)
        has = None
        for field in models:
            expr = F(f"{field}.classifications").filter(counts).length() > 0
            has = expr if has is None else has | expr
    view = view.match(has)
    for field in (spec.gt_field, *models):
        view = view.filter_labels(field, is_class, only_matches=False)
    return view


def multilabel_description(spec: fpu.UnitSpec) -> str:
    """A multilabel classifier's units in words (a regression's, with
    ``spec.baseline_field``: right or wrong under each model)."""
    thresh = spec.confidence_thresh
    counts = "" if thresh is None else f" with confidence >= {thresh:g}"
    if spec.baseline_field is None:
        model = f"'{spec.pred_field}'"
        missed = f"wrong when {model} does not predict them{counts} (misses)"
        alarm = f"wrong when absent from '{spec.gt_field}' (false alarms)"
    else:
        model = f"'{spec.baseline_field}' (baseline) or '{spec.pred_field}' (new)"
        missed = f"right under a model when it predicts them{counts}: {model}"
        alarm = "right under a model when its prediction of the class's presence is right"
    if spec.units == fpu.GT:
        return f"(sample, class) pairs of the classes present in '{spec.gt_field}', {missed}"
    return f"(sample, class) pairs of the classes {model} predicts{counts}, {alarm}"


def evaluation_state(dataset, spec: fpu.UnitSpec) -> str:
    """Whether the evaluation a run read still exists as it was.

    Returns:
        ``"current"``, ``"deleted"`` (no evaluation with that key),
        ``"rerun"`` (the key now holds a later evaluation) or ``"none"``
        (the run read no evaluation)
    """
    if not spec.eval_key:
        return NO_EVALUATION
    root = dataset._root_dataset
    if spec.eval_key not in root.list_evaluations():
        return DELETED
    info = root.get_evaluation_info(spec.eval_key)
    return CURRENT if fpu.evaluation_stamp(info) == _to_ms(spec.eval_timestamp) else RERUN


def _to_ms(stamp: Optional[str]) -> Optional[str]:
    """A stored stamp to the millisecond (runs stored before stamps were cut to it)."""
    if not stamp:
        return stamp
    t = datetime.datetime.fromisoformat(stamp)
    return t.replace(microsecond=t.microsecond // 1000 * 1000).isoformat()


def run_spec(config) -> Optional[fpu.UnitSpec]:
    """The :class:`fiftyone_prime.integration.reading.units.UnitSpec` a run's config
    stores (``unit_spec``), or ``None`` for a run over label and prediction
    fields.

    Runs over evaluation units use :class:`fiftyone_prime.FailureModeRunConfig`
    itself, with two more attributes: ``unit_spec`` (which evaluation, when
    it ran, which units, the outcome) and ``unit_tag_kinds`` (per tag field,
    the kind of values read). One config type for both kinds of runs keeps
    FiftyOne's run validation (which refuses to overwrite a run with one of
    another config type) out of the way when a key changes kind.
    """
    if not EVALUATION_UNITS.includes(kind_of(config)):
        return None
    return fpu.UnitSpec.from_dict(config.unit_spec)


def _config(spec: fpu.UnitSpec, kinds: dict, **kwargs) -> FailureModeRunConfig:
    return FailureModeRunConfig(unit_spec=spec.to_dict(), unit_tag_kinds=dict(kinds), **kwargs)


class EvalFailureModeResults(FailureModeResults):
    """:class:`fiftyone_prime.FailureModeResults` whose units may be objects,
    and which know the evaluation they came from.

    Args:
        num_units (0): candidate units in the view (objects for object units)
        num_crowd (0): crowd ground-truth objects left out
        **kwargs: as in :class:`fiftyone_prime.FailureModeResults`
    """

    _FIELDS: ClassVar[dict] = {"num_units": _count, "num_crowd": _count}

    @classmethod
    def from_inputs(cls, samples, config, key, records, inputs, significance=None):
        """Results of the modes ``records`` found or measured on the units
        ``inputs`` (a :class:`fiftyone_prime.integration.reading.units.UnitInputs`)."""
        index: dict = {}  # groups coded by a dict pass instead of sorting every label
        codes = np.fromiter(
            (index.setdefault(g, len(index)) for g in inputs.labels.tolist()),
            np.int64,
            len(inputs.labels),
        )
        sizes = np.bincount(codes, minlength=len(index))
        right = np.bincount(codes, weights=inputs.correct, minlength=len(index))
        groups = {
            str(n): {"size": int(k), "accuracy": float(r / k)}
            for n, k, r in zip(index, sizes, right)
        }
        return cls(
            samples,
            config,
            key,
            failure_modes=records,
            groups=dict(sorted(groups.items())),
            **input_counts(inputs),
            significance=significance,
            num_units=inputs.num_units,
            num_crowd=inputs.num_crowd,
        )

    def applied_config(self, samples, **kwargs) -> FailureModeRunConfig:
        """The config of a run that re-measures these modes on the units of
        ``samples``, read as this run read them: the same evaluation key (the
        target's own evaluation, which must exist), units and tag paths.

        Raises:
            ValueError: if the target has no evaluation with the run's key
        """
        dataset = samples._root_dataset
        unit_spec = dict(self.config.unit_spec)
        if unit_spec.get("eval_key"):  # the target's own evaluation, by the same key
            key = unit_spec["eval_key"]
            if key not in dataset.list_evaluations():
                raise ValueError(
                    f"Run '{self.key}' read evaluation '{key}', which dataset "
                    f"'{dataset.name}' does not have; evaluate it there with the same key first"
                )
            unit_spec["eval_timestamp"] = fpu.evaluation_stamp(dataset.get_evaluation_info(key))
        config = super().applied_config(samples, **kwargs)
        config.unit_spec = unit_spec
        config.unit_tag_kinds = dict(self.config.unit_tag_kinds)
        return config

    @property
    def spec(self) -> fpu.UnitSpec:
        """The run's :class:`fiftyone_prime.integration.reading.units.UnitSpec`."""
        return fpu.UnitSpec.from_dict(self.config.unit_spec)

    @property
    def units(self) -> str:
        """``"samples"``, ``"gt"`` or ``"pred"``."""
        return self.spec.units

    @property
    def eval_key(self) -> Optional[str]:
        """The evaluation this run read, if any."""
        return self.spec.eval_key

    @property
    def units_description(self) -> str:
        """The units in words."""
        spec = self.spec
        where = f"evaluation '{spec.eval_key}'" if spec.eval_key else f"'{spec.group_field}'"
        outcome = " (outcome: correct_field)" if spec.correct_field is not None else ""
        if spec.is_multilabel:
            return multilabel_description(spec)
        if spec.units == fpu.GT:
            return f"ground-truth objects of {where}, wrong when missed{outcome}"
        if spec.units == fpu.PRED:
            return f"predicted objects of {where}, wrong when false positives{outcome}"
        return f"samples of {where}{outcome}"

    @property
    def evaluation_state(self) -> str:
        """See :func:`evaluation_state`."""
        return evaluation_state(self.samples, self.spec)

    def evaluation_warning(self) -> Optional[str]:
        """A sentence saying the evaluation was deleted or re-run, or ``None``."""
        state = self.evaluation_state
        key = self.eval_key
        if state == DELETED:
            return (
                f"The evaluation '{key}' that run '{self.key}' read has been deleted: its "
                "failure modes describe an evaluation that no longer exists, and their saved "
                "views (which filter on its fields) may be empty"
            )
        if state == RERUN:
            return (
                f"The evaluation '{key}' has been re-run since run '{self.key}' read it: the "
                "failure modes describe the earlier evaluation; run the search again "
                "(overwrite=True) to update them"
            )
        return None

    def load_view(self, mode):
        warning = self.evaluation_warning()
        if warning:
            logger.warning(warning)
        return super().load_view(mode)

    @property
    def unit_noun(self) -> str:
        return self.spec.noun

    def _units_lines(self) -> list[str]:
        warning = self.evaluation_warning()
        return [*(["WARNING: " + warning] if warning else []), f"units: {self.units_description}"]

    @classmethod
    def _from_dict(cls, d, samples, config, key):
        results = cls(samples, config, key, **d)
        warning = results.evaluation_warning()
        if warning:
            logger.warning(warning)
        return results


#: The most saved views of a run whose counts are checked after saving (in
#: the run's order); each check is one count query, a pass over the view.
MAX_VIEWS_CHECKED = 20


def check_view_counts(spec: fpu.UnitSpec, views) -> list:
    """Counts the units each saved view holds and warns about every view
    whose count differs from its mode's size (a view must hold exactly its
    mode's units).

    Args:
        spec: the run's :class:`fiftyone_prime.integration.reading.units.UnitSpec`
        views: ``(name, view, size)`` per saved view; the first
            :data:`MAX_VIEWS_CHECKED` are counted

    Returns:
        ``(name, count, size)`` of each view that does not hold its mode
    """
    wrong = []
    for name, view, size in views[:MAX_VIEWS_CHECKED]:
        objects = spec.is_objects and not spec.is_multilabel  # multilabel: a sample per unit
        count = view.count(spec.list_path) if objects else view.count()
        if count != size:
            wrong.append((name, count, size))
    for name, count, size in wrong:
        logger.warning(
            "The saved view '%s' holds %d %s but its failure mode has %d; the view does not "
            "show the mode's units exactly (declare the tag attribute's type with "
            "dataset.add_sample_field and search again)",
            name,
            count,
            spec.noun,
            size,
        )
    return wrong


def _unit_views(samples, results, sources=None):
    """The evaluation-unit kind's views: exactly a mode's units (``sources``:
    the run's unit tag sources, as its search resolved them)."""
    config = results.config
    spec = results.spec
    if sources is None:
        sources = run_tag_sources(samples, config)

    def view(mode):
        keys = list(zip(mode.tag_fields, mode.tag_labels))
        return unit_view(samples, spec, sources, config.unit_tag_kinds, mode.group, keys)

    return view


def over_units(kind: RunKind, describe_mode, **changes) -> RunKind:
    """``kind`` refined to runs over an evaluation's units: their config also
    stores ``unit_spec`` and ``unit_tag_kinds``, their results have ``spec``
    and ``units_description``, and their views hold exactly each mode's units
    (checked after saving).

    Args:
        kind: the kind refined
        describe_mode: ``describe_mode(mode, run_key)``, the text of a mode's
            view, to which its units are added
        **changes: the refined kind's name, label, results class...
    """
    return kind.refined(
        accepts=lambda config: bool(getattr(config, "unit_spec", None)),
        views=_unit_views,
        describe=lambda results, mode: (
            describe_mode(mode, results.key) + f" Units: {results.units_description}."
        ),
        check_views=lambda results, views: check_view_counts(results.spec, views),
        **changes,
    )


#: Failure-mode runs over the units of an evaluation (or a boolean outcome):
#: failure-mode runs whose config also stores ``unit_spec`` and
#: ``unit_tag_kinds``.
EVALUATION_UNITS = register(
    over_units(
        FAILURE_MODES,
        fpv.view_description,
        name="evaluation_units",
        label="evaluation-unit run",
        results_cls=EvalFailureModeResults,
        read_inputs=read_run_units,
        search=search_units,
    )
)


# ------------------------------------------------------------ statistics


def evaluation_failure_mode_stats(
    samples,
    eval_key: str,
    *,
    units: Optional[str] = None,
    tags_field: Union[str, Sequence[str]] = TAGS_FIELD,
    params: SearchParams = DEFAULT_PARAMS,
) -> dict:
    """Searches an evaluation's units without storing anything, and returns
    how many significant failure modes it has and the largest drop among them
    (for regression and segmentation evaluations, in the score's units).

    What the Model Evaluation panel's PRIME metrics show (see
    :mod:`fiftyone_prime.plugin.evaluation_metrics`).

    Args:
        samples: a dataset or view
        eval_key: the evaluation
        units (None), tags_field ("prime_tags"), params (the defaults): as in
            :func:`find_evaluation_failure_modes`

    Returns:
        ``{"num_failure_modes": int, "max_drop": float (0.0 when none),
        "num_units": int, "units": str}``
    """
    spec = fpu.resolve_units(samples, eval_key=eval_key, units=units)
    if spec.is_scored and not isinstance(params, ScoreParams):
        params = ScoreParams(**params.to_dict())
    sources = fpu.unit_tag_sources(samples, spec, tags_field)
    inputs, _ = load_unit_inputs(samples, spec, sources)
    names = [str(k) for k in inputs.tag_keys]
    modes, _ = unit_kind(spec, params).search(spec, inputs, names, params)
    drops = [m.drop for m in modes if m.drop == m.drop]
    return {
        "num_failure_modes": len(modes),
        "max_drop": float(max(drops)) if drops else 0.0,
        "num_units": inputs.num_used,
        "units": spec.units,
    }


def units_notice(dataset, run_key: str) -> str:
    """A line on a run's units for the App panel (markdown): what they are,
    and a warning when its evaluation was deleted or re-run; ``""`` for
    runs over label and prediction fields."""
    from ..runs.run_store import list_failure_mode_runs, load_failure_modes

    if run_key not in list_failure_mode_runs(dataset):  # e.g. a regression run
        return ""
    return results_notice(load_failure_modes(dataset, run_key))


def results_notice(results) -> str:
    """:func:`units_notice` of loaded results (failure-mode or regression
    results that describe their units)."""
    if not hasattr(results, "units_description"):
        return ""
    text = f"Units: {results.units_description}."
    warning = getattr(results, "evaluation_warning", lambda: None)()
    return text + (f" **{warning}.**" if warning else "")
