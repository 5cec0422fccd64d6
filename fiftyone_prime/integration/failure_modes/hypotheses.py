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
from dataclasses import dataclass
from typing import Optional

from fiftyone_prime.core import hypotheses as fch
from fiftyone_prime.core.defaults import LABEL_FIELD, ONLINE_FDR_KEY, PRED_FIELD, TAGS_FIELD
from fiftyone_prime.core.online_fdr import ALPHA, LordPlusPlus

from .. import fiftyone_private as fop
from ..reading import fields as fpf
from ..reading.input_cache import load_search_inputs

logger = logging.getLogger(__name__)

#: (the key of the dataset's ``info`` that holds the online procedure's state,
#: :data:`fiftyone_prime.core.defaults.ONLINE_FDR_KEY`)
STATE_KEY = ONLINE_FDR_KEY

# How often a compare-and-set is retried when other processes keep testing.
_ATTEMPTS = 50


@dataclass
class HypothesisResults:
    """The hypotheses of one :func:`test_hypotheses` call, tested.

    Attributes:
        results: a :class:`fiftyone_prime.core.hypotheses.HypothesisResult`
            per ``(class, tag set)`` pair, in the order tested
        alpha: the online false-discovery level
        num_tested: how many hypotheses the dataset's budget has tested in
            all, these included
        label_field, pred_field, tags_field: the fields read
        state: the online procedure's state as stored after these tests
            (:meth:`fiftyone_prime.core.online_fdr.LordPlusPlus.to_dict`)
    """

    results: list
    alpha: float
    num_tested: int
    label_field: str
    pred_field: str
    tags_field: object
    state: dict

    @property
    def rejected(self) -> list:
        """The findings: the results the online procedure rejected."""
        return [r for r in self.results if r.rejected]

    def summary(self) -> str:
        """A table of the results, one line per ``(class, tag set)`` pair."""
        lines = [
            f"{len(self.rejected)} of {len(self.results)} hypotheses confirmed "
            f"(LORD++, online FDR <= {self.alpha}; {self.num_tested} tested on this "
            "dataset in all)",
            f"{'class':16s} {'tags':28s} {'size':>6s} {'acc':>6s} {'class':>6s} "
            f"{'drop':>6s} {'p':>9s} {'level':>9s}  decision",
        ]
        for r in self.results:
            decision = (
                "confirmed"
                if r.rejected
                else "not confirmed"
                if r.tested
                else "not tested (no samples)"
                if r.size == 0
                else "not tested (too few samples to reach the level)"
            )
            p = "-" if r.p_value is None else f"{r.p_value:9.3g}"
            level = "-" if r.level is None else f"{r.level:9.3g}"
            lines.append(
                f"{r.group!s:16.16s} {', '.join(r.tags):28.28s} {r.size:6d} "
                f"{_percent(r.accuracy)} {_percent(r.group_accuracy)} {_percent(r.drop)} {p:>9s} "
                f"{level:>9s}  {decision}"
            )
        return "\n".join(lines)


def _percent(x: float) -> str:
    return f"{'-':>6s}" if x != x else f"{x:6.1%}"  # NaN (an empty set): '-'


def parse_hypotheses(hypotheses) -> list[fch.Hypothesis]:
    """Hypotheses as given: tag names, tag lists, ``(class, tag list)`` pairs
    or :class:`fiftyone_prime.core.hypotheses.Hypothesis`.

    A list holds one hypothesis per item: ``["snow", "night"]`` is two
    hypotheses of one tag each, ``[["snow", "night"]]`` one of two tags. A
    single tag name, pair or ``Hypothesis`` may be given alone.

    Raises:
        TypeError: naming the first item that is none of these
    """
    if isinstance(hypotheses, (str, fch.Hypothesis)) or _is_pair(hypotheses):
        hypotheses = [hypotheses]
    if not isinstance(hypotheses, (list, tuple)) or not hypotheses:
        raise TypeError(f"`hypotheses` must be a nonempty list of hypotheses; got {hypotheses!r}")
    out = []
    for item in hypotheses:
        if isinstance(item, fch.Hypothesis):
            out.append(item)
        elif isinstance(item, str):
            out.append(fch.Hypothesis((item,)))
        elif _is_pair(item):
            out.append(fch.Hypothesis(tuple(item[1]), item[0]))
        elif _is_tag_list(item):
            out.append(fch.Hypothesis(tuple(item)))
        else:
            raise TypeError(
                f"a hypothesis is a list of tag names or a (class, tag list) pair; got {item!r}"
            )
    return out


