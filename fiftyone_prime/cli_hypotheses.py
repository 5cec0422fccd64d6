"""The ``hypotheses`` and ``more-like`` subcommands of ``fiftyone-prime``.

``hypotheses`` tests hunches (one per argument or per line of a file:
``"cat: snow + night"``, ``"blur"``) with the search's exact test and the
dataset's online false-discovery budget, optionally held out from a run or
a fold and stored as a run. ``more-like`` ranks a pool dataset by a failure
mode's tags and saves the top samples as a view or tags them.
"""

from __future__ import annotations

from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD, TAGS_FIELD

#: The subcommands defined here.
COMMANDS = ("hypotheses", "more-like")


def add_commands(sub) -> None:
    """Adds ``hypotheses`` and ``more-like`` to the CLI's subparsers."""
    h = sub.add_parser(
        "hypotheses", help="test hunches exactly, with online false-discovery control"
    )
    h.add_argument("dataset", help="the FiftyOne dataset")
    h.add_argument(
        "hypothesis",
        nargs="*",
        help="'tag + tag' (every class), 'class: tag + tag', or a JSON query in place of the tags",
    )
    h.add_argument("--file", help="a text file of hypotheses, one per line")
    h.add_argument("--label-field", default=LABEL_FIELD, help=f"(default: {LABEL_FIELD})")
    h.add_argument("--pred-field", default=PRED_FIELD, help=f"(default: {PRED_FIELD})")
    h.add_argument("--tags-field", nargs="+", default=[TAGS_FIELD], help=f"(default: {TAGS_FIELD})")
    source = h.add_mutually_exclusive_group()
    source.add_argument(
        "--proposed-from",
        metavar="RUN_KEY",
        help="a failure-mode run the hypotheses came from: test on the samples it did not search",
    )
    source.add_argument(
        "--propose-from",
        metavar="RUN_KEY",
        help="ask the configured language model (FIFTYONE_PRIME_LLM_BASE_URL, _MODEL, "
        "_API_KEY) for hypotheses from this failure-mode run, and test them on the samples it "
        "did not search",
    )
    source.add_argument(
        "--fold",
        nargs=2,
        metavar=("FIELD", "VALUE"),
        help="the fold the hypotheses came from: test on the samples whose FIELD is not VALUE",
    )
    h.add_argument("--run-key", default=None, help="store the results as a run with this key")
    h.add_argument("--overwrite", action="store_true", help="replace a hypothesis run")
    h.add_argument(
        "--alpha", type=float, default=None, help="the online FDR level (default: the dataset's)"
    )

    m = sub.add_parser("more-like", help="rank a pool by a failure mode's tags, to label next")
    m.add_argument("dataset", help="the FiftyOne dataset holding the run")
    m.add_argument("--run-key", required=True, help="the failure-mode run")
    m.add_argument(
        "--mode", default="0", help="the mode: its index in the run or its view name (default: 0)"
    )
    m.add_argument("--pool", required=True, help="the dataset to rank (tagged like the run's)")
    m.add_argument("--k", type=int, default=100, help="how many samples to keep (default: 100)")
    m.add_argument("--min-tags", type=int, default=None, help="(default: all the mode's tags)")
    m.add_argument("--save-view", default=None, help="save the top samples as this view")
    m.add_argument("--tag", default=None, help="add this sample tag to the top samples")
    m.add_argument("--overwrite", action="store_true", help="replace a saved view of that name")


def run_command(args, dataset, load) -> int:
    """Runs ``hypotheses`` or ``more-like`` on a loaded dataset (``load``
    loads another by name); returns the exit code."""
    if args.command == "hypotheses":
        from fiftyone_prime.integration.failure_modes.hypotheses import (
            parse_hypothesis_text,
            test_hypotheses,
        )

        if args.propose_from:
            from fiftyone_prime.integration.failure_modes.proposals import propose_and_test
            from fiftyone_prime.integration.runs.run_store import load_failure_modes

            if args.hypothesis or args.file:
                raise ValueError("--propose-from asks the language model: give no hypotheses")
            proposals, results = propose_and_test(
                load_failure_modes(dataset, args.propose_from),
                run_key=args.run_key,
                overwrite=args.overwrite,
            )
            for p in proposals:
                print(f"proposed: {p.group or 'every class'}: {' + '.join(p.tags)} ({p.rationale})")
            print(results.summary())
            return 0
        lines = list(args.hypothesis)
        if args.file:
            try:
                with open(args.file) as f:
                    lines.append(f.read())
            except OSError as e:
                raise ValueError(f"cannot read --file '{args.file}': {e.strerror or e}") from None
        results = test_hypotheses(
            dataset,
            parse_hypothesis_text("\n".join(lines)),
            label_field=args.label_field,
            pred_field=args.pred_field,
            tags_field=args.tags_field,
            alpha=args.alpha,
            proposed_from=args.proposed_from or (tuple(args.fold) if args.fold else None),
            run_key=args.run_key,
            overwrite=args.overwrite,
        )
        print(results.summary())
        return 0
    from fiftyone_prime.integration.failure_modes.more_like import find_more_like
    from fiftyone_prime.integration.runs.run_store import load_failure_modes

    found = find_more_like(
        load_failure_modes(dataset, args.run_key),
        load(args.pool),
        int(args.mode) if args.mode.isdigit() else args.mode,
        k=args.k,
        min_tags=args.min_tags,
        save_view=args.save_view,
        tag=args.tag,
        overwrite=args.overwrite,
    )
    print(
        f"{len(found.ids)} samples of '{args.pool}' like {found.group}: {' + '.join(found.tags)}"
        + (f"; saved as view '{found.view_name}'" if found.view_name else "")
        + (f"; tagged '{found.tag}'" if found.tag else "")
    )
    return 0
