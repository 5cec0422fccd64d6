"""Queuing a job's parts as delegated operations: the only module that knows
which operators execute them.

It knows no operator URI of its own. The plugin marks its operators with a
role (a ``job_role`` attribute equal to :data:`SHARD_ROLE` or
:data:`FOLLOWUP_ROLE`); :func:`find_worker_operators` finds them in FiftyOne's
operator registry when a job is queued, and the job's record keeps their URIs
(:class:`WorkerOperators`), so that the workers that queue the follow-up
search, and :func:`~.recover.requeue_tagging`, use the same operators.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Optional

from . import records
from .records import COMPLETED
from .store import set_op_id

logger = logging.getLogger(__name__)

#: The ``job_role`` of the operator that tags one slice.
SHARD_ROLE = "fiftyone_prime.jobs.shard"

#: The ``job_role`` of the operator that runs the search after the last slice.
FOLLOWUP_ROLE = "fiftyone_prime.jobs.followup"


@dataclass(frozen=True)
class WorkerOperators:
    """The URIs of the operators that execute a job's parts.

    Attributes:
        shard: the operator that tags one slice (params ``job_key``,
            ``shard``, ``token``)
        followup: the operator that runs the follow-up search (params
            ``job_key``, ``token``)
    """

    shard: str
    followup: str

    def to_dict(self) -> dict:
        """The value kept in the job's record."""
        return asdict(self)

    @classmethod
    def from_job(cls, job: dict) -> WorkerOperators:
        """The operators a job was queued with (those of the registry for a
        job queued before its record kept them)."""
        if "operators" not in job:
            return find_worker_operators()
        return cls(**job["operators"])


def find_worker_operators() -> WorkerOperators:
    """The operators that play :data:`SHARD_ROLE` and :data:`FOLLOWUP_ROLE`
    in FiftyOne's operator registry (the plugins folder of this process).

    Raises:
        RuntimeError: if the plugin is not installed, or installed twice under
            different names
    """
    import fiftyone as fo
    from fiftyone.operators.registry import list_operators

    found = {SHARD_ROLE: set(), FOLLOWUP_ROLE: set()}
    for operator in list_operators(builtin=False):
        role = getattr(operator, "job_role", None)
        if role in found:
            found[role].add(operator.uri)
    if not (found[SHARD_ROLE] and found[FOLLOWUP_ROLE]):
        raise RuntimeError(
            "The fiftyone-prime plugin is not in FiftyOne's plugins folder "
            f"({fo.config.plugins_dir}), so its delegated operations cannot be queued; link "
            "the repository there (see the README's 'In the App: operators'), here and on "
            "every worker"
        )
    if len(found[SHARD_ROLE]) > 1 or len(found[FOLLOWUP_ROLE]) > 1:
        uris = sorted(found[SHARD_ROLE] | found[FOLLOWUP_ROLE])
        raise RuntimeError(
            f"Several plugins provide fiftyone-prime's worker operators ({uris}); "
            "keep one copy in the plugins folder"
        )
    ((shard,), (followup,)) = found[SHARD_ROLE], found[FOLLOWUP_ROLE]
    return WorkerOperators(shard=shard, followup=followup)


def queue_operation(
    uri: str, samples, params: dict, delegation_target: Optional[str], label: str
) -> str:
    """Queues one delegated operation of ``uri`` on ``samples``; returns its id."""
    import fiftyone.operators as foo

    result = foo.execute_operator(
        uri,
        dict(view=samples.view()),
        params=dict(params, run_label=label),
        request_delegation=True,
        delegation_target=delegation_target,
    )
    return str(result.result["id"])


def queue_shard(samples, store, job_key: str, job: dict, record: dict) -> None:
    """Queues the attempt of a slice that ``record`` (its token) describes."""
    params = dict(job_key=job_key, shard=record["index"], token=record["token"])
    label = f"PRIME tagging '{job_key}': shard {record['index'] + 1}"
    uri = WorkerOperators.from_job(job).shard
    op_id = queue_operation(uri, samples, params, job.get("delegation_target"), label)
    set_op_id(store, records.shard_key(job_key, record["index"]), record["token"], op_id)


def queue_followup(samples, store, job_key: str, job: dict, record: dict) -> None:
    """Queues the attempt of the follow-up search that ``record`` describes."""
    uri = WorkerOperators.from_job(job).followup
    params = dict(job_key=job_key, token=record["token"])
    label = f"PRIME search after tagging '{job_key}'"
    op_id = queue_operation(uri, samples, params, job.get("delegation_target"), label)
    set_op_id(store, records.followup_key(job_key), record["token"], op_id)


def maybe_queue_followup(samples, store, job_key: str, job: dict) -> bool:
    """Queues the search if every slice completed; the atomic insert of the
    follow-up record makes exactly one caller queue it. Returns whether this
    call queued it."""
    if job.get("search") is None:
        return False
    shards = [store.get(records.shard_key(job_key, i)) for i in range(job["num_shards"])]
    if not all(r is not None and r["state"] == COMPLETED for r in shards):
        return False
    record = records.followup_record()
    if not store.set_if_absent(records.followup_key(job_key), record):
        return False
    queue_followup(samples, store, job_key, job, record)
    return True
