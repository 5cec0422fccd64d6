"""The failure-mode search over a FiftyOne view: read, search, test, save."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Optional, Union

from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD, RUN_KEY, TAGS_FIELD
from fiftyone_prime.core.search import run_search
from fiftyone_prime.core.types import DEFAULT_PARAMS, ScoreParams, SearchParams

from ..reading import fields as fpf
from ..reading import units as fpu
from ..reading.input_cache import load_search_inputs
from ..runs import views as fpv
from ..runs.classes import FAILURE_MODES, FailureModeResults, FailureModeRunConfig, SavedFailureMode
from ..runs.run_guard import writes_run
from ..runs.run_results import saved_mode
from ..runs.run_store import start_run

logger = logging.getLogger(__name__)


def find_failure_modes(
    samples,
    *,
    label_field: str = LABEL_FIELD,
    pred_field: str = PRED_FIELD,
    tags_field: Union[str, Sequence[str]] = TAGS_FIELD,
    run_key: str = RUN_KEY,
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
    eval_key: Optional[str] = None,
    units: Optional[str] = None,
    correct_field=None,
    score_field=None,
    higher_is_worse: Optional[bool] = None,
    group_field: Optional[str] = None,
    confidence_thresh: Optional[float] = None,
) -> FailureModeResults:
    """Finds PRIME failure modes of a classifier on a dataset or view.

    For each ground-truth class, finds the minimal combinations of tags whose
    presence drops the classifier's accuracy (see
    :func:`fiftyone_prime.core.find_failure_modes` for the exact definition),
    keeps those that are significant (each mode has an exact p-value, an
    adjusted p-value and an accuracy interval, see
    :mod:`fiftyone_prime.core.error_control`), stores them as a run on the
    dataset, and saves one view per failure mode (the samples of that class
    carrying every tag of the set, correct and incorrect alike) so teammates
    can open them in the App.

    Examples::

        import fiftyone as fo
        import fiftyone_prime as fp

        dataset = fo.load_dataset("my-dataset")
        results = fp.find_failure_modes(
            dataset.match_tags("validation"),
            label_field="ground_truth",
            pred_field="resnet50",
            tags_field="prime_tags",
            run_key="prime_val",
        )
        print(results.summary())
        session = fo.launch_app(results.load_view(0))

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field ("ground_truth"): the ground-truth
            :class:`fiftyone.core.labels.Classification` field; its labels
            are the groups searched. A
            :class:`fiftyone.core.labels.Classifications` field (with
            ``pred_field`` one too) searches a multilabel classifier: see
            ``units``
        pred_field ("predictions"): the predicted
            :class:`fiftyone.core.labels.Classification` field; a sample is
            correct when its label matches the ground truth
        tags_field ("prime_tags"): the field (or a list of fields) whose labels
            are the tags: a ``Classifications`` field (what
            :func:`fiftyone_prime.compute_tags` writes), a ``Classification``
            or ``Detections`` field, or a list-of-strings field such as
            ``tags``. With several fields, tag names are ``field:label``
        run_key ("prime"): the key under which to store the run; a valid
            Python identifier
        min_size (30): the least number of samples in a failure mode
        min_drop (0.2): the least accuracy drop against the class's accuracy
        min_gain (0.1): the least accuracy gain from removing any nonempty
            subset of the tags (every tag is needed)
        max_tags (3): the largest number of tags in a failure mode
        minimal (True): whether to leave out sets containing a smaller
            failure mode
        alpha (0.05): the significance level: modes whose adjusted p-value
            exceeds it are left out after the exact search. ``None`` keeps
            every mode of the definition, with its p-values
        error_control ("fdr"): what ``alpha`` bounds: ``"fdr"`` (the
            false-discovery rate), ``"fdr_by"`` (the same under any
            dependence) or ``"fwer"`` (the family-wise error rate); see
            :mod:`fiftyone_prime.core.error_control`
        save_views (True): whether to save a view per failure mode
        max_views (:data:`fiftyone_prime.integration.runs.views.DEFAULT_MAX_VIEWS`):
            the most saved views to create; when there are more failure
            modes, the ones with the largest drops get views and the others
            stay in the results without one (the summary says how many)
        overwrite (False): whether to replace an existing run with the same
            key, and the views it saved. Views the run did not create are
            never touched
        reuse_inputs (True): whether to reuse the labels, predictions and
            tags read by an earlier search of the same view while no sample
            of the dataset changed since (see
            :mod:`fiftyone_prime.integration.reading.input_cache`); False always
            reads them afresh
        progress (None): whether to render a progress bar (True/False), use
            the default value ``fiftyone.config.show_progress_bars`` (None),
            or a progress callback function to invoke instead
        eval_key (None): read the units and their outcomes from this
            evaluation run instead of comparing ``label_field`` and
            ``pred_field``: samples of ``evaluate_classifications`` (simple,
            top-k, binary), objects of ``evaluate_detections`` (see
            ``units``). ``label_field``/``pred_field`` are then the
            evaluation's own and may be left out
        units (None): with a detection evaluation, ``"gt"`` (the default:
            ground-truth objects, wrong when missed) or ``"pred"`` (predicted
            objects, wrong when false positives), each grouped by its label;
            ``"samples"`` for classification evaluations. ``tags_field`` may
            then name object attributes by their path
            (``"ground_truth.detections.attrs"``) as well as image-level
            fields, whose tags every object of the image inherits. With a
            multilabel classifier (``Classifications`` fields), the units
            are (sample, class) pairs grouped by class, each pair once:
            ``"gt"`` (the default: misses; each class present in the ground
            truth, wrong when not predicted) or ``"pred"`` (false alarms;
            each class predicted, wrong when absent from the ground truth);
            their tags are their image's
        correct_field (None): the outcome from a boolean field or object
            attribute path, or a ``ViewExpression`` on the unit, instead of
            the evaluation's (or, without ``eval_key``, of the label
            comparison: ``label_field`` then holds the units' groups). See
            :func:`fiftyone_prime.integration.failure_modes.evaluations.find_evaluation_failure_modes`
        score_field (None): search a number per unit instead of right or
            wrong: where is its mean worst? A numeric sample field, a
            numeric object attribute by its full path
            (``"ground_truth.detections.eval_iou"``; units are then those
            objects), or a ``ViewExpression`` on the unit. With
            ``eval_key`` of a regression evaluation (``evaluate_regressions``)
            the score is each sample's error by default; of a segmentation
            evaluation (``evaluate_segmentations``) each sample's accuracy
            (``score_field="precision"`` or ``"recall"`` for the others).
            The thresholds are then in the score's units: ``min_drop`` is
            how much worse a mode's mean is than its group's, ``min_gain``
            how much worse than every subset's. Units whose score is
            missing, NaN or infinite are left out and counted (the summary
            says how many); a detection evaluation's IoU
            (``<objects>.<eval_key>_iou``) scores an unmatched object 0
        higher_is_worse (None): the score's direction: ``True`` for an
            error or a loss (the default), ``False`` for an accuracy or an
            IoU (the default for segmentation evaluations and IoUs)
        group_field (None): with a score of samples, a ``Classification``
            or string field whose values are the groups; by default the
            samples form one group (``label_field``, when given explicitly,
            groups them too), a classification evaluation's samples are
            grouped by its ground truth and objects by their labels
        confidence_thresh (None): with a multilabel classifier, the least
            confidence of a prediction that counts (a prediction without a
            confidence then does not); ``None`` counts every prediction

    Returns:
        a :class:`fiftyone_prime.FailureModeResults` (an
        :class:`fiftyone_prime.EvalFailureModeResults` with ``eval_key``,
        ``units``, ``correct_field`` or ``Classifications`` fields; a
        :class:`~fiftyone_prime.integration.failure_modes.scores.ScoreModeResults`
        for a score)

    Raises:
        ValueError: if a field is missing, the view is empty, the run key
            exists and ``overwrite`` is False, or a view name is taken by a
            saved view of the user's
        TypeError: if a field has the wrong type
    """
    # The keywords in SearchParams' field order (SearchParams.names()); a
    # score's thresholds are in its units (ScoreParams).
    scored = score_field is not None or fpu.scored_evaluation(samples, eval_key)
    cls = ScoreParams if scored else SearchParams
    params = cls(min_size, min_drop, min_gain, max_tags, minimal, alpha, error_control)
    return search_failure_modes(
        samples,
        params,
        label_field=label_field,
        pred_field=pred_field,
        tags_field=tags_field,
        run_key=run_key,
        save_views=save_views,
        max_views=max_views,
        overwrite=overwrite,
        reuse_inputs=reuse_inputs,
        progress=progress,
        eval_key=eval_key,
        units=units,
        correct_field=correct_field,
        score_field=score_field,
        higher_is_worse=higher_is_worse,
        group_field=group_field,
        confidence_thresh=confidence_thresh,
    )


@writes_run("search")
def search_failure_modes(
    samples,
    params: SearchParams = DEFAULT_PARAMS,
    *,
    label_field: str = LABEL_FIELD,
    pred_field: str = PRED_FIELD,
    tags_field: Union[str, Sequence[str]] = TAGS_FIELD,
    run_key: str = RUN_KEY,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    reuse_inputs: bool = True,
    progress=None,
    eval_key: Optional[str] = None,
    units: Optional[str] = None,
    correct_field=None,
    score_field=None,
    higher_is_worse: Optional[bool] = None,
    group_field: Optional[str] = None,
    confidence_thresh: Optional[float] = None,
) -> FailureModeResults:
    """:func:`find_failure_modes` with the search parameters as one
    :class:`SearchParams`: what the operator, the CLI and the pipeline call.

    The parameters travel as that one object from where they are built (the
    keywords of :func:`find_failure_modes`, the operator's form, the CLI's
    arguments) to the core search and the stored run config; nothing here
    spreads or rebuilds them.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        params (the defaults): a :class:`SearchParams`
        label_field, pred_field, tags_field, run_key, save_views, max_views,
            overwrite, reuse_inputs, progress, eval_key, units, correct_field,
            score_field, higher_is_worse, group_field, confidence_thresh: as in
            :func:`find_failure_modes`

    Returns:
        a :class:`fiftyone_prime.FailureModeResults`
    """
    if not isinstance(params, SearchParams):
        raise TypeError(f"`params` must be a SearchParams; got {type(params).__name__}")
    fpf.check_sample_collection(samples, "find_failure_modes")
    scored = score_field is not None or higher_is_worse is not None or group_field is not None
    units_given = eval_key is not None or units is not None or correct_field is not None
    if (
        units_given
        or scored
        or confidence_thresh is not None
        or fpu.is_multilabel(samples, label_field=label_field, pred_field=pred_field)
    ):
        from .evaluations import find_evaluation_failure_modes

        # With an evaluation (or a score) its own fields are used: the defaults
        # are not a choice.
        evaluated = eval_key is not None or scored
        if scored and eval_key is None and group_field is None and units in (None, "samples"):
            # a class label field given explicitly: its classes group the samples
            group_field = None if label_field == LABEL_FIELD else label_field
        return find_evaluation_failure_modes(
            samples,
            eval_key=eval_key,
            units=units,
            correct_field=correct_field,
            score_field=score_field,
            higher_is_worse=higher_is_worse,
            group_field=group_field,
            label_field=None if evaluated and label_field == LABEL_FIELD else label_field,
            pred_field=None if evaluated and pred_field == PRED_FIELD else pred_field,
            tags_field=tags_field,
            run_key=run_key,
            params=params,
            save_views=save_views,
            max_views=max_views,
            overwrite=overwrite,
            progress=progress,
            confidence_thresh=confidence_thresh,
            reuse_inputs=reuse_inputs,
        )
    run = start_run(
        samples,
        run_key,
        FAILURE_MODES,
        overwrite=overwrite,
        save_views=save_views,
        max_views=max_views,
        progress=progress,
    )
    logger.info("Reading labels, predictions and tags...")
    inputs, how = load_search_inputs(
        samples, label_field, pred_field, tags_field, reuse=reuse_inputs
    )
    logger.info("Inputs %s in %.2fs %s", how.source, how.seconds, how.reason)
    sources = inputs.sources
    multiple = len(sources) > 1
    names = [fpf.tag_display_name(k, multiple) for k in inputs.tag_keys]

    logger.info("Searching %d tags over %d samples...", len(names), inputs.num_used)
    outcome = run_search(inputs.tags, inputs.correct, inputs.groups, tag_names=names, params=params)
    records = [saved_mode(SavedFailureMode, m, inputs.tag_keys) for m in outcome.failure_modes]
    significance = outcome.significance
    logger.info(
        "Found %d failure modes (%d more met the definition but are not significant at alpha=%s)",
        len(records),
        significance.num_not_significant,
        params.alpha,
    )
    config = FailureModeRunConfig(
        label_field=label_field,
        pred_field=pred_field,
        tags_fields=[s.field for s in sources],
        search_params=params,
        procedure=significance.procedure,
        save_views=save_views,
        max_views=max_views,
    )
    return run.finish(config, records, inputs, significance=significance.to_dict())
