"""The search's command-line arguments, shared by the ``fiftyone-prime``
subcommands that search (``search``, ``run`` in :mod:`fiftyone_prime.cli`;
``compare`` in :mod:`fiftyone_prime.cli_compare`)."""

from __future__ import annotations

import argparse

from fiftyone_prime.core.defaults import (
    LABEL_FIELD,
    MAX_TAGS_LIMIT,
    PRED_FIELD,
    RUN_KEY,
    TAGS_FIELD,
)
from fiftyone_prime.core.types import DEFAULT_PARAMS, ScoreParams, SearchParams
from fiftyone_prime.core.validation import ERROR_CONTROLS


def add_search_args(p) -> None:
    """Adds the search's arguments (fields, run key, thresholds, error control) to ``p``."""
    d = DEFAULT_PARAMS
    p.add_argument(
        "--label-field",
        default=LABEL_FIELD,
        help=f"the ground-truth Classification field, or Classifications for a multilabel "
        f"classifier (default: {LABEL_FIELD})",
    )
    p.add_argument(
        "--pred-field",
        default=PRED_FIELD,
        help=f"the predicted Classification(s) field (default: {PRED_FIELD})",
    )
    p.add_argument(
        "--tags-field",
        nargs="+",
        default=[TAGS_FIELD],
        help=f"the field(s) whose labels are the tags (default: {TAGS_FIELD})",
    )
    p.add_argument("--run-key", default=RUN_KEY, help=f"the key of the run (default: {RUN_KEY})")
    numbers = (  # (search parameter, type, help before the default)
        ("min_size", int, "the least samples in a failure mode"),
        ("min_drop", float, "the least accuracy drop vs the class"),
        ("min_gain", float, "the least gain from removing any tags"),
        ("max_tags", _max_tags, f"the most tags in a failure mode, 1 to {MAX_TAGS_LIMIT}"),
    )
    for name, kind, text in numbers:
        default = getattr(d, name)
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=default,
            help=f"{text} (default: {default})",
        )
    p.add_argument("--not-minimal", action="store_true", help="also report non-minimal sets")
    p.add_argument(
        "--alpha",
        type=_alpha,
        default=d.alpha,
        help=f"significance level; 'none' keeps every mode of the definition (default: {d.alpha})",
    )
    p.add_argument(
        "--error-control",
        choices=ERROR_CONTROLS,
        default=d.error_control,
        help="what --alpha bounds: the false-discovery rate (fdr; fdr_by under any "
        f"dependence) or the family-wise error rate (fwer) (default: {d.error_control})",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run")
    p.add_argument(
        "--no-reuse-inputs",
        dest="reuse_inputs",
        action="store_false",
        help="read labels, predictions and tags afresh even when an earlier search of "
        "the same view cached them and no sample changed since",
    )
    p.add_argument(
        "--max-views",
        type=int,
        default=None,
        help="save views for at most this many failure modes, those with the "
        "largest drops; all modes stay in the results (default: the SDK's "
        "DEFAULT_MAX_VIEWS)",
    )


def add_multilabel_args(p) -> None:
    """Adds a multilabel classifier's ``--confidence-thresh`` to ``p`` (its
    units are the command's ``--units``)."""
    p.add_argument(
        "--confidence-thresh",
        type=float,
        default=None,
        help="with Classifications fields: the least confidence of a prediction that counts "
        "(default: every prediction counts)",
    )


def _alpha(text: str):
    """``--alpha``: a number, or ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in (0, 1] or 'none'; got {text!r}"
        ) from None


def _max_tags(text: str) -> int:
    """``--max-tags``: a whole number from 1 to ``MAX_TAGS_LIMIT``."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_TAGS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_TAGS_LIMIT}; got {text!r}"
        )
    return value


def search_params(args, scored: bool = False) -> SearchParams:
    """The :class:`SearchParams` from the parsed arguments (validated here):
    the one place the CLI builds them; :func:`_search` and ``run`` pass the
    object on. ``scored``: :class:`ScoreParams` for a search of a score
    (thresholds in its units)."""
    return (ScoreParams if scored else SearchParams)(
        min_size=args.min_size,
        min_drop=args.min_drop,
        min_gain=args.min_gain,
        max_tags=args.max_tags,
        minimal=not args.not_minimal,
        alpha=args.alpha,
        error_control=args.error_control,
    )
