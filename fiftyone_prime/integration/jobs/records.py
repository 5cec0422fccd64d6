"""The records of a tagging job in the execution store: their keys, states and
the values every attempt stamps on them.

A job ``J`` keeps ``J/job`` (what to run), ``J/shard/<i>`` (one per slice)
and ``J/followup`` (the search after the last slice). This module only names
and builds those values; :mod:`.store` reads and writes them.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Optional

from ..runs.processes import worker_id  # noqa: F401 (the id a record stamps; it was defined here)

#: The execution store (scoped to the dataset) that holds every job's state.
STORE_NAME = "fiftyone_prime_tagging"

QUEUED, RUNNING, COMPLETED, FAILED, STALLED, WAITING, MISSING = (
    "queued",
    "running",
    "completed",
    "failed",
    "stalled",
    "waiting",
    "missing",
)


def job_key(job: str) -> str:
    """The store key of a job's own record."""
    return f"{job}/job"


def shard_key(job: str, index: int) -> str:
    """The store key of slice ``index`` of a job."""
    return f"{job}/shard/{index}"


def followup_key(job: str) -> str:
    """The store key of a job's follow-up search."""
    return f"{job}/followup"


def job_prefix(job: str) -> str:
    """The prefix every store key of a job starts with."""
    return f"{job}/"


def job_name(key: str) -> Optional[str]:
    """The job named by a job record's key, or None for any other key."""
    suffix = job_key("")
    return key[: -len(suffix)] if key.endswith(suffix) else None


def shard_record(index: int, lo: Optional[str], hi: Optional[str], size: int, cleared: bool):
    """The first attempt's record of a slice ``lo <= _id < hi``.

    Args:
        index: the slice's index
        lo: the smallest id of the slice (hex), or None (unbounded)
        hi: the first id after the slice (hex), or None (unbounded)
        size: its number of samples at queue time
        cleared: False when its first attempt must clear the field first
    """
    return dict(
        index=index,
        lo=lo,
        hi=hi,
        size=size,
        token=new_token(),
        attempt=1,
        state=QUEUED,
        op_id=None,
        cleared=cleared,
    )


def followup_record() -> dict:
    """The first attempt's record of a follow-up search."""
    return dict(state=QUEUED, token=new_token(), attempt=1, op_id=None, queued_at=now())


def new_token() -> str:
    """A fresh token: the one attempt allowed to run a record."""
    return uuid.uuid4().hex


def now() -> str:
    """The current UTC time, ISO format to the millisecond."""
    return datetime.datetime.utcnow().isoformat(timespec="milliseconds")
