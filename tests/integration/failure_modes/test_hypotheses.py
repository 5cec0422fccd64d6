"""Hunches tested on a real FiftyOne dataset, one online budget stored with it."""

import json

import pytest
from scipy.stats import hypergeom

import fiftyone as fo
from fiftyone import ViewField as F

import fiftyone_prime as fp
from fiftyone_prime.core.online_fdr import LordPlusPlus
from fiftyone_prime.integration import fiftyone_private as fop
from fiftyone_prime.integration.failure_modes import hypotheses as fph
from fiftyone_prime.integration.failure_modes.hypotheses import STATE_KEY
from tests.fo_env import run_python


def stored_state(dataset):
    """The state in the dataset's info, as another process would load it."""
    dataset.reload()
    return (dataset.info or {}).get(STATE_KEY)


def test_the_planted_hypothesis_is_confirmed_and_the_budget_is_stored(planted):
    planted.info["note"] = "unsaved"  # a user's edit, not saved yet: kept
    got = fp.test_hypotheses(planted, [("cat", ["snow", "night"]), ["grass"]])
    rows = [(r.group, r.tags, r.size, r.num_correct, r.rejected) for r in got.results]
    assert rows == [
        ("cat", ("snow", "night"), 40, 10, True),
        ("cat", ("grass",), 50, 50, False),
        ("dog", ("grass",), 50, 48, False),
    ]
    hit = got.results[0]
    # cat: 200 samples, 40 wrong; the pair holds 30 of them in 40 samples
    assert hit.p_value == pytest.approx(hypergeom.sf(29, 200, 40, 40), rel=1e-12)
    assert hit.accuracy == 0.25 and hit.group_accuracy == 0.8
    assert [r.position for r in got.results] == [1, 2, 3]
    assert planted.info["note"] == "unsaved"
    stored = stored_state(planted)
    assert stored == got.state
    assert (stored["num_tested"], stored["rejections"], stored["alpha"]) == (3, [1], 0.05)
    assert "1 of 3 hypotheses confirmed" in got.summary()
    assert got.summary().splitlines()[3].endswith("  confirmed")
    assert got.key is None and planted.list_runs() == []  # no run_key: no run stored

    # A later call carries on from the stored wealth, rejection included.
    expected_level = LordPlusPlus.from_dict(stored).next_level()
    later = fp.test_hypotheses(planted, [("dog", ["blur"])])
    (blur,) = later.results
    assert (blur.position, blur.rejected) == (4, True)
    assert blur.level == pytest.approx(expected_level, rel=1e-12)
    assert later.num_tested == 4 and stored_state(planted)["rejections"] == [1, 4]


def test_bad_hypotheses_name_what_is_wrong_and_store_nothing(planted):
    with pytest.raises(ValueError, match=r"unknown tags 'dusk', 'tram': not in the tags field"):
        fp.test_hypotheses(planted, [["snow"], ["tram", "dusk"]])
    with pytest.raises(ValueError, match="unknown classes 'bird'"):
        fp.test_hypotheses(planted, [("bird", ["snow"])])
    with pytest.raises(TypeError, match="a hypothesis is a list of tag names"):
        fp.test_hypotheses(planted, [3])
    assert stored_state(planted) is None
    fp.test_hypotheses(planted, "snow")
    with pytest.raises(ValueError, match=r"controlled at alpha=0.05 \(2 tested\); pass alpha=0.05"):
        fp.test_hypotheses(planted, "snow", alpha=0.1)
    assert stored_state(planted)["num_tested"] == 2


def test_a_process_that_tested_meanwhile_is_not_overwritten(planted, monkeypatch):
    """Another process stores its state between this one's read and write:
    the write fails its compare-and-set, and the hypotheses are tested again
    after the other's."""
    real = fph.fch.test_hypotheses
    calls = []

    def racing(*args, **kwargs):
        if not calls:
            other = LordPlusPlus()
            other.test(0.5), other.test(0.6)
            fop.db().datasets.update_one(
                {"_id": fop.dataset_id(planted)}, {"$set": {f"info.{STATE_KEY}": other.to_dict()}}
            )
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fph.fch, "test_hypotheses", racing)
    got = fp.test_hypotheses(planted, [("cat", ["snow", "night"])])
    assert len(calls) == 2
    assert got.results[0].position == 3
    assert stored_state(planted)["num_tested"] == 3
    assert stored_state(planted)["rejections"] == [3]


