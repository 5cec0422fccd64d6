"""Which failure modes to report: false-discovery or family-wise control.

A search tests every tag set of the family of
:mod:`fiftyone_prime.core.significance` (each set of ``1..max_tags`` tags
with ``min_size`` samples in its class) and finds the few that meet the
failure-mode definition. ``SearchParams.error_control`` says what
``alpha`` bounds among the modes reported:

-   ``"fdr"`` (the default): the false-discovery rate, the expected share
    of reported modes that are chance findings. Users triage a list, so a
    few chance rows among many real ones cost little, while a family-wise
    filter hides real findings whenever the family is large (thousands of
    small classes).
-   ``"fdr_by"``: the same, valid under any dependence between tag sets
    (Benjamini-Yekutieli), at some cost in power.
-   ``"fwer"``: the family-wise error rate, the chance that *any* reported
    mode is a chance finding (Bonferroni-Tarone,
    :meth:`~fiftyone_prime.core.significance.TestedFamily.adjust`).

The false-discovery procedure (Benjamini-Hochberg over Tarone's testable
sets, after Gilbert, "A modified false discovery rate multiple-comparisons
procedure for discrete data", JRSS C 2005):

1.  Tarone's level ``delta* = max {delta : delta * m(delta) <= alpha}``,
    where ``m(delta)`` counts the sets whose least attainable p-value
    ``psi`` is ``<= delta`` (Gilbert's ``alpha / K*``, ``K*`` the least
    integer with ``m(alpha / K) <= K``, with ``K`` taken real, which only
    adds sets). The *tested family* is ``F = {T : psi_T <= delta*}``, of
    ``m = m(delta*)`` sets (counted exactly for single tags, and for
    larger sets where :mod:`.exact_family` can afford it; elsewhere bounded
    from above).
2.  A mode outside ``F`` is not reported (its q-value is 1). The modes in
    ``F`` are ranked by p-value; with ``c = 1`` (BH) or
    ``c = sum_{j <= m} 1/j`` (BY), a mode's q-value is
    ``min(1, min_{r >= rank} p_(r) * m * c / r)`` and the modes with
    ``q <= alpha`` are reported: the step-up over the definition's modes,
    so every reported mode has ``p <= alpha * R / (m * c)``, ``R`` the
    number reported (self-consistent).

Why it holds (sketch). Condition, as Fisher's test does, on the tag matrix
and each class's size and error count. Then every ``psi_T``, ``delta*`` and
``F`` are fixed numbers, not random ones, and a set without excess errors
has a p-value with ``P(p <= x) <= x``. Sets outside ``F`` are never
reported, so only ``F`` matters, and ``m >= |F|`` only makes the
procedure more conservative. Within ``F``:

-   ``"fdr_by"``: every self-consistent rejection set with the shape
    ``r / H_m`` has ``FDR <= alpha * m_0 / m <= alpha`` under *any*
    dependence, however the set was chosen (Blanchard and Roquain, "Two
    simple sufficient conditions for FDR control", EJS 2008: self-consistency
    with the shape ``beta(r) = r / H_m``): the definition's data-driven choice
    of modes (drop, gain, minimality) and the proxy grouping cannot break it.
-   ``"fdr"``: Benjamini-Hochberg's bound ``FDR <= alpha * m_0 / m`` needs
    the null p-values to be positively regression dependent (PRDS;
    Benjamini and Yekutieli, AoS 2001) and the number of rejections to
    fall as a p-value rises. Classes are independent given their margins;
    within a class, sets that share samples share errors (positive
    dependence), while conditioning on the class's error count makes
    disjoint sets slightly negatively dependent, and taking the rejections
    among the definition's modes is a selection on the same errors. So the
    BH guarantee is an assumption here, not a theorem; its worst case is
    BY's factor ``H_m`` (the self-consistency bound above). The simulation
    in ``benchmarks/significance.py`` measures the realised rate (and
    ``tests/core/test_error_control.py`` a small version of it).

Effect-free data: every reported mode is false, so the FDR is the chance of
reporting anything, as for ``"fwer"``; expect nothing.

What ``adjusted_p_value`` means:

-   ``"fwer"``: ``min(1, p * m(p))``, the least family-wise level at which
    the mode is reported (as before).
-   ``"fdr"``/``"fdr_by"`` with ``alpha``: the q-value above; a mode is
    reported iff ``q <= alpha``.
-   with ``alpha=None`` (the definition's full output, no error control
    asked for): ``None``. The tested family is not counted (its exact
    count can cost more than the search), so there is nothing to adjust
    for; ``p_value`` and the interval stay. For every mode with its
    adjusted p-value, run with ``alpha=1`` (nothing is left out; proxies
    are grouped as aliases). The family depends on the level, so for
    another level run the search with that ``alpha`` rather than filtering
    q-values.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Optional

import numpy as np
from scipy.special import digamma, gammaln

from .significance import (
    PROCEDURES,
    Significance,
    TestedFamily,
    accuracy_intervals,
    fisher_p_values,
    log_limit,
)
from .types import FailureMode, SearchParams

#: The level that fixes the tested family of the false-discovery procedures
#: where a family is counted without an ``alpha`` (the default ``alpha``).
REFERENCE_ALPHA = 0.05


def least_log_p_values(
    sizes: np.ndarray, group_sizes: np.ndarray, group_errors: np.ndarray
) -> np.ndarray:
    """``log psi``: the least attainable log p-value of a set of each size,
    ``log P(X = min(n, e_g))``, computed as the tested family computes it."""
    n = np.asarray(sizes, dtype=float)
    n_g = np.asarray(group_sizes, dtype=float)
    e_g = np.asarray(group_errors, dtype=float)

    def log_comb(a, b):
        return gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0)

    return np.where(
        n <= e_g,
        log_comb(e_g, np.minimum(n, e_g)) - log_comb(n_g, n),
        log_comb(n, e_g) - log_comb(n_g, e_g),
    )


def harmonic(m: float) -> float:
    """``sum_{j=1}^{m} 1/j`` for a whole number ``m >= 1`` (BY's constant)."""
    m = float(m)
    if m <= 1e6:
        return float(np.sum(1.0 / np.arange(1.0, m + 1.0)))
    return float(digamma(m + 1.0) + np.euler_gamma)


def step_up_q_values(p_values: np.ndarray, m: float, dependence: str = "prds") -> np.ndarray:
    """Step-up (BH or BY) q-values of some hypotheses of a family of ``m``.

    The hypotheses not given are counted in ``m`` but never rejected, as if
    their p-values were 1. With ``m == len(p_values)`` this is
    ``scipy.stats.false_discovery_control`` (``method="bh"`` or ``"by"``).

    Args:
        p_values: the p-values of the hypotheses that may be rejected
        m: the size of the family (``>= len(p_values)``)
        dependence ("prds"): ``"prds"`` (Benjamini-Hochberg) or ``"any"``
            (Benjamini-Yekutieli)

    Returns:
        ``min(1, min_{r >= rank} p_(r) * m * c / r)`` per hypothesis
    """
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p.copy()
    m = max(float(m), float(p.size))
    c = harmonic(m) if dependence == "any" else 1.0
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m * c) / np.arange(1, p.size + 1)
    q = np.empty_like(p)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q


