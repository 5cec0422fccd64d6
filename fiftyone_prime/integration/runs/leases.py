"""One writer per run: a lease in the database.

A search (new or ``overwrite=True``), the metrics that update a run, and a
delete each hold the lease of ``(dataset, run key)`` while they change the
run and its saved views, so that a delete never runs while a search is still
saving views, and two overwrites of one key never interleave (issue 22).

The lease is a document in the ``fiftyone_prime_leases`` collection of
FiftyOne's database, ``_id = "<dataset id>/<run key>"``, naming its holder
(``host:pid``, the action, when it was taken). It is taken with an atomic
insert (a duplicate key means someone holds it) and kept alive by a
heartbeat thread; a lease whose holder is a process of this machine that no
longer exists, or (for a holder on another machine) whose heartbeat is older
than its TTL (:data:`TTL`, never more than :data:`MAX_TTL`), is expired and
may be taken over (atomically, by replacing the document only if it still
carries the expired holder's token). A live process of this machine holds
its lease whatever its heartbeat (it may be paused: Ctrl-Z, a debugger). A
second writer waits up to ``wait`` seconds, then raises :class:`RunBusyError`
naming the holder; :func:`clear_run_lease` clears a lease by hand.

A writer checks that it still holds its lease (:func:`check_held`) between
the chunks of views it saves and before it stores its run: one that was
paused past the TTL and taken over raises :class:`LeaseLostError` and
removes the views it wrote, instead of writing on.

Leases are re-entrant within a thread: a search that overwrites (and so
deletes) its own run does not wait for itself.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
import uuid
from typing import Optional

from .. import fiftyone_private as fop
from .processes import dead_worker, local_worker_alive, worker_id

logger = logging.getLogger(__name__)

#: The collection of FiftyOne's database that holds the leases.
COLLECTION = "fiftyone_prime_leases"

#: Seconds without a heartbeat after which a lease has expired (its holder
#: was killed, or lost its connection).
TTL = 30.0

#: The longest TTL a lease document is trusted with (a document that asks
#: for more, written by hand or by a broken client, would block its run key
#: for ever).
MAX_TTL = 10 * TTL

#: Seconds between heartbeats of a held lease.
HEARTBEAT = 5.0

#: Seconds a second writer waits for the lease by default.
DEFAULT_WAIT = 60.0

_held = threading.local()


class RunBusyError(RuntimeError):
    """Raised when another process (or thread) is writing the same run."""


class LeaseLostError(RuntimeError):
    """Raised in a writer whose lease another writer took over (it was
    paused, or cut off from the database, for longer than the TTL)."""


def _collection():
    import fiftyone.core.odm as foo

    return foo.get_db_conn()[COLLECTION]


def _now() -> datetime.datetime:
    return datetime.datetime.utcnow()


def lease_id(dataset, run_key: str) -> str:
    return f"{fop.dataset_id(dataset._root_dataset)}/{run_key}"


def holder_of(dataset, run_key: str) -> Optional[dict]:
    """The live lease of a run (``holder``, ``action``, ``acquired_at``...),
    or None when nobody holds it (or its holder is gone)."""
    doc = _collection().find_one({"_id": lease_id(dataset, run_key)})
    if doc is None or _expired(doc):
        return None
    return doc


def _expired(doc: dict) -> Optional[str]:
    """Why a lease document no longer holds, or None."""
    gone = dead_worker(doc.get("holder"))
    if gone is not None:
        return gone
    if local_worker_alive(doc.get("holder")):
        return None  # alive here, maybe paused: it still holds the lease
    age = (_now() - doc["heartbeat_at"]).total_seconds()
    if age > _ttl(doc):
        return f"no heartbeat for {age:.0f} s"
    return None


def _ttl(doc: dict) -> float:
    """The document's TTL, bounded by :data:`MAX_TTL`."""
    try:
        ttl = float(doc.get("ttl", TTL))
    except (TypeError, ValueError):
        ttl = TTL
    return min(ttl, MAX_TTL) if ttl == ttl else TTL


def clear_run_lease(dataset, run_key: str) -> Optional[dict]:
    """Clears the lease of a run, whoever holds it.

    Use it when a run key stays busy (:class:`RunBusyError`) although you know
    its holder will not finish (e.g. a process of another machine that hangs).
    A holder that is still writing notices at its next chunk and stops,
    removing the views it wrote after this.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset` or a view of it
        run_key: the run key

    Returns:
        the lease document removed, or ``None`` when there was none
    """
    doc = _collection().find_one_and_delete({"_id": lease_id(dataset, run_key)})
    if doc is not None:
        logger.warning(
            "Cleared the lease of run '%s' held by %s (%s)",
            run_key,
            doc.get("holder"),
            doc.get("action"),
        )
    return doc


