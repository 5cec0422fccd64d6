"""Hunches tested exactly on a dataset, with one online error budget over time.

:func:`test_hypotheses` reads labels, predictions and tags as the search
does (:func:`fiftyone_prime.integration.reading.input_cache.load_search_inputs`),
tests each hypothesis with the search's exact test and decides it with
LORD++ (:mod:`fiftyone_prime.core.hypotheses`,
:mod:`fiftyone_prime.core.online_fdr`). The procedure's state (its level,
initial wealth, how many hypotheses it has tested and which it rejected)
lives in the dataset's ``info`` under :data:`STATE_KEY`, so hunches tested
over days, in several processes, share one budget. The state is replaced
with a compare-and-set on the dataset's document: a process whose state is
stale (another tested meanwhile) reads it again and tests again, so no test
is lost or counted twice. The state is read from and written to the
database, not the dataset's in-memory ``info`` (``dataset.reload()`` shows
it there).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Optional

import numpy as np
import scipy.sparse as sp
from bson import json_util

import fiftyone.core.expressions as foe
import fiftyone.core.stages as fos
from fiftyone import ViewField as F

from fiftyone_prime.core import hypotheses as fch
from fiftyone_prime.core.defaults import LABEL_FIELD, ONLINE_FDR_KEY, PRED_FIELD, TAGS_FIELD
from fiftyone_prime.core.online_fdr import ALPHA, LordPlusPlus

from .. import fiftyone_private as fop
from ..reading import fields as fpf
from ..reading.input_cache import load_search_inputs
from ..runs import views as fpv
from ..runs.classes import FailureModeResults
from ..runs.run_guard import writes_run
from ..runs.run_store import load_failure_modes, name_views, start_run
from .holdout import check_measurable
from .hypothesis_runs import HYPOTHESES, HypothesisResults, HypothesisRunConfig, SavedHypothesis
from .text_hypotheses import TextMatch

logger = logging.getLogger(__name__)

#: (the key of the dataset's ``info`` that holds the online procedure's state,
#: :data:`fiftyone_prime.core.defaults.ONLINE_FDR_KEY`)
STATE_KEY = ONLINE_FDR_KEY

# How often a compare-and-set is retried when other processes keep testing.
_ATTEMPTS = 50


def parse_hypotheses(hypotheses, expressions: Optional[dict] = None) -> list[fch.Hypothesis]:
    """Hypotheses as given: tag names, tag lists, view expressions,
    ``(class, tag list or expression)`` pairs or
    :class:`fiftyone_prime.core.hypotheses.Hypothesis`.

    A list holds one hypothesis per item: ``["snow", "night"]`` is two
    hypotheses of one tag each, ``[["snow", "night"]]`` one of two tags. A
    single tag name, pair, expression or ``Hypothesis`` may be given alone.
    An expression (a :class:`fiftyone.core.expressions.ViewExpression`, a
    :class:`fiftyone.core.stages.Match` stage or a MongoDB query filter as
    a dict, as :meth:`~fiftyone.core.collections.SampleCollection.match`
    takes them) becomes a hypothesis of one "tag", named
    :data:`EXPRESSION_PREFIX` plus its filter's JSON: the samples it matches;
    so does a phrase matched to images
    (:class:`~fiftyone_prime.integration.failure_modes.text_hypotheses.TextMatch`,
    from :func:`fiftyone_prime.match_text`), named by its phrase and threshold.

    Args:
        hypotheses: the hypotheses
        expressions (None): a dict that receives ``{name: filter}`` of the
            expression and text hypotheses

    Raises:
        TypeError: naming the first item that is none of these
    """
    if (
        isinstance(hypotheses, (str, fch.Hypothesis))
        or _is_pair(hypotheses)
        or _expression(hypotheses) is not None
    ):
        hypotheses = [hypotheses]
    if not isinstance(hypotheses, (list, tuple)) or not hypotheses:
        raise TypeError(f"`hypotheses` must be a nonempty list of hypotheses; got {hypotheses!r}")
    expressions = {} if expressions is None else expressions
    out = []
    for item in hypotheses:
        if isinstance(item, fch.Hypothesis):
            out.append(item)
        elif isinstance(item, str):
            out.append(fch.Hypothesis((item,)))
        elif _expression(item) is not None:
            name, expressions[name] = _expression(item)
            out.append(fch.Hypothesis((name,)))
        elif _is_pair(item):
            what = _expression(item[1])
            if what is not None:
                expressions[what[0]] = what[1]
            tags = tuple(item[1]) if what is None else (what[0],)
            out.append(fch.Hypothesis(tags, item[0]))
        elif _is_tag_list(item):
            out.append(fch.Hypothesis(tuple(item)))
        else:
            raise TypeError(
                "a hypothesis is a list of tag names, a view expression or a (class, tag list "
                f"or expression) pair; got {item!r}"
            )
    return out


def parse_hypothesis_text(text: str) -> list:
    """Hypotheses written one per line, as the CLI and the operator take them.

    A line is ``tag + tag`` (within every class), ``class: tag + tag``
    (within one class), or either with a MongoDB query filter as JSON in
    place of the tags (``cat: {"uniqueness": {"$gt": 0.8}}``). Empty lines
    and lines starting with ``#`` are skipped.

    Returns:
        the hypotheses, as :func:`test_hypotheses` takes them

    Raises:
        ValueError: naming the first line that cannot be read
    """
    out = []
    for number, line in enumerate(str(text).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        group, sep, rest = line.partition(": ")
        if not sep or group.lstrip().startswith("{"):
            group, rest = None, line
        rest = rest.strip()
        if rest.startswith("{"):
            try:
                what = json_util.loads(rest)
            except ValueError as e:
                raise ValueError(f"line {number}: {rest!r} is not a JSON query ({e})") from None
        else:
            what = [t.strip() for t in rest.split("+")]
            if not all(what):
                raise ValueError(
                    f"line {number}: {line!r} has an empty tag; write 'tag + tag' or "
                    "'class: tag + tag'"
                )
        out.append(what if group is None else (group.strip(), what))
    if not out:
        raise ValueError("no hypotheses: write one per line, 'tag + tag' or 'class: tag + tag'")
    return out


#: How the name of an expression hypothesis starts (its JSON follows).
EXPRESSION_PREFIX = "where "


def expression_name(mongo) -> str:
    """The name of an expression hypothesis: :data:`EXPRESSION_PREFIX` and
    the expression as canonical extended JSON (read back exactly)."""
    return EXPRESSION_PREFIX + json_util.dumps(mongo, json_options=json_util.CANONICAL_JSON_OPTIONS)


def _expression(x) -> Optional[tuple[str, dict]]:
    """``(name, filter)`` of a view expression (``{"$expr": ...}``), a
    ``Match`` stage, a query dict or a :class:`TextMatch`, as
    ``samples.match()`` takes the filter; ``None`` for anything else."""
    if isinstance(x, TextMatch):
        return x.name, x.filter
    if isinstance(x, fos.Match):
        x = x.filter
    if isinstance(x, foe.ViewExpression):
        x = {"$expr": x.to_mongo()}
    return (expression_name(x), x) if isinstance(x, dict) else None


def _is_tag_list(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(t, str) for t in x)


def _is_pair(x) -> bool:
    return (
        isinstance(x, (list, tuple))
        and len(x) == 2
        and isinstance(x[0], str)
        and (_is_tag_list(x[1]) or _expression(x[1]) is not None)
        and not isinstance(x[1], str)
    )


def _with_expressions(samples, inputs, names: list, expressions: dict):
    """The tag matrix and names with a column per expression: the rows
    (samples, by ``inputs.extra["id"]``) that it matches.

    Raises:
        ValueError: naming an expression MongoDB cannot evaluate
    """
    if not expressions:
        return inputs.tags, names
    ids = inputs.extra["id"]
    columns = []
    for name, mongo in expressions.items():
        try:
            matched = set(samples.match(mongo).values("id"))
        except Exception as e:
            raise ValueError(
                f"the hypothesis {name!r} is not an expression MongoDB can match samples with: {e}"
            ) from None
        columns.append(np.fromiter((i in matched for i in ids), dtype=bool, count=len(ids)))
    extra = sp.csr_matrix(np.column_stack(columns))
    return sp.hstack([inputs.tags, extra], format="csr"), [*names, *expressions]


@writes_run("hypothesis test")
def test_hypotheses(
    samples,
    hypotheses,
    *,
    label_field: str = LABEL_FIELD,
    pred_field: str = PRED_FIELD,
    tags_field: str | Sequence[str] = TAGS_FIELD,
    alpha: Optional[float] = None,
    proposed_from=None,
    run_key: Optional[str] = None,
    save_views: bool = True,
    max_views: int = fpv.DEFAULT_MAX_VIEWS,
    overwrite: bool = False,
    reuse_inputs: bool = True,
    progress=None,
) -> HypothesisResults:
    """Tests hunches exactly, with the false-discovery rate controlled over time.

    A hypothesis is a set of tags (names in ``tags_field``) or a FiftyOne
    view expression (the samples it matches, e.g. ``F("uniqueness") > 0.8``):
    within a class, ``("cat", ["snow", "night"])``, or within every class,
    ``["snow", "night"]`` (then each class is one hypothesis). Each is
    tested with the failure-mode search's own test, the one-sided Fisher
    exact p-value of the set's errors against the rest of its class, and
    decided by LORD++
    (Ramdas et al., NeurIPS 2017), an online false-discovery procedure: the
    level each hypothesis gets is fixed before its p-value is seen, and
    the procedure's wealth is stored with the dataset (its ``info``, key
    :data:`STATE_KEY`), so everything tested on the dataset over time, by
    any process, stays within one false-discovery rate ``alpha``. Testing
    more hunches never inflates false discoveries; it makes later levels
    smaller unless earlier hunches were confirmed.

    With ``run_key``, the results are stored as a run of the dataset
    (listed, loaded and deleted with :func:`fiftyone_prime.list_hypothesis_runs`,
    :func:`fiftyone_prime.load_hypotheses` and
    :func:`fiftyone_prime.delete_hypotheses`), with a saved view per
    confirmed hypothesis holding exactly the samples it was tested on.

    Hypotheses read off failure modes are not hunches: they are tested on
    the samples they were not proposed from (``proposed_from``; by default
    when ``hypotheses`` is a failure-mode run), and the results say so.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        hypotheses: a list of hypotheses, each a tag name, a list of tag
            names, a view expression (or ``Match`` stage, or MongoDB
            query dict) or a ``(class, tag list or expression)`` pair
            (see :func:`parse_hypotheses`); or a failure-mode run's results,
            whose modes are tested (read with the run's fields) on the
            samples the run did not search
        label_field ("ground_truth"): the ground-truth ``Classification`` field
        pred_field ("predictions"): the predicted ``Classification`` field
        tags_field ("prime_tags"): the tag field, or several (tags then
            named ``field:label``)
        alpha (None): the online false-discovery level; fixed for the
            dataset by its first call (``None``: the dataset's, or 0.05 for
            its first call)
        proposed_from (None): where the hypotheses came from, left out of
            the test: a failure-mode run (results or key) whose searched
            samples are left out, or a ``(field, value)`` fold; ``None``
            tests on ``samples`` (hunches), or on the samples a run given as
            ``hypotheses`` did not search
        run_key (None): store the results as a run with this key; ``None``
            stores no run (the budget is spent all the same)
        save_views (True): whether a stored run saves a view per confirmed
            hypothesis
        max_views (2000): the most saved views (largest drops first)
        overwrite (False): whether to replace a hypothesis run with that key
        reuse_inputs (True): whether to reuse the search's cached inputs
        progress (None): a FiftyOne ``progress`` argument

    Returns:
        a :class:`fiftyone_prime.HypothesisResults`

    Raises:
        ValueError: if a hypothesis names a tag or class the samples lack,
            an expression cannot be matched, ``alpha`` differs from the
            dataset's budget, the run key is taken, or no sample is left
            out of ``proposed_from`` (nothing is tested then)
        TypeError: if a hypothesis is not a tag list or pair
    """
    fpf.check_sample_collection(samples, "test_hypotheses")
    if isinstance(hypotheses, FailureModeResults):  # a run's modes: read as it read them
        check_measurable(hypotheses, "testing")
        if proposed_from is None:
            proposed_from = hypotheses
        c = hypotheses.config
        label_field, pred_field, tags_field = c.label_field, c.pred_field, c.tags_fields
        hypotheses = [(m.group, list(m.tags)) for m in hypotheses.failure_modes]
        if not hypotheses:
            raise ValueError("The run has no failure modes to test")
    expressions: dict = {}
    parsed = parse_hypotheses(hypotheses, expressions)
    samples, held_out = held_out_split(samples, proposed_from)
    run = None
    if run_key is not None:
        run = start_run(
            samples,
            run_key,
            HYPOTHESES,
            overwrite=overwrite,
            save_views=save_views,
            max_views=max_views,
            progress=progress,
        )
    if expressions:  # the rows' sample ids, to match the expressions to them
        inputs = fpf.read_inputs(samples, label_field, pred_field, tags_field, ["id"])
    else:
        inputs, _ = load_search_inputs(
            samples, label_field, pred_field, tags_field, reuse=reuse_inputs
        )
    multiple = len(inputs.sources) > 1
    names = [fpf.tag_display_name(k, multiple) for k in inputs.tag_keys]
    key_of = dict(zip(names, inputs.tag_keys))
    where = f"the tags field {tags_field!r}"
    fch.resolve_tags([*names, *expressions], parsed, where)  # before anything is matched
    tags, names = _with_expressions(samples, inputs, names, expressions)
    state, results = _test_with_budget(
        samples._root_dataset, alpha, parsed, tags, inputs, names, where
    )
    records = [_saved(r, key_of, expressions) for r in results]
    config = HypothesisRunConfig(
        label_field=label_field,
        pred_field=pred_field,
        tags_fields=[s.field for s in inputs.sources],
        alpha=state.alpha,
        held_out=held_out,
        save_views=run is not None and save_views,
        max_views=max_views,
    )
    if run is None:
        return HypothesisResults.from_inputs(samples, config, None, records, inputs, state)
    if save_views:
        records = _name_confirmed_views(run, records)
    results = HypothesisResults.from_inputs(samples, config, run_key, records, inputs, state)
    return run.store(results, inputs.sources)


def held_out_split(samples, proposed_from) -> tuple:
    """The samples to test hypotheses on: those they were not proposed from.

    Args:
        samples: the collection
        proposed_from: ``None`` (hunches: test on ``samples``), a
            failure-mode run (its results, or its key on the dataset)
            whose searched samples are left out, or a ``(field, value)``
            fold: samples whose ``field`` is ``value`` are left out

    Returns:
        ``(tested, held_out)``: the samples to test on, and what to state
        with the results (``None`` without a split)

    Raises:
        ValueError: if no sample is left to test on, or the fold's field is
            missing
    """
    if proposed_from is None:
        return samples, None
    if isinstance(proposed_from, str):
        proposed_from = load_failure_modes(samples, proposed_from)
    if isinstance(proposed_from, FailureModeResults):
        searched = proposed_from.samples
        tested = samples.exclude(searched.values("id"))
        source = f"the {len(searched)} samples of failure-mode run '{proposed_from.key}'"
    elif _is_fold(proposed_from):
        field, value = proposed_from
        if not samples.has_field(field):
            raise ValueError(
                f"`proposed_from`: the samples have no field {field!r} to split them by; pass "
                "(field, value) of an existing fold field, e.g. ('split', 'train')"
            )
        proposing = samples.match(_in_fold(samples, field, value))
        if len(proposing) == 0:
            raise ValueError(
                f"`proposed_from`: no sample has {field} == {value!r}, so nothing would be held "
                "out; name a value the fold field holds"
            )
        tested = samples.exclude(proposing.values("id"))
        source = f"the samples with {field} == {value!r}"
    else:
        raise TypeError(
            "`proposed_from` must be None, a failure-mode run (its results or key) or a "
            f"(field, value) pair; got {proposed_from!r}"
        )
    num = len(tested)
    if num == 0:
        raise ValueError(
            f"No sample is left to test on: every sample is among {source}. Propose hypotheses "
            "from one split (a fold field, or a run over one split) and test them on another"
        )
    return tested, {"proposed_from": source, "tested_on": f"the other {num} samples"}


def _is_fold(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 2 and isinstance(x[0], str)


test_hypotheses.__test__ = False  # not a pytest test, despite its name


def _test_with_budget(dataset, alpha, parsed, tags, inputs, names, where):
    """Tests ``parsed`` on ``inputs`` with the dataset's stored budget,
    replaced by compare-and-set (tested again when another process tested
    meanwhile). Returns the new state and the core's results."""
    for _ in range(_ATTEMPTS):
        stored = _stored_state(dataset)
        state = _state(stored, alpha)
        results = fch.test_hypotheses(
            tags, inputs.correct, inputs.labels, names, parsed, state, where=where
        )
        if _replace_state(dataset, stored, state):
            # The dataset's in-memory document is left as it is (reloading it
            # would drop a user's unsaved edits); dataset.reload() shows it.
            return state, results
        logger.info("Another process tested hypotheses meanwhile; testing again")
    raise RuntimeError(
        f"Could not store the online false-discovery state after {_ATTEMPTS} tries: "
        "other processes keep testing on this dataset; try again"
    )


def _saved(result: fch.HypothesisResult, key_of: dict, expressions: dict) -> SavedHypothesis:
    """A core result as the run stores it: its tags identified by field and
    label, or its expression."""
    keys = [key_of[t] for t in result.tags if t in key_of]
    (first, *_) = result.tags
    return SavedHypothesis(
        **vars(result),
        tag_fields=tuple(k[0] for k in keys),
        tag_labels=tuple(k[1] for k in keys),
        expression=expressions.get(first),
    )


def _name_confirmed_views(run, records: list) -> list:
    """Names the views of the confirmed hypotheses (the run's ``max_views``
    with the largest drops); the others get none."""
    confirmed = [i for i, r in enumerate(records) if r.rejected]
    named = name_views(
        run.samples._root_dataset,
        run.key,
        [records[i] for i in confirmed],
        run.max_views,
        replaced=run.replaced,
    )
    records = list(records)
    for i, r in zip(confirmed, named):
        records[i] = r
    return records


def _stored_state(dataset) -> Optional[dict]:
    """The state in the database (not the in-memory document, which may be stale)."""
    doc = fop.db().datasets.find_one({"_id": fop.dataset_id(dataset)}, {"info": 1})
    return ((doc or {}).get("info") or {}).get(STATE_KEY)


def _state(stored: Optional[dict], alpha: Optional[float]) -> LordPlusPlus:
    if stored is None:
        return LordPlusPlus(alpha=ALPHA if alpha is None else alpha)
    state = LordPlusPlus.from_dict(stored)
    if alpha is not None and abs(state.alpha - float(alpha)) > 1e-12:
        raise ValueError(
            f"this dataset's hypotheses are controlled at alpha={state.alpha} "
            f"({state.num_tested} tested); pass alpha={state.alpha}"
        )
    return state


def _replace_state(dataset, stored: Optional[dict], state: LordPlusPlus) -> bool:
    """Writes the new state if the stored one is still ``stored``."""
    path = f"info.{STATE_KEY}"
    match = {"_id": fop.dataset_id(dataset)}
    match[path] = stored if stored is not None else {"$exists": False}
    if stored is None:
        # info may be missing or null on the document: $set needs an object
        fop.db().datasets.update_one({"_id": match["_id"], "info": None}, {"$set": {"info": {}}})
    outcome = fop.db().datasets.update_one(match, {"$set": {path: state.to_dict()}})
    return outcome.matched_count == 1


def _in_fold(samples, field: str, value):
    """The expression of a fold: ``field == value`` for a plain field, the
    label for a ``Classification`` field, membership for a list field (sample
    ``tags``: FiftyOne's split convention).

    Raises:
        TypeError: a field of another kind
    """
    import fiftyone.core.fields as fof
    import fiftyone.core.labels as fol

    kind = samples.get_field(field)
    if isinstance(kind, fof.ListField):
        return F(field).contains(value)
    if isinstance(kind, fof.EmbeddedDocumentField):
        if issubclass(kind.document_type, fol.Classification):
            return F(f"{field}.label") == value
        raise TypeError(
            f"`proposed_from`: the field {field!r} holds {kind.document_type.__name__} labels; a "
            "fold is a string, number or bool field, a Classification field or a list field"
        )
    return F(field) == value
