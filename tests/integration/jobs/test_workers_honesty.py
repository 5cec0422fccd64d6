"""Sharded tagging tells the truth about unreadable images, and a job is
checked when it is queued rather than when its last slice ends (issue 22,
findings 5 and 6). The fast tests run the queued operations in this process
with FiftyOne's own ``DelegatedOperationService``; the ``slow`` one starts a
real ``fiftyone delegated launch`` worker."""

import pytest

from fiftyone.operators.executor import ExecutionRunState

import fiftyone_prime as fp
from fiftyone_prime.core.defaults import RUN_KEY, TAGS_FIELD
from fiftyone_prime.integration.jobs import list_tagging_jobs
from tests.integration.workers_data import (
    FOLLOWUP_OP,
    SHARD_OP,
    operations,
    run_queued,
)


def _point_at_missing_files(dataset, ids):
    """Points the samples ``ids`` at image files that do not exist (the
    generated images are shared by the tests of a process, so none is
    deleted)."""
    dataset.set_values(
        "filepath", {i: f"/nonexistent/prime-test/{i}.png" for i in ids}, key_field="id"
    )


def _break_images(dataset, every):
    """Makes every ``every``-th sample's image unreadable; returns their ids."""
    ids = dataset.sort_by("filepath").values("id")
    broken = ids[::every]
    _point_at_missing_files(dataset, broken)
    return broken


def test_unreadable_images_are_failures_and_the_search_leaves_them_out(
    image_dataset,
):
    broken = _break_images(image_dataset, every=5)
    total = len(image_dataset)
    fp.queue_tagging(image_dataset, num_shards=2, model="properties", search=dict(max_tags=2))
    run_queued(image_dataset)  # the slices
    status = fp.tagging_status(image_dataset)
    assert status.tagged, str(status)
    assert status.num_failed == len(broken)
    assert sum(s.num_failed for s in status.shards) == len(broken)
    assert f"{len(broken)} images could not be read" in str(status).splitlines()[0]
    assert all("unreadable" in line for line in str(status).splitlines()[1:3])

    run_queued(image_dataset)  # the search
    status = fp.tagging_status(image_dataset)
    assert status.done, str(status)
    assert status.followup.result["num_untagged_left_out"] == len(broken)
    results = fp.load_failure_modes(image_dataset, RUN_KEY)
    # The unreadable images are not counted as images without tags
    assert results.num_samples == total - len(broken)
    assert sum(g["size"] for g in results.groups.values()) == total - len(broken)
    reference = fp.find_failure_modes(
        image_dataset.exists(TAGS_FIELD), max_tags=2, run_key="reference", save_views=False
    )
    assert results.groups == reference.groups


def test_a_slice_whose_images_are_all_unreadable_fails(image_dataset):
    ids = image_dataset.sort_by("_id").values("id")
    half = len(ids) // 2
    _point_at_missing_files(image_dataset, ids[:half])  # exactly slice 0 (cut in id order)
    fp.queue_tagging(image_dataset, num_shards=2, model="properties", search={})
    run_queued(image_dataset)
    status = fp.tagging_status(image_dataset)
    assert [s.state for s in status.shards] == ["failed", "completed"], str(status)
    assert "could not be read" in status.shards[0].error
    assert status.num_failed == half
    assert status.followup.state == "waiting"
    ops = sorted(operations(image_dataset, SHARD_OP), key=lambda o: o.queued_at)
    assert [o.run_state for o in ops] == [ExecutionRunState.FAILED, ExecutionRunState.COMPLETED]
    assert status.shards[0] in status.unfinished


@pytest.mark.slow
def test_a_real_worker_reports_a_job_of_unreadable_images_as_failed(
    image_dataset,
    tmp_path,
):
    from tests.integration.jobs.test_workers_subprocess import wait_for
    from tests.integration.workers_data import start_worker, stop_worker, wait_until_ready

    _point_at_missing_files(image_dataset, image_dataset.values("id"))
    worker = start_worker(tmp_path / "worker.log")
    try:
        wait_until_ready([worker])
        fp.queue_tagging(image_dataset, num_shards=2, model="properties", search={})
        status = wait_for(
            lambda: (s := fp.tagging_status(image_dataset)).counts.get("failed") == 2 and s,
            timeout=180,
            what="both slices to fail",
        )
    finally:
        stop_worker(worker)
    print(status)
    assert status.num_failed == len(image_dataset)
    assert "completed" not in str(status)
    assert status.followup.state == "waiting"
    assert not operations(image_dataset, FOLLOWUP_OP)
    assert all(
        op.run_state == ExecutionRunState.FAILED for op in operations(image_dataset, SHARD_OP)
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(model="bogus"), "`model` must look like"),
        (dict(model="open_clip:NoSuchNet-B-32"), "open_clip has no architecture 'NoSuchNet-B-32'"),
        (dict(model="zoo:no-such-model"), "zoo has no model 'no-such-model'"),
        (dict(model="properties", search={"bogus": 1}), "`search` takes no ['bogus']"),
        (dict(model="properties", search={"label_field": "nope"}), "search['label_field']"),
        (dict(model="properties", search={"pred_field": "nope"}), "search['pred_field']"),
        (dict(model="properties", search={"min_size": -3}), "min_size"),
        (dict(model="properties", batch_size=-1), "`batch_size` must be a whole number"),
        (dict(model="properties", batch_sise=8), "did you mean 'batch_sise' -> 'batch_size'"),
        (dict(model="properties", top_k=0), "`top_k`"),
        (dict(model="properties", num_shards=10**12), "`num_shards` must be from 1 to 1024"),
        (dict(model="properties", num_shards=0), "`num_shards`"),
        (
            dict(model="properties", search={}, metrics={"model": "properties"}),
            "metrics['model']",
        ),
        (
            dict(model="properties", search={}, metrics={"model": "open_clip:X", "bogus": 1}),
            "`metrics` takes no ['bogus']",
        ),
    ],
)
def test_a_job_that_cannot_succeed_is_refused_when_queued(image_dataset, kwargs, message):
    with pytest.raises((ValueError, TypeError)) as error:
        fp.queue_tagging(image_dataset, **{"num_shards": 2, **kwargs})
    assert message in str(error.value)
    assert len(str(error.value).splitlines()) == 1
    assert not operations(image_dataset, SHARD_OP)
    assert list_tagging_jobs(image_dataset) == []


def test_num_shards_is_capped_by_the_number_of_samples(make_dataset, tmp_path):
    from tests.integration.workers_data import property_samples

    dataset = make_dataset(persistent=True)
    dataset.add_samples(property_samples(tmp_path)[:5])
    status = fp.queue_tagging(dataset, num_shards=1000, model="properties")
    assert len(status.shards) == 5 and len(operations(dataset, SHARD_OP)) == 5
