"""The CLI's search over an evaluation run's objects."""

from fiftyone_prime.cli import main
from tests.integration.planted import PLANTED_MODES
from tests.integration.planted_objects import evaluated


def test_cli_search_reads_an_evaluation(make_dataset, capsys):
    import fiftyone_prime as fp

    dataset = evaluated(make_dataset, "gt", persistent=True)
    code = main(
        [
            "search",
            dataset.name,
            "--eval-key",
            "eval",
            "--units",
            "gt",
            "--tags-field",
            "ground_truth.detections.attrs",
            "--run-key",
            "cli",
        ]
    )
    assert code == 0
    results = fp.load_failure_modes(dataset, "cli")
    assert results.units == "gt"
    assert [(m.group, m.tags, m.size, m.num_correct) for m in results.failure_modes] == (
        PLANTED_MODES
    )
    assert "over 350 objects" in capsys.readouterr().out


def test_cli_search_reads_a_regression_evaluation_and_a_score_field(make_dataset, capsys):
    import fiftyone_prime as fp
    from tests.integration.score_data import PLANTED_PAIR, planted_ids, regression_dataset

    dataset = regression_dataset(make_dataset(persistent=True))
    thresholds = ["--min-size", "20", "--min-drop", "3", "--min-gain", "1", "--max-tags", "2"]
    code = main(["search", dataset.name, "--eval-key", "reg", "--run-key", "err", *thresholds])
    assert code == 0
    results = fp.load_failure_modes(dataset, "err")
    assert results.spec.score_field == "reg" and results.higher_is_worse
    mode = next(m for m in results.failure_modes if m.tags == PLANTED_PAIR)
    assert set(results.load_view(mode).values("id")) == planted_ids(dataset)
    assert "score 'reg' (higher is worse)" in capsys.readouterr().out

    dataset.set_values("quality", [-e for e in dataset.values("reg")])
    args = ["--score-field", "quality", "--lower-is-worse", "--group-field", "cls"]
    code = main(["search", dataset.name, *args, "--run-key", "q", *thresholds])
    assert code == 0
    results = fp.load_failure_modes(dataset, "q")
    assert results.higher_is_worse is False
    assert {m.group for m in results.failure_modes if m.tags == PLANTED_PAIR} == {"cat", "dog"}
