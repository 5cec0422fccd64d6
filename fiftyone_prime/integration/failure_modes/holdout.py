"""Failure modes on other data: re-measured and saved there, or confirmed with a test.

:func:`apply_failure_modes` re-measures a run's modes on another collection (a
teammate's copy, new data) and stores them there as a run with views;
:func:`validate_failure_modes` confirms them on held-out data. Both measure
with :func:`fiftyone_prime.core.measure.measure_tag_sets`.
"""

from __future__ import annotations

import logging
import os
from typing import Optional

import numpy as np

from fiftyone_prime.core.definition import TOLERANCE
from fiftyone_prime.core.types import DEFAULT_PARAMS

from .. import fiftyone_private as fop
from ..runs import views as fpv
from ..runs.classes import FailureModeResults
from ..runs.rows import format_p
from ..runs.run_store import (
    load_failure_modes,
    start_run,
)
from .remeasure import HOLDOUT_PROCEDURE, measure_and_adjust, measure_modes, remeasure  # noqa: F401

logger = logging.getLogger(__name__)


def apply_failure_modes(
    results: FailureModeResults,
    samples,
    *,
    run_key: Optional[str] = None,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    progress=None,
) -> FailureModeResults:
    """Re-measures a run's failure modes on another dataset or view and saves them there.

    The target must have the run's label, prediction and tag fields (a
    teammate's copy of the dataset, a held-out split, new data). Each failure
    mode keeps its class and tags; its size, accuracy and interval, class
    accuracy, drop and p-value are measured on the target, and its adjusted
    p-value there is Benjamini-Hochberg over the run's modes (the only
    hypotheses tested on the target). Modes whose tags do not occur there
    get size 0 and NaN accuracy. To check which modes hold on held-out data,
    see :func:`fiftyone_prime.validate_failure_modes`.

    Args:
        results: a :class:`fiftyone_prime.FailureModeResults`
        samples: the target :class:`fiftyone.core.collections.SampleCollection`
        run_key (None): the key of the new run; defaults to the source run's
            key (on another dataset) or ``<key>_applied``
        save_views (True): whether to save a view per failure mode
        max_views (:data:`fiftyone_prime.integration.runs.views.DEFAULT_MAX_VIEWS`):
            the most saved views to create, as in :func:`find_failure_modes`
        overwrite (False): whether to replace an existing run with that key
        progress (None): as in :func:`find_failure_modes`

    Returns:
        the new run's :class:`fiftyone_prime.FailureModeResults`
    """
    if not isinstance(results, FailureModeResults):
        raise TypeError(
            f"`results` must be FailureModeResults (see load_failure_modes()); got "
            f"{type(results).__name__}"
        )
    check_measurable(results)
    config = results.config
    dataset = samples._root_dataset
    if run_key is None:
        same_dataset = fop.dataset_id(dataset) == fop.dataset_id(results.samples._root_dataset)
        run_key = f"{results.key}_applied" if same_dataset else results.key
    run = start_run(
        samples,
        run_key,
        results.kind,  # decided when the run was loaded
        overwrite=overwrite,
        save_views=save_views,
        max_views=max_views,
        progress=progress,
    )
    new_config = results.applied_config(
        samples, procedure=HOLDOUT_PROCEDURE, save_views=save_views, max_views=max_views
    )
    inputs = run.kind.read_inputs(samples, config)
    return run.finish(new_config, remeasure(results.failure_modes, inputs, config.params), inputs)


def validate_failure_modes(
    results_or_samples,
    holdout,
    *,
    run_key: Optional[str] = None,
    alpha: Optional[float] = None,
    plot_path: Optional[str] = None,
) -> dict:
    """Confirms every failure mode of a run on held-out data, with a test.

    For each failure mode, on ``holdout``: its size, accuracy, class
    accuracy and drop; whether it still satisfies the failure-mode
    definition with the run's thresholds (size, drop, every tag still
    needed, and minimality when the run asked for it); its one-sided Fisher
    exact p-value there, Benjamini-Hochberg adjusted over the run's modes
    (the only hypotheses tested on the held-out data); and ``confirmed``:
    the definition holds and the adjusted p-value is at most ``alpha``.
    Across modes: the Pearson and Spearman correlations between found and
    held-out drops. Stored with the run (``results.validation``), and
    plotted (found vs held-out drop) when ``plot_path`` is given.

    Args:
        results_or_samples: a :class:`fiftyone_prime.FailureModeResults`, or
            the dataset holding the run (with ``run_key``)
        holdout: a collection with the run's label, prediction and tag fields
        run_key (None): the run, when ``results_or_samples`` is a dataset
        alpha (None): the false discovery rate of the confirmation; defaults
            to the run's ``alpha`` (or 0.05 for a run without one)
        plot_path (None): where to save the scatter plot (PNG)

    Returns:
        the validation dict: ``{"holdout": ..., "modes": [...], "pearson": r,
        "spearman": rho, "num_holding": k, "num_confirmed": c, "alpha": a,
        "procedure": ..., "plot_path": ...}``
    """
    if isinstance(results_or_samples, FailureModeResults):
        results = results_or_samples
    else:
        if run_key is None:
            raise ValueError("Pass `run_key` with a dataset, or pass the results themselves")
        results = load_failure_modes(results_or_samples, run_key)
    check_measurable(results)
    config = results.config
    params = config.params
    if alpha is None:
        alpha = params.alpha if params.alpha is not None else DEFAULT_PARAMS.alpha
    alpha = params.replace(alpha=alpha).alpha  # validated like the search's alpha
    inputs = results.kind.read_inputs(holdout, config, extra_paths=["id"])
    overlap = _overlap(results.samples, holdout, inputs.extra["id"])

    modes = results.failure_modes
    measured, adjusted = measure_and_adjust(modes, inputs, params)
    rows = [_row(mode, m, q, alpha, params) for mode, m, q in zip(modes, measured, adjusted)]
    found = np.array([m.drop for m in modes], dtype=float)
    held = np.array([r["drop"] for r in rows], dtype=float)
    pearson, spearman = _correlations(found, held)
    validation = {
        "holdout": holdout._root_dataset.name
        + ("" if holdout is holdout._root_dataset else " (view)"),
        "holdout_samples": inputs.num_used,
        "overlap": overlap,
        "modes": rows,
        "num_holding": int(sum(r["holds"] for r in rows)),
        "num_confirmed": int(sum(r["confirmed"] for r in rows)),
        "alpha": alpha,
        "procedure": HOLDOUT_PROCEDURE,
        "pearson": pearson,
        "spearman": spearman,
        "plot_path": None,
    }
    if plot_path:
        validation["plot_path"] = _plot(
            found, held, [r["confirmed"] for r in rows], plot_path, results.key
        )
    results.validation = validation
    results.save()
    logger.info(
        "%d of %d failure modes confirmed on held-out data", validation["num_confirmed"], len(rows)
    )
    return validation