def _is_tag_list(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(t, str) for t in x)


def _is_pair(x) -> bool:
    return (
        isinstance(x, (list, tuple))
        and len(x) == 2
        and isinstance(x[0], str)
        and isinstance(x[1], (list, tuple))
        and _is_tag_list(x[1])
    )


def test_hypotheses(
    samples,
    hypotheses,
    *,
    label_field: str = LABEL_FIELD,
    pred_field: str = PRED_FIELD,
    tags_field: str | Sequence[str] = TAGS_FIELD,
    alpha: float = ALPHA,
    reuse_inputs: bool = True,
) -> HypothesisResults:
    """Tests hunches exactly, with the false-discovery rate controlled over time.

    A hypothesis is a set of tags (names in ``tags_field``): within a class,
    ``("cat", ["snow", "night"])``, or within every class, ``["snow",
    "night"]`` (then each class is one hypothesis). Each is tested with the
    failure-mode search's own test, the one-sided Fisher exact p-value of
    the set's errors against the rest of its class, and decided by LORD++
    (Ramdas et al., NeurIPS 2017), an online false-discovery procedure: the
    level each hypothesis gets is fixed before its p-value is seen, and
    the procedure's wealth is stored with the dataset (its ``info``, key
    :data:`STATE_KEY`), so everything tested on the dataset over time, by
    any process, stays within one false-discovery rate ``alpha``. Testing
    more hunches never inflates false discoveries; it makes later levels
    smaller unless earlier hunches were confirmed.

    Hypotheses read off this dataset's own failure modes are not hunches:
    test them on other samples (a held-out view).

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        hypotheses: a list of hypotheses, each a tag name, a list of tag
            names or a ``(class, tag list)`` pair (see :func:`parse_hypotheses`)
        label_field ("ground_truth"): the ground-truth ``Classification`` field
        pred_field ("predictions"): the predicted ``Classification`` field
        tags_field ("prime_tags"): the tag field, or several (tags then
            named ``field:label``)
        alpha (0.05): the online false-discovery level; fixed for the
            dataset by its first call
        reuse_inputs (True): whether to reuse the search's cached inputs

    Returns:
        a :class:`HypothesisResults`

    Raises:
        ValueError: if a hypothesis names a tag or class the samples lack,
            or ``alpha`` differs from the dataset's budget (nothing is tested)
        TypeError: if a hypothesis is not a tag list or pair
    """
    fpf.check_sample_collection(samples, "test_hypotheses")
    parsed = parse_hypotheses(hypotheses)
    inputs, _ = load_search_inputs(samples, label_field, pred_field, tags_field, reuse=reuse_inputs)
    multiple = len(inputs.sources) > 1
    names = [fpf.tag_display_name(k, multiple) for k in inputs.tag_keys]
    where = f"the tags field {tags_field!r}"
    fch.resolve_tags(names, parsed, where)  # a clear error before any state is read
    dataset = samples._root_dataset
    for _ in range(_ATTEMPTS):
        stored = _stored_state(dataset)
        state = _state(stored, alpha)
        results = fch.test_hypotheses(
            inputs.tags, inputs.correct, inputs.labels, names, parsed, state, where=where
        )
        if _replace_state(dataset, stored, state):
            break
        logger.info("Another process tested hypotheses meanwhile; testing again")
    else:
        raise RuntimeError(
            f"Could not store the online false-discovery state after {_ATTEMPTS} tries: "
            "other processes keep testing on this dataset; try again"
        )
    # The dataset's in-memory document is left as it is (reloading it would
    # drop a user's unsaved edits); dataset.reload() shows the new state.
    return HypothesisResults(
        results,
        state.alpha,
        state.num_tested,
        label_field,
        pred_field,
        tags_field,
        state.to_dict(),
    )


test_hypotheses.__test__ = False  # not a pytest test, despite its name


def _stored_state(dataset) -> Optional[dict]:
    """The state in the database (not the in-memory document, which may be stale)."""
    doc = fop.db().datasets.find_one({"_id": fop.dataset_id(dataset)}, {"info": 1})
    return ((doc or {}).get("info") or {}).get(STATE_KEY)


def _state(stored: Optional[dict], alpha: float) -> LordPlusPlus:
    if stored is None:
        return LordPlusPlus(alpha=alpha)
    state = LordPlusPlus.from_dict(stored)
    if abs(state.alpha - float(alpha)) > 1e-12:
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
