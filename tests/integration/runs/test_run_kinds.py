"""Every kind of run stores, lists, loads (validated, fresh), deletes and saves
views through the one run-kind code (:mod:`fiftyone_prime.integration.runs.run_store`
with a :class:`~fiftyone_prime.integration.runs.run_kinds.RunKind`), against real
FiftyOne and its MongoDB."""

import datetime

import pytest
from bson import ObjectId

import fiftyone as fo
import fiftyone.core.odm as foo

import fiftyone_prime as fp
from fiftyone_prime.integration.comparisons.regressions import REGRESSIONS
from fiftyone_prime.integration.failure_modes.evaluations import EVALUATION_UNITS
from fiftyone_prime.integration.failure_modes.hypothesis_runs import HYPOTHESES
from fiftyone_prime.integration.runs import run_store
from fiftyone_prime.integration.runs.classes import FAILURE_MODES
from fiftyone_prime.integration.runs.run_kinds import kind_of
from fiftyone_prime.integration.tagging.tag_audit import TAG_AUDIT
from tests.integration.planted import PLANTED_MODES, add_planted, add_planted_audit
from tests.integration.planted_objects import evaluated
from tests.integration.regression_data import regression_dataset


def _failure_modes(make_dataset):
    dataset = add_planted(make_dataset())
    fp.find_failure_modes(dataset, run_key="k", alpha=None)
    return dataset


def _evaluation_units(make_dataset):
    dataset = evaluated(make_dataset, "gt")
    fp.find_failure_modes(
        dataset, eval_key="eval", tags_field="ground_truth.detections.attrs", run_key="k"
    )
    return dataset


def _regressions(make_dataset):
    dataset = regression_dataset(make_dataset)
    fp.find_regressions(dataset, run_key="k")
    return dataset


def _tag_audit(make_dataset):
    dataset = add_planted_audit(make_dataset())
    fp.evaluate_tags(dataset, audit_key="k")
    return dataset


def _hypotheses(make_dataset):
    dataset = add_planted(make_dataset())
    # both confirmed, so every record has a view
    fp.test_hypotheses(dataset, [("cat", ["snow", "night"]), ("dog", ["blur"])], run_key="k")
    return dataset


#: (kind, how a run of it is started, how many units a mode has at least)
KINDS = [
    (FAILURE_MODES, _failure_modes, len(PLANTED_MODES)),
    (EVALUATION_UNITS, _evaluation_units, 1),
    (REGRESSIONS, _regressions, 1),
    (TAG_AUDIT, _tag_audit, 0),
    (HYPOTHESES, _hypotheses, 2),
]


def _units(view, results):
    """How many units a view holds: objects for a run over objects."""
    spec = getattr(results, "spec", None)
    return view.count(spec.list_path) if spec is not None and spec.is_objects else len(view)


@pytest.mark.parametrize(
    ("kind", "start", "least_modes"), KINDS, ids=lambda k: getattr(k, "name", "")
)
def test_each_kind_goes_through_the_one_run_code(make_dataset, kind, start, least_modes):
    dataset = start(make_dataset)
    db = foo.get_db_conn()

    # stored and listed as its kind, decided from its config
    assert run_store.list_runs(dataset, kind) == ["k"]
    assert kind_of(dataset.get_run_info("k").config) is kind
    assert run_store.check_run(dataset, "k", kind.family) is kind
    others = [
        k for k in (FAILURE_MODES, REGRESSIONS, TAG_AUDIT, HYPOTHESES) if k is not kind.family
    ]
    for other in others:
        assert run_store.list_runs(dataset, other) == []
        with pytest.raises(ValueError, match=f"is not a {other.label}"):
            run_store.load_run(dataset, "k", other)

    # loaded, validated, in a fresh dataset object
    results = run_store.load_run(fo.load_dataset(dataset.name), "k", kind)
    assert type(results) is kind.results_cls and results.kind is kind
    modes = getattr(results, "_modes", None)
    if kind.views is None:
        assert results.view_ids == [] and len(results.rows) > 0
    else:
        assert len(modes) >= least_modes and len(results.view_ids) == len(modes)
        # each saved view is the kind's view of its mode, with the id the run recorded
        view_of = kind.views(dataset, results)
        for mode in modes:
            saved = results.load_view(mode)
            assert _units(saved, results) == _units(view_of(mode), results) == mode.size
            info = db.views.find_one({"_id": ObjectId(mode.view_id)})
            assert info["name"] == mode.view_name
            assert info["description"] == kind.describe(results, mode)

    # fresh: another writer replacing the run is seen; views it dropped from
    # the list are listed again
    cached = run_store.load_run(dataset, "k", kind)
    assert run_store.load_run(dataset, "k", kind) is cached  # unchanged: served from the cache
    run_id = _run_id(db, dataset)
    later = db.runs.find_one({"_id": run_id})["timestamp"] + datetime.timedelta(seconds=1)
    db.runs.update_one({"_id": run_id}, {"$set": {"timestamp": later}})
    again = run_store.load_run(dataset, "k", kind)
    assert again is not cached
    if results.view_ids:
        dropped = ObjectId(results.view_ids[0])
        db.datasets.update_one({"_id": dataset._doc.id}, {"$pull": {"saved_views": dropped}})
        dataset.reload()
        assert modes[0].view_name not in dataset.list_saved_views()
        run_store.load_run(dataset, "k", kind)
        assert modes[0].view_name in dataset.list_saved_views()

    # deleted with exactly the views it created
    if results.view_ids:
        dataset.save_view("mine", results.load_view(0))
    run_store.delete_run(dataset, "k", kind)
    assert dataset.list_runs() == []
    assert dataset.list_saved_views() == (["mine"] if results.view_ids else [])
    assert db.views.count_documents({"_id": {"$in": [ObjectId(i) for i in results.view_ids]}}) == 0
    with pytest.raises(ValueError, match="no run with key 'k'"):
        run_store.load_run(dataset, "k", kind)


def _run_id(db, dataset):
    """The id of run "k"'s document, read from the database."""
    ref = db.datasets.find_one({"_id": dataset._doc.id}, {"runs.k": 1})["runs"]["k"]
    return getattr(ref, "id", ref)


def test_an_evaluation_unit_run_is_a_failure_mode_run(make_dataset):
    """Evaluation-unit runs refine failure-mode runs: listed, loaded and
    deleted as failure-mode runs too, and each kind may replace the other."""
    dataset = _evaluation_units(make_dataset)
    assert fp.list_failure_mode_runs(dataset) == ["k"]
    assert isinstance(fp.load_failure_modes(dataset, "k"), EVALUATION_UNITS.results_cls)
    assert run_store.list_runs(dataset, EVALUATION_UNITS) == ["k"]
    with pytest.raises(ValueError, match="not a regression run"):
        run_store.load_run(dataset, "k", REGRESSIONS)
    with pytest.raises(ValueError, match="not a regression run"):
        fp.find_regressions(dataset, run_key="k", overwrite=True)


@pytest.mark.parametrize(
    ("start", "call"),
    [
        (_failure_modes, "fp.delete_failure_modes(dataset, 'k')"),
        (_regressions, "fp.delete_regressions(dataset, 'k')"),
        (_tag_audit, "dataset.delete_run('k')"),
        (_hypotheses, "fp.delete_hypotheses(dataset, 'k')"),
    ],
)
def test_an_interrupted_run_is_told_how_to_delete_it_by_its_kind(make_dataset, start, call):
    from fiftyone_prime.integration.runs.run_guard import interrupted_message

    dataset = start(make_dataset)
    assert call in interrupted_message(dataset, "k", "search")
