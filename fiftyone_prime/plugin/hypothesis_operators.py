"""Operators for hunches and for more data like a failure mode.

``test_hypotheses`` is a form over :func:`fiftyone_prime.test_hypotheses`
(hypotheses written one per line), and ``find_more_like`` a form over
:func:`fiftyone_prime.find_more_like`; the panel opens both from its rows.
"""

from __future__ import annotations

import fiftyone as fo
import fiftyone.operators.types as types

from fiftyone_prime.integration.failure_modes.hypotheses import (
    parse_hypothesis_text,
    test_hypotheses,
)
from fiftyone_prime.integration.failure_modes.hypothesis_runs import HYPOTHESES
from fiftyone_prime.integration.failure_modes.more_like import DEFAULT_K, find_more_like
from fiftyone_prime.integration.failure_modes.proposals import (
    API_KEY_ENV,
    BASE_URL_ENV,
    MODEL_ENV,
    ChatEndpoint,
    propose_and_test,
)
from fiftyone_prime.integration.runs.rows import format_p, format_percent
from fiftyone_prime.integration.runs.run_store import (
    list_failure_mode_runs,
    load_failure_modes,
    validate_new_run_key,
)

from . import forms
from .execution import FormOperator, call

#: The default key of a hypothesis run made from the App.
RUN_KEY = "prime_hypotheses"

#: The ``proposed_from`` choice for hunches (tested on the whole view).
NO_RUN = "(none: my own hunches)"


def hypothesis_rows(results) -> list[dict]:
    """The tested hypotheses as display strings, one row per ``(class, hypothesis)``."""
    return [
        {
            "class": str(r.group),
            "hypothesis": " + ".join(r.tags),
            "size": r.size,
            "accuracy": format_percent(r.accuracy),
            "class accuracy": format_percent(r.group_accuracy),
            "p": format_p(r.p_value),
            "decision": r.decision,
            "view": r.view_name or "",
        }
        for r in results.results
    ]


def _outcome(results) -> dict:
    """What an operator that tested hypotheses returns about them."""
    return {
        "num_confirmed": len(results.rejected),
        "tested_on": results.summary().splitlines()[1],
        "rows": hypothesis_rows(results),
    }


def _outcome_outputs(outputs, label: str):
    """The outputs of :func:`_outcome`, added to ``outputs``; returns the property."""
    outputs.int("num_confirmed", label="Confirmed")
    outputs.str("tested_on", label="Tested on")
    table = types.TableView()
    for key in ("class", "hypothesis", "size", "accuracy", "class accuracy", "p", "decision"):
        table.add_column(key, label=key)
    outputs.list("rows", types.Object(), label="Hypotheses", view=table)
    return types.Property(outputs, view=types.View(label=label))


class TestHypotheses(FormOperator):
    """Tests hunches exactly, with the false-discovery rate controlled over
    time; stores a run with a view per confirmed hypothesis."""

    __test__ = False  # not a pytest test class, despite its name

    NAME = "test_hypotheses"
    LABEL = "PRIME: test a hypothesis"
    DESCRIPTION = "Test hunches ('cat: snow + night') exactly, with online FDR control"

    def resolve_input(self, ctx):
        inputs = types.Object()
        view = ctx.target_view()
        if forms.field_pickers(ctx, inputs, view):
            prop = inputs.str(
                "hypotheses",
                required=True,
                label="Hypotheses, one per line",
                description="'tag + tag' (every class), 'class: tag + tag', or a JSON query "
                'in place of the tags (\'cat: {"uniqueness": {"$gt": 0.8}}\')',
            )
            text = ctx.params.get("hypotheses")
            if text:
                try:
                    parse_hypothesis_text(text)
                except ValueError as e:
                    forms.invalid(prop, str(e))
            runs = list_failure_mode_runs(ctx.dataset)
            choices = [NO_RUN, *runs]
            inputs.enum(
                "proposed_from",
                choices,
                default=NO_RUN,
                label="Proposed from run",
                description="Hypotheses read off a run's failure modes are tested on the "
                "samples that run did not search",
                view=forms.dropdown(choices),
            )
            forms.new_run_key(
                ctx,
                inputs,
                default=RUN_KEY,
                validate=lambda ds, key, ow: validate_new_run_key(ds, key, ow, HYPOTHESES),
            )
        return types.Property(inputs, view=types.View(label="Test a hypothesis"))

    def execute(self, ctx):
        p = ctx.params
        source = p.get("proposed_from", NO_RUN)
        results = call(
            ctx,
            test_hypotheses,
            ctx.target_view(),
            parse_hypothesis_text(p["hypotheses"]),
            **forms.field_values(p),
            proposed_from=None if source == NO_RUN else source,
            run_key=p.get("run_key", RUN_KEY),
            overwrite=p.get("overwrite", False),
        )
        return {"run_key": results.key, "num_tested": results.num_tested, **_outcome(results)}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("num_tested", label="Tested on this dataset in all")
        return _outcome_outputs(outputs, "Hypotheses tested")


