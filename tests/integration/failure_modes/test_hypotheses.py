"""Hunches tested on a real FiftyOne dataset, one online budget stored with it."""

import json

import pytest
from scipy.stats import hypergeom

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
    assert "confirmed" in got.summary().splitlines()[2]

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
