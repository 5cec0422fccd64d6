"""The failure-mode SDK against real FiftyOne and its real MongoDB."""

import json

import numpy as np
import pytest
from scipy.stats import hypergeom

import fiftyone as fo
from fiftyone import ViewField as F

import fiftyone_prime as fp
from fiftyone_prime.integration.runs.rows import format_p
from tests.fo_env import run_python
from tests.helpers import summary
from tests.integration.planted import PLANTED_MODES, add_planted, planted_samples


def record_params_walk(monkeypatch):
    """Records how :class:`SearchParams` travel to the core search: each
    construction is counted, and each call of the core's ``run_search`` (as
    the integration layer calls it) records ``(params object, constructions
    so far)``."""
    import fiftyone_prime.integration.failure_modes.search as fps
    from fiftyone_prime.core.types import SearchParams

    walk = {"built": 0, "reached": []}
    post_init = SearchParams.__post_init__

    def counting(self):
        walk["built"] += 1
        post_init(self)

    run_search = fps.run_search

    def spying(*args, params, **kwargs):
        walk["reached"].append((params, walk["built"]))
        return run_search(*args, params=params, **kwargs)

    monkeypatch.setattr(SearchParams, "__post_init__", counting)
    monkeypatch.setattr(fps, "run_search", spying)
    return walk


def test_planted_failure_modes_are_recovered_exactly(planted):
    results = fp.find_failure_modes(planted)
    assert summary(results) == PLANTED_MODES
    cat = results.failure_modes[0]
    assert cat.group_size == 200 and cat.group_accuracy == pytest.approx(0.8)
    assert cat.accuracy == pytest.approx(0.25) and cat.drop == pytest.approx(0.55)
    assert cat.view_name == "prime cat: night + snow"
    assert results.groups == {
        "cat": {"size": 200, "accuracy": pytest.approx(0.8)},
        "dog": {"size": 150, "accuracy": pytest.approx(0.8)},
    }
    assert results.num_used == 350 and results.num_tags == 4


def test_saved_views_hold_exactly_the_failure_mode_samples(planted):
    results = fp.find_failure_modes(planted)
    for mode in results.failure_modes:
        view = planted.load_saved_view(mode.view_name)
        assert len(view) == mode.size
        labels = view.values("ground_truth.label")
        assert set(labels) == {mode.group}
        correct = np.array(labels) == np.array(view.values("predictions.label"))
        assert int(correct.sum()) == mode.num_correct
        for tags in view.values("prime_tags.classifications.label"):
            assert set(mode.tags) <= set(tags)
        # Complement: no sample of the class outside the view has every tag.
        outside = planted.match(F("ground_truth.label") == mode.group).exclude(view.values("id"))
        for tags in outside.values("prime_tags.classifications.label"):
            assert not set(mode.tags) <= set(tags)
        info = planted.get_saved_view_info(mode.view_name)
        assert f"class '{mode.group}'" in info["description"]
        assert f"({mode.num_correct}/{mode.size};" in info["description"]
        assert f"adjusted p = {format_p(mode.adjusted_p_value)}" in info["description"]
        assert "80.0% for the class" in info["description"]
        assert f"n={mode.group_size}" in info["description"]


@pytest.mark.parametrize("tags_field", ["tag_list", "objects", ["tag_list"]])
def test_other_tag_field_types_give_the_same_failure_modes(planted, tags_field):
    results = fp.find_failure_modes(planted, tags_field=tags_field, run_key="other")
    assert summary(results) == PLANTED_MODES
    for mode in results.failure_modes:
        assert len(planted.load_saved_view(mode.view_name)) == mode.size


def test_classification_field_serves_as_tags(make_dataset):
    dataset = make_dataset()
    samples = planted_samples()
    for s in samples:
        s["weather"] = fo.Classification(label=s["tag_list"][0])
    dataset.add_samples(samples)
    results = fp.find_failure_modes(dataset, tags_field="weather")
    # First tag per block: cat {snow} 95 samples with 60 right, dog {blur} 40/12.
    assert ("dog", ("blur",), 40, 12) in summary(results)
    for mode in results.failure_modes:
        assert len(dataset.load_saved_view(mode.view_name)) == mode.size