class FisherTest:
    """The test of a failure-mode search's modes: Fisher's exact test of
    their errors (:func:`~fiftyone_prime.core.significance.fisher_p_values`),
    its least attainable p-value, and Clopper-Pearson intervals of their
    accuracies. Another score brings another test with the same methods
    (:class:`fiftyone_prime.core.scores.RankTest`).

    Args:
        group_errors: per candidate, its group's number of misclassified samples
    """

    def __init__(self, group_errors: np.ndarray):
        self.group_errors = group_errors

    def p_values(self, candidates: Sequence[FailureMode]) -> np.ndarray:
        """Each mode's p-value."""
        sizes = np.array([m.size for m in candidates])
        correct = np.array([m.num_correct for m in candidates])
        group_sizes = np.array([m.group_size for m in candidates])
        return fisher_p_values(sizes, sizes - correct, group_sizes, self.group_errors)

    def least_log_p_values(self, candidates: Sequence[FailureMode]) -> np.ndarray:
        """Each mode's least attainable log p-value, as the family counts it."""
        sizes = np.array([m.size for m in candidates])
        group_sizes = np.array([m.group_size for m in candidates])
        return least_log_p_values(sizes, group_sizes, self.group_errors)

    def annotate(
        self, candidates: Sequence[FailureMode], p: np.ndarray, adjusted: Optional[np.ndarray]
    ) -> list[FailureMode]:
        """The modes with their p-values, adjusted p-values (``None``
        without) and intervals."""
        sizes = np.array([m.size for m in candidates])
        low, high = accuracy_intervals(np.array([m.num_correct for m in candidates]), sizes)
        return [
            dataclasses.replace(
                m,
                p_value=float(p[i]),
                adjusted_p_value=None if adjusted is None else float(adjusted[i]),
                accuracy_ci=(float(low[i]), float(high[i])),
            )
            for i, m in enumerate(candidates)
        ]


