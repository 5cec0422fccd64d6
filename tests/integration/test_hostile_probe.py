"""The five worst findings of the hostile probe (issue 34), rerun as one
script: objects stay readable, views hold their modes' objects exactly, no
unowned or dangling view after the pause race, exit codes 2 and non-zero,
crop tagging finishes with the bad image counted and nothing left behind.

Run it alone with ``pytest tests/integration/test_hostile_probe.py -m ""``
(the pause race and the command line run in subprocesses: slow-marked)."""

import hashlib
import json
import os
import signal
import subprocess
import sys

import pytest

import fiftyone as fo

import fiftyone_prime as fp
from fiftyone_prime.integration.runs import leases
from tests.fo_env import REPO_ROOT
from tests.integration.hostile_data import (
    MANY_MODES_SEARCH,
    assert_consistent,
    finish,
    many_modes_samples,
    start_python,
    wait_for_file,
)


# (1) compute_object_tags(ds, "gt", tags_attr="_id", overwrite=True), then ds.first()
def test_1_object_tags_never_replace_the_objects_ids(make_dataset):
    dataset = make_dataset()
    dataset.add_sample(
        fo.Sample(
            filepath="/nonexistent/probe1.jpg",
            gt=fo.Detections(detections=[fo.Detection(label="a", bounding_box=[0, 0, 0.5, 0.5])]),
        )
    )
    before = dataset.first().gt.detections[0].id
    for attr in ("_id", "_cls", "tags"):
        with pytest.raises(ValueError, match="Pick another name"):
            fp.compute_object_tags(dataset, "gt", tags_attr=attr, overwrite=True)
    assert dataset.first().gt.detections[0].id == before  # readable, unchanged


# (2) a string on objects with one tag, a list elsewhere; each view's objects
def test_2_views_of_a_mixed_attribute_hold_their_modes_objects(make_dataset):
    from tests.integration.planted import PLANTED_MODES
    from tests.integration.planted_objects import evaluated

    dataset = evaluated(make_dataset, "gt")
    for sample_id, dets in zip(*dataset.values(["id", "ground_truth.detections.attrs"])):
        values = [tags[0] if len(tags) == 1 else list(tags) for tags in dets]
        dataset.select(sample_id).set_values("ground_truth.detections.mix", [values])
    results = fp.find_failure_modes(
        dataset, eval_key="eval", tags_field="ground_truth.detections.mix"
    )
    assert [(m.group, m.tags, m.size) for m in results.failure_modes] == [
        (g, t, n) for g, t, n, _ in PLANTED_MODES
    ]
    for mode in results.failure_modes:
        assert results.load_view(mode).count("ground_truth.detections") == mode.size


# (3) SIGSTOP a run that saves many views, a second writer on the key, SIGCONT

# Saves its views one per chunk, slowly, and says when three are written.
PAUSED_WRITER = """
import sys, time
import fiftyone as fo
import fiftyone_prime as fp
from fiftyone_prime.integration import view_list
from fiftyone_prime.integration import views as fpv
from tests.integration.hostile_data import MANY_MODES_SEARCH

view_list.chunk_size = lambda n: 1
write, written = fpv._view_documents, []

def slowly(*args, **kwargs):
    written.append(1)
    if len(written) == 3:
        open(sys.argv[2], "w").close()
    time.sleep(0.05)
    return write(*args, **kwargs)

fpv._view_documents = slowly
dataset = fo.load_dataset(sys.argv[1])
fp.find_failure_modes(dataset, run_key="race", **MANY_MODES_SEARCH)
"""

NUM_CLASSES = 60


@pytest.mark.slow  # a subprocess, paused with SIGSTOP
def test_3_a_paused_writer_leaves_no_unowned_or_dangling_view(make_dataset, tmp_path, monkeypatch):
    dataset = make_dataset(persistent=True)  # one failure mode per class
    dataset.add_samples(many_modes_samples(num_classes=NUM_CLASSES, tags_per_class=1))
    writer = start_python(PAUSED_WRITER, tmp_path / "a.log", dataset.name, tmp_path / "started")
    try:
        wait_for_file(tmp_path / "started", writer)
        os.kill(writer.pid, signal.SIGSTOP)
        # The paused process is alive: the second writer waits, then is told who holds the key
        monkeypatch.setattr(leases, "DEFAULT_WAIT", 0.5)
        with pytest.raises(fp.RunBusyError, match=f":{writer.pid}"):
            fp.find_failure_modes(dataset, run_key="race", overwrite=True, **MANY_MODES_SEARCH)
        # The user clears the lease and overwrites the run
        assert fp.clear_run_lease(dataset, "race")["holder"].endswith(f":{writer.pid}")
        results = fp.find_failure_modes(
            dataset, run_key="race", overwrite=True, **MANY_MODES_SEARCH
        )
        assert len(results.view_ids) == NUM_CLASSES
    finally:
        os.kill(writer.pid, signal.SIGCONT)
    log = finish(writer)
    assert writer.returncode != 0 and "another writer took over" in log, log[-2000:]
    assert_consistent(dataset)  # every listed view owned, every document listed, none dangling
    assert sorted(dataset.list_saved_views()) == sorted(
        m.view_name for m in fp.load_failure_modes(dataset, "race").failure_modes
    )


# (4) check a dataset that does not exist; check after re-tagging every sample
def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fiftyone_prime", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(REPO_ROOT),
    )


@pytest.mark.slow  # the command line in subprocesses
def test_4_check_exits_2_on_an_unknown_dataset_and_fails_when_nothing_was_measured(
    make_dataset,
):
    from tests.integration.regression_data import regression_dataset

    proc = _cli("check", "prime-no-such-dataset", "--run-key", "v2", "--pred-field", "p", "--json")
    assert proc.returncode == 2 and "no dataset named" in json.loads(proc.stdout)["error"]
    dataset = regression_dataset(make_dataset, persistent=True)
    fp.find_failure_modes(dataset, pred_field="predictions_v2", run_key="v2", alpha=None)
    dataset.set_values(
        "prime_tags",
        [fo.Classifications(classifications=[fo.Classification(label="new")])] * len(dataset),
    )
    args = ("check", dataset.name, "--run-key", "v2", "--pred-field", "predictions_v1", "--json")
    proc = _cli(*args)
    assert proc.returncode != 0, proc.stdout
    assert json.loads(proc.stdout)["num_not_measured"] == json.loads(proc.stdout)["num_checks"]


# (5) compute_object_tags(..., model="properties") with one missing image
def test_5_crop_tagging_counts_a_missing_image_and_leaves_nothing(
    make_dataset, tmp_path, monkeypatch
):
    import numpy as np
    from PIL import Image

    monkeypatch.setattr(fo.config, "default_dataset_dir", str(tmp_path / "fo"))
    good = tmp_path / "good.png"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(good)
    box = [0.1, 0.1, 0.5, 0.5]
    dataset = make_dataset()
    dataset.add_samples(
        [
            fo.Sample(
                filepath=str(path),
                gt=fo.Detections(detections=[fo.Detection(label="a", bounding_box=box)]),
            )
            for path in (good, tmp_path / "missing.png")
        ]
    )
    summary = fp.compute_object_tags(dataset, "gt", model="properties")
    assert summary.num_failed == 1 and summary.num_objects_tagged == 1
    key = hashlib.sha1(f"{dataset._doc.id}:gt:prime_tags".encode()).hexdigest()[:12]
    assert not [n for n in fo.list_datasets() if n.startswith(f"prime-object-crops-{key}")]
    assert not os.path.exists(tmp_path / "fo") or not os.listdir(tmp_path / "fo")
