"""What a tagging job's records and its delegated operations say about it."""

from __future__ import annotations

import datetime
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Optional

from bson import ObjectId

from fiftyone_prime.core.defaults import TAGS_FIELD

from . import records
from .records import COMPLETED, FAILED, MISSING, QUEUED, RUNNING, STALLED, WAITING
from .store import open_store

logger = logging.getLogger(__name__)

#: A running operation whose progress has not moved for this long is reported
#: as stalled (its worker may be gone).
DEFAULT_STALE_AFTER = 900.0


@dataclass
class PartStatus:
    """The state of one slice (or of the follow-up search) of a tagging job.

    Attributes:
        name: ``"shard 0"``... or ``"search"``
        state: ``"queued"``, ``"running"``, ``"completed"``, ``"failed"``,
            ``"stalled"`` (running, but its worker is gone or silent); the
            follow-up is ``"waiting"`` for the slices, or ``"missing"`` when
            they completed and it was not queued (:func:`requeue_tagging`
            queues it)
        size: the number of samples in the slice at queue time
        attempt: how many times it was queued
        operation_id: the id of its current delegated operation
        progress: the fraction its operation last reported, if any
        label: its operation's last progress label
        error: why it failed or stalled
        worker: ``host:pid`` of the process that ran it last
        result: what a part reported (counts, run key); ``num_failed``
            (also a property) counts the images a slice could not read
    """

    name: str
    state: str
    size: Optional[int] = None
    attempt: int = 0
    operation_id: Optional[str] = None
    progress: Optional[float] = None
    label: Optional[str] = None
    error: Optional[str] = None
    worker: Optional[str] = None
    result: dict = field(default_factory=dict)

    @property
    def num_failed(self) -> int:
        """The number of images this slice could not read (0 for the search)."""
        return int(self.result.get("num_failed") or 0)


@dataclass
class TaggingJobStatus:
    """What :func:`tagging_status` reports about a job.

    Attributes:
        job_key: the job's key
        tags_field: the field the job writes
        shards: a :class:`PartStatus` per slice
        followup: the :class:`PartStatus` of the follow-up search, or ``None``
            when the job has none
    """

    job_key: str
    tags_field: str
    shards: list
    followup: Optional[PartStatus] = None

    @property
    def counts(self) -> dict:
        """``{state: number of slices}``."""
        out = {}
        for s in self.shards:
            out[s.state] = out.get(s.state, 0) + 1
        return out

    @property
    def tagged(self) -> bool:
        """Whether every slice completed."""
        return all(s.state == COMPLETED for s in self.shards)

    @property
    def done(self) -> bool:
        """Whether every slice, and the follow-up search if any, completed."""
        return self.tagged and (self.followup is None or self.followup.state == COMPLETED)

    @property
    def num_failed(self) -> int:
        """The number of images the slices could not read (in total)."""
        return sum(s.num_failed for s in self.shards)

    @property
    def unfinished(self) -> list:
        """The slices that failed or stalled (what :func:`requeue_tagging` re-queues)."""
        return [s for s in self.shards if s.state in (FAILED, STALLED)]

    def __str__(self):
        lines = [
            f"Tagging job '{self.job_key}' -> '{self.tags_field}': "
            + ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
            + (f"; {self.num_failed} images could not be read" if self.num_failed else "")
        ]
        parts = self.shards + ([self.followup] if self.followup is not None else [])
        for p in parts:
            line = f"  {p.name:<9} {p.state:<10}"
            if p.size is not None:
                line += f" {p.size:>9} samples"
            if p.attempt > 1:
                line += f"  attempt {p.attempt}"
            if p.num_failed:
                line += f"  {p.num_failed} unreadable"
            if p.result.get("num_untagged_left_out"):
                line += f"  {p.result['num_untagged_left_out']} untagged samples left out"
            if p.progress is not None and p.state in (RUNNING, STALLED):
                line += f"  {p.progress:.0%}"
            if p.operation_id:
                line += f"  op {p.operation_id}"
            if p.error:
                line += f"  ({p.error.strip().splitlines()[-1][:120]})"
            lines.append(line)
        return "\n".join(lines)