def test_several_tag_fields_are_searched_together(planted):
    results = fp.find_failure_modes(planted, tags_field=["prime_tags", "objects"], max_tags=2)
    names = {x.tags for m in results.failure_modes for x in (m, *m.aliases)}
    # Same tags from two fields always co-occur: each alone is a mode, never both.
    assert ("objects:blur",) in names and ("prime_tags:blur",) in names
    assert ("objects:night", "prime_tags:snow") in names
    # They hold the same samples: one row, the other its alias.
    rows = {m.tags: m for m in results.failure_modes}
    blur = rows.get(("objects:blur",)) or rows[("prime_tags:blur",)]
    assert {("objects:blur",), ("prime_tags:blur",)} == {blur.tags, *blur.alias_tags}
    assert all(a.overlap == a.size == blur.size for a in blur.aliases if "blur" in a.tags[0])
    # Aliases are stored with the run and load back.
    assert fp.load_failure_modes(planted, "prime").failure_modes == results.failure_modes
    for mode in results.failure_modes:
        assert mode.tag_fields and set(mode.tag_fields) <= {"prime_tags", "objects"}
        assert len(planted.load_saved_view(mode.view_name)) == mode.size


def test_search_runs_over_a_view_and_stores_it(planted):
    view = planted.match(F("ground_truth.label") == "cat")
    results = fp.find_failure_modes(view, run_key="cats")
    assert summary(results) == PLANTED_MODES[:1]
    assert len(planted.load_run_view("cats")) == 200
    saved = planted.load_saved_view(results.failure_modes[0].view_name)
    assert len(saved) == 40


