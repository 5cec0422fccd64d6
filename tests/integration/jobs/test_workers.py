"""Tagging split over delegated operations, then one search.

The fast tests execute the queued operations in this process with FiftyOne's
own ``DelegatedOperationService``; the slow ones start real
``fiftyone delegated launch`` workers (see test_workers_subprocess.py)."""

import os
import shutil
import socket

import pytest
from bson import ObjectId

import fiftyone as fo
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionRunState

import fiftyone_prime as fp
from fiftyone_prime.core.defaults import RUN_KEY, TAGS_FIELD
from fiftyone_prime.integration.jobs import dispatch, plan, records, recover, worker
from fiftyone_prime.integration.jobs import store as jobstore
from fiftyone_prime.integration.jobs.status import PartStatus
from tests.fo_env import REPO_ROOT
from tests.helpers import summary
from tests.integration.workers_data import (
    FOLLOWUP_OP,
    SHARD_OP,
    operations,
    reference,
    run_queued,
    tags_by_path,
)


def test_slices_are_disjoint_stable_and_cover_the_collection(image_dataset):
    total = len(image_dataset)
    bounds = plan.boundaries(image_dataset, 4)
    sizes = [size for _, _, size in bounds]
    assert sum(sizes) == total and max(sizes) - min(sizes) <= 1
    seen = []
    for lo, hi, size in bounds:
        ids = plan.shard_view(image_dataset, dict(lo=lo, hi=hi)).values("id")
        assert len(ids) == size
        seen.extend(ids)
    assert len(seen) == len(set(seen)) == total
    assert bounds[0][0] is None and bounds[-1][1] is None
    # The same cut again: slices are defined by ids, not positions
    assert plan.boundaries(image_dataset, 4) == bounds


def test_queue_rejects_what_a_job_cannot_carry(image_dataset, make_dataset):
    with pytest.raises(TypeError, match="skip_existing"):
        fp.queue_tagging(image_dataset, model="properties", skip_existing=True)
    with pytest.raises(TypeError, match="string"):
        fp.queue_tagging(image_dataset, model=object())
    with pytest.raises(ValueError, match="persistent"):
        fp.queue_tagging(make_dataset(), model="properties")
    with pytest.raises(ValueError, match="num_shards"):
        fp.queue_tagging(image_dataset, num_shards=0, model="properties")
    assert operations(image_dataset, SHARD_OP) == []


@pytest.mark.slow  # delegated shards and the follow-up search, end to end
def test_shards_then_search_once_match_a_single_run(image_dataset, make_dataset):
    ref_tags, ref_modes = reference(image_dataset, make_dataset, max_tags=2)
    assert ref_modes, "the generated images should carry failure modes"

    status = fp.queue_tagging(
        image_dataset, num_shards=4, model="properties", batch_size=16, search=dict(max_tags=2)
    )
    assert [s.state for s in status.shards] == ["queued"] * 4
    assert status.followup.state == "waiting"
    assert sum(s.size for s in status.shards) == len(image_dataset)
    assert len(operations(image_dataset, SHARD_OP)) == 4
    # Parameters are bounded: job key, slice index, token, label
    for op in operations(image_dataset, SHARD_OP):
        assert set(op.context.request_params["params"]) == {
            "job_key",
            "shard",
            "token",
            "run_label",
        }

    run_queued(image_dataset)  # the 4 slices; the last one queues the search
    status = fp.tagging_status(image_dataset, TAGS_FIELD)
    assert status.tagged and status.followup.state == "queued"
    assert (
        "search" not in "".join(image_dataset.list_runs())
        and RUN_KEY not in image_dataset.list_runs()
    )
    run_queued(image_dataset)  # the search
    status = fp.tagging_status(image_dataset)
    assert status.done, str(status)
    assert sum(s.result["num_tagged"] for s in status.shards) == len(image_dataset)
    (search_op,) = operations(image_dataset, FOLLOWUP_OP)
    assert search_op.run_state == ExecutionRunState.COMPLETED

    image_dataset.reload()
    assert tags_by_path(image_dataset) == ref_tags
    assert summary(fp.load_failure_modes(image_dataset, RUN_KEY)) == ref_modes
    assert "completed" in str(status)


def test_the_search_is_queued_once_when_slices_finish_together(image_dataset):
    """Every slice that sees all slices completed tries the atomic insert;
    exactly one of them queues the search."""
    fp.queue_tagging(image_dataset, num_shards=2, model="properties", search={})
    run_queued(image_dataset)
    store = jobstore.open_store(image_dataset)
    job = store.get(records.job_key(TAGS_FIELD))
    # Both slices (and a late re-check) asking again queue nothing more
    assert not dispatch.maybe_queue_followup(image_dataset, store, TAGS_FIELD, job)
    assert not dispatch.maybe_queue_followup(image_dataset, store, TAGS_FIELD, job)
    assert len(operations(image_dataset, FOLLOWUP_OP)) == 1


