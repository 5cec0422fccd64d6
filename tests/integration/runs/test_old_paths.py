"""Old import paths keep working after integration/ moved into subpackages.

FiftyOne stores a run's config and results classes by import path; runs
stored before the move name ``integration.runs.<Class>``,
``integration.regressions.<Class>`` and so on (under ``fiftyone_prime``).
Old paths are built from parts here so that the import rewriter
(/work/relayout/rewrite_imports.py) leaves them as they are.
"""

import importlib
import json

import gridfs
import pytest

import eta.core.utils as etau
import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime import integration

OLD = "fiftyone_prime" + ".integration"

#: Every run class a stored run document can name: old module, its module
#: now, the classes.
RUN_CLASSES = [
    ("runs", "runs.classes", ["FailureModeRunConfig", "FailureModeRun", "FailureModeResults"]),
    ("evaluations", "failure_modes.evaluations", ["EvalFailureModeResults"]),
    (
        "regressions",
        "comparisons.regressions",
        ["RegressionRunConfig", "RegressionRun", "RegressionResults"],
    ),
    ("tag_audit", "tagging.tag_audit", ["TagAuditRunConfig", "TagAuditRun", "TagAuditResults"]),
]


@pytest.mark.parametrize(
    "old, new, name", [(old, new, c) for old, new, classes in RUN_CLASSES for c in classes]
)
def test_a_stored_class_path_names_the_same_class(old, new, name):
    cls = etau.get_class(f"{OLD}.{old}.{name}")
    assert cls is getattr(importlib.import_module(f"{OLD}.{new}"), name)
    assert etau.get_class_name(cls) == f"{OLD}.{new}.{name}"  # what FiftyOne stores now


@pytest.mark.parametrize("old", sorted(integration.MOVED))
def test_an_old_module_path_is_the_moved_module(old):
    module = importlib.import_module(f"{OLD}.{old}")
    assert module is importlib.import_module(f"{OLD}.{integration.MOVED[old]}")
    assert module.__name__ == f"{OLD}.{integration.MOVED[old]}"
    assert module.__spec__.name == module.__name__  # the alias did not take its spec
    assert getattr(integration, old) is module


def test_patching_through_an_old_path_patches_the_module(monkeypatch):
    from fiftyone_prime.integration.reading import reader

    monkeypatch.setattr(f"{OLD}.reader.default_connections", lambda: 7)
    assert reader.default_connections() == 7


def test_old_package_names_forward_to_the_modules_they_were():
    runs = importlib.import_module(f"{OLD}.runs")
    tagging = importlib.import_module(f"{OLD}.tagging")
    assert runs.FailureModeResults is fp.FailureModeResults
    assert tagging.compute_tags is fp.compute_tags
    assert runs.leases is importlib.import_module(f"{OLD}.runs.leases")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        runs.nothing  # noqa: B018


def _store_under_old_paths(dataset, run_key, config_cls, results_cls):
    """Rewrites a stored run's class paths as a database from before the
    move has them: the config's ``cls`` and the results file's ``cls``."""
    db = fo.core.odm.get_db_conn()
    query = {"_dataset_id": dataset._doc.id, "key": run_key}
    doc = db.runs.find_one(query)
    fs = gridfs.GridFS(db)
    stored = json.loads(fs.get(doc["results"]).read())
    stored["cls"] = results_cls
    new_id = fs.put(json.dumps(stored).encode(), content_type="application/json")
    fs.delete(doc["results"])
    db.runs.update_one(query, {"$set": {"config.cls": config_cls, "results": new_id}})
    return db.runs.find_one(query)


def test_a_run_stored_under_the_old_class_paths_loads(planted):
    fp.find_failure_modes(planted, run_key="before_the_move", alpha=None)
    doc = _store_under_old_paths(
        planted,
        "before_the_move",
        f"{OLD}.runs.FailureModeRunConfig",
        f"{OLD}.runs.FailureModeResults",
    )
    assert doc["config"]["cls"] == f"{OLD}.runs.FailureModeRunConfig"

    dataset = fo.load_dataset(planted.name)
    dataset.reload()
    results = fp.load_failure_modes(dataset, "before_the_move")
    assert type(results) is fp.FailureModeResults  # not FiftyOne's fallback base class
    assert type(results.config) is fp.FailureModeRunConfig
    assert dataset.get_run_info("before_the_move").config.run_cls is fp.FailureModeRun
    assert results.failure_modes and all(m.view_id for m in results.failure_modes)
    assert fp.list_failure_mode_runs(dataset) == ["before_the_move"]

    fp.delete_failure_modes(dataset, "before_the_move")
    assert "before_the_move" not in dataset.list_runs()
    assert not [v for v in dataset.list_saved_views() if v.startswith("prime ")]