@pytest.mark.slow  # a subprocess
def test_results_reload_in_a_fresh_process(make_dataset):
    dataset = add_planted(make_dataset(persistent=True))
    fp.find_failure_modes(dataset, run_key="prime")
    code = f"""
import json, fiftyone as fo, fiftyone_prime as fp
ds = fo.load_dataset({dataset.name!r})
r = fp.load_failure_modes(ds, "prime")
print(json.dumps(dict(
    cls=type(r).__name__, runs=fp.list_failure_mode_runs(ds),
    modes=[[m.group, list(m.tags), m.size, m.num_correct, m.view_name] for m in r.failure_modes],
    view=len(r.load_view(0)), label_field=r.config.label_field)))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["cls"] == "FailureModeResults"
    assert out["runs"] == ["prime"]
    assert out["modes"] == [
        ["cat", ["night", "snow"], 40, 10, "prime cat: night + snow"],
        ["dog", ["blur"], 40, 12, "prime dog: blur"],
    ]
    assert out["view"] == 40 and out["label_field"] == "ground_truth"


def test_list_load_and_delete_touch_only_our_runs_and_views(planted):
    planted.save_view("my cats", planted.match(F("ground_truth.label") == "cat"))
    fp.find_failure_modes(planted, run_key="a")
    fp.find_failure_modes(planted, run_key="b", max_tags=1)
    assert fp.list_failure_mode_runs(planted) == ["a", "b"]
    assert len(fp.load_failure_modes(planted, "b")) == 1
    assert planted.list_saved_views() == [
        "my cats",
        "a cat: night + snow",
        "a dog: blur",
        "b dog: blur",
    ]
    # A user's copy of one of our views is the user's.
    planted.save_view("kept", planted.load_saved_view("a dog: blur"))
    fp.delete_failure_modes(planted, "a")
    assert fp.list_failure_mode_runs(planted) == ["b"]
    assert planted.list_saved_views() == ["my cats", "b dog: blur", "kept"]
    fp.delete_failure_modes(planted, "b")
    assert planted.list_saved_views() == ["my cats", "kept"]
    with pytest.raises(ValueError, match="no run with key 'a'"):
        fp.delete_failure_modes(planted, "a")


def test_existing_run_key_needs_overwrite_which_replaces_only_its_views(planted):
    fp.find_failure_modes(planted, run_key="prime")
    planted.save_view("mine", planted.limit(3))
    with pytest.raises(ValueError, match=r"already has a run with key 'prime'.*overwrite=True"):
        fp.find_failure_modes(planted, run_key="prime", max_tags=1)
    assert planted.list_saved_views() == ["prime cat: night + snow", "prime dog: blur", "mine"]
    results = fp.find_failure_modes(planted, run_key="prime", max_tags=1, overwrite=True)
    assert summary(results) == [("dog", ("blur",), 40, 12)]
    assert planted.list_saved_views() == ["mine", "prime dog: blur"]
    assert len(fp.load_failure_modes(planted, "prime")) == 1


def test_overwrite_loads_the_old_results_once_and_validates_with_fiftyone(planted, monkeypatch):
    import fiftyone.core.runs as focr

    fp.find_failure_modes(planted, run_key="prime")
    calls = []
    validate_run = focr.BaseRun.validate_run
    load_run_results = focr.BaseRun.load_run_results.__func__

    def validating(self, *args, **kwargs):
        calls.append("validate_run")
        return validate_run(self, *args, **kwargs)

    def loading(cls, *args, **kwargs):
        calls.append("load_run_results")
        return load_run_results(cls, *args, **kwargs)

    monkeypatch.setattr(focr.BaseRun, "validate_run", validating)
    monkeypatch.setattr(focr.BaseRun, "load_run_results", classmethod(loading))
    results = fp.find_failure_modes(planted, run_key="prime", max_tags=1, overwrite=True)
    assert calls.count("load_run_results") == 1
    assert calls.count("validate_run") >= 1  # FiftyOne's own run validation
    assert summary(results) == [("dog", ("blur",), 40, 12)]
    assert planted.list_saved_views() == ["prime dog: blur"]


def test_the_keyword_api_builds_search_params_once(planted, monkeypatch):
    walk = record_params_walk(monkeypatch)
    results = fp.find_failure_modes(planted, min_size=35, max_tags=2, alpha=None)
    [(params, built)] = walk["reached"]
    assert built == 1
    assert (params.min_size, params.max_tags, params.alpha) == (35, 2, None)
    assert results.config.search_params == params.to_dict()
    assert walk["built"] == 1  # nor rebuilt for the run config


def test_a_view_name_the_user_owns_is_never_overwritten(planted):
    user_view = planted.limit(5)
    planted.save_view("prime dog: blur", user_view, description="mine")
    with pytest.raises(ValueError, match="never overwritten"):
        fp.find_failure_modes(planted)
    assert planted.list_runs() == []  # nothing was stored
    assert len(planted.load_saved_view("prime dog: blur")) == 5
    assert planted.get_saved_view_info("prime dog: blur")["description"] == "mine"


def test_samples_without_label_or_prediction_are_counted_and_left_out(planted):
    extra = planted_samples(prefix="x")[:7]
    for s in extra[:4]:
        s["ground_truth"] = None
    for s in extra[4:]:
        s["predictions"] = None
    planted.add_samples(extra)
    results = fp.find_failure_modes(planted)
    assert summary(results) == PLANTED_MODES
    assert results.num_samples == 357
    assert results.num_missing_label == 4 and results.num_missing_prediction == 3
    assert results.num_used == 350
    assert "4 without a label, 3 without a prediction" in results.summary()
    for mode in results.failure_modes:
        assert len(planted.load_saved_view(mode.view_name)) == mode.size


def test_apply_failure_modes_to_another_dataset(planted, make_dataset):
    results = fp.find_failure_modes(planted)
    # A held-out copy where the cat mode still fails and the dog mode does not.
    blocks = [
        (40, "cat", ["snow", "night"], False),
        (60, "cat", ["grass"], True),
        (40, "dog", ["blur"], True),
        (10, "dog", ["grass"], False),
    ]
    holdout = make_dataset()
    holdout.add_samples(planted_samples(blocks, prefix="h"))
    applied = fp.apply_failure_modes(results, holdout)
    assert applied.key == "prime"
    assert applied.config.source_dataset == planted.name
    assert summary(applied) == [("cat", ("night", "snow"), 40, 0), ("dog", ("blur",), 40, 40)]
    assert applied.failure_modes[0].drop == pytest.approx(0.6)
    assert applied.failure_modes[1].drop == pytest.approx(0.8 - 1.0)
    # Tested on the target: Fisher's p-value there, BH over the 2 modes applied.
    cat, dog = applied.failure_modes
    assert cat.p_value == pytest.approx(hypergeom.sf(39, 100, 40, 40))
    assert dog.p_value == pytest.approx(1.0)
    assert cat.adjusted_p_value == pytest.approx(cat.p_value * 2)
    assert applied.config.procedure == "benjamini-hochberg"
    assert "Benjamini-Hochberg over these 2 modes (false discovery rate)" in applied.summary()
    for mode in applied.failure_modes:
        assert len(holdout.load_saved_view(mode.view_name)) == mode.size
    # Again on the same dataset: a new key by default.
    again = fp.apply_failure_modes(results, planted.take(100, seed=1))
    assert again.key == "prime_applied"


def test_save_views_false_saves_no_views(planted):
    results = fp.find_failure_modes(planted, save_views=False)
    assert summary(results) == PLANTED_MODES
    assert planted.list_saved_views() == []
    assert all(m.view_name is None for m in results.failure_modes)
    with pytest.raises(ValueError, match="no saved view"):
        results.load_view(0)


def test_results_sort_and_summary(planted):
    results = fp.find_failure_modes(planted)
    assert [m.group for m in results.sorted("size", reverse=False)] == ["cat", "dog"]
    assert [m.group for m in results.sorted("accuracy", reverse=False)] == ["cat", "dog"]
    with pytest.raises(ValueError, match="Unknown sort key"):
        results.sorted("nope")
    text = results.summary()
    assert "night + snow" in text and "25.0%" in text


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(label_field="gt"), ValueError, "field 'gt' does not exist"),
        (
            dict(pred_field="tag_list"),
            TypeError,
            r"'tag_list' must be a Classification field; found ListField\(StringField\)",
        ),
        (
            dict(label_field="prime_tags"),
            TypeError,
            r"'prime_tags' is EmbeddedDocumentField\(Classifications\) but `pred_field`",
        ),
        (dict(tags_field="ground_truth_missing"), ValueError, "does not exist"),
        (
            dict(tags_field="filepath"),
            TypeError,
            "must be a Classifications, Classification or Detections",
        ),
        (dict(tags_field=[]), ValueError, "at least one field"),
        (dict(tags_field=["prime_tags", "prime_tags"]), ValueError, "names a field twice"),
        (dict(run_key="my key"), ValueError, "valid Python identifier"),
        (dict(min_size=0), ValueError, "`min_size`"),
        (dict(max_tags=0), ValueError, "`max_tags`"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(planted, kwargs, error, match):
    fields_before = set(planted.get_field_schema())
    with pytest.raises(error, match=match):
        fp.find_failure_modes(planted, **kwargs)
    assert planted.list_runs() == [] and planted.list_saved_views() == []
    assert set(planted.get_field_schema()) == fields_before


def test_empty_view_and_no_usable_samples(planted):
    with pytest.raises(ValueError, match="view is empty"):
        fp.find_failure_modes(planted.match(F("ground_truth.label") == "zebra"))
    planted.set_values("predictions", [None] * len(planted))
    with pytest.raises(ValueError, match="None of the 350 samples has both"):
        fp.find_failure_modes(planted)
    assert planted.list_runs() == []


def test_a_run_of_another_kind_is_never_touched(planted):
    import fiftyone.core.runs as focr

    config = focr.RunConfig(method="other")
    run = config.build()
    run.register_run(planted, "theirs")
    with pytest.raises(ValueError, match="not a failure-mode run"):
        fp.find_failure_modes(planted, run_key="theirs", overwrite=True)
    with pytest.raises(ValueError, match="not a failure-mode run"):
        fp.delete_failure_modes(planted, "theirs")
    assert planted.list_runs() == ["theirs"]
    assert fp.list_failure_mode_runs(planted) == []


def test_views_written_by_id_work_with_fiftyones_own_api(planted):
    results = fp.find_failure_modes(planted)
    assert planted.list_saved_views() == results.view_names
    fresh = fo.load_dataset(planted.name)
    fresh.reload()
    assert fresh.list_saved_views() == results.view_names
    info = fresh.list_saved_views(info=True)
    assert [v["description"] for v in info] == [
        planted.get_saved_view_info(n)["description"] for n in results.view_names
    ]
    # FiftyOne's own delete works on our views, and our cleanup tolerates it.
    fresh.delete_saved_view(results.view_names[0])
    planted.reload()
    fp.delete_failure_modes(planted, "prime")
    assert planted.list_saved_views() == []


def test_progress_callback_sees_every_view(planted):
    seen = []
    fp.find_failure_modes(planted, progress=lambda pb: seen.append((pb.iteration, pb.total)))
    assert seen[-1] == (2, 2)
