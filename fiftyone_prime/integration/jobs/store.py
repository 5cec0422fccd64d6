"""The execution store that holds the jobs, and its compare-and-set writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Optional

from .. import fiftyone_private as fop
from . import records

logger = logging.getLogger(__name__)


def open_store(dataset):
    """The dataset's job store (FiftyOne's ``ExecutionStore``, created on
    first use)."""
    from fiftyone.operators.store import ExecutionStore

    return ExecutionStore.create(records.STORE_NAME, fop.dataset_id(dataset))


def update(store, key: str, change: Callable[[dict], Optional[dict]], retries: int = 100):
    """Optimistic read-modify-write of one store key with ``compare_and_set``.

    Args:
        store: the job store
        key: the record's key
        change: returns the new value from the current one, or None to give up
        retries (100): how many concurrent changes to retry through

    Returns:
        the value written, or None (no record, or ``change`` gave up)

    Raises:
        RuntimeError: if every try lost to a concurrent change
    """
    for _ in range(retries):
        current = store.get(key)
        if current is None:
            return None
        new = change(current)
        if new is None:
            return None
        if store.compare_and_set(key, current, new):
            return new
    raise RuntimeError(f"Could not update '{key}' after {retries} concurrent changes")


def settle(store, key: str, token: str, **changes) -> Optional[dict]:
    """Records how an attempt ended, unless its record now belongs to another
    attempt (a different token); returns the record written, or None."""
    return update(store, key, lambda r: {**r, **changes} if r["token"] == token else None)


def set_op_id(store, key: str, token: str, op_id: str) -> Optional[dict]:
    """Records the delegated operation of the attempt holding ``token``."""
    return settle(store, key, token, op_id=op_id)


def delete_job(store, job: str) -> None:
    """Removes every record of a job."""
    prefix = records.job_prefix(job)
    for key in store.list_keys():
        if key.startswith(prefix):
            store.delete(key)
