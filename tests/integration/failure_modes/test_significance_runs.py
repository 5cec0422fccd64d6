"""Significance in runs: p-values, the alpha filter, what users see, and defaults."""

import inspect

import numpy as np
import pytest
from scipy.stats import hypergeom

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.core import DEFAULT_PARAMS, PROCEDURE, SearchParams
from tests.integration.planted import PLANTED_MODES


def chance_dataset(make_dataset, seed=2, n=400):
    """Correctness independent of the tags: whatever meets the definition is chance."""
    rng = np.random.default_rng(seed)
    tags = rng.random((n, 10)) < 0.4
    correct = rng.random(n) < 0.75
    dataset = make_dataset()
    dataset.add_samples(
        [
            fo.Sample(
                filepath=f"/chance/{i}.jpg",
                ground_truth=fo.Classification(label="a"),
                predictions=fo.Classification(label="a" if c else "b"),
                tag_list=[f"t{j}" for j in np.flatnonzero(t)],
            )
            for i, (t, c) in enumerate(zip(tags, correct))
        ]
    )
    return dataset


def test_modes_carry_exact_p_values_and_intervals(planted):
    results = fp.find_failure_modes(planted)
    assert [
        (m.group, m.tags, m.size, m.num_correct) for m in results.failure_modes
    ] == PLANTED_MODES
    group_errors = {"cat": 40, "dog": 30}
    for mode in results.failure_modes:
        expected = hypergeom.sf(
            mode.num_errors - 1, mode.group_size, group_errors[mode.group], mode.size
        )
        assert mode.p_value == pytest.approx(expected, rel=1e-12)
        assert mode.p_value <= mode.adjusted_p_value <= 0.05
        assert mode.accuracy_ci[0] < mode.accuracy < mode.accuracy_ci[1]
    config = results.config
    assert config.search_params == DEFAULT_PARAMS.to_dict() and config.procedure == PROCEDURE
    assert results.significance["alpha"] == 0.05
    assert results.significance["num_not_significant"] == 0
    reloaded = fp.load_failure_modes(planted, "prime")
    assert reloaded.failure_modes == results.failure_modes
    assert reloaded.config.params == DEFAULT_PARAMS


def test_alpha_filters_chance_modes_and_none_keeps_them(make_dataset):
    dataset = chance_dataset(make_dataset)
    everything = fp.find_failure_modes(
        dataset, tags_field="tag_list", min_size=10, alpha=None, run_key="everything"
    )
    significant = fp.find_failure_modes(
        dataset, tags_field="tag_list", min_size=10, run_key="significant"
    )
    assert len(everything) >= 2, "the seed should give chance modes of the definition"
    # alpha=None adjusts nothing: the significant modes are among the
    # definition's, with the same p-values
    assert all(m.adjusted_p_value is None for m in everything.failure_modes)
    key = lambda m: (m.group, m.tags, m.p_value)  # noqa: E731
    assert {key(m) for m in significant.failure_modes} < {key(m) for m in everything.failure_modes}
    left_out = len(everything) - len(significant)
    assert significant.significance["num_not_significant"] == left_out > 0
    assert f"{left_out} more met the definition but could be chance" in significant.summary()
    assert "alpha=None" in everything.summary()
    assert everything.config.params.alpha is None
    assert len(dataset.list_saved_views()) == len(everything) + len(significant)


def test_summary_descriptions_and_report_show_p_values_and_intervals(planted, tmp_path):
    results = fp.find_failure_modes(planted)
    cat = results.failure_modes[0]
    text = results.summary()
    assert "adj. p" in text and "acc 95% CI" in text
    assert "12.7–41.2%" in text  # the cat mode's Clopper-Pearson interval
    description = planted.get_saved_view_info(cat.view_name)["description"]
    assert "95% CI 12.7–41.2%" in description and "adjusted p = " in description
    page = tmp_path / "r" / "index.html"
    fp.export_report(planted, "prime", str(page.parent))
    html = page.read_text()
    assert "adj. p" in html and "12.7–41.2%" in html and PROCEDURE in html
    # what alpha bounds, as the run chose it (the default: the false-discovery rate)
    assert f"{PROCEDURE}, false-discovery rate over" in html and "family-wise" not in html


@pytest.mark.parametrize("alpha", [-0.5, 0, 2, float("nan"), "0.05"])
def test_bad_alpha_is_a_clear_error_before_anything_is_written(planted, alpha):
    with pytest.raises(ValueError, match="`alpha` must be"):
        fp.find_failure_modes(planted, alpha=alpha)
    assert planted.list_runs() == [] and planted.list_saved_views() == []


def test_runs_stored_by_version_0_1_still_load(planted):
    """0.1 stored the thresholds as config attributes and had no p-values."""
    from fiftyone_prime.integration.runs.classes import FailureModeRunConfig

    config = FailureModeRunConfig(
        label_field="ground_truth",
        pred_field="predictions",
        tags_fields=["prime_tags"],
        tag_kinds=["classifications"],
        min_size=25,
        min_drop=0.3,
        min_gain=0.1,
        max_tags=2,
        minimal=True,
    )
    # Its adjusted p-values were family-wise (Bonferroni-Tarone).
    assert config.params == SearchParams(
        min_size=25, min_drop=0.3, max_tags=2, alpha=None, error_control="fwer"
    )


def test_defaults_live_in_one_place():
    """The SDK, core, operator and CLI defaults are all DEFAULT_PARAMS."""
    from fiftyone_prime.cli import build_parser
    from fiftyone_prime.core import find_failure_modes as core_find
    from fiftyone_prime.plugin.operators import FindFailureModes

    for fn in (fp.find_failure_modes, core_find, FindFailureModes.__call__):
        signature = inspect.signature(fn)
        for name, value in DEFAULT_PARAMS.to_dict().items():
            assert signature.parameters[name].default == value, (fn, name)
    args = build_parser().parse_args(["search", "some-dataset"])
    from fiftyone_prime.cli import search_params

    assert search_params(args) == DEFAULT_PARAMS
    args = build_parser().parse_args(["search", "x", "--alpha", "none", "--min-size", "5"])
    assert search_params(args) == DEFAULT_PARAMS.replace(alpha=None, min_size=5)