def test_a_superseded_operation_does_nothing(image_dataset):
    fp.queue_tagging(image_dataset, num_shards=2, model="properties")
    store = jobstore.open_store(image_dataset)
    record = store.get(records.shard_key(TAGS_FIELD, 0))
    out = worker.run_tagging_shard(image_dataset, TAGS_FIELD, 0, "not-the-token")
    assert out == {"superseded": True}
    assert store.get(records.shard_key(TAGS_FIELD, 0)) == record
    assert not image_dataset.exists(TAGS_FIELD).count()


def test_a_running_slice_stops_when_it_is_requeued_elsewhere(image_dataset, monkeypatch):
    monkeypatch.setattr(worker, "CHECK_EVERY", 0.0)
    monkeypatch.setattr(worker, "PROGRESS_EVERY", 0.0)
    fp.queue_tagging(image_dataset, num_shards=1, model="properties", batch_size=8)
    store = jobstore.open_store(image_dataset)
    key = records.shard_key(TAGS_FIELD, 0)
    token = store.get(key)["token"]
    reports = []

    def set_progress(progress=None, label=None):
        reports.append(progress)
        if len(reports) == 2:  # someone re-queues the slice meanwhile
            jobstore.update(store, key, lambda r: {**r, "token": "newer"})

    out = worker.run_tagging_shard(image_dataset, TAGS_FIELD, 0, token, set_progress=set_progress)
    assert out == {"superseded": True}
    assert len(reports) == 2
    assert store.get(key)["state"] == "running"  # left to the newer attempt
    assert 0 < image_dataset.exists(TAGS_FIELD).count() < len(image_dataset)


@pytest.mark.slow  # delegated shards, end to end
def test_a_dead_worker_is_reported_and_its_slice_requeued(image_dataset, make_dataset):
    ref_tags, _ = reference(image_dataset, make_dataset)
    fp.queue_tagging(image_dataset, num_shards=3, model="properties", batch_size=8)
    service = DelegatedOperationService()
    # Slice 1 was claimed by a worker that tagged some samples, then died
    store = jobstore.open_store(image_dataset)
    key = records.shard_key(TAGS_FIELD, 1)
    record = store.get(key)
    view = plan.shard_view(image_dataset, record)
    fp.compute_tags(view.limit(20), model="properties")
    op_id = record["op_id"]
    service.set_running(ObjectId(op_id))
    dead = _dead_pid()
    store.set(key, {**record, "state": "running", "worker": f"{socket.gethostname()}:{dead}"})

    run_queued(image_dataset)  # slices 0 and 2
    status = fp.tagging_status(image_dataset)
    assert [s.state for s in status.shards] == ["completed", "stalled", "completed"]
    assert f"worker process {dead}" in status.shards[1].error
    assert [s.name for s in status.unfinished] == ["shard 1"]

    status = fp.requeue_tagging(image_dataset)
    assert [s.state for s in status.shards] == ["completed", "queued", "completed"]
    assert status.shards[1].attempt == 2 and status.shards[1].operation_id != op_id
    assert service.get(ObjectId(op_id)).run_state == ExecutionRunState.FAILED
    run_queued(image_dataset)
    status = fp.tagging_status(image_dataset)
    assert status.done
    assert status.shards[1].result["num_skipped_existing"] == 20
    image_dataset.reload()
    assert tags_by_path(image_dataset) == ref_tags


def test_a_failed_slice_is_requeued(image_dataset, tmp_path):
    # One unreadable image fails its slice (skip_failures=False); the image is
    # a copy of its own, since the generated images are shared between tests.
    bad = image_dataset.first()
    own = tmp_path / "own.png"
    shutil.copy(bad.filepath, own)
    bad.filepath = str(own)
    bad.save()
    os.remove(bad.filepath)
    fp.queue_tagging(image_dataset, num_shards=2, model="properties", skip_failures=False)
    run_queued(image_dataset)
    status = fp.tagging_status(image_dataset)
    assert sorted(s.state for s in status.shards) == ["completed", "failed"]
    assert "Could not read image" in status.unfinished[0].error
    from PIL import Image

    Image.new("RGB", (32, 32)).save(bad.filepath)
    fp.requeue_tagging(image_dataset)
    run_queued(image_dataset)
    assert fp.tagging_status(image_dataset).done
    assert image_dataset.exists(TAGS_FIELD).count() == len(image_dataset)


