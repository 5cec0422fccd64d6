"""The quickstart at a small size, the command line, and the HTML report."""

import json
import os
import re
import subprocess
import sys

import pytest

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime import cli as prime_cli
from fiftyone_prime.core.defaults import MAX_TAGS_LIMIT
from fiftyone_prime.quickstart import (
    CLASSES,
    cross_fitted_predictions,
    load_fashion_mnist,
    run_quickstart,
)
from tests.fo_env import REPO_ROOT
from tests.integration.planted import PLANTED_MODES, add_planted, planted_samples


def cli(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "fiftyone_prime", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO_ROOT),
    )


def run_cli(capsys, *args):
    """The command line in this process: ``(exit code, stdout, stderr)``."""
    code = prime_cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow  # trains the quickstart classifier
def test_fashion_mnist_ships_and_the_classifier_predicts_out_of_sample():
    images, labels = load_fashion_mnist()
    assert images.shape == (10000, 28, 28) and sorted(set(labels.tolist())) == list(range(10))
    small, small_labels = load_fashion_mnist(2000)
    preds, conf = cross_fitted_predictions(small, small_labels)
    accuracy = (preds == small_labels).mean()
    assert 0.6 < accuracy < 0.99  # learned something, and not scored on its own training data
    assert ((conf > 0) & (conf <= 1)).all()


@pytest.mark.slow  # a subprocess
def test_quickstart_runs_end_to_end_at_a_small_size(tmp_path):
    proc = cli(
        "quickstart",
        "--samples",
        "400",
        "--dataset",
        "prime-qs-test",
        "--report-dir",
        str(tmp_path / "report"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for step in range(1, 8):
        assert f"[{step}/7]" in out
    assert "image-property tagger" in out  # no CLIP weights here, and it says so
    assert "fiftyone app launch prime-qs-test" in out
    assert 'pick "PRIME failure modes"' in out  # how to open the panel
    dataset = fo.load_dataset("prime-qs-test")
    try:
        assert len(dataset) == 400 and dataset.persistent
        assert set(dataset.distinct("ground_truth.label")) <= set(CLASSES)
        assert dataset.exists("prime_properties").count() == 400
        results = fp.load_failure_modes(dataset, "quickstart")
        assert results.config.params.min_size == 30
        # found on fold 0, confirmed on fold 1
        assert set(dataset.distinct("fold")) == {0, 1}
        assert results.num_samples == dataset.match({"fold": 0}).count()
        assert results.validation["holdout_samples"] == dataset.match({"fold": 1}).count()
        assert len(results.validation["modes"]) == len(results)
        assert "on fold 2" in out
        assert (tmp_path / "report" / "index.html").exists()
        # A second run replaces the quickstart's own dataset.
        again = cli(
            "quickstart",
            "--samples",
            "300",
            "--dataset",
            "prime-qs-test",
            "--report-dir",
            str(tmp_path / "report2"),
        )
        assert again.returncode == 0, again.stderr[-3000:]
        assert len(fo.load_dataset("prime-qs-test")) == 300
    finally:
        fo.delete_dataset("prime-qs-test")


@pytest.mark.slow  # a subprocess
def test_quickstart_never_replaces_a_users_dataset(make_dataset, tmp_path):
    dataset = make_dataset(persistent=True)
    proc = cli(
        "quickstart",
        "--samples",
        "50",
        "--dataset",
        dataset.name,
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert proc.returncode == 2
    assert "was not made by the quickstart" in proc.stderr
    assert fo.dataset_exists(dataset.name)


@pytest.mark.parametrize("samples", ["0", "-5", "ten"])
def test_quickstart_samples_must_be_positive_before_anything_is_created(capsys, samples):
    before = fo.list_datasets()
    with pytest.raises(SystemExit) as info:
        prime_cli.main(["quickstart", "--samples", samples, "--dataset", "prime-qs-never"])
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


@pytest.mark.slow  # a subprocess
def test_cli_search_list_report_and_errors(make_dataset, tmp_path):
    dataset = add_planted(make_dataset(persistent=True))
    proc = cli("search", dataset.name, "--run-key", "cli")
    assert proc.returncode == 0, proc.stderr
    assert "night + snow" in proc.stdout and "blur" in proc.stdout
    proc = cli("list", dataset.name)
    assert proc.stdout.strip().splitlines()[-1] == "cli: 2 failure modes over 350 samples"
    proc = cli("report", dataset.name, "cli", str(tmp_path / "rep"))
    assert proc.returncode == 0 and proc.stdout.strip().endswith("index.html")
    proc = cli("search", "no-such-dataset")
    assert proc.returncode != 0 and "no dataset named 'no-such-dataset'" in proc.stderr
    proc = cli("search", dataset.name, "--label-field", "nope")
    assert proc.returncode == 2 and "field 'nope' does not exist" in proc.stderr
    for command in ("quickstart", "tag", "search", "metrics", "report", "run", "list"):
        assert cli(command, "--help").returncode == 0


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


def test_search_builds_search_params_once_from_the_arguments(planted, capsys, monkeypatch):
    from tests.integration.failure_modes.test_failure_modes import record_params_walk

    walk = record_params_walk(monkeypatch)
    args = ("--min-size", "35", "--max-tags", "2", "--alpha", "none", "--run-key", "walk")
    code, _, err = run_cli(capsys, "search", planted.name, *args)
    assert code == 0, err
    [(params, built)] = walk["reached"]
    assert built == 1 and walk["built"] == 1
    assert (params.min_size, params.max_tags, params.alpha) == (35, 2, None)
    assert fp.load_failure_modes(planted, "walk").config.search_params == params.to_dict()


@pytest.mark.parametrize("max_tags", ["0", str(MAX_TAGS_LIMIT + 1), "two"])
def test_search_max_tags_is_capped_at_the_project_limit(planted, capsys, max_tags):
    with pytest.raises(SystemExit) as info:
        prime_cli.main(["search", planted.name, "--max-tags", max_tags])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"must be a whole number from 1 to {MAX_TAGS_LIMIT}; got '{max_tags}'" in err
    assert planted.list_runs() == []


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


@pytest.mark.slow  # a whole report, end to end (the mathtext report test stays fast)
def test_report_is_self_contained(make_dataset, tmp_path):
    from tests.integration.planted import planted_with_images

    dataset = planted_with_images(make_dataset, tmp_path, size=(40, 30))
    fp.find_failure_modes(dataset)
    out = tmp_path / "report"
    index = fp.export_report(dataset, "prime", str(out), max_images=10)
    page = (out / "index.html").read_text()
    assert index == str(out / "index.html")
    assert "night + snow" in page and "25.0%" in page and "80.0%" in page
    assert not re.search(r"(src|href)=\"https?://", page)  # nothing fetched from the network
    images = re.findall(r'src="(images/[^"]+)"', page)
    assert len(images) == 20  # 10 per failure mode
    assert all((out / src).exists() for src in images)
    assert page.count('class="wrong"') == 20  # both modes have >= 10 misclassified images
    assert (out / "drops_per_class.png").stat().st_size > 1000
    data = json.loads((out / "failure_modes.json").read_text())
    assert [m["tags"] for m in data["failure_modes"]] == [list(m[1]) for m in PLANTED_MODES]
    with pytest.raises(ValueError, match="not empty"):
        fp.export_report(dataset, "prime", str(out))


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
