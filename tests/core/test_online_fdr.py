"""LORD++: the gamma sequence, the levels by hand, and the stored state."""

import json
import math

import numpy as np
import pytest

from fiftyone_prime.core.online_fdr import GAMMA_CONSTANT, LordPlusPlus, gamma


def test_gamma_constant_makes_the_sequence_sum_to_one():
    n = 10**6
    j = np.arange(1, n + 1, dtype=float)
    head = np.sum(np.log(np.maximum(j, 2)) / (j * np.exp(np.sqrt(np.log(j)))))
    v = math.sqrt(math.log(n + 0.5))  # the tail as an integral from n + 1/2
    tail = 2 * math.exp(-v) * (v**3 + 3 * v**2 + 6 * v + 6)
    assert GAMMA_CONSTANT == pytest.approx(1 / (head + tail), rel=1e-9)
    assert gamma(1) == pytest.approx(GAMMA_CONSTANT * math.log(2))
    assert gamma(7) == pytest.approx(
        GAMMA_CONSTANT * math.log(7) / (7 * math.exp(math.sqrt(math.log(7))))
    )


def test_levels_match_a_hand_computation():
    """alpha = 0.1, W0 = 0.05; p-values 0.5, 0.0002 (rejected at t=2), 0.9,
    0.0001 (rejected at t=4), 0.5."""
    alpha, w0 = 0.1, 0.05
    g = {j: gamma(j) for j in range(1, 6)}
    expected = [
        (False, w0 * g[1]),
        (True, w0 * g[2]),
        (False, w0 * g[3] + (alpha - w0) * g[1]),
        (True, w0 * g[4] + (alpha - w0) * g[2]),
        (False, w0 * g[5] + (alpha - w0) * g[3] + alpha * g[1]),
    ]
    state = LordPlusPlus(alpha=alpha, w0=w0)
    for p, (rejected, level) in zip([0.5, 0.0002, 0.9, 0.0001, 0.5], expected):
        got_rejected, got_level = state.test(p)
        assert got_rejected == rejected
        assert got_level == pytest.approx(level, rel=1e-12)
    assert state.rejections == [2, 4] and state.num_tested == 5
    # Numbers, so that a wrong gamma shows: w0 * gamma_2 = 0.05 * C * log 2 / (2 e^sqrt(log 2))
    assert expected[1][1] == pytest.approx(0.000596, abs=1e-6)


def test_the_default_wealth_is_half_of_alpha_and_p_equal_to_the_level_rejects():
    state = LordPlusPlus()
    assert (state.alpha, state.w0) == (0.05, 0.025)
    level = state.next_level()
    assert state.test(level) == (True, level)


def test_serialised_state_round_trips_and_continues_identically():
    rng = np.random.default_rng(3)
    p = np.where(rng.random(60) < 0.3, rng.random(60) * 1e-4, rng.random(60))
    state = LordPlusPlus(alpha=0.05)
    for x in p[:30]:
        state.test(x)
    assert state.rejections  # the state carries rejections, not only a count
    stored = json.loads(json.dumps(state.to_dict()))
    restored = LordPlusPlus.from_dict(stored)
    assert restored == state
    assert [restored.test(x) for x in p[30:]] == [state.test(x) for x in p[30:]]


def test_bad_values_are_refused_and_change_nothing():
    with pytest.raises(ValueError, match="w0"):
        LordPlusPlus(alpha=0.05, w0=0.06)
    with pytest.raises(ValueError, match="alpha"):
        LordPlusPlus(alpha=0.0)
    state = LordPlusPlus()
    with pytest.raises(ValueError, match="p-value"):
        state.test(float("nan"))
    assert state.num_tested == 0
    with pytest.raises(ValueError, match="procedure"):
        LordPlusPlus.from_dict({"procedure": "saffron", "alpha": 0.05})
    with pytest.raises(ValueError, match="rejections"):
        LordPlusPlus(num_tested=2, rejections=[3])
