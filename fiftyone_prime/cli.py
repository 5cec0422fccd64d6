"""The ``fiftyone-prime`` command line (also ``python -m fiftyone_prime``).

Subcommands: ``quickstart`` (the whole method on Fashion-MNIST), ``tag``,
``search``, ``metrics``, ``report``, ``run`` (tag, search, metrics, report on
your dataset), ``list``, and ``compare`` and ``check``
(:mod:`fiftyone_prime.cli_compare`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from fiftyone_prime.cli_args import add_multilabel_args, add_search_args, search_params
from fiftyone_prime.core.captions import DEFAULT_CAPTION_TEMPLATE
from fiftyone_prime.core.defaults import (
    SCORINGS,
    TAGS_FIELD,
    TOP_K,
)
from fiftyone_prime.models import DEFAULT_MODEL

#: The start of FiftyOne's notice, logged on every connection, that the
#: MongoDB it runs on is the oldest major version it supports.
_OLDEST_MONGODB_NOTICE = "You are running the oldest supported major version of MongoDB"


class _BundledMongoNotice(logging.Filter):
    """Drops FiftyOne's "oldest supported MongoDB" notice.

    FiftyOne logs it on every connection, i.e. on every command. It is only
    installed for FiftyOne's own bundled database (no
    ``FIFTYONE_DATABASE_URI``), whose version the user does not choose; every
    other message, and the notice for a database the user runs, stay. FiftyOne
    allows silencing it (with all of its database checks) through
    ``database_validation=False``; this keeps the checks and drops only the
    repeated notice.
    """

    def filter(self, record):
        return not str(record.msg).startswith(_OLDEST_MONGODB_NOTICE)


def quiet_bundled_mongodb_notice() -> bool:
    """Installs :class:`_BundledMongoNotice` when the bundled database is used."""
    if os.environ.get("FIFTYONE_DATABASE_URI"):
        return False
    logger = logging.getLogger("fiftyone.core.odm.database")
    if not any(isinstance(f, _BundledMongoNotice) for f in logger.filters):
        logger.addFilter(_BundledMongoNotice())
    return True


def _add_model_args(p, default_model=DEFAULT_MODEL):
    p.add_argument(
        "--model",
        default=default_model,
        help="open_clip:<arch>, transformers:<id or dir>, zoo:<FiftyOne zoo model>, "
        f"or properties (default: {default_model})",
    )
    p.add_argument(
        "--pretrained",
        default="default",
        help="open_clip weights: a pretrained tag or a local checkpoint path",
    )
    p.add_argument("--device", default=None, help="cuda, cpu... (default: CUDA if available)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per batch (default: 64 on GPU, 32 on CPU)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fiftyone-prime",
        description="Find where an image classifier fails and explain it in words (PRIME).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    q = sub.add_parser("quickstart", help="run the whole method on Fashion-MNIST (offline)")
    q.add_argument(
        "--samples", type=_positive_int, default=None, help="use a subset (default: all 10,000)"
    )
    q.add_argument(
        "--dataset",
        default="prime-quickstart",
        help="the dataset to (re)create; one the quickstart did not make is never "
        "replaced (default: prime-quickstart)",
    )
    q.add_argument(
        "--clip-checkpoint",
        default=None,
        help="a local open_clip checkpoint for CLIP tags and metrics",
    )
    q.add_argument("--clip-model", default="ViT-B-32", help="its architecture")
    q.add_argument(
        "--report-dir",
        default="prime_report",
        help="where to write the HTML report (default: prime_report)",
    )

    t = sub.add_parser("tag", help="tag a dataset's images with concepts")
    t.add_argument("dataset", help="the FiftyOne dataset")
    _add_model_args(t)
    t.add_argument(
        "--vocabulary",
        default=None,
        help="a shipped vocabulary ('large', the default, or 'context') or a text file, one tag "
        "per line",
    )
    t.add_argument(
        "--scoring",
        choices=SCORINGS,
        default="auto",
        help="how similarities become tags (default: auto: sigmoid for SigLIP-like models, "
        "calibrated per tag for CLIP; softmax is version 0.1's top-k)",
    )
    t.add_argument(
        "--tags-field",
        default=TAGS_FIELD,
        help=f"the Classifications field to write (default: {TAGS_FIELD})",
    )
    t.add_argument(
        "--top-k",
        type=int,
        default=None,
        help=f"cap on the tags kept per image (default: none; softmax scoring keeps {TOP_K})",
    )
    t.add_argument(
        "--embeddings-field", default=None, help="also store each image's embedding in this field"
    )
    t.add_argument("--skip-existing", action="store_true", help="continue an interrupted run")
    t.add_argument("--overwrite", action="store_true", help="re-tag samples that have tags")

    s = sub.add_parser("search", help="find failure modes and save them as views")
    s.add_argument("dataset", help="the FiftyOne dataset")
    add_search_args(s)
    s.add_argument(
        "--eval-key",
        default=None,
        help="read the units and outcomes from this evaluation run (evaluate_classifications: "
        "samples; evaluate_detections: objects) instead of comparing the label fields",
    )
    s.add_argument(
        "--units",
        choices=["gt", "pred", "samples"],
        default=None,
        help="with a detection evaluation: gt (ground-truth objects, wrong when missed; the "
        "default) or pred (predicted objects, wrong when false positives); with "
        "Classifications fields (a multilabel classifier): gt (misses of the classes "
        "present, the default) or pred (false alarms of the classes predicted)",
    )
    add_multilabel_args(s)
    s.add_argument(
        "--correct-field",
        default=None,
        help="a boolean field or object attribute path to use as the outcome",
    )
    s.add_argument(
        "--score-field",
        default=None,
        help="search a number per unit (a numeric sample field, or an object attribute by its "
        "full path) for where its mean is worst, instead of right/wrong; with a regression or "
        "segmentation evaluation (--eval-key) its error or accuracy is the default. "
        "--min-drop and --min-gain are then in the score's units",
    )
    direction = s.add_mutually_exclusive_group()
    direction.add_argument(
        "--higher-is-worse",
        dest="higher_is_worse",
        action="store_const",
        const=True,
        default=None,
        help="a higher score is worse (an error, a loss: the default)",
    )
    direction.add_argument(
        "--lower-is-worse",
        dest="higher_is_worse",
        action="store_const",
        const=False,
        help="a lower score is worse (an accuracy, an IoU: the default for segmentation "
        "evaluations and IoUs)",
    )
    s.add_argument(
        "--group-field",
        default=None,
        help="with a score of samples: the Classification or string field whose values group "
        "them (default: one group)",
    )

    m = sub.add_parser("metrics", help="score a run's failure modes with CLIP")
    m.add_argument("dataset", help="the FiftyOne dataset")
    m.add_argument("run_key", help="the failure-mode run to score")
    _add_model_args(m)
    m.add_argument(
        "--caption-template",
        default=DEFAULT_CAPTION_TEMPLATE,
        help=f"the caption of a failure mode, with {{cls}} and {{tags}} "
        f"(default: {DEFAULT_CAPTION_TEMPLATE!r})",
    )
    m.add_argument(
        "--embeddings-field",
        default=None,
        help="reuse image embeddings stored in this field by the same model",
    )

    r = sub.add_parser("report", help="write a self-contained HTML report of a run")
    r.add_argument("dataset", help="the FiftyOne dataset")
    r.add_argument("run_key", help="the failure-mode run")
    r.add_argument("out_dir", help="the folder to write (must be empty without --overwrite)")
    r.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty folder (only the report's files are replaced)",
    )

    a = sub.add_parser("run", help="tag, search, metrics (with a CLIP model) and report")
    a.add_argument("dataset", help="the FiftyOne dataset")
    _add_model_args(a)
    add_search_args(a)
    a.add_argument(
        "--report-dir",
        default="prime_report",
        help="where to write the HTML report (default: prime_report)",
    )

    ls = sub.add_parser("list", help="list a dataset's failure-mode runs")
    ls.add_argument("dataset", help="the FiftyOne dataset")

    from fiftyone_prime.cli_compare import add_commands

    add_commands(sub)  # compare, check
    from fiftyone_prime import cli_hypotheses

    cli_hypotheses.add_commands(sub)  # hypotheses, more-like
    return parser


def _positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1, with a one-line error otherwise."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return value


def _load(name):
    import fiftyone as fo

    if not fo.dataset_exists(name):
        known = fo.list_datasets()
        raise ValueError(f"no dataset named '{name}'. Datasets: {', '.join(known) or 'none'}")
    return fo.load_dataset(name)


def _search(dataset, args):
    from fiftyone_prime.integration.failure_modes.search import search_failure_modes
    from fiftyone_prime.integration.reading.units import scored_evaluation

    # --max-views is passed only when given, so the default lives in the SDK.
    extra = {} if args.max_views is None else {"max_views": args.max_views}
    units_args = ("eval_key", "units", "correct_field", "score_field", "higher_is_worse")
    for name in (*units_args, "group_field", "confidence_thresh"):  # see find_failure_modes
        if getattr(args, name, None) is not None:
            extra[name] = getattr(args, name)
    scored = getattr(args, "score_field", None) is not None or scored_evaluation(
        dataset, getattr(args, "eval_key", None)
    )
    return search_failure_modes(
        dataset,
        search_params(args, scored=scored),
        label_field=args.label_field,
        pred_field=args.pred_field,
        tags_field=args.tags_field,
        run_key=args.run_key,
        overwrite=args.overwrite,
        reuse_inputs=getattr(args, "reuse_inputs", True),
        **extra,
    )


def _report(dataset, run_key, out_dir, overwrite):
    """Writes the report; a folder that cannot be written is a one-line error."""
    from fiftyone_prime.integration.reports.report import export_report

    try:
        return export_report(dataset, run_key, out_dir, overwrite=overwrite)
    except OSError as e:
        raise ValueError(f"cannot write the report to '{out_dir}': {e.strerror or e}") from None


def _check_metrics_model(model: str) -> None:
    """The weight-free 'properties' tagger has no text encoder to score captions."""
    if model == "properties":
        raise ValueError(
            "metrics need an image-text model such as 'open_clip:ViT-B-32' or "
            "'transformers:<id or directory>'; 'properties' is a tagger only and cannot "
            "score captions"
        )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    quiet_bundled_mongodb_notice()
    try:
        if args.command == "quickstart":
            out = fp_quickstart(args)
            print()
            print(out["summary"])
            print(f"\nReport: {out['report']}")
            from fiftyone_prime.plugin.registration import app_lines

            print("\n".join(app_lines(out["dataset"])))
            return 0
        if args.command == "list":
            from fiftyone_prime.integration.runs.run_store import (
                list_failure_mode_runs,
                load_failure_modes,
            )

            dataset = _load(args.dataset)
            for key in list_failure_mode_runs(dataset):
                results = load_failure_modes(dataset, key)
                print(f"{key}: {len(results)} failure modes over {results.num_used} samples")
            return 0
        dataset = _load(args.dataset)
        if args.command in ("compare", "check"):
            from fiftyone_prime.cli_compare import run_command

            return run_command(args, dataset)
        from fiftyone_prime import cli_hypotheses

        if args.command in cli_hypotheses.COMMANDS:
            return cli_hypotheses.run_command(args, dataset, _load)
        if args.command == "tag":
            from fiftyone_prime.integration.tagging.images import compute_tags

            s = compute_tags(
                dataset,
                model=args.model,
                pretrained=args.pretrained,
                vocabulary=args.vocabulary,
                tags_field=args.tags_field,
                top_k=args.top_k,
                scoring=args.scoring,
                embeddings_field=args.embeddings_field,
                skip_existing=args.skip_existing,
                overwrite=args.overwrite,
                device=args.device,
                batch_size=args.batch_size,
            )
            print(
                f"Tagged {s.num_tagged} samples with {s.tagger} into '{s.tags_field}' "
                f"({s.num_failed} unreadable, {s.num_skipped_existing} already tagged)"
            )
        elif args.command == "search":
            print(_search(dataset, args).summary())
        elif args.command == "metrics":
            from fiftyone_prime.integration.failure_modes.metrics import (
                compute_failure_mode_metrics,
            )

            _check_metrics_model(args.model)
            r = compute_failure_mode_metrics(
                dataset,
                args.run_key,
                model=args.model,
                pretrained=args.pretrained,
                caption_template=args.caption_template,
                embeddings_field=args.embeddings_field,
                device=args.device,
                batch_size=args.batch_size,
            )
            print(r.summary())
        elif args.command == "report":
            print(_report(dataset, args.run_key, args.out_dir, args.overwrite))
        elif args.command == "run":
            from fiftyone_prime.integration.pipeline import run_pipeline

            if len(args.tags_field) != 1:
                raise ValueError("`run` tags into one field: pass one --tags-field")
            outcome = run_pipeline(
                dataset,
                model=args.model,
                pretrained=args.pretrained,
                tags_field=args.tags_field[0],
                label_field=args.label_field,
                pred_field=args.pred_field,
                run_key=args.run_key,
                params=search_params(args),
                max_views=args.max_views,
                overwrite=args.overwrite,
                device=args.device,
                batch_size=args.batch_size,
            )
            print(outcome.results.summary())
            print(_report(dataset, args.run_key, args.report_dir, True))
    except (ValueError, TypeError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        if getattr(args, "json", False):  # a machine reading stdout gets the error too
            print(json.dumps({"error": str(e), "exit_code": 2}))
        return 2
    except KeyboardInterrupt as e:  # one line: what was saved and how to clean it up
        print(f"interrupted: {e}" if str(e) else "interrupted", file=sys.stderr)
        return 130
    return 0


def fp_quickstart(args):
    from fiftyone_prime.quickstart import run_quickstart

    return run_quickstart(
        max_samples=args.samples,
        dataset_name=args.dataset,
        report_dir=args.report_dir,
        clip_checkpoint=args.clip_checkpoint,
        clip_model=args.clip_model,
    )


if __name__ == "__main__":
    sys.exit(main())