def check_measurable(results, action: str = "applying or validating") -> None:
    """Raises for runs whose modes cannot be measured on other data yet: the
    modes of a score (the core measures right/wrong outcomes only).

    Args:
        results: a run's results
        action: what was asked of the run's modes, for the message
    """
    spec = getattr(results, "spec", None)
    if spec is not None and spec.is_scored:
        raise ValueError(
            f"Run '{results.key}' searched a score ({results.score_description}); {action} "
            "score modes on other data is not supported yet. Search the other data with the "
            "same score_field and thresholds instead"
        )


def _overlap(searched, holdout, holdout_ids) -> int:
    """How many held-out samples the search itself saw (0 across datasets);
    a confirmation on them is not independent, so it is logged and stored."""
    if searched._root_dataset.name != holdout._root_dataset.name:
        return 0
    overlap = len(set(searched.values("id")) & set(holdout_ids.tolist()))
    if overlap:
        logger.warning(
            "%d of the %d held-out samples were also searched; a confirmation on them is "
            "not independent. Search one split and validate on another",
            overlap,
            len(holdout_ids),
        )
    return overlap


def _row(mode, measured, adjusted, alpha, params) -> dict:
    adjusted = None if np.isnan(adjusted) else float(adjusted)
    confirmed = bool(measured.holds and adjusted is not None and adjusted <= alpha)
    return {
        "group": mode.group,
        "tags": list(mode.tags),
        "view_name": mode.view_name,
        "found_drop": mode.drop,
        "size": measured.size,
        "accuracy": measured.accuracy,
        "accuracy_ci": list(measured.accuracy_ci) if measured.accuracy_ci else None,
        "group_size": measured.group_size,
        "group_accuracy": measured.group_accuracy,
        "drop": measured.drop,
        "holds": measured.holds,
        "p_value": measured.p_value,
        "adjusted_p_value": adjusted,
        "confirmed": confirmed,
        "reason": "" if confirmed else not_confirmed_reason(measured, adjusted, alpha, params),
    }


def not_confirmed_reason(measured, adjusted, alpha, params) -> str:
    """Why a mode was not confirmed on held-out data, in words (the first
    condition it missed)."""
    if measured.size == 0:
        return "no held-out sample of its class carries its tags"
    if measured.size < params.min_size:
        return f"held-out size {measured.size} < min_size {params.min_size}"
    if measured.drop < params.min_drop - TOLERANCE:
        return (
            f"held-out drop {measured.drop * 100:.1f} points < min_drop "
            f"{params.min_drop * 100:.1f} points"
        )
    if not measured.holds:
        return "a subset of its tags accounts for the drop on held-out data (min_gain)" + (
            " or a subset is a failure mode there (minimal)" if params.minimal else ""
        )
    return f"adjusted p {format_p(adjusted)} > alpha {alpha:g}"


def _correlations(found: np.ndarray, held: np.ndarray) -> tuple[float, float]:
    valid = ~np.isnan(held)
    if valid.sum() < 3 or np.std(held[valid]) == 0 or np.std(found[valid]) == 0:
        return float("nan"), float("nan")
    from scipy.stats import pearsonr, spearmanr

    return (
        float(pearsonr(found[valid], held[valid])[0]),
        float(spearmanr(found[valid], held[valid])[0]),
    )


def _plot(found, held, confirmed, path, run_key) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    confirmed = np.asarray(confirmed, dtype=bool)
    ax.scatter(found[confirmed], held[confirmed], c="#2e7d32", label="confirmed on held-out data")
    ax.scatter(found[~confirmed], held[~confirmed], c="#c62828", marker="x", label="not confirmed")
    lim = [min(0.0, np.nanmin(held) if np.isfinite(held).any() else 0.0), 1.0]
    ax.plot(lim, lim, color="gray", lw=0.8, ls="--")
    ax.set_xlabel("accuracy drop where found")
    ax.set_ylabel("accuracy drop on held-out data")
    ax.set_title(f"PRIME run '{run_key}': do failure modes generalize?")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
