"""The CLI's search, compare and check on a multilabel classifier."""

import json

import fiftyone_prime as fp
from fiftyone_prime.cli import main
from tests.integration.multilabel_data import MISS_TAGS, multilabel_dataset


def test_cli_search_compare_and_check_a_multilabel_classifier(make_dataset, capsys):
    dataset = multilabel_dataset(lambda: make_dataset(persistent=True))
    common = ["--label-field", "ground_truth", "--confidence-thresh", "0.5"]
    assert main(["search", dataset.name, *common, "--run-key", "ml"]) == 0
    results = fp.load_failure_modes(dataset, "ml")
    assert [(m.group, tuple(sorted(m.tags))) for m in results.failure_modes] == [
        ("person", MISS_TAGS)
    ]
    assert "(sample, class) pairs" in capsys.readouterr().out
    assert main(["search", dataset.name, *common, "--units", "pred", "--run-key", "alarms"]) == 0
    assert fp.load_failure_modes(dataset, "alarms").units == "pred"
    args = ["compare", dataset.name, *common, "--baseline-field", "model_v1"]
    assert main([*args, "--pred-field", "predictions"]) == 0
    regressions = fp.load_regressions(dataset, "prime_regression")
    assert [m.group for m in regressions.regressions] == ["person"]
    # compare's one --units flag: here a multilabel classifier's false alarms
    units = ["--units", "pred", "--run-key", "ml_pred"]
    assert main([*args, "--pred-field", "predictions", *units]) == 0
    assert fp.load_regressions(dataset, "ml_pred").spec.units == "pred"
    capsys.readouterr()
    check = ["check", dataset.name, "--run-key", "ml", "--json"]
    assert main([*check, "--pred-field", "model_v1"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True
    assert main([*check, "--pred-field", "model_v2"]) == 1
    # a prediction field that is not Classifications: a one-line error (exit 2), nothing written
    capsys.readouterr()
    assert (
        main(
            [
                "search",
                dataset.name,
                "--label-field",
                "ground_truth",
                "--pred-field",
                "filepath",
                "--run-key",
                "bad",
            ]
        )
        == 2
    )
    assert "'filepath'" in capsys.readouterr().err
    assert "bad" not in dataset.list_runs()
