"""Multilabel classifiers (``Classifications`` in and out): (sample, class)
units, planted truth on real FiftyOne (see ``tests/integration/multilabel_data.py``)."""

import pytest

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.integration.comparisons.regressions import OBJECT_REGRESSIONS
from fiftyone_prime.integration.failure_modes.evaluations import EvalFailureModeResults
from tests.integration.multilabel_data import (
    ALARM_TAGS,
    MISS_TAGS,
    THRESH,
    find,
    planted_template,
    truth,
)


@pytest.fixture(scope="module")
def ml_template():
    with planted_template() as dataset:
        yield dataset


@pytest.fixture
def ml(make_dataset, ml_template):
    return make_dataset(like=ml_template)


def nothing_written(dataset):
    return dataset.list_runs() == [] and dataset.list_saved_views() == []


def _expected(dataset, group, tags, **kwargs):
    """The mode's units and right ones, by the Python oracle."""
    units = {
        k: right
        for k, (right, t) in truth(dataset, **kwargs).items()
        if k[1] == group and set(tags) <= t
    }
    return units, sum(units.values())


def test_misses_of_person_on_night_crowd_are_found_exactly(ml):
    results = find(ml)
    assert isinstance(results, EvalFailureModeResults)
    assert results.units == "gt"
    found = [(m.group, tuple(sorted(m.tags))) for m in results.failure_modes]
    assert found == [("person", MISS_TAGS)]  # the planted mode alone (the issue allows 2 more)
    mode = results.failure_modes[found.index(("person", MISS_TAGS))]
    units, right = _expected(ml, "person", MISS_TAGS)
    assert mode.size == len(units)
    assert mode.num_correct == right
    # The class's accuracy is over its (sample, class) units, each counted once.
    all_person, right_person = _expected(ml, "person", ())
    assert results.groups["person"]["size"] == len(all_person)
    assert results.groups["person"]["accuracy"] == pytest.approx(right_person / len(all_person))
    # The view: exactly the mode's samples, each label field filtered to the class.
    view = results.load_view(mode)
    assert set(view.values("id")) == {sid for sid, _ in units}
    assert view.count() == mode.size
    assert set(view.distinct("ground_truth.classifications.label")) == {"person"}
    assert set(view.distinct("predictions.classifications.label")) <= {"person"}
    assert "multilabel" not in results.summary() and "misses" in results.summary()


def test_false_alarms_of_dog_on_indoor_rain_with_units_pred(ml):
    results = find(
        ml,
        units="pred",
        run_key="alarms",
    )
    found = [(m.group, tuple(sorted(m.tags))) for m in results.failure_modes]
    assert found == [("dog", ALARM_TAGS)]
    mode = results.failure_modes[found.index(("dog", ALARM_TAGS))]
    units, right = _expected(ml, "dog", ALARM_TAGS, units="pred")
    assert (mode.size, mode.num_correct) == (len(units), right)
    view = results.load_view(mode)
    assert set(view.values("id")) == {sid for sid, _ in units}
    # each predicted dog in the view is at least THRESH confident or shown below it
    assert set(view.distinct("predictions.classifications.label")) == {"dog"}


def test_a_threshold_changes_what_counts(ml):
    """Without a threshold the low-confidence guesses count as predictions:
    the class sizes of false-alarm units differ, as the oracle says."""
    with_t = find(
        ml,
        units="pred",
        save_views=False,
        run_key="t",
    )
    without = find(ml, units="pred", save_views=False, run_key="n", confidence_thresh=None)
    for results, thresh in ((with_t, THRESH), (without, None)):
        units, right = _expected(ml, "car", (), units="pred", thresh=thresh)
        assert results.groups["car"]["size"] == len(units)
        assert results.groups["car"]["accuracy"] == pytest.approx(right / len(units))
    assert with_t.groups["car"]["size"] < without.groups["car"]["size"]


