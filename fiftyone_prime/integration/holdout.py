"""Held-out confirmation: do a run's failure modes hold on data the search never saw?"""

from __future__ import annotations

import logging
import os
from typing import Optional

import numpy as np

from fiftyone_prime.core.significance import benjamini_hochberg
from fiftyone_prime.core.types import DEFAULT_PARAMS

from . import fields as fpf
from .failure_modes import load_failure_modes, measure_modes
from .runs import FailureModeResults

logger = logging.getLogger(__name__)

#: The procedure that corrects the held-out p-values.
HOLDOUT_PROCEDURE = "benjamini-hochberg"


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
    config = results.config
    params = config.params
    if alpha is None:
        alpha = params.alpha if params.alpha is not None else DEFAULT_PARAMS.alpha
    alpha = params.replace(alpha=alpha).alpha  # validated like the search's alpha
    fpf.validate_classification_field(holdout, config.label_field, "label_field")
    fpf.validate_classification_field(holdout, config.pred_field, "pred_field")
    sources = fpf.tag_sources(holdout, config.tags_fields)
    inputs = fpf.read_search_inputs(holdout, config.label_field, config.pred_field, sources)

    modes = results.failure_modes
    measured = measure_modes(modes, inputs, params)
    p = np.array([np.nan if m.p_value is None else m.p_value for m in measured], dtype=float)
    adjusted = benjamini_hochberg(p)
    rows = [_row(mode, m, q, alpha) for mode, m, q in zip(modes, measured, adjusted)]
    found = np.array([m.drop for m in modes], dtype=float)
    held = np.array([r["drop"] for r in rows], dtype=float)
    pearson, spearman = _correlations(found, held)
    validation = {
        "holdout": holdout._root_dataset.name
        + ("" if holdout is holdout._root_dataset else " (view)"),
        "holdout_samples": inputs.num_used,
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
        validation["plot_path"] = _plot(found, held, [r["confirmed"] for r in rows], plot_path,
                                        results.key)
    results.validation = validation
    results.save()
    logger.info("%d of %d failure modes confirmed on held-out data", validation["num_confirmed"],
                len(rows))
    return validation


def _row(mode, measured, adjusted, alpha) -> dict:
    adjusted = None if np.isnan(adjusted) else float(adjusted)
    return {
        "group": mode.group, "tags": list(mode.tags), "view_name": mode.view_name,
        "found_drop": mode.drop, "size": measured.size, "accuracy": measured.accuracy,
        "accuracy_ci": list(measured.accuracy_ci) if measured.accuracy_ci else None,
        "group_size": measured.group_size, "group_accuracy": measured.group_accuracy,
        "drop": measured.drop if measured.size else float("nan"), "holds": measured.holds,
        "p_value": measured.p_value, "adjusted_p_value": adjusted,
        "confirmed": bool(measured.holds and adjusted is not None and adjusted <= alpha),
    }


def _correlations(found: np.ndarray, held: np.ndarray) -> tuple[float, float]:
    valid = ~np.isnan(held)
    if valid.sum() < 3 or np.std(held[valid]) == 0 or np.std(found[valid]) == 0:
        return float("nan"), float("nan")
    from scipy.stats import pearsonr, spearmanr

    return (float(pearsonr(found[valid], held[valid])[0]),
            float(spearmanr(found[valid], held[valid])[0]))


def _plot(found, held, confirmed, path, run_key) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    confirmed = np.asarray(confirmed, dtype=bool)
    ax.scatter(found[confirmed], held[confirmed], c="#2e7d32",
               label="confirmed on held-out data")
    ax.scatter(found[~confirmed], held[~confirmed], c="#c62828", marker="x",
               label="not confirmed")
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
