"""Comparisons and checks read through the input cache, and ``reuse_inputs``
(``--no-reuse-inputs``) asks them for a fresh read that replaces the entry,
as for failure-mode searches."""

import pytest

import fiftyone_prime as fp
from fiftyone_prime import cli
from fiftyone_prime.integration.reading import input_cache as ic
from tests.helpers import regression_summary
from tests.integration.regression_data import PLANTED_REGRESSION, regression_dataset


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FIFTYONE_PRIME_CACHE_DIR", str(tmp_path / "cache"))
    ic._memory.clear()
    yield
    ic._memory.clear()


def _fix_the_new_model_unseen(dataset):
    """The new model made right everywhere by a write FiftyOne's cache check
    cannot see (a raw update that keeps last_modified_at)."""
    dataset._sample_collection.update_many(
        {}, [{"$set": {"predictions_v2.label": "$ground_truth.label"}}]
    )


def test_a_comparison_reads_afresh_when_asked(make_dataset):
    dataset = regression_dataset(make_dataset)
    assert regression_summary(fp.find_regressions(dataset, save_views=False)) == [
        PLANTED_REGRESSION
    ]
    _fix_the_new_model_unseen(dataset)
    stale = fp.find_regressions(dataset, save_views=False, overwrite=True)
    assert regression_summary(stale) == [PLANTED_REGRESSION]  # the documented limit
    fresh = fp.find_regressions(dataset, save_views=False, overwrite=True, reuse_inputs=False)
    assert fresh.regressions == []
    ic._memory.clear()  # a new process: the entry was replaced
    assert fp.find_regressions(dataset, save_views=False, overwrite=True).regressions == []


def test_the_cli_passes_no_reuse_inputs_to_compare_and_check(make_dataset, capsys):
    dataset = regression_dataset(make_dataset, persistent=True)
    fp.find_failure_modes(dataset, pred_field="predictions_v2", run_key="v2", alpha=None)
    assert cli.main(["compare", dataset.name, "--no-reuse-inputs", "--max-views", "0"]) == 0
    assert "prime_regression" in capsys.readouterr().out
    _fix_the_new_model_unseen(dataset)
    args = ["check", dataset.name, "--run-key", "v2", "--pred-field", "predictions_v2"]
    assert cli.main(args) == 1  # the cached inputs: the modes still fail
    assert cli.main([*args, "--no-reuse-inputs"]) == 0  # read afresh: the model is right