def test_the_run_reloads_with_its_units(ml):
    find(
        ml,
        run_key="ml",
    )
    loaded = fp.load_failure_modes(ml, "ml")
    assert loaded.spec.is_multilabel and loaded.spec.confidence_thresh == THRESH
    assert ("person", MISS_TAGS) in [(m.group, tuple(sorted(m.tags))) for m in loaded.failure_modes]
    assert len(ml.list_saved_views()) == len(loaded.failure_modes)


def test_regression_of_person_on_night_crowd(ml):
    results = fp.find_regressions(
        ml,
        label_field="ground_truth",
        baseline_field="model_v1",
        pred_field="predictions",
        confidence_thresh=THRESH,
    )
    found = [(m.group, tuple(sorted(m.tags))) for m in results.regressions]
    assert found == [("person", MISS_TAGS)]
    mode = results.regressions[found.index(("person", MISS_TAGS))]
    new, right_new = _expected(ml, "person", MISS_TAGS)
    base, right_base = _expected(ml, "person", MISS_TAGS, pred_field="model_v1")
    assert set(new) == set(base)  # gt units: the same pairs under both models
    assert (mode.size, mode.num_correct, mode.baseline_num_correct) == (
        len(new),
        right_new,
        right_base,
    )
    view = results.load_view(mode)
    assert set(view.values("id")) == {sid for sid, _ in new}
    for field in ("ground_truth", "predictions", "model_v1"):
        assert set(view.distinct(f"{field}.classifications.label")) <= {"person"}
    loaded = fp.load_regressions(ml, results.key)
    assert [m.tags for m in loaded.regressions] == [m.tags for m in results.regressions]
    # A run over units, as object-level regressions are: its views come from the units' spec.
    assert loaded.kind is OBJECT_REGRESSIONS and loaded.spec.baseline_field == "model_v1"
    assert f"over {loaded.num_used} (sample, class) pairs" in loaded.summary()
    assert "'model_v1' (baseline) or 'predictions' (new)" in loaded.units_description


def test_regression_with_units_pred(ml):
    """The units of a comparison with ``units="pred"``: the classes either
    model predicts, right under a model when its prediction of the class's
    presence is right. So the new model's false dogs on {indoor, rain} are
    a regression, and so are its misses of the persons the baseline
    predicted on {night, crowd}."""
    results = fp.find_regressions(
        ml,
        label_field="ground_truth",
        baseline_field="model_v1",
        pred_field="predictions",
        units="pred",
        confidence_thresh=THRESH,
    )
    found = sorted((m.group, tuple(sorted(m.tags))) for m in results.regressions)
    assert found == [("dog", ALARM_TAGS), ("person", MISS_TAGS)]
    new = truth(ml, units="pred")
    base = truth(ml, pred_field="model_v1", units="pred")
    present = set(truth(ml))  # the (sample, class) pairs present in the ground truth
    for mode in results.regressions:
        units = {
            k
            for k, (_, tags) in {**new, **base}.items()
            if k[1] == mode.group and set(mode.tags) <= tags
        }
        assert (mode.size, mode.num_correct, mode.baseline_num_correct) == (
            len(units),
            sum((k in new) == (k in present) for k in units),
            sum((k in base) == (k in present) for k in units),
        )
        assert set(results.load_view(mode).values("id")) == {sid for sid, _ in units}


