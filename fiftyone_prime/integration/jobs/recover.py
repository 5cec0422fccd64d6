"""Recovering a job: re-queuing the parts that failed, stalled or were never
queued, and forgetting a job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Optional

from bson import ObjectId

from fiftyone_prime.core.defaults import TAGS_FIELD

from . import records
from .dispatch import maybe_queue_followup, queue_followup, queue_shard
from .records import COMPLETED, FAILED, MISSING, QUEUED, STALLED
from .status import DEFAULT_STALE_AFTER, PartStatus, TaggingJobStatus, tagging_status
from .store import delete_job, open_store, update

logger = logging.getLogger(__name__)


def requeue_tagging(
    samples, job_key: str = TAGS_FIELD, *, stale_after: float = DEFAULT_STALE_AFTER
) -> TaggingJobStatus:
    """Re-queues the slices of a job that failed or stalled, and its search
    if it failed, stalled or was never queued; completed, queued and live
    running parts are left alone. Stalled operations are marked failed in
    FiftyOne's delegated-operation list. Re-queued slices continue where the
    earlier attempt stopped; an earlier attempt that is in fact still alive
    stops within seconds when it sees it was superseded.

    Args:
        samples, job_key ("prime_tags"), stale_after (900): as in
            :func:`fiftyone_prime.integration.jobs.status.tagging_status`

    Returns:
        the job's :class:`TaggingJobStatus` after re-queuing
    """
    store = open_store(samples._root_dataset)
    job = store.get(records.job_key(job_key))
    status = tagging_status(samples, job_key, stale_after=stale_after)
    for part in status.shards:
        if part.state not in (FAILED, STALLED):
            continue
        index = int(part.name.split()[-1])
        record = update(store, records.shard_key(job_key, index), _requeued(part))
        if record is None:
            continue  # it completed, or was re-queued by someone else, meanwhile
        _fail_operation(part)
        queue_shard(samples, store, job_key, job, record)

    followup = status.followup
    if followup is not None and status.tagged:
        if followup.state == MISSING:
            maybe_queue_followup(samples, store, job_key, job)
        elif followup.state in (FAILED, STALLED) or (
            followup.state == QUEUED and followup.operation_id is None
        ):
            record = update(store, records.followup_key(job_key), _requeued(followup))
            if record is not None:
                _fail_operation(followup)
                queue_followup(samples, store, job_key, job, record)
    return tagging_status(samples, job_key, stale_after=stale_after)


def delete_tagging_job(samples, job_key: str) -> None:
    """Forgets a job's state (not its tags, nor its operations' history)."""
    delete_job(open_store(samples._root_dataset), job_key)


def _requeued(part: PartStatus) -> Callable[[dict], Optional[dict]]:
    """The record change that re-queues ``part``, or None (no change) when the
    record moved on since ``part`` was read: it completed meanwhile, or its
    attempt changed (someone else re-queued it)."""

    def change(r):
        if r.get("state") == COMPLETED or r.get("attempt", 1) != part.attempt:
            return None
        return {
            **{k: v for k, v in r.items() if k not in ("error", "worker")},
            "state": QUEUED,
            "token": records.new_token(),
            "attempt": r["attempt"] + 1,
            "op_id": None,
        }

    return change


def _fail_operation(part: PartStatus) -> None:
    """Marks a stalled part's delegated operation failed, so that it shows as
    such in ``fiftyone delegated list`` (no-op if it is no longer running)."""
    from fiftyone.operators.delegated import DelegatedOperationService
    from fiftyone.operators.executor import ExecutionResult, ExecutionRunState

    if not part.operation_id or part.state != STALLED:
        return
    logger.info("Marking the stalled operation %s failed: %s", part.operation_id, part.error)
    DelegatedOperationService().set_failed(
        ObjectId(part.operation_id),
        result=ExecutionResult(error=f"Re-queued by fiftyone-prime: {part.error}"),
        required_state=ExecutionRunState.RUNNING,
    )