def tagging_status(
    samples, job_key: str = TAGS_FIELD, *, stale_after: float = DEFAULT_STALE_AFTER
) -> TaggingJobStatus:
    """The state of every slice of a tagging job, and of its follow-up search.

    A slice is ``"stalled"`` when its operation is still marked running but
    its worker is gone (a process on this machine that no longer exists) or
    has reported no progress for ``stale_after`` seconds.

    Args:
        samples: the dataset (or a view of it) the job was queued on
        job_key ("prime_tags"): the job's key (its ``tags_field`` by default)
        stale_after (900): seconds without progress after which a running
            operation counts as stalled

    Returns:
        a :class:`TaggingJobStatus`; ``print()`` it for a table
    """
    status = job_status(open_store(samples._root_dataset), job_key, stale_after)
    if status is None:
        raise ValueError(f"Dataset '{samples._root_dataset.name}' has no tagging job '{job_key}'")
    return status


def list_tagging_jobs(samples) -> list:
    """The keys of the dataset's tagging jobs."""
    keys = open_store(samples._root_dataset).list_keys()
    return sorted(name for name in map(records.job_name, keys) if name is not None)


def job_status(
    store, job_key: str, stale_after: float = DEFAULT_STALE_AFTER
) -> Optional[TaggingJobStatus]:
    """The :class:`TaggingJobStatus` of a job in ``store``, or None if there
    is no such job."""
    from fiftyone.operators.delegated import DelegatedOperationService

    job = store.get(records.job_key(job_key))
    if job is None:
        return None
    service = DelegatedOperationService()
    shards = []
    for i in range(job["num_shards"]):
        record = store.get(records.shard_key(job_key, i))
        shards.append(_part(f"shard {i}", record, service, stale_after))
    followup = None
    if job.get("search") is not None:
        record = store.get(records.followup_key(job_key))
        if record is not None:
            followup = _part("search", record, service, stale_after)
        else:
            waiting = not all(s.state == COMPLETED for s in shards)
            followup = PartStatus("search", WAITING if waiting else MISSING)
    return TaggingJobStatus(job_key, job["tags_field"], shards, followup)


def _part(name: str, record: Optional[dict], service, stale_after: float) -> PartStatus:
    """A part's state from its record and its delegated operation."""
    from fiftyone.operators.executor import ExecutionRunState

    if record is None:
        return PartStatus(name, MISSING)
    part = PartStatus(
        name,
        record["state"],
        size=record.get("size"),
        attempt=record.get("attempt", 1),
        operation_id=record.get("op_id"),
        error=record.get("error"),
        worker=record.get("worker"),
        result=record.get("result") or {},
    )
    doc = service.get(ObjectId(part.operation_id)) if part.operation_id else None
    if doc is not None and doc.status is not None:
        part.progress = getattr(doc.status, "progress", None)
        part.label = getattr(doc.status, "label", None)
    if part.state in (COMPLETED, FAILED):
        return part
    if doc is not None and doc.run_state == ExecutionRunState.FAILED:
        part.state = FAILED
        part.error = _error_of(doc) or "its operation failed"
        return part
    if part.state == QUEUED:
        if doc is None or doc.run_state != ExecutionRunState.RUNNING:
            return part
        part.state = RUNNING  # a worker claimed the operation; not started yet
    # Running: is the worker alive?
    reason = dead_worker(record.get("worker")) if record["state"] == RUNNING else None
    if reason is None and doc is not None:
        heartbeat = (
            getattr(doc.status, "updated_at", None) if doc.status else None
        ) or doc.started_at
        if heartbeat is not None:
            age = (datetime.datetime.utcnow() - heartbeat.replace(tzinfo=None)).total_seconds()
            if age > stale_after:
                reason = f"no progress for {age:.0f} s"
    if reason is not None:
        part.state = STALLED
        part.error = reason
    return part


def _error_of(doc) -> Optional[str]:
    """The error message a failed delegated operation recorded, if any."""
    result = doc.result
    if result is None:
        return None
    if isinstance(result, dict):
        return result.get("error_message") or result.get("error")
    return getattr(result, "error_message", None) or getattr(result, "error", None)


def _local_state(worker: Optional[str]) -> Optional[bool]:
    """Whether a worker recorded as ``host:pid`` of this machine is alive
    (``None``: another machine, or unknown)."""
    if not worker:
        return None
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except (ValueError, OverflowError):
        return None
    return True


def dead_worker(worker: Optional[str]) -> Optional[str]:
    """Why a worker recorded as ``host:pid`` is known to be gone, or None."""
    if _local_state(worker) is False:
        host, _, pid = worker.rpartition(":")
        return f"worker process {pid} on {host} is gone"
    return None


def local_worker_alive(worker: Optional[str]) -> bool:
    """Whether a worker recorded as ``host:pid`` is a live process of this
    machine (alive even when it is paused)."""
    return _local_state(worker) is True