def control(
    candidates: list[FailureMode],
    group_errors: Optional[np.ndarray],
    family: Optional[TestedFamily],
    params: SearchParams,
    members=None,
    test=None,
) -> tuple[list[FailureMode], Significance]:
    """Adds p-values, adjusted p-values and intervals to the definition's
    modes, keeps those the chosen error control reports, and groups proxies.

    Args:
        candidates: the modes of the definition, in the search's order
        group_errors: per candidate, its group's number of misclassified
            samples (for the default test)
        family: the tested family (``None`` with ``alpha=None``: not needed)
        params: the search's parameters (``alpha``, ``error_control``)
        members (None): a :class:`fiftyone_prime.core.aliases.MemberIndex`
            of the searched data; without it proxies are not grouped
        test (None): the modes' test (:class:`FisherTest` of
            ``group_errors`` by default)

    Returns:
        ``(reported modes, Significance)``
    """
    alpha, how = params.alpha, params.error_control
    test = FisherTest(group_errors) if test is None else test
    if alpha is None:
        return _untested(candidates, test, how)
    testable_level = family.corrected_level(alpha)
    tested = float(family.count(np.array([testable_level]))[0])
    p = adjusted = np.zeros(0)
    if candidates:
        p = test.p_values(candidates)
        if how == "fwer":
            adjusted = family.adjust(p)
        else:
            log_psi = test.least_log_p_values(candidates)
            testable = log_psi <= log_limit(testable_level)
            adjusted = np.ones(len(p))
            adjusted[testable] = step_up_q_values(
                p[testable], tested, "any" if how == "fdr_by" else "prds"
            )
        candidates = test.annotate(candidates, p, adjusted)
    kept = [m for m in candidates if m.adjusted_p_value <= alpha]
    if how == "fwer":
        corrected = family.corrected_level(alpha)
    else:
        c = harmonic(max(tested, 1.0)) if how == "fdr_by" else 1.0
        corrected = alpha * max(len(kept), 1) / (max(tested, 1.0) * c)
    num_aliases = 0
    if members is not None and len(kept) > 1:
        from .aliases import group_proxies

        reported = len(kept)
        kept = group_proxies(kept, members, corrected)
        num_aliases = reported - len(kept)
    significance = Significance.of_family(
        how,
        alpha,
        family,
        corrected,
        len(candidates),
        len(kept),
        reference_alpha=alpha,
        testable_level=testable_level,
        tested_family=tested,
        num_aliases=num_aliases,
    )
    return kept, significance


def _untested(
    candidates: list[FailureMode], test, how: str
) -> tuple[list[FailureMode], Significance]:
    """:func:`control` without ``alpha``: every mode of the definition with
    its p-value and interval, and no adjusted p-value (``None``): no error
    control was asked for, so no family is counted."""
    if candidates:
        candidates = test.annotate(candidates, test.p_values(candidates), None)
    return candidates, unadjusted(PROCEDURES[how], how, len(candidates))


def unadjusted(procedure: str, how: str, num_candidates: int) -> Significance:
    """The :class:`Significance` of a search run with ``alpha=None``: nothing
    left out, no adjusted p-values, no tested family counted (its size,
    levels and count are ``None``)."""
    return Significance(
        procedure=procedure,
        alpha=None,
        family_size=None,
        corrected_level=None,
        num_candidates=num_candidates,
        num_not_significant=0,
        error_control=how,
        family_count="none",
    )


def flatten(modes: Sequence) -> list:
    """The modes with each one's aliases right after it, all as plain
    records of the modes' class (:class:`FailureMode`, or
    :class:`~fiftyone_prime.core.regression.RegressionMode`) without
    aliases: every mode reported, one row each (as with grouping off)."""
    out: list = []
    for m in modes:
        out.append(dataclasses.replace(m, aliases=()))
        out.extend(_plain(a) for a in m.aliases)
    return out


def _plain(alias):
    cls = alias.mode_class()
    return cls(**{f.name: getattr(alias, f.name) for f in dataclasses.fields(cls)})


__all__ = [
    "REFERENCE_ALPHA",
    "FisherTest",
    "control",
    "flatten",
    "harmonic",
    "least_log_p_values",
    "step_up_q_values",
    "unadjusted",
]
