"""Online false-discovery control: LORD++ over hypotheses tested one after another.

A person (or a language model) tests hunches on a dataset over days, one at a
time, and never knows how many will come. Benjamini-Hochberg needs the whole
family at once; an online procedure decides each hypothesis when it comes,
at a level fixed before its p-value is seen, so that testing more hunches
never inflates the false-discovery rate.

LORD++ (Ramdas, Yang, Wainwright and Jordan, "Online control of the false
discovery rate with decaying memory", NeurIPS 2017, Section 3): with
``tau_1 < tau_2 < ...`` the positions of the rejections so far, the
``t``-th hypothesis (``t = 1, 2, ...``) is rejected when its p-value is at
most

``alpha_t = gamma_t W0 + (alpha - W0) gamma_{t - tau_1}
+ alpha * sum_{j >= 2, tau_j < t} gamma_{t - tau_j}``

(the second term only once there is a first rejection). ``W0 <= alpha`` is
the initial wealth (``alpha / 2`` by default, as in the paper's
experiments) and ``gamma`` is the paper's sequence
``gamma_j = C log(max(j, 2)) / (j exp(sqrt(log j)))``, ``C`` making it sum
to 1 (:data:`GAMMA_CONSTANT`). Each rejection earns back wealth, so a
person whose hunches are often right keeps testing at useful levels; a run
of null hunches lets the levels decay.

Guarantee: ``FDR <= alpha`` at every time when the null p-values are
independent of each other and of the non-null ones (and super-uniform, as
Fisher's exact p-values are). Hypotheses tested on the same samples are
dependent (sets that share samples share errors); the benchmark
``benchmarks/online_fdr.py`` measures the realised rate on such data.

Nothing here imports fiftyone or torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

#: The name stored with the state, so that a stored wealth is read back by
#: the procedure that wrote it.
PROCEDURE = "lord++"

#: The default level of the online false-discovery rate.
ALPHA = 0.05

#: ``1 / sum_{j >= 1} log(max(j, 2)) / (j exp(sqrt(log j)))``: the sum up to
#: ``10**6`` plus the closed-form integral of the tail,
#: ``2 e^{-v} (v^3 + 3v^2 + 6v + 6)`` with ``v = sqrt(log(10**6 + 1/2))``
#: (checked in ``tests/core/test_online_fdr.py``).
GAMMA_CONSTANT = 0.0790819667221151


def gamma(j: int) -> float:
    """The ``j``-th term (``j >= 1``) of LORD++'s sequence; sums to 1 over ``j``."""
    if j < 1:
        raise ValueError(f"gamma is defined for j >= 1, got {j}")
    return GAMMA_CONSTANT * math.log(max(j, 2)) / (j * math.exp(math.sqrt(math.log(j))))


@dataclass
class LordPlusPlus:
    """The state of LORD++: its level, initial wealth, and what it has tested.

    Args:
        alpha (0.05): the false-discovery rate to control, in ``(0, 1)``
        w0 (None): the initial wealth, in ``(0, alpha]``; ``alpha / 2`` if
            ``None``
        num_tested (0): how many hypotheses were tested so far
        rejections (()): the positions (1-based) of the rejected ones

    Raises:
        ValueError: if a value is out of range
    """

    alpha: float = ALPHA
    w0: Optional[float] = None
    num_tested: int = 0
    rejections: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.alpha = float(self.alpha)
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        self.w0 = self.alpha / 2.0 if self.w0 is None else float(self.w0)
        if not 0.0 < self.w0 <= self.alpha:
            raise ValueError(
                f"the initial wealth w0 must be in (0, alpha={self.alpha}], got {self.w0}"
            )
        self.num_tested = int(self.num_tested)
        self.rejections = [int(t) for t in self.rejections]
        if (
            self.num_tested < 0
            or any(not 1 <= t <= self.num_tested for t in self.rejections)
            or self.rejections != sorted(set(self.rejections))
        ):
            raise ValueError(
                f"rejections must be distinct, increasing positions in 1..{self.num_tested}, "
                f"got {self.rejections[:10]}"
            )

    def next_level(self) -> float:
        """The level the next hypothesis will be tested at (nothing changes)."""
        t = self.num_tested + 1
        level = gamma(t) * self.w0
        if self.rejections:
            first, *rest = self.rejections
            level += (self.alpha - self.w0) * gamma(t - first)
            level += self.alpha * sum(gamma(t - tau) for tau in rest)
        return level

    def test(self, p_value: float) -> tuple[bool, float]:
        """Tests the next hypothesis.

        Args:
            p_value: its p-value, in ``[0, 1]``

        Returns:
            ``(rejected, level)``: whether ``p_value <= level``, and the level

        Raises:
            ValueError: if ``p_value`` is not in ``[0, 1]`` (nothing changes)
        """
        p = float(p_value)
        if not 0.0 <= p <= 1.0:  # NaN fails too
            raise ValueError(f"a p-value must be in [0, 1], got {p_value!r}")
        level = self.next_level()
        self.num_tested += 1
        rejected = p <= level
        if rejected:
            self.rejections.append(self.num_tested)
        return rejected, level

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict that :meth:`from_dict` restores."""
        return {
            "procedure": PROCEDURE,
            "alpha": self.alpha,
            "w0": self.w0,
            "num_tested": self.num_tested,
            "rejections": list(self.rejections),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LordPlusPlus:
        """Restores a state written by :meth:`to_dict`.

        Raises:
            ValueError: if ``d`` was written by another procedure or is invalid
        """
        if d.get("procedure") != PROCEDURE:
            raise ValueError(
                f"stored online-FDR state is for procedure {d.get('procedure')!r}, "
                f"expected {PROCEDURE!r}"
            )
        return cls(
            alpha=d["alpha"], w0=d["w0"], num_tested=d["num_tested"], rejections=d["rejections"]
        )