def check_held() -> None:
    """Renews every lease this thread holds, and raises if one was lost.

    Raises:
        LeaseLostError: another writer took a lease of this thread over
    """
    for lease in list(_held_leases().values()):
        lease.renew()


class Lease:
    """A held lease; :meth:`release` it (or use :func:`run_lease`)."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.id = doc["_id"]
        self.token = doc["token"]
        self.lost = False
        self.depth = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {self.id}", daemon=True)
        self._thread.start()

    def _beat(self):
        while not self._stop.wait(HEARTBEAT):
            try:
                result = _collection().update_one(
                    {"_id": self.id, "token": self.token}, {"$set": {"heartbeat_at": _now()}}
                )
            except Exception as error:  # pragma: no cover - the database went away
                logger.warning("Lease %s: heartbeat failed: %s", self.id, error)
                continue
            if not result.matched_count:
                self.lost = True
                logger.warning("Lease %s was taken over by another writer", self.id)
                return

    def renew(self) -> None:
        """Refreshes the heartbeat now; raises :class:`LeaseLostError` when
        another writer holds the lease."""
        if not self.lost:
            result = _collection().update_one(
                {"_id": self.id, "token": self.token}, {"$set": {"heartbeat_at": _now()}}
            )
            self.lost = not result.matched_count
        if self.lost:
            run_key, dataset = self.doc.get("run_key"), self.doc.get("dataset")
            raise LeaseLostError(
                f"Run '{run_key}' of dataset '{dataset}': another writer took over this "
                f"process's lease (it was paused or cut off for more than {_ttl(self.doc):.0f} "
                "s, or the lease was cleared); stopped, and removed the views it had written. "
                "Run again (overwrite=True) once the other writer is done"
            )

    def release(self):
        self._stop.set()
        self._thread.join(timeout=HEARTBEAT + 1)
        _collection().delete_one({"_id": self.id, "token": self.token})


def acquire(dataset, run_key: str, action: str, wait: Optional[float] = None) -> Lease:
    """Takes the lease of a run, waiting up to ``wait`` seconds for its holder.

    Raises:
        RunBusyError: naming the holder, when it is still held after ``wait``
    """
    wait = DEFAULT_WAIT if wait is None else wait
    root = dataset._root_dataset
    key = lease_id(root, run_key)
    held = _held_leases()
    if key in held:
        held[key].depth += 1
        return held[key]
    coll = _collection()
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        now = _now()
        doc = dict(
            _id=key,
            token=uuid.uuid4().hex,
            holder=worker_id(),
            thread=threading.current_thread().name,
            action=action,
            dataset=root.name,
            run_key=run_key,
            acquired_at=now,
            heartbeat_at=now,
            ttl=TTL,
        )
        current = coll.find_one({"_id": key})
        if current is None:
            try:
                coll.insert_one(doc)
                break
            except Exception as error:
                if type(error).__name__ != "DuplicateKeyError":
                    raise
                continue
        reason = _expired(current)
        if reason is not None:
            if coll.replace_one({"_id": key, "token": current["token"]}, doc).matched_count:
                logger.warning(
                    "Took over the lease of run '%s' from %s (%s, %s)",
                    run_key,
                    current.get("holder"),
                    current.get("action"),
                    reason,
                )
                break
            continue
        if time.monotonic() >= deadline:
            raise RunBusyError(busy_message(root, run_key, current, action, wait))
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    lease = Lease(doc)
    held[key] = lease
    return lease


def busy_message(dataset, run_key, current: dict, action: str, wait: float) -> str:
    since = current.get("acquired_at")
    age = (_now() - since).total_seconds() if since else 0.0
    return (
        f"Cannot {action} run '{run_key}' of dataset '{dataset.name}': process "
        f"{current.get('holder')} is running its {current.get('action')} (for {age:.0f} s); "
        f"waited {wait:.0f} s. Try again when it finishes"
    )


def _held_leases() -> dict:
    if not hasattr(_held, "leases"):
        _held.leases = {}
    return _held.leases


def release(lease: Lease) -> None:
    held = _held_leases()
    lease.depth -= 1
    if lease.depth > 0:
        return
    held.pop(lease.id, None)
    lease.release()


@contextlib.contextmanager
def run_lease(dataset, run_key: str, action: str, wait: Optional[float] = None):
    """Holds the lease of ``(dataset, run_key)`` for the ``with`` block."""
    lease = acquire(dataset, run_key, action, wait)
    try:
        yield lease
    finally:
        release(lease)


def try_lease(dataset, run_key: str, action: str) -> Optional[Lease]:
    """The lease if nobody holds it now, else None (never waits)."""
    try:
        return acquire(dataset, run_key, action, wait=0.0)
    except RunBusyError:
        return None
