"""Regression runs against real FiftyOne and its MongoDB."""

import numpy as np
import pytest

import fiftyone as fo

from fiftyone_prime.integration.comparisons.regressions import (
    delete_regressions,
    find_regressions,
    list_regression_runs,
    load_regressions,
)
from tests.helpers import regression_summary
from tests.integration.regression_data import PLANTED_REGRESSION, regression_dataset


@pytest.fixture
def two_models(make_dataset):
    return regression_dataset(make_dataset)


def test_the_planted_regression_is_found_with_both_accuracies(two_models):
    results = find_regressions(two_models)
    assert regression_summary(results) == [PLANTED_REGRESSION]
    (mode,) = results.regressions
    assert mode.baseline_accuracy == pytest.approx(0.8) and mode.accuracy == pytest.approx(0.1)
    assert mode.group_size == 200
    assert mode.num_losses == 30 and mode.num_wins == 2
    assert results.groups["cat"]["baseline_accuracy"] == pytest.approx(162 / 200)
    assert results.groups["cat"]["accuracy"] == pytest.approx(149 / 200)
    text = results.summary()
    assert "80.0% -> 10.0%" in text and "81.0% -> 74.5%" in text
    assert "predictions_v2" in text and "predictions_v1" in text
    # the view holds exactly the mode's samples, with both predictions
    view = results.load_view(0)
    assert len(view) == 40
    base = np.array(view.values("predictions_v1.label")) == "cat"
    new = np.array(view.values("predictions_v2.label")) == "cat"
    assert base.sum() == 32 and new.sum() == 4
    info = two_models.get_saved_view_info(mode.view_name)
    assert "80.0% -> 10.0%" in info["description"]
    # it loads again, and is deleted with exactly its views
    again = load_regressions(two_models, "prime_regression")
    assert regression_summary(again) == regression_summary(results)
    assert list_regression_runs(two_models) == ["prime_regression"]
    two_models.save_view("mine", two_models.limit(3))
    delete_regressions(two_models, "prime_regression")
    assert two_models.list_saved_views() == ["mine"]
    assert two_models.list_runs() == []


def test_bad_input_is_refused_and_nothing_is_written(two_models):
    two_models.add_sample_field("dets", fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    with pytest.raises(TypeError, match=r"baseline_field.*Classification"):
        find_regressions(two_models, baseline_field="dets")
    with pytest.raises(ValueError, match="same field"):
        find_regressions(two_models, baseline_field="predictions_v2")
    sample = two_models.first()
    sample["predictions_v1"] = None
    sample.save()
    with pytest.raises(ValueError, match="different samples"):
        find_regressions(two_models)
    assert two_models.list_runs() == [] and two_models.list_saved_views() == []
    with pytest.raises(ValueError, match="no run with key"):
        load_regressions(two_models, "nope")


def test_a_failure_mode_run_is_never_overwritten_by_a_regression_run(two_models):
    import fiftyone_prime as fp

    fp.find_failure_modes(two_models, pred_field="predictions_v2", run_key="fm", alpha=None)
    views = two_models.list_saved_views()
    with pytest.raises(ValueError, match="not a regression run"):
        find_regressions(two_models, run_key="fm", overwrite=True)
    with pytest.raises(ValueError, match="not a regression run"):
        load_regressions(two_models, "fm")
    assert two_models.list_saved_views() == views


def test_the_report_shows_both_models_side_by_side(two_models, tmp_path):
    from fiftyone_prime.integration.reports.regression_report import export_regression_report

    find_regressions(two_models)
    path = export_regression_report(two_models, "prime_regression", str(tmp_path / "r"))
    page = open(path).read()
    assert "80.0% -&gt; 10.0%" in page and "81.0% -&gt; 74.5%" in page
    assert "predictions_v1" in page and "predictions_v2" in page
    assert "false-discovery rate over" in page and "samples compared</th><td>350 of 350" in page


def test_a_regression_search_reads_through_the_input_cache(two_models, monkeypatch, tmp_path):
    """The baseline's labels are cached with the rest: a second search of the
    same view reads nothing, from memory or from disk, and finds the same."""
    from fiftyone_prime.integration.reading import input_cache, reader

    monkeypatch.setenv("FIFTYONE_PRIME_CACHE_DIR", str(tmp_path))
    reads = []
    original = reader.read_inputs_fast
    monkeypatch.setattr(
        reader,
        "read_inputs_fast",
        lambda *a, **k: reads.append(k["baseline_field"]) or original(*a, **k),
    )
    first = regression_summary(find_regressions(two_models, save_views=False))
    assert reads == ["predictions_v1"]
    again = find_regressions(two_models, save_views=False, overwrite=True)
    input_cache._memory.clear()
    from_disk = find_regressions(two_models, save_views=False, overwrite=True)
    assert reads == ["predictions_v1"]
    assert (
        regression_summary(again) == regression_summary(from_disk) == first == [PLANTED_REGRESSION]
    )
    # a failure-mode search of the same fields is another entry (no baseline)
    import fiftyone_prime as fp

    fp.find_failure_modes(two_models, pred_field="predictions_v2", run_key="fm", save_views=False)
    assert reads == ["predictions_v1", None]
