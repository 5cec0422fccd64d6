"""Testing given hypotheses exactly, one after another, with online error control.

A hypothesis is a hunch ("the model fails on trucks at night"): a tag set
within one class, or within every class (then each ``(class, tag set)``
pair is one hypothesis, in sorted class order). Each is tested with the
search's own test (:mod:`fiftyone_prime.core.significance`): the one-sided
Fisher exact p-value of the set's error count given its class,
``P(X >= e_T)`` with ``X ~ Hypergeom(n_g, e_g, n_T)``, measured by
:func:`fiftyone_prime.core.measure.measure_tag_sets`. Whether it is a
finding is decided by an online false-discovery procedure
(:class:`fiftyone_prime.core.online_fdr.LordPlusPlus`) whose state carries
over to the next call, so hunches tested over time share one budget.

A pair that cannot be rejected whatever its errors is not tested and does
not use up a step of the procedure (Tarone's idea, online): one with no
samples, or whose least attainable p-value (all the class's errors inside
the set, ``P(X = min(n_T, e_g))``) exceeds the level it would get. That
decision depends only on the margins (``n_T``, ``n_g``, ``e_g``), on
which Fisher's test conditions, so it does not favour any p-value.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .measure import Measurement, TagSetQuery, measure_tag_sets
from .online_fdr import LordPlusPlus
from .significance import fisher_p_values
from .types import SearchParams


@dataclass(frozen=True)
class Hypothesis:
    """A hunch to test: a tag set, within one class or within every class.

    Attributes:
        tags: the tag names, all of which a sample must carry
        group (None): the class; ``None`` tests the set within every class
    """

    tags: tuple[str, ...]
    group: Optional[Hashable] = None


@dataclass(frozen=True)
class HypothesisResult(Measurement):
    """One ``(class, tag set)`` hypothesis, measured and tested: a
    :class:`~fiftyone_prime.core.measure.Measurement` (size, accuracy,
    group accuracy, drop, p-value, interval, whether the set meets the
    failure-mode definition there) with the online test's outcome.

    Attributes:
        group: the class
        tags: the tag names
        tested: whether the online procedure tested it (see the module's
            docstring for pairs it skips)
        level: the level it was tested at; ``None`` when not tested
        rejected: whether the procedure rejected it: a finding
        position: its 1-based position among everything the procedure has
            tested (across calls); ``None`` when not tested
    """

    group: Hashable
    tags: tuple[str, ...]
    tested: bool
    level: Optional[float]
    rejected: bool
    position: Optional[int]


def resolve_tags(
    tag_names: Sequence[str], hypotheses: Sequence[Hypothesis], where: str = "the tags read"
) -> dict:
    """The column of each tag the hypotheses name.

    Args:
        tag_names: the name of each tag column
        hypotheses: the hypotheses
        where ("the tags read"): what the tags were read from, for the error

    Raises:
        ValueError: naming the tags that are not in ``tag_names``
    """
    column_of = {name: j for j, name in enumerate(tag_names)}
    unknown = sorted({t for h in hypotheses for t in h.tags} - column_of.keys())
    if unknown:
        raise ValueError(
            f"unknown tags {', '.join(map(repr, unknown))}: not in {where} "
            f"({len(column_of)} tags); check their spelling"
        )
    empty = [h for h in hypotheses if not h.tags]
    if empty:
        raise ValueError(f"a hypothesis needs at least one tag, got {empty[0]!r}")
    return column_of


def test_hypotheses(
    tags,
    correct: np.ndarray,
    groups: np.ndarray,
    tag_names: Sequence[str],
    hypotheses: Sequence[Hypothesis],
    procedure: LordPlusPlus,
    *,
    params: Optional[SearchParams] = None,
    where: str = "the tags read",
) -> list[HypothesisResult]:
    """Tests hypotheses one after another with the search's exact test.

    Args:
        tags: an ``(n_samples, n_tags)`` boolean array or sparse matrix
        correct: ``(n_samples,)`` booleans, whether each sample is classified right
        groups: ``(n_samples,)`` class labels
        tag_names: the name of each tag column (distinct)
        hypotheses: the hypotheses, in the order they are tested
        procedure: the online procedure; it is advanced in place (store its
            :meth:`~LordPlusPlus.to_dict` to carry on later)
        params (None): the failure-mode definition's thresholds, for
            :attr:`HypothesisResult.holds` only (the project's defaults if
            ``None``)
        where ("the tags read"): what the tags were read from, for errors

    Returns:
        a :class:`HypothesisResult` per ``(class, tag set)`` pair: a
        hypothesis with a class gives one, one without gives one per class
        (sorted), in order

    Raises:
        ValueError: if a hypothesis names a tag not in ``tag_names`` or a
            class not in ``groups`` (nothing is tested then)
    """
    column_of = resolve_tags(tag_names, hypotheses, where)
    groups = np.asarray(groups, dtype=object)
    classes = sorted(set(groups.tolist()), key=str)
    missing = sorted({h.group for h in hypotheses if h.group is not None} - set(classes), key=str)
    if missing:
        raise ValueError(
            f"unknown classes {', '.join(map(repr, missing))}: no sample has that label"
        )
    pairs = [
        (group, tuple(h.tags))
        for h in hypotheses
        for group in (classes if h.group is None else [h.group])
    ]
    queries = [TagSetQuery(g, tuple(column_of[t] for t in ts)) for g, ts in pairs]
    measured = measure_tag_sets(tags, correct, groups, queries, params or SearchParams())
    out = []
    for (group, names), m in zip(pairs, measured):
        group_errors = m.group_size - m.group_correct
        least = (
            float(
                fisher_p_values(
                    np.array([m.size]),
                    np.array([min(m.size, group_errors)]),
                    np.array([m.group_size]),
                    np.array([group_errors]),
                )[0]
            )
            if m.size
            else 1.0
        )
        level = procedure.next_level()
        tested = m.p_value is not None and least <= level
        rejected, position = False, None
        if tested:
            rejected, level = procedure.test(m.p_value)
            position = procedure.num_tested
        out.append(
            HypothesisResult(
                **vars(m),
                group=group,
                tags=names,
                tested=tested,
                level=level if tested else None,
                rejected=rejected,
                position=position,
            )
        )
    return out


test_hypotheses.__test__ = False  # not a pytest test, despite its name
