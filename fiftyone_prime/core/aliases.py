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

Grouping changes no statistic and happens only after the error control
(``alpha`` set); ``alpha=None`` returns the definition's modes one row
each, as the paper does.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence

import numpy as np
import scipy.sparse as sp

from .significance import fisher_p_values
from .types import Alias, FailureMode


class MemberIndex:
    """The samples of each group that carry a set of tags.

    Args:
        matrix: the tag matrix with rows sorted by group (array or CSR)
        bounds: group ``g``'s rows are ``bounds[g]:bounds[g + 1]``
        row_errors: per row, whether it is misclassified
        labels: the label of each group, in order
    """

    def __init__(self, matrix, bounds: np.ndarray, row_errors: np.ndarray, labels: Sequence):
        self._matrix = matrix
        self._bounds = np.asarray(bounds)
        self._errors = np.asarray(row_errors, dtype=bool)
        self._index = {label: g for g, label in enumerate(labels)}
        self._columns: dict = {}

    def errors(self, group: Hashable) -> np.ndarray:
        """Whether each sample of ``group`` is misclassified."""
        g = self._index[group]
        return self._errors[self._bounds[g] : self._bounds[g + 1]]

    def members(self, group: Hashable, columns: Sequence[int]) -> np.ndarray:
        """The positions, within ``group``, of its samples carrying every tag."""
        g = self._index[group]
        if g not in self._columns:
            rows = self._matrix[self._bounds[g] : self._bounds[g + 1]]
            self._columns[g] = sp.csc_matrix(rows) if sp.issparse(rows) else rows
        block = self._columns[g]
        mask = np.ones(block.shape[0], dtype=bool)
        for j in columns:
            column = block[:, int(j)]
            mask &= column.toarray().ravel() if sp.issparse(column) else column
        return np.flatnonzero(mask)


def group_proxies(modes: list[FailureMode], index: MemberIndex, cutoff: float) -> list[FailureMode]:
    """Folds each proxy into the mode that explains it.

    Args:
        modes: the reported modes, in the search's order
        index: the members of the searched data
        cutoff: the level a residual p-value must reach to stay a row of
            its own

    Returns:
        the primary modes, in the same order, with their ``aliases``
    """
    positions: dict = {}
    for i, m in enumerate(modes):
        positions.setdefault(m.group, []).append(i)
    replaced: dict[int, FailureMode] = {}
    folded: set[int] = set()
    for group, at in positions.items():
        if len(at) < 2:
            continue
        primaries, aliases = _group(group, [modes[i] for i in at], index, cutoff)
        for local, members in aliases.items():
            replaced[at[local]] = dataclasses.replace(modes[at[local]], aliases=tuple(members))
        folded.update(at[i] for i in range(len(at)) if i not in primaries)
    return [replaced.get(i, m) for i, m in enumerate(modes) if i not in folded]


def _group(group, modes: list[FailureMode], index: MemberIndex, cutoff: float):
    """Primaries (local positions) and each primary's :class:`Alias` records."""
    errors = index.errors(group)
    n_g, e_g = len(errors), int(errors.sum())
    members = [index.members(group, m.tag_indices) for m in modes]
    n = len(modes)
    overlap = np.zeros((n, n), dtype=np.int64)
    residual = np.ones((n, n))
    for a in range(n):
        err_a = int(errors[members[a]].sum())
        others = [b for b in range(n) if b != a]
        inside = [np.isin(members[b], members[a], assume_unique=True) for b in others]
        rest_sizes = np.array([int((~k).sum()) for k in inside])
        rest_errors = np.array([int(errors[members[b][~k]].sum()) for b, k in zip(others, inside)])
        overlap[a, others] = [int(k.sum()) for k in inside]
        residual[a, others] = np.where(
            rest_sizes > 0,
            fisher_p_values(
                rest_sizes,
                rest_errors,
                np.full(len(others), n_g - len(members[a])),
                np.full(len(others), e_g - err_a),
            ),
            1.0,
        )
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
        fields = {f.name: getattr(modes[i], f.name) for f in dataclasses.fields(FailureMode)}
        fields["aliases"] = ()
        aliases.setdefault(host, []).append(
            Alias(
                **fields,
                overlap=int(overlap[host, i]),
                residual_p_value=float(residual[host, i]),
            )
        )
    for host in aliases:
        aliases[host].sort(key=lambda a: (a.p_value, -a.drop, len(a.tags), a.tags))
    return set(primaries), aliases


def describe_aliases(mode: FailureMode, limit: int = 3) -> str:
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
