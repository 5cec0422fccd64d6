"""The smaller items of issue #10: CLI errors, quickstart sizes, mathtext class names."""

import os

import pytest

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime import cli
from fiftyone_prime.quickstart import run_quickstart
from tests.integration.planted import planted_samples


def run_cli(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_max_views_option(planted, capsys):
    code, out, err = run_cli(capsys, "search", planted.name, "--max-views", "1")
    assert code == 0, err
    assert "1 failure modes have no saved view (max_views=1)" in out
    assert planted.list_saved_views() == ["prime cat: night + snow"]
    code, _, err = run_cli(capsys, "search", planted.name, "--run-key", "neg", "--max-views", "-1")
    assert code == 2 and err.strip() == (
        "error: `max_views` must be a whole number >= 0 (the most saved views a run creates); "
        "got -1"
    )


def test_report_to_a_path_that_cannot_be_a_folder_is_a_one_line_error(planted, capsys, tmp_path):
    fp.find_failure_modes(planted)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "report", planted.name, "prime", str(blocker / "report"))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: cannot write the report to")
    assert "Traceback" not in err


def test_metrics_with_the_properties_tagger_says_why(planted, capsys):
    fp.find_failure_modes(planted)
    code, _, err = run_cli(capsys, "metrics", planted.name, "prime", "--model", "properties")
    assert code == 2 and err.count("\n") == 1
    assert "'properties' is a tagger only" in err and "got 'properties'" not in err


@pytest.mark.parametrize("samples", ["0", "-5", "ten"])
def test_quickstart_samples_must_be_positive_before_anything_is_created(capsys, samples):
    before = fo.list_datasets()
    with pytest.raises(SystemExit) as info:
        cli.main(["quickstart", "--samples", samples, "--dataset", "prime-qs-never"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"must be a whole number >= 1; got '{samples}'" in err
    assert fo.list_datasets() == before


@pytest.mark.parametrize("bad", [0, 1, -5, 2.5, True])
def test_run_quickstart_refuses_bad_sizes_before_anything_is_created(bad, tmp_path):
    before = fo.list_datasets()
    with pytest.raises(ValueError, match="`max_samples` must be a whole number >= 2"):
        run_quickstart(
            max_samples=bad,
            dataset_name="prime-qs-never",
            report_dir=str(tmp_path / "r"),
            say=lambda s: None,
        )
    assert fo.list_datasets() == before and not os.path.exists(tmp_path / "r")


def test_report_with_mathtext_class_names(make_dataset, tmp_path):
    dataset = make_dataset()
    samples = planted_samples()
    for s in samples:
        for field in ("ground_truth", "predictions"):
            if s[field].label == "cat":
                s[field].label = "$\\frac{1$"
    dataset.add_samples(samples)
    results = fp.find_failure_modes(dataset)
    assert results.failure_modes[0].group == "$\\frac{1$"
    path = fp.export_report(dataset, "prime", str(tmp_path / "report"))
    assert os.path.exists(os.path.join(os.path.dirname(path), "drops_per_class.png"))
    assert len(dataset.load_saved_view(results.failure_modes[0].view_name)) == 40