class FindMoreLike(FormOperator):
    """Ranks a pool by how well its samples match a failure mode and saves
    the top samples as a view (or tags them for labeling)."""

    NAME = "find_more_like"
    LABEL = "PRIME: more like this"
    DESCRIPTION = "Find a pool's samples most like a failure mode, to label next"

    def resolve_input(self, ctx):
        inputs = types.Object()
        chosen = forms.saved_mode_choice(ctx, inputs)
        if chosen is not None:
            pools = fo.list_datasets()
            inputs.enum(
                "pool",
                pools,
                default=ctx.dataset.name,
                label="Pool dataset",
                description="The dataset to rank (this dataset: the current view); it needs "
                "the run's tag fields",
                view=forms.dropdown(pools),
            )
            inputs.int("k", default=DEFAULT_K, min=1, label="How many samples")
            inputs.str(
                "save_view",
                default=f"more like {chosen[1]}",
                label="Save as view (empty: don't)",
            )
            inputs.str("tag", default="", label="Tag them (empty: don't)")
        return types.Property(inputs, view=types.View(label="More like this"))

    def execute(self, ctx):
        p = ctx.params
        name = p.get("pool") or ctx.dataset.name
        pool = ctx.target_view() if name == ctx.dataset.name else fo.load_dataset(name)
        found = call(
            ctx,
            find_more_like,
            load_failure_modes(ctx.dataset, p["run_key"]),
            pool,
            p["view_name"],
            k=int(p.get("k", DEFAULT_K)),
            save_view=p.get("save_view") or None,
            tag=p.get("tag") or None,
        )
        if found.view_name and name == ctx.dataset.name:
            ctx.ops.set_view(name=found.view_name)
        return {"num_found": len(found.ids), "view_name": found.view_name or ""}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("num_found", label="Samples found")
        outputs.str("view_name", label="Saved view")
        return types.Property(outputs, view=types.View(label="More like this"))


class ProposeHypotheses(FormOperator):
    """Asks the configured language model for hypotheses from a run's
    failure modes and tests every proposal on the samples the run did not
    search; only what the test confirms is a finding."""

    NAME = "propose_hypotheses"
    LABEL = "PRIME: propose hypotheses (language model)"
    DESCRIPTION = "Ask a language model for hypotheses from a run, and test them on held-out data"

    def resolve_input(self, ctx):
        inputs = types.Object()
        if ChatEndpoint.configured(getattr(ctx, "secrets", None)) is None:
            message = (
                f"No language model is configured: set the plugin secrets {BASE_URL_ENV} and "
                f"{MODEL_ENV} (and {API_KEY_ENV} if the server needs one)"
            )
            forms.invalid(inputs.view("not_configured", types.Warning(label=message)), message)
            return types.Property(inputs)
        if forms.existing_run_key(ctx, inputs) is not None:
            inputs.str(
                "hypotheses_key",
                default=RUN_KEY,
                label="Store the tested hypotheses as run",
                description="A new hypothesis run (empty: store none)",
            )
        return types.Property(inputs, view=types.View(label="Propose hypotheses"))

    def execute(self, ctx):
        p = ctx.params
        proposals, results = call(
            ctx,
            propose_and_test,
            load_failure_modes(ctx.dataset, p["run_key"]),
            endpoint=ChatEndpoint.configured(getattr(ctx, "secrets", None)),
            run_key=p.get("hypotheses_key") or None,
        )
        return {"num_proposed": len(proposals), **_outcome(results)}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("num_proposed", label="Proposals tested")
        return _outcome_outputs(outputs, "Proposals tested")


#: The operators of this module, for the plugin's registration.
OPERATORS = (TestHypotheses, FindMoreLike, ProposeHypotheses)
