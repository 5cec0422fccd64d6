"""The ``compare`` and ``check`` subcommands of ``fiftyone-prime``.

``compare`` finds where a new model regressed against a baseline and saves
the regression modes as a run with views. ``check`` re-measures a run's
saved failure modes on another model's predictions and exits non-zero when
a check fails, so a CI job can gate a model on them:

-   exit 0: every mode passes (modes without samples are not measured);
-   exit 1: a check fails, or no mode was measured at all (unless
    ``--allow-not-measured``);
-   exit 2: bad input (unknown dataset, run or field; a run over objects
    without ``--eval-key``), as every command; with ``--json`` the error is
    printed as ``{"error": ...}``.
"""

from __future__ import annotations

import argparse
import json

from fiftyone_prime.cli_args import add_multilabel_args, add_search_args, search_params

#: The subcommands defined here.
COMMANDS = ("compare", "check")


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1]; got {text!r}")
    return value


def add_commands(sub) -> None:
    """Adds ``compare`` and ``check`` to the CLI's subparsers."""
    c = sub.add_parser(
        "compare", help="find where a new model regressed against a baseline (saved as views)"
    )
    c.add_argument("dataset", help="the FiftyOne dataset")
    c.add_argument(
        "--baseline-field",
        default="predictions_v1",
        help="the baseline's Classification(s) field (default: predictions_v1)",
    )
    add_search_args(c)
    add_multilabel_args(c)
    c.set_defaults(pred_field="predictions_v2", run_key="prime_regression")
    c.add_argument(
        "--baseline-eval-key",
        default=None,
        help="compare the predictions of this evaluation run (with --eval-key) instead of "
        "--baseline-field: two classification evaluations, or two detection evaluations of "
        "the same ground truth compared object by object",
    )
    c.add_argument(
        "--eval-key", default=None, help="the new model's evaluation run (with --baseline-eval-key)"
    )
    c.add_argument(
        "--units",
        choices=["gt", "pred", "samples"],
        default=None,
        help="the units compared: with two detection evaluations, gt (ground-truth objects, "
        "right when matched; the default); with Classifications fields (a multilabel "
        "classifier), gt (misses of the classes present, the default) or pred (false alarms "
        "of the classes either model predicts)",
    )
    c.add_argument(
        "--report-dir", default=None, help="also write an HTML report of the run to this folder"
    )

    k = sub.add_parser(
        "check",
        help="re-measure a run's failure modes on another model; exit 1 when a check fails",
    )
    k.add_argument("dataset", help="the FiftyOne dataset")
    k.add_argument("--run-key", required=True, help="the failure-mode run whose modes to check")
    which = k.add_mutually_exclusive_group(required=True)
    which.add_argument("--pred-field", help="the Classification predictions to check")
    which.add_argument(
        "--eval-key",
        help="a classification evaluation whose predictions to check (a detection evaluation "
        "for a run over objects)",
    )
    k.add_argument(
        "--min-accuracy", type=_unit_interval, default=None, help="the least accuracy a mode needs"
    )
    k.add_argument(
        "--max-drop",
        type=_unit_interval,
        default=None,
        help="the most a mode may fall below its class's accuracy (default, without "
        "--min-accuracy: the run's min_drop)",
    )
    k.add_argument(
        "--allow-not-measured",
        action="store_true",
        help="pass when none of the modes could be measured (by default that fails: "
        "re-tagged data checks nothing)",
    )
    k.add_argument(
        "--no-reuse-inputs",
        dest="reuse_inputs",
        action="store_false",
        help="read the samples afresh instead of from the input cache (and replace its entry)",
    )
    k.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_command(args, dataset) -> int:
    """Runs ``compare`` or ``check`` on a loaded dataset; returns the exit code."""
    if args.command == "compare":
        from fiftyone_prime.integration.comparisons.regressions import search_regressions

        extra = {} if args.max_views is None else {"max_views": args.max_views}
        for name in ("baseline_eval_key", "eval_key", "units"):
            if getattr(args, name, None) is not None:
                extra[name] = getattr(args, name)
        results = search_regressions(
            dataset,
            search_params(args),
            baseline_field=args.baseline_field,
            pred_field=args.pred_field,
            label_field=args.label_field,
            tags_field=args.tags_field,
            run_key=args.run_key,
            overwrite=args.overwrite,
            reuse_inputs=args.reuse_inputs,
            confidence_thresh=args.confidence_thresh,
            **extra,
        )
        print(results.summary())
        if args.report_dir:
            from fiftyone_prime.integration.reports.regression_report import (
                export_regression_report,
            )

            try:
                print(
                    export_regression_report(dataset, results.key, args.report_dir, overwrite=True)
                )
            except OSError as e:
                raise ValueError(f"cannot write the report to '{args.report_dir}': {e}") from None
        return 0
    from fiftyone_prime.integration.comparisons.checks import check_failure_modes

    results = check_failure_modes(
        dataset,
        args.run_key,
        pred_field=args.pred_field,
        eval_key=args.eval_key,
        min_accuracy=args.min_accuracy,
        max_drop=args.max_drop,
        allow_not_measured=args.allow_not_measured,
        reuse_inputs=args.reuse_inputs,
    )
    print(json.dumps(results.to_dict(), indent=2) if args.json else results.table())
    return 0 if results.passed else 1
