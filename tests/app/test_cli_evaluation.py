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
