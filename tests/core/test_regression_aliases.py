"""Regression modes' proxies grouped as aliases, by the failure modes' rule
over the regression test's units: planted truth, the residual against scipy,
``alpha=None`` unchanged, and the records' round trip."""

import numpy as np
import pytest
from scipy.stats import hypergeom

from fiftyone_prime.core import SearchParams
from fiftyone_prime.core.aliases import describe_aliases
from fiftyone_prime.core.error_control import flatten
from fiftyone_prime.core.regression import (
    RegressionAlias,
    RegressionMode,
    run_regression_search,
)

NAMES = [f"t{i}" for i in range(10)]


def bundled(seed=0, n=3000, synonym_keep=0.65, stray=0.04):
    """The new model regresses on tags 0 and 1 together; tags 2 and 3 are
    synonyms of tag 1 (mostly on its samples), tag 4 a synonym of tag 0;
    tags 5-9 are independent."""
    rng = np.random.default_rng(seed)
    tags = rng.random((n, 10)) < 0.3
    for synonym, of in ((2, 1), (3, 1), (4, 0)):
        tags[:, synonym] = (tags[:, of] & (rng.random(n) < synonym_keep)) | (rng.random(n) < stray)
    base = rng.random(n) < 0.85
    new = np.where(base, rng.random(n) < 0.95, rng.random(n) < 0.4)
    pair = tags[:, 0] & tags[:, 1]
    new[pair] = rng.random(pair.sum()) < 0.25
    return tags, base, new


@pytest.mark.parametrize("seed", range(4))
def test_proxies_of_one_regression_become_aliases_of_one_row(seed):
    tags, base, new = bundled(seed)
    everything = run_regression_search(
        tags, base, new, tag_names=NAMES, params=SearchParams(alpha=None)
    )
    outcome = run_regression_search(tags, base, new, tag_names=NAMES)
    proxies = {("t0", "t2"), ("t0", "t3"), ("t1", "t4"), ("t2", "t4"), ("t3", "t4")}
    assert len({m.tags for m in everything.regressions} & proxies) >= 2, "data hold proxies"
    rows = [m for m in outcome.regressions if set(m.tags) & {"t0", "t1", "t2", "t3", "t4"}]
    assert [m.tags for m in rows] == [("t0", "t1")]
    assert rows[0].aliases
    level = outcome.significance.corrected_level
    for a in rows[0].aliases:
        assert isinstance(a, RegressionAlias) and 0 < a.overlap <= a.size
        assert a.residual_p_value > level
        assert a.adjusted_p_value <= 0.05  # reported, then folded
    assert outcome.significance.num_aliases == sum(len(m.aliases) for m in outcome.regressions)
    assert describe_aliases(rows[0]).startswith("also as {")
    # Every significant mode is a row or an alias: flatten gives them all back.
    flat = flatten(outcome.regressions)
    assert all(type(m) is RegressionMode and not m.aliases for m in flat)
    significant = {m.tags for m in everything.regressions if m.p_value is not None}
    assert {m.tags for m in flat} <= significant
    assert len(flat) == len(outcome.regressions) + outcome.significance.num_aliases
    # alpha=None: the definition's full output, one row per mode, no aliases.
    assert all(not m.aliases for m in everything.regressions)
    assert everything.significance.num_aliases == 0


def test_the_residual_is_the_conditional_test_over_discordant_units():
    tags, base, new = bundled(1)
    outcome = run_regression_search(tags, base, new, tag_names=NAMES)
    host = next(m for m in outcome.regressions if m.aliases)
    a = host.aliases[0]
    in_host = tags[:, list(host.tag_indices)].all(axis=1)
    in_alias = tags[:, list(a.tag_indices)].all(axis=1)
    loss, win = base & ~new, new & ~base
    discordant = loss | win
    rest = in_alias & ~in_host
    pop = discordant & ~in_host
    expected = hypergeom.sf(
        int((rest & loss).sum()) - 1,
        int(pop.sum()),
        int((pop & loss).sum()),
        int((rest & discordant).sum()),
    )
    assert a.overlap == int((in_alias & in_host).sum())
    assert a.residual_p_value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_two_distinct_regressions_whose_units_overlap_stay_two_rows(seed):
    rng = np.random.default_rng(seed)
    n = 4000
    tags = rng.random((n, 8)) < 0.4
    base = rng.random(n) < 0.9
    new = np.where(base, rng.random(n) < 0.97, rng.random(n) < 0.4)
    for a, b in ((0, 1), (2, 3)):
        both = tags[:, a] & tags[:, b]
        new[both] = rng.random(both.sum()) < 0.2
    assert tags[:, :4].all(axis=1).sum() > 40  # they share units
    modes = run_regression_search(tags, base, new, tag_names=list("abcdefgh")).regressions
    assert {("a", "b"), ("c", "d")} <= {m.tags for m in modes}


def test_regression_aliases_round_trip_and_old_records_load():
    tags, base, new = bundled(2)
    mode = next(m for m in run_regression_search(tags, base, new).regressions if m.aliases)
    d = mode.to_dict()
    assert isinstance(d["aliases"][0], dict) and "residual_p_value" in d["aliases"][0]
    again = RegressionMode.from_dict(d)
    assert again == mode and isinstance(again.aliases[0], RegressionAlias)
    old = {k: v for k, v in d.items() if k != "aliases"}
    assert RegressionMode.from_dict(old).aliases == ()
