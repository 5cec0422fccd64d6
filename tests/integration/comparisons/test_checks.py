"""Saved failure modes as checks: the SDK and the CLI's exit codes."""

import json
import subprocess
import sys

import pytest

import fiftyone_prime as fp
from fiftyone_prime import cli
from fiftyone_prime.integration.comparisons.checks import check_failure_modes
from fiftyone_prime.integration.comparisons.regressions import find_regressions
from tests.fo_env import REPO_ROOT
from tests.integration.regression_data import regression_dataset


@pytest.fixture
def with_run(make_dataset):
    """The two-model data, and a failure-mode run of the new model
    (predictions_v2): cat {night, snow} at 10% vs 74.5% for the class."""
    dataset = regression_dataset(make_dataset, persistent=True)
    fp.find_failure_modes(dataset, pred_field="predictions_v2", run_key="v2", alpha=None)
    return dataset


def test_modes_are_re_measured_on_another_model(with_run):
    results = fp.load_failure_modes(with_run, "v2")
    assert ("cat", ("night", "snow")) in [(m.group, m.tags) for m in results.failure_modes]
    # The baseline (predictions_v1) is fine there: 80% vs 81% for the class.
    checked = check_failure_modes(with_run, "v2", pred_field="predictions_v1")
    (cat,) = [c for c in checked.checks if c.tags == ("night", "snow")]
    assert cat.size == 40 and cat.num_correct == 32
    assert cat.accuracy == pytest.approx(0.8) and cat.run_accuracy == pytest.approx(0.1)
    assert cat.accuracy_ci[0] < 0.8 < cat.accuracy_ci[1]
    assert cat.group_accuracy == pytest.approx(0.81)
    assert cat.passed and not cat.holds
    (dog,) = [c for c in checked.checks if c.group == "dog"]
    assert dog.tags == ("blur",) and dog.accuracy == 0.0 and not dog.passed
    # on the run's own model every mode still fails its threshold
    again = check_failure_modes(with_run, "v2", pred_field="predictions_v2")
    assert not again.passed and again.num_failed == len(results)
    strict = check_failure_modes(with_run, "v2", pred_field="predictions_v1", min_accuracy=0.9)
    assert not strict.passed
    assert (
        "accuracy 80.0% < 90.0%"
        in next(c for c in strict.checks if c.tags == ("night", "snow")).reason
    )
    assert json.loads(json.dumps(strict.to_dict()))["passed"] is False
    assert "FAIL" in strict.table()


def test_a_check_reads_through_the_input_cache(with_run, monkeypatch, tmp_path):
    """A check reads as a search does: the fast reader, its inputs cached, so
    checking the same model again (or the model a search read) reads nothing."""
    from fiftyone_prime.integration.reading import reader

    monkeypatch.setenv("FIFTYONE_PRIME_CACHE_DIR", str(tmp_path))
    reads = []
    original = reader.read_inputs_fast
    monkeypatch.setattr(
        reader, "read_inputs_fast", lambda *a, **k: reads.append(a[2]) or original(*a, **k)
    )
    first = check_failure_modes(with_run, "v2", pred_field="predictions_v1")
    again = check_failure_modes(with_run, "v2", pred_field="predictions_v1")
    assert reads == ["predictions_v1"]
    assert again.table() == first.table()


def test_an_evaluation_key_checks_its_predictions(with_run):
    with_run.evaluate_classifications("predictions_v1", gt_field="ground_truth", eval_key="ev1")
    by_key = check_failure_modes(with_run, "v2", eval_key="ev1")
    by_field = check_failure_modes(with_run, "v2", pred_field="predictions_v1")
    assert by_key.to_dict()["checks"] == by_field.to_dict()["checks"]
    # and regressions can be found from two evaluations
    with_run.evaluate_classifications("predictions_v2", gt_field="ground_truth", eval_key="ev2")
    results = find_regressions(with_run, baseline_eval_key="ev1", eval_key="ev2")
    assert [(m.group, m.tags) for m in results.regressions] == [("cat", ("night", "snow"))]


def test_bad_input_is_refused(with_run):
    find_regressions(with_run, run_key="reg")
    with pytest.raises(ValueError, match="exactly one"):
        check_failure_modes(with_run, "v2")
    with pytest.raises(ValueError, match="no run with key"):
        check_failure_modes(with_run, "nope", pred_field="predictions_v1")
    with pytest.raises(TypeError, match="Classification"):
        check_failure_modes(with_run, "v2", pred_field="prime_tags")
    with pytest.raises(ValueError, match="min_accuracy"):
        check_failure_modes(with_run, "v2", pred_field="predictions_v1", min_accuracy=2)
    # a regression run's modes can be checked too
    assert check_failure_modes(with_run, "reg", pred_field="predictions_v1").passed


def run_cli(capsys, *args):
    code = cli.main(list(args))
    return code, capsys.readouterr()


def test_check_and_compare_through_the_cli_entry_point(with_run, capsys):
    # v1 fails dog {blur} (0% vs 66.7% for the class) but passes cat {night, snow}
    code, out = run_cli(
        capsys, "check", with_run.name, "--run-key", "v2", "--pred-field", "predictions_v1"
    )
    assert code == 1 and "1 passed, 1 failed" in out.out
    code, out = run_cli(
        capsys,
        "check",
        with_run.name,
        "--run-key",
        "v2",
        "--pred-field",
        "predictions_v1",
        "--max-drop",
        "0.7",
    )
    assert code == 0 and out.out.rstrip().endswith("PASS")
    code, out = run_cli(
        capsys,
        "check",
        with_run.name,
        "--run-key",
        "v2",
        "--pred-field",
        "predictions_v2",
        "--json",
    )
    assert code == 1 and json.loads(out.out)["passed"] is False
    code, out = run_cli(
        capsys, "check", with_run.name, "--run-key", "nope", "--pred-field", "predictions_v1"
    )
    assert code == 2 and "no run with key" in out.err
    code, out = run_cli(capsys, "compare", with_run.name, "--alpha", "none")
    assert code == 0 and "80.0% -> 10.0%" in out.out


@pytest.mark.slow
def test_check_exit_codes_in_a_subprocess(with_run):
    def check(*args):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "fiftyone_prime",
                "check",
                with_run.name,
                "--run-key",
                "v2",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=str(REPO_ROOT),
        )

    passing = check("--pred-field", "predictions_v1", "--max-drop", "0.7")
    assert passing.returncode == 0, passing.stderr
    failing = check("--pred-field", "predictions_v2", "--json")
    assert failing.returncode == 1, failing.stderr
    assert json.loads(failing.stdout)["num_failed"] >= 1