@pytest.mark.slow  # a subprocess
def test_processes_share_one_budget(planted):
    code = f"""
import json, fiftyone as fo, fiftyone_prime as fp
ds = fo.load_dataset({planted.name!r})
r = fp.test_hypotheses(ds, [("cat", ["snow", "night"]), ("dog", ["snow"])])
print(json.dumps([[x.position, x.rejected] for x in r.results]))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[1, True], [2, False]]
    got = fp.test_hypotheses(planted, [("dog", ["blur"])])
    assert got.results[0].position == 3 and got.num_tested == 3
    assert stored_state(planted)["rejections"] == [1, 3]


def test_results_are_a_run_with_a_view_per_confirmed_hypothesis(planted):
    got = fp.test_hypotheses(
        planted, [("cat", ["snow", "night"]), ["grass"], ("dog", ["blur"])], run_key="hunches"
    )
    assert fp.list_hypothesis_runs(planted) == ["hunches"]
    assert fp.list_failure_mode_runs(planted) == []
    confirmed = [(r.group, r.tags) for r in got.rejected]
    assert confirmed == [("cat", ("snow", "night")), ("dog", ("blur",))]
    assert [r.view_name for r in got.results] == [
        "hunches cat: snow + night",
        None,
        None,
        "hunches dog: blur",
    ]
    # loaded validated, in a fresh dataset object, with the same records
    loaded = fp.load_hypotheses(fo.load_dataset(planted.name), "hunches")
    assert type(loaded) is fp.HypothesisResults
    assert loaded.results == got.results and loaded.num_tested == 4
    # each view holds exactly the samples tested: 40 cats with snow and night, 30 wrong
    snow_night = loaded.load_view(0)
    assert len(snow_night) == 40
    assert snow_night.count_values("predictions.label") == {"dog": 30, "cat": 10}
    assert set(snow_night.distinct("ground_truth.label")) == {"cat"}
    assert len(loaded.load_view(loaded.results[3])) == loaded.results[3].size
    assert (
        "confirmed by LORD++"
        in planted.get_saved_view_info(got.results[0].view_name)["description"]
    )
    assert "[view 'hunches cat: snow + night']" in loaded.summary()

    # the key is taken: refused before anything is tested
    with pytest.raises(ValueError, match="already has a run with key 'hunches'"):
        fp.test_hypotheses(planted, ["grass"], run_key="hunches")
    assert stored_state(planted)["num_tested"] == 4
    # overwritten: the old run's views go, the new run's come
    again = fp.test_hypotheses(planted, ["grass"], run_key="hunches", overwrite=True)
    assert again.rejected == [] and planted.list_saved_views() == []
    # deleted with exactly its views; the budget stays
    fp.test_hypotheses(planted, [("cat", ["snow", "night"])], run_key="hunches", overwrite=True)
    planted.save_view("mine", planted.limit(3))
    fp.delete_hypotheses(planted, "hunches")
    assert planted.list_runs() == [] and planted.list_saved_views() == ["mine"]
    assert stored_state(planted)["num_tested"] == 7


def test_a_view_expression_is_tested_as_its_tag_set_is(planted):
    """An expression matching exactly the snow-and-night samples gives the
    tag set's counts and p-value; its run's view holds those samples."""
    expr = F("tag_list").contains(["snow", "night"], all=True)
    got = fp.test_hypotheses(
        planted,
        [("cat", expr), fo.Match(F("tag_list").contains("grass")), ("cat", ["snow", "night"])],
        run_key="exprs",
    )
    rows = [(r.group, r.size, r.num_correct, r.rejected) for r in got.results]
    assert rows == [
        ("cat", 40, 10, True),
        ("cat", 50, 50, False),
        ("dog", 50, 48, False),
        ("cat", 40, 10, True),
    ]
    assert got.results[0].p_value == got.results[3].p_value
    stored = {"$expr": expr.to_mongo()}
    assert got.results[0].tags == (fph.expression_name(stored),)
    assert got.results[0].expression == stored
    loaded = fp.load_hypotheses(fo.load_dataset(planted.name), "exprs")
    assert loaded.results[0].expression == stored
    view = loaded.load_view(0)
    assert len(view) == 40 and view.count_values("predictions.label") == {"dog": 30, "cat": 10}
    # a MongoDB query filter as a dict, within a class
    (as_dict,) = fp.test_hypotheses(planted, [("dog", {"tag_list": "blur"})]).results
    assert (as_dict.size, as_dict.num_correct) == (40, 12)


def test_an_expression_mongodb_cannot_match_is_refused_before_testing(planted):
    with pytest.raises(ValueError, match=r"is not an expression MongoDB can match samples with"):
        fp.test_hypotheses(planted, [{"$expr": {"$nosuchoperator": 1}}])
    assert stored_state(planted) is None


def _folds(dataset):
    """Alternate samples to folds "a" and "b" (every block splits in half)."""
    dataset.set_values("split", ["a" if i % 2 == 0 else "b" for i in range(len(dataset))])
    return dataset


def test_hypotheses_proposed_from_a_fold_are_tested_on_the_other(planted):
    _folds(planted)
    got = fp.test_hypotheses(
        planted, [("cat", ["snow", "night"])], proposed_from=("split", "a"), run_key="held"
    )
    (r,) = got.results
    # the b half: 20 of the 40 snow-and-night cats, 5 of them right
    assert (r.size, r.num_correct, r.group_size) == (20, 5, 100)
    assert got.held_out == {
        "proposed_from": "the samples with split == 'a'",
        "tested_on": "the other 175 samples",
    }
    assert "proposed from the samples with split == 'a'; tested on the other" in got.summary()
    view = got.load_view(0)
    assert len(view) == 20 and view.distinct("split") == ["b"]
    with pytest.raises(ValueError, match=r"no field 'fold' to split them by"):
        fp.test_hypotheses(planted, ["snow"], proposed_from=("fold", "a"))


def test_a_fold_given_as_sample_tags_or_a_classification_holds_its_samples_out(planted):
    """Before, ``F(field) != value`` compared a list or a label with a string:
    always true, so nothing was held out while the results said it was
    (found by review)."""
    from fiftyone_prime.integration.failure_modes.hypotheses import held_out_split

    n = len(planted)
    ids = planted.values("id")
    train = planted.select(ids[::2])
    train.tag_samples("train")
    planted.set_values(
        "fold", [fo.Classification(label="a" if i % 2 == 0 else "b") for i in range(n)]
    )
    for fold in (("tags", "train"), ("fold", "a")):
        tested, held = held_out_split(planted, fold)
        assert set(tested.values("id")) == set(ids[1::2]), fold
        assert held["tested_on"] == f"the other {len(ids[1::2])} samples"
    with pytest.raises(ValueError, match="no sample has tags == 'test'"):
        held_out_split(planted, ("tags", "test"))


def test_a_runs_failure_modes_are_tested_on_the_samples_it_did_not_search(planted):
    _folds(planted)
    searched = planted.match(F("split") == "a")
    run = fp.find_failure_modes(searched, run_key="found", min_size=10, alpha=None)
    assert {(m.group, m.tags) for m in run.failure_modes} >= {("cat", ("night", "snow"))}
    got = fp.test_hypotheses(planted, run)
    assert got.held_out["proposed_from"] == "the 175 samples of failure-mode run 'found'"
    assert len(got.samples) == 175 and set(got.samples.distinct("split")) == {"b"}
    pair = next(r for r in got.results if r.tags == ("night", "snow"))
    assert (pair.size, pair.num_correct, pair.rejected) == (20, 5, True)
    # a run that searched every sample leaves nothing to test on
    everything = fp.find_failure_modes(planted, run_key="all", min_size=10, alpha=None)
    with pytest.raises(ValueError, match="No sample is left to test on"):
        fp.test_hypotheses(planted, everything)
