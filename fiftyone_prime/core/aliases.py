"""Proxies grouped under the failure they stand for.

Tags from a real tagger come in bundles that co-occur (synonyms, scene
words). One failure then meets the definition as several tag sets: the set
that describes it and proxies whose samples are mostly its samples. Each
proxy is a real association (its samples do fail more often), so the error
control reports it, but as a separate row it repeats one finding.

Within a class, reported mode ``A`` *explains* reported mode ``B`` when
they share samples and ``B``'s errors on its samples outside ``A``'s are
no longer significant: the one-sided Fisher p-value of those errors,
within the class less ``A``'s samples (``X ~ Hypergeom(n_g - n_A,
e_g - e_A, n_B - overlap)``), exceeds the run's cutoff (the per-set level
the reported modes had to reach, ``Significance.corrected_level``). What is
left of ``B`` once ``A`` is taken out would not be reported on its own.

Modes are taken in order of how many others they explain (then smallest
p-value, largest drop, fewest tags, names); each becomes an *alias* of the
first primary mode that explains it (among those, the one sharing the most
samples), or a primary mode itself. A primary keeps its row and lists its
aliases (:attr:`FailureMode.aliases`, as :class:`~fiftyone_prime.core.types.Alias`
records with their own statistics, overlap and residual p-value). Two
distinct failures that share some tags stay two rows: each one's residual
is still significant.

Regression modes (:mod:`fiftyone_prime.core.regression`) are grouped by
the same rule, over their test's units: ``B``'s *losses* on its discordant
units outside ``A``'s, within the class's discordant units less ``A``'s
(``X ~ Hypergeom(D_c - D_A, L_c - L_A, D_B - D_{A and B})``). The
:class:`MemberIndex` says which rows a test counts (``counted``) and which
of them are "errors"; :class:`MemberIndex` also names the alias record class.

Grouping changes no statistic and happens only after the error control
(``alpha`` set); ``alpha=None`` returns the definition's modes one row
each, as the paper does.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .significance import fisher_p_values
from .types import Alias, AliasOf


class MemberIndex:
    """The samples of each group that carry a set of tags.

    Args:
        matrix: the tag matrix with rows sorted by group (array or CSR)
        bounds: group ``g``'s rows are ``bounds[g]:bounds[g + 1]``
        row_errors: per row, whether it is misclassified (a regression
            search's: whether it is a loss)
        labels: the label of each group, in order
        counted (None): per row, whether the residual test counts it (a
            regression search's: its discordant rows); ``None``: every row.
            Every error must be counted
        alias_class (Alias): the record of a mode shown as a proxy of
            another (a regression search's: ``RegressionAlias``)
    """

    #: The record of a mode shown as a proxy of another.
    alias_class = Alias

    def __init__(
        self,
        matrix,
        bounds: np.ndarray,
        row_errors: np.ndarray,
        labels: Sequence,
        counted: Optional[np.ndarray] = None,
        alias_class: Optional[type] = None,
    ):
        if alias_class is not None:
            self.alias_class = alias_class
        self._matrix = matrix
        self._bounds = np.asarray(bounds)
        self._errors = np.asarray(row_errors, dtype=bool)
        self._counted = None if counted is None else np.asarray(counted, dtype=bool)
        self._index = {label: g for g, label in enumerate(labels)}
        self._columns: dict = {}

    def errors(self, group: Hashable) -> np.ndarray:
        """Whether each sample of ``group`` is misclassified."""
        g = self._index[group]
        return self._errors[self._bounds[g] : self._bounds[g + 1]]

    def counted(self, group: Hashable) -> np.ndarray:
        """Whether the residual test counts each sample of ``group``."""
        g = self._index[group]
        if self._counted is None:
            return np.ones(int(self._bounds[g + 1] - self._bounds[g]), dtype=bool)
        return self._counted[self._bounds[g] : self._bounds[g + 1]]

    def members(self, group: Hashable, columns: Sequence[int]) -> np.ndarray:
        """The positions, within ``group``, of its samples carrying every tag."""
        g = self._index[group]
        lo, hi = int(self._bounds[g]), int(self._bounds[g + 1])
        if not sp.issparse(self._matrix):
            return np.flatnonzero(np.all(self._matrix[lo:hi][:, list(columns)], axis=1))
        if g not in self._columns:  # the group's nonzeros: (row within group, tag)
            indptr = self._matrix.indptr
            start, stop = indptr[lo], indptr[hi]
            rows = np.repeat(np.arange(hi - lo), np.diff(indptr[lo : hi + 1]))
            self._columns[g] = (rows, self._matrix.indices[start:stop])
        rows, tags = self._columns[g]
        found = None
        for j in columns:
            with_tag = rows[tags == j]  # sorted, unique (canonical CSR)
            found = with_tag if found is None else np.intersect1d(found, with_tag, True)
        return np.arange(hi - lo) if found is None else found

    def residuals(self, members: dict) -> dict:
        """Per group, for every ordered pair ``(A, B)`` of its modes, their
        overlap and ``B``'s residual p-value outside ``A``: one-sided
        Fisher p-values of ``B``'s errors on its counted samples outside
        ``A``'s, within the group's counted samples less ``A``'s (one scipy
        call for all).

        Args:
            members: per group, its modes' positions within the group
                (:meth:`members`), in order

        Returns:
            per group, ``(overlap, residual)``: ``(n, n)`` arrays (the
            residual is 1 on the diagonal and where ``B`` lies inside ``A``)
        """
        pairs = {}
        rest_sizes, rest_errors, pop_sizes, pop_errors = [], [], [], []
        for group, found in members.items():
            errors, counted = self.errors(group), self.counted(group)
            n_g, e_g = int(counted.sum()), int(errors.sum())
            n = len(found)
            overlap = np.zeros((n, n), dtype=np.int64)
            for a in range(n):
                err_a = int(errors[found[a]].sum())
                counted_a = int(counted[found[a]].sum())
                for b in range(n):
                    if a == b:
                        continue
                    inside = np.isin(found[b], found[a], assume_unique=True)
                    overlap[a, b] = int(inside.sum())
                    rest = found[b][~inside]
                    rest_sizes.append(int(counted[rest].sum()))
                    rest_errors.append(int(errors[rest].sum()))
                    pop_sizes.append(n_g - counted_a)
                    pop_errors.append(e_g - err_a)
            pairs[group] = overlap
        if rest_sizes:
            sizes = np.array(rest_sizes)
            residuals = np.where(
                sizes > 0,
                fisher_p_values(
                    sizes, np.array(rest_errors), np.array(pop_sizes), np.array(pop_errors)
                ),
                1.0,
            )
        out, done = {}, 0
        for group, overlap in pairs.items():
            n = len(overlap)
            residual = np.ones((n, n))
            residual[~np.eye(n, dtype=bool)] = residuals[done : done + n * (n - 1)]
            done += n * (n - 1)
            out[group] = (overlap, residual)
        return out


def group_proxies(modes: list, index: MemberIndex, cutoff: float) -> list:
    """Folds each proxy into the mode that explains it.

    Args:
        modes: the reported modes, in the search's order (records with an
            ``aliases`` field: :class:`FailureMode` or
            :class:`~fiftyone_prime.core.regression.RegressionMode`)
        index: the members of the searched data
        cutoff: the level a residual p-value must reach to stay a row of
            its own

    The alias records are of ``index.alias_class`` (an :class:`AliasOf`
    subclass of the modes' class) and the residual test is ``index``'s.

    Returns:
        the primary modes, in the same order, with their ``aliases``
    """
    positions: dict = {}
    for i, m in enumerate(modes):
        positions.setdefault(m.group, []).append(i)
    shared = {g: at for g, at in positions.items() if len(at) >= 2}
    # Every ordered pair (A, B) of modes of a group: the overlap, and B's
    # residual outside A within the group less A (the index's test).
    pairs = index.residuals(
        {
            group: [index.members(group, modes[i].tag_indices) for i in at]
            for group, at in shared.items()
        }
    )
    replaced: dict = {}
    folded: set[int] = set()
    for group, at in shared.items():
        n = len(at)
        overlap, residual = pairs[group]
        group_modes = [modes[i] for i in at]
        primaries, aliases = _group(group_modes, overlap, residual, cutoff, index.alias_class)
        for local, members in aliases.items():
            replaced[at[local]] = dataclasses.replace(modes[at[local]], aliases=tuple(members))
        folded.update(at[i] for i in range(n) if i not in primaries)
    return [replaced.get(i, m) for i, m in enumerate(modes) if i not in folded]


def _group(
    modes: list,
    overlap: np.ndarray,
    residual: np.ndarray,
    cutoff: float,
    alias_class: type = Alias,
):
    """Primaries (local positions) and each primary's :class:`Alias` records."""
    n = len(modes)
    explains = (overlap > 0) & (residual > cutoff)
    np.fill_diagonal(explains, False)
    order = sorted(
        range(n),
        key=lambda i: (
            -int(explains[i].sum()),
            modes[i].p_value,
            -modes[i].drop,
            len(modes[i].tags),
            modes[i].tags,
        ),
    )
    primaries: list[int] = []
    aliases: dict[int, list[Alias]] = {}
    for i in order:
        hosts = [a for a in primaries if explains[a, i]]
        if not hosts:
            primaries.append(i)
            continue
        host = max(hosts, key=lambda a: overlap[a, i])  # the first such, on ties
        fields = {
            f.name: getattr(modes[i], f.name)
            for f in dataclasses.fields(alias_class)
            if f.name not in _ALIAS_FIELDS
        }
        fields["aliases"] = ()
        aliases.setdefault(host, []).append(
            alias_class(
                **fields,
                overlap=int(overlap[host, i]),
                residual_p_value=float(residual[host, i]),
            )
        )
    for host in aliases:
        aliases[host].sort(key=lambda a: (a.p_value, -a.drop, len(a.tags), a.tags))
    return set(primaries), aliases


#: The fields an alias record adds to its mode's.
_ALIAS_FIELDS = {f.name for f in dataclasses.fields(AliasOf)}


def describe_aliases(mode, limit: int = 3) -> str:
    """A short text of a mode's aliases, for captions and descriptions:
    ``"also as {x, y} (41 samples, 88% shared), {z} (...)"``; ``""`` when
    it has none."""
    if not mode.aliases:
        return ""
    parts = [
        f"{{{', '.join(a.tags)}}} ({a.size} samples, {a.overlap_share:.0%} shared)"
        for a in mode.aliases[:limit]
    ]
    more = len(mode.aliases) - limit
    return "also as " + ", ".join(parts) + (f" and {more} more" if more > 0 else "")
