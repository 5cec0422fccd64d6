"""Sharded tagging executed by real ``fiftyone delegated launch`` workers."""

import os
import signal
import time

import pytest

from fiftyone.operators.executor import ExecutionRunState

import fiftyone_prime as fp
from fiftyone_prime.core.defaults import RUN_KEY, TAGS_FIELD
from fiftyone_prime.integration.jobs import plan
from fiftyone_prime.integration.jobs import records as keys
from fiftyone_prime.integration.jobs.store import open_store
from tests.helpers import summary
from tests.integration.workers_data import (
    FOLLOWUP_OP,
    SHARD_OP,
    operations,
    reference,
    start_worker,
    stop_worker,
    tags_by_path,
    wait_until_ready,
)

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout=240, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture
def workers(tmp_path):
    started = []

    def _start(n):
        procs = [start_worker(tmp_path / f"worker{i}.log") for i in range(n)]
        started.extend(procs)
        wait_until_ready(procs)
        return procs

    yield _start
    for proc in started:
        stop_worker(proc)


def records(dataset, job_key=TAGS_FIELD):
    store = open_store(dataset)
    job = store.get(keys.job_key(job_key))
    shards = [store.get(keys.shard_key(job_key, i)) for i in range(job["num_shards"])]
    return shards, store.get(keys.followup_key(job_key))


def test_two_workers_four_shards_then_one_search(image_dataset, make_dataset, workers):
    ref_tags, ref_modes = reference(image_dataset, make_dataset, max_tags=2)
    assert ref_modes
    workers(2)
    fp.queue_tagging(
        image_dataset, num_shards=4, model="properties", batch_size=8, search=dict(max_tags=2)
    )
    status = wait_for(
        lambda: (s := fp.tagging_status(image_dataset)).done and s, what="the job to finish"
    )
    print(status)

    (search_op,) = operations(image_dataset, FOLLOWUP_OP)
    assert search_op.run_state == ExecutionRunState.COMPLETED
    shards, followup = records(image_dataset)
    assert followup["attempt"] == 1 and followup["state"] == "completed"
    assert followup["started_at"] >= max(r["completed_at"] for r in shards)
    image_dataset.reload()
    assert image_dataset.list_runs() == [RUN_KEY]
    shard_ops = operations(image_dataset, SHARD_OP)
    assert len(shard_ops) == 4
    assert all(op.run_state == ExecutionRunState.COMPLETED for op in shard_ops)
    assert sum(r["result"]["num_tagged"] for r in shards) == len(image_dataset)
    print("slices run by", sorted({r["worker"] for r in shards}))

    image_dataset.reload()
    assert tags_by_path(image_dataset) == ref_tags
    assert summary(fp.load_failure_modes(image_dataset, RUN_KEY)) == ref_modes


def test_a_killed_worker_its_slice_requeued_every_sample_once(
    image_dataset,
    make_dataset,
    workers,
):
    ref_tags, ref_modes = reference(image_dataset, make_dataset, max_tags=2)
    victim, _survivor = workers(2)
    # batch_size=1: a slice takes long enough to be caught in the middle
    fp.queue_tagging(
        image_dataset, num_shards=4, model="properties", batch_size=1, search=dict(max_tags=2)
    )

    def victim_mid_slice():
        shards, _ = records(image_dataset)
        for r in shards:
            if r["state"] == "running" and r.get("worker", "").endswith(f":{victim.pid}"):
                n = plan.shard_view(image_dataset, r).exists(TAGS_FIELD).count()
                if 0 < n < r["size"] // 2:
                    return r
        return None

    caught = wait_for(victim_mid_slice, what="the victim worker in the middle of a slice")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    index = caught["index"]

    def others_finished():
        s = fp.tagging_status(image_dataset)
        return all(p.state == "completed" for p in s.shards if p.name != f"shard {index}") and s

    status = wait_for(others_finished, what="the survivor to finish the other slices")
    assert status.shards[index].state == "stalled", str(status)
    assert f"worker process {victim.pid}" in status.shards[index].error
    assert status.followup.state == "waiting"
    print(status)

    status = fp.requeue_tagging(image_dataset)
    assert [p.name for p in status.shards if p.attempt == 2] == [f"shard {index}"]
    status = wait_for(
        lambda: (s := fp.tagging_status(image_dataset)).done and s, what="the job to finish"
    )
    print(status)

    shards, followup = records(image_dataset)
    tagged_before_kill = shards[index]["result"]["num_skipped_existing"]
    assert tagged_before_kill > 0
    # Every sample was tagged once: by the completed attempts, or by the killed
    # attempt (which its re-queued attempt then skipped)
    assert sum(r["result"]["num_tagged"] for r in shards) + tagged_before_kill == len(image_dataset)
    assert image_dataset.exists(TAGS_FIELD).count() == len(image_dataset)
    assert len(operations(image_dataset, FOLLOWUP_OP)) == 1
    assert followup["attempt"] == 1 and followup["started_at"] >= max(
        r["completed_at"] for r in shards
    )
    ops = operations(image_dataset, SHARD_OP)
    states = sorted(op.run_state for op in ops)
    assert len(ops) == 5 and states.count(ExecutionRunState.FAILED) == 1

    image_dataset.reload()
    assert tags_by_path(image_dataset) == ref_tags
    assert summary(fp.load_failure_modes(image_dataset, RUN_KEY)) == ref_modes
