"""What a delegated worker runs: one slice of a job, or its follow-up search.

Each attempt starts only by moving its record from ``queued`` with its own
token to ``running``; an attempt whose token is no longer the record's (the
part was re-queued) does nothing, and a running slice re-checks its token
every :data:`CHECK_EVERY` seconds and stops once it was superseded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Optional

import fiftyone.core.utils as fou

from . import records
from .dispatch import maybe_queue_followup
from .plan import shard_view
from .records import COMPLETED, FAILED, QUEUED, RUNNING
from .store import open_store, settle, update

logger = logging.getLogger(__name__)

#: Seconds between a running slice's checks that it has not been superseded.
CHECK_EVERY = 5.0

#: Seconds between progress reports to the delegated operation.
PROGRESS_EVERY = 1.0


class ShardSuperseded(RuntimeError):
    """Raised inside a slice whose job re-queued it to another operation."""


class UnreadableSlice(RuntimeError):
    """Raised when no image of a slice that needed tagging could be read: the
    slice (and its delegated operation) fails instead of completing empty."""


def _unreadable_message(shard: int, summary) -> str:
    example = ""
    if summary.failures:
        _, path, error = summary.failures[0]
        example = f", e.g. '{path}': {str(error).strip().splitlines()[-1][:200]}"
    return (
        f"slice {shard}: its {summary.num_failed} untagged images could not be read "
        f"(none was tagged){example}"
    )


def run_tagging_shard(
    samples,
    job_key: str,
    shard: int,
    token: str,
    *,
    operation_id: Optional[str] = None,
    set_progress: Optional[Callable] = None,
) -> dict:
    """Tags one slice of a queued job (the slice operator calls this in a
    delegated worker).

    Args:
        samples: the collection the job was queued on
        job_key: the job's key
        shard: the slice's index
        token: the attempt's token
        operation_id (None): the id of the delegated operation running it
        set_progress (None): ``set_progress(progress=, label=)`` of the
            delegated operation

    Returns:
        the slice's counts and whether it queued the search, or
        ``{"superseded": True}`` when the slice was re-queued to another
        operation
    """
    from fiftyone_prime.integration.tagging.images import compute_tags

    dataset = samples._root_dataset
    store = open_store(dataset)
    job = store.get(records.job_key(job_key))
    if job is None:
        raise ValueError(f"Dataset '{dataset.name}' has no tagging job '{job_key}'")
    key = records.shard_key(job_key, shard)
    record = _start(store, key, token, operation_id)
    if record is None:
        logger.info(
            "Slice %d of job '%s' was re-queued to another operation; nothing to do", shard, job_key
        )
        return {"superseded": True}

    view = shard_view(samples, record)
    tags_field = job["tags_field"]
    try:
        if not record.get("cleared", True):
            view.clear_sample_field(tags_field)
            if job["kwargs"].get("embeddings_field"):
                view.clear_sample_field(job["kwargs"]["embeddings_field"])
            if settle(store, key, token, cleared=True) is None:
                raise ShardSuperseded(f"slice {shard} of job '{job_key}' was re-queued")
        if view.count() == 0:
            summary = dict(num_tagged=0, num_skipped_existing=0, num_failed=0, seconds=0.0)
        else:
            s = compute_tags(
                view,
                tags_field=tags_field,
                skip_existing=True,
                progress=_progress(store, key, token, set_progress, f"Tagging shard {shard + 1}"),
                **job["kwargs"],
            )
            summary = dict(
                num_tagged=s.num_tagged,
                num_skipped_existing=s.num_skipped_existing,
                num_failed=s.num_failed,
                seconds=round(s.seconds, 3),
                failures=[[str(i), str(p), str(e)[:300]] for i, p, e in s.failures[:3]],
            )
            if s.num_failed and not s.num_tagged:
                raise UnreadableSlice(_unreadable_message(shard, s))
    except ShardSuperseded:
        logger.warning("Slice %d of job '%s' was re-queued; this attempt stops", shard, job_key)
        return {"superseded": True}
    except UnreadableSlice as error:
        settle(store, key, token, state=FAILED, error=str(error), result=summary)
        raise
    except BaseException as error:
        settle(store, key, token, state=FAILED, error=repr(error)[:2000])
        raise

    done = settle(store, key, token, state=COMPLETED, result=summary, completed_at=records.now())
    if summary["num_failed"]:
        logger.warning(
            "Slice %d of job '%s': %d images could not be read (e.g. %s); the search after "
            "the job leaves them out",
            shard,
            job_key,
            summary["num_failed"],
            summary["failures"][0][1] if summary["failures"] else "?",
        )
    if done is None:
        return {"superseded": True}
    queued_search = maybe_queue_followup(samples, store, job_key, job)
    return dict(summary, shard=shard, queued_search=queued_search)


def run_followup(
    samples,
    job_key: str,
    token: str,
    *,
    operation_id: Optional[str] = None,
    set_progress: Optional[Callable] = None,
) -> dict:
    """Runs a job's follow-up search (and metrics) once (the follow-up
    operator calls this in a delegated worker).

    Args:
        samples, job_key, token, operation_id (None), set_progress (None): as
            in :func:`run_tagging_shard`

    Returns:
        the run key and number of failure modes, or ``{"superseded": True}``
        when the search was re-queued or already ran
    """
    from fiftyone_prime.integration.failure_modes.metrics import compute_failure_mode_metrics
    from fiftyone_prime.integration.failure_modes.search import find_failure_modes

    store = open_store(samples._root_dataset)
    job = store.get(records.job_key(job_key))
    key = records.followup_key(job_key)
    record = _start(store, key, token, operation_id, started_at=records.now())
    if job is None or record is None:
        logger.info("The search of job '%s' was re-queued or already ran; nothing to do", job_key)
        return {"superseded": True}
    search = dict(job["search"])
    if record["attempt"] > 1:
        search["overwrite"] = True  # an earlier attempt may have left a partial run
    try:
        if set_progress is not None:
            set_progress(progress=0.0, label="Searching for failure modes")
        tagged, num_untagged = _tagged_samples(samples, job["tags_field"])
        if num_untagged:
            logger.warning(
                "The search of job '%s' leaves out %d samples without '%s' tags (their "
                "images could not be read); they would count as images without any tag",
                job_key,
                num_untagged,
                job["tags_field"],
            )
        results = find_failure_modes(tagged, tags_field=job["tags_field"], **search)
        out = dict(
            run_key=results.key, num_failure_modes=len(results), num_untagged_left_out=num_untagged
        )
        if job.get("metrics"):
            if set_progress is not None:
                set_progress(progress=0.5, label="Computing failure-mode metrics")
            compute_failure_mode_metrics(samples, results.key, **job["metrics"])
            out["metrics"] = True
    except BaseException as error:
        settle(store, key, token, state=FAILED, error=repr(error)[:2000])
        raise
    settle(store, key, token, state=COMPLETED, result=out, completed_at=records.now())
    return out


def _tagged_samples(samples, tags_field: str):
    """The samples that the job tagged, and how many others it could not tag
    (unreadable images): the search must not count those as images without
    tags."""
    total = samples.count()
    tagged = samples.exists(tags_field)
    num_untagged = total - tagged.count()
    return (tagged if num_untagged else samples), num_untagged


def _start(store, key: str, token: str, operation_id: Optional[str], **changes) -> Optional[dict]:
    """Moves a record from ``queued`` with ``token`` to ``running`` in this
    process; returns the record written, or None when this attempt was
    superseded (or already ran)."""
    worker = records.worker_id()
    return update(
        store,
        key,
        lambda r: (
            {
                **r,
                "state": RUNNING,
                "worker": worker,
                **changes,
                "op_id": operation_id or r.get("op_id"),
            }
            if r["token"] == token and r["state"] == QUEUED
            else None
        ),
    )


def _progress(store, key: str, token: str, set_progress: Optional[Callable], label: str):
    """A ``compute_tags`` progress callback that reports to the delegated
    operation and raises :class:`ShardSuperseded` once the slice was
    re-queued."""
    last_check = [time.monotonic()]

    def report(pb):
        now = time.monotonic()
        if now - last_check[0] >= CHECK_EVERY:
            last_check[0] = now
            record = store.get(key)
            if record is None or record["token"] != token:
                raise ShardSuperseded(f"{key} was re-queued to another operation")
        if set_progress is not None:
            set_progress(progress=pb.progress, label=f"{label} ({pb.iteration}/{pb.total})")

    return fou.report_progress(report, dt=PROGRESS_EVERY)