def test_check_re_measures_multilabel_modes(ml):
    find(
        ml,
        run_key="ml",
        save_views=False,
    )
    fixed = fp.check_failure_modes(ml, "ml", pred_field="model_v1")
    same = fp.check_failure_modes(ml, "ml", pred_field="model_v2")
    person = [c for c in same.checks if (c.group, tuple(sorted(c.tags))) == ("person", MISS_TAGS)]
    assert person and person[0].passed is False
    units, right = _expected(ml, "person", MISS_TAGS, pred_field="model_v1")
    c = next(c for c in fixed.checks if (c.group, tuple(sorted(c.tags))) == ("person", MISS_TAGS))
    assert (c.size, c.num_correct, c.passed) == (len(units), right, True)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(pred_field="filepath"), TypeError, "'filepath'"),
        (dict(pred_field="single"), TypeError, "Classification"),
        (dict(pred_field="nowhere"), ValueError, "'nowhere' does not exist"),
        (dict(pred_field="predictions", units="samples"), ValueError, "units='gt'"),
        (dict(pred_field="predictions", confidence_thresh="high"), ValueError, "confidence_thresh"),
        (
            dict(pred_field="predictions", tags_field="ground_truth.classifications.label"),
            ValueError,
            "tags of their image",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_and_writes_nothing(ml, kwargs, error, words):
    ml.add_sample_field("single", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classification)
    with pytest.raises(error, match=words):
        fp.find_failure_modes(ml, label_field="ground_truth", **kwargs)
    assert nothing_written(ml)


def test_an_empty_view_writes_nothing(ml):
    with pytest.raises(ValueError, match="empty"):
        fp.find_failure_modes(ml.limit(0), label_field="ground_truth", pred_field="predictions")
    assert nothing_written(ml)


def test_a_threshold_on_single_label_fields_is_refused(planted):
    with pytest.raises(ValueError, match="multilabel"):
        fp.find_failure_modes(planted, confidence_thresh=0.5)


def test_the_report_and_re_reading_a_multilabel_run(ml, tmp_path):
    from fiftyone_prime.integration.reading.run_inputs import read_run_units
    from fiftyone_prime.integration.reports.report import _multilabel_outcomes

    results = find(
        ml,
        run_key="ml",
    )
    (mode,) = results.failure_modes
    ids, _, right, shown = _multilabel_outcomes(results.load_view(mode), results.spec)
    assert (len(ids), sum(right)) == (mode.size, mode.num_correct)
    assert all(s.startswith("predicted") == r for s, r in zip(shown, right))
    path = fp.export_report(ml, "ml", str(tmp_path / "report"))
    assert "crowd + night" in open(path).read()
    # What the CLIP metrics read: the units with their images' paths (not crops).
    inputs = read_run_units(ml, results.config, ["filepath"])
    assert inputs.num_used == results.num_used
    assert all(p.endswith(".jpg") for p in inputs.extra["filepath"][:5])


def test_modes_applied_to_held_out_samples(ml):
    found = find(ml.limit(600), run_key="half", min_size=15, save_views=False)
    assert [(m.group, tuple(sorted(m.tags))) for m in found.failure_modes] == [
        ("person", MISS_TAGS)
    ]
    rest = ml.skip(600)
    applied = fp.apply_failure_modes(found, rest, run_key="rest", save_views=False)
    (mode,) = applied.failure_modes
    units, right = _expected(rest, "person", MISS_TAGS)
    assert (mode.size, mode.num_correct) == (len(units), right)


@pytest.mark.parametrize("units", ["gt", "pred"])
def test_the_fast_reader_and_values_read_the_same_units(ml, units):
    """Both readers of a regression's multilabel units (a class listed twice,
    samples without a field, a threshold): the same units, outcomes under
    both models, tags and counts."""
    from fiftyone_prime.integration.reading import units as fpu

    sample = ml.first()
    sample["predictions"] = None  # its units have no outcome
    sample.save()
    spec = fpu.multilabel_spec(ml, "ground_truth", "predictions", units, THRESH, "model_v1")
    sources = fpu.unit_tag_sources(ml, spec, "prime_tags")
    fast = fpu.read_units(ml, spec, sources)
    slow = fpu.read_units(ml, spec, sources, fast=False)
    assert fast.group_codes is not None and slow.group_codes is None  # each read its way

    def units_of(inputs):
        names = [k[1] for k in inputs.tag_keys]
        return sorted(
            (
                int(s),
                str(g),
                bool(c),
                bool(b),
                tuple(names[j] for j in inputs.tags[r].indices),
            )
            for r, (s, g, c, b) in enumerate(
                zip(inputs.sample_index, inputs.labels, inputs.correct, inputs.baseline_correct)
            )
        )

    assert units_of(fast) == units_of(slow)
    for name in ("num_samples", "num_units", "num_missing_label", "num_missing_prediction"):
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.num_missing_prediction > 0 and fast.num_crowd == slow.num_crowd == 0
    oracle = truth(ml.exists("predictions"), units=units)
    if units == "gt":
        assert fast.num_used == len(oracle)