def test_a_job_key_is_not_reused_while_unfinished(image_dataset):
    fp.queue_tagging(image_dataset, num_shards=2, model="properties")
    with pytest.raises(ValueError, match="still unfinished"):
        fp.queue_tagging(image_dataset, num_shards=2, model="properties")
    run_queued(image_dataset)
    # Done: queuing again replaces it; every sample is skipped
    status = fp.queue_tagging(image_dataset, num_shards=2, model="properties")
    run_queued(image_dataset)
    status = fp.tagging_status(image_dataset)
    assert sum(s.result["num_skipped_existing"] for s in status.shards) == len(image_dataset)


def test_overwrite_clears_each_slice_once(image_dataset):
    fp.compute_tags(image_dataset, model="properties")
    image_dataset.set_values(
        TAGS_FIELD,
        [fo.Classifications(classifications=[fo.Classification(label="stale")])]
        * len(image_dataset),
    )
    fp.queue_tagging(image_dataset, num_shards=2, model="properties", overwrite=True)
    run_queued(image_dataset)
    assert "stale" not in image_dataset.distinct(f"{TAGS_FIELD}.classifications.label")
    assert fp.tagging_status(image_dataset).done


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_slices_that_could_not_be_queued_are_requeued(image_dataset, monkeypatch):
    real_queue = dispatch.queue_operation
    calls = []

    def flaky_queue(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("database went away")
        return real_queue(*args, **kwargs)

    monkeypatch.setattr(dispatch, "queue_operation", flaky_queue)
    with pytest.raises(ConnectionError):
        fp.queue_tagging(image_dataset, num_shards=3, model="properties")
    status = fp.tagging_status(image_dataset)
    assert [s.state for s in status.shards] == ["queued", "failed", "failed"]
    fp.requeue_tagging(image_dataset)
    run_queued(image_dataset)
    assert fp.tagging_status(image_dataset).done
    assert image_dataset.exists(TAGS_FIELD).count() == len(image_dataset)


def test_requeue_never_resets_a_slice_that_moved_on_since_the_status_was_read():
    """requeue_tagging reads the status, then re-queues: a slice that completed
    in between, or that someone else re-queued (a new attempt), is left alone."""
    part = PartStatus("shard 0", "stalled", attempt=1)
    change = recover._requeued(part)
    assert change({"state": "completed", "attempt": 1, "token": "a"}) is None
    assert change({"state": "queued", "attempt": 2, "token": "b"}) is None
    new = change({"state": "running", "attempt": 1, "token": "a", "error": "x", "worker": "h:1"})
    assert new["state"] == "queued" and new["attempt"] == 2 and new["token"] != "a"
    assert "error" not in new and "worker" not in new


def test_a_job_key_with_a_slash_is_refused(image_dataset):
    with pytest.raises(ValueError, match="without '/'"):
        fp.queue_tagging(image_dataset, num_shards=2, model="properties", job_key="a/b")


def test_the_plugin_gives_the_worker_operators_and_the_job_keeps_them(image_dataset):
    """The SDK finds the operators by the role the plugin gives them, and a
    job's record keeps their URIs (for the workers and re-queues)."""
    assert dispatch.find_worker_operators() == dispatch.WorkerOperators(SHARD_OP, FOLLOWUP_OP)
    fp.queue_tagging(image_dataset, num_shards=2, model="properties")
    job = jobstore.open_store(image_dataset).get(records.job_key(TAGS_FIELD))
    assert job["operators"] == {"shard": SHARD_OP, "followup": FOLLOWUP_OP}
    legacy = {k: v for k, v in job.items() if k != "operators"}  # queued by an older version
    assert dispatch.WorkerOperators.from_job(legacy) == dispatch.WorkerOperators.from_job(job)


def test_no_integration_module_knows_the_plugin():
    """Dependencies point one way: integration never imports the plugin nor
    spells its operator URIs."""
    import ast

    root = REPO_ROOT / "fiftyone_prime" / "integration"
    for path in sorted(root.rglob("*.py")):
        package = ".".join(path.relative_to(REPO_ROOT).parent.parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                modules = [".".join(filter(None, [base, node.module]))]
            else:
                modules = []
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    assert "@fiftyone-prime/prime" not in node.value, path
                    assert node.value not in ("tag_shard", "search_after_tagging"), path
            for module in modules:
                assert not module.startswith("fiftyone_prime.plugin"), (path, module)
