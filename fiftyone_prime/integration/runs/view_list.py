"""The dataset's saved-view list, changed only by atomic updates.

FiftyOne keeps a dataset's saved views as a list of view-document ids on the
dataset document (``saved_views``); a view whose id is not on the list is
invisible (``list_saved_views``/``load_saved_view`` do not see it, and
``fo.delete_dataset`` does not delete it), and an id on the list whose
document is gone makes FiftyOne print "saved view references are corrupted"
on every load.

FiftyOne's own ``Dataset.save_view`` (and the App's "save view", which calls
it) reloads the list, appends its view and writes the *whole list* back: a
view another process listed between its reload and its write is dropped from
the list (its document stays). This module therefore never writes the list
back; it only

- appends ids with ``$push`` guarded by ``$nin`` (an id is never listed
  twice), in a bounded number of updates (:func:`append`: the cost of saving
  N views is O(N); ``$addToSet`` of k ids into a list of N costs O(N k) per
  update, quadratic overall);
- removes ids with ``$pull``;
- :func:`reconcile`: re-lists the view documents a run owns that are not
  listed (dropped by a concurrent ``save_view``), and pulls listed ids whose
  document no longer exists. Runs call it after saving and whenever they are
  loaded or deleted.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
from collections.abc import Iterable

from bson import ObjectId

from .. import fiftyone_private as fop

logger = logging.getLogger(__name__)

#: The least number of ids appended per list update.
MIN_CHUNK = 500

#: The most ids in one ``$in`` query.
IN_CHUNK = 5000

#: At most this many list updates per :func:`append` call (chunks grow with
#: the number of ids), so the total cost stays linear in the number of views.
MAX_UPDATES = 20


@contextlib.contextmanager
def paused_gc():
    """Pauses Python's cyclic garbage collector for a bulk write.

    Saving N views builds O(N) small objects (view documents, BSON, the
    refreshed list) that form no reference cycles; each full collection the
    allocations trigger traverses the whole heap (the run's modes, the
    views), which made saving 100,000 views 15x slower than 10,000 instead
    of 10x. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def db():
    """FiftyOne's database (see :mod:`fiftyone_prime.integration.fiftyone_private`)."""
    return fop.db()


def oids(ids: Iterable) -> list[ObjectId]:
    return [i if isinstance(i, ObjectId) else ObjectId(i) for i in ids]


def chunk_size(n: int) -> int:
    """Ids per update when appending ``n`` ids: at least :data:`MIN_CHUNK`,
    and large enough that there are at most :data:`MAX_UPDATES` updates."""
    return max(MIN_CHUNK, -(-n // MAX_UPDATES))


def listed_ids(dataset_id) -> list[ObjectId]:
    """The ids on the dataset's saved-view list, read from the database."""
    doc = db().datasets.find_one({"_id": dataset_id}, {"saved_views": 1}) or {}
    return list(doc.get("saved_views") or [])


def append(dataset_id, ids, now=None) -> None:
    """Appends ids to the dataset's list, each at most once, atomically.

    The ids are pushed in one update when none of them is listed yet (the
    usual case: ids of documents just written); otherwise only the missing
    ones are added.
    """
    ids = oids(ids)
    if not ids:
        return
    now = now or datetime.datetime.utcnow()
    datasets = db().datasets
    result = datasets.update_one(
        {"_id": dataset_id, "saved_views": {"$nin": ids}},
        {"$push": {"saved_views": {"$each": ids}}, "$set": {"last_modified_at": now}},
    )
    if result.matched_count:
        return
    listed = set(listed_ids(dataset_id))
    missing = [i for i in ids if i not in listed]
    if missing:  # some were re-listed meanwhile; add the others (few)
        datasets.update_one(
            {"_id": dataset_id},
            {"$addToSet": {"saved_views": {"$each": missing}}, "$set": {"last_modified_at": now}},
        )


def append_in_chunks(dataset_id, ids, now=None) -> None:
    """:func:`append` in at most :data:`MAX_UPDATES` updates."""
    ids = oids(ids)
    size = chunk_size(len(ids))
    for start in range(0, len(ids), size):
        append(dataset_id, ids[start : start + size], now)


def remove(dataset_id, ids) -> None:
    """Pulls ids from the dataset's list (atomic ``$pull``)."""
    ids = oids(ids)
    for start in range(0, len(ids), 10 * MIN_CHUNK):
        db().datasets.update_one(
            {"_id": dataset_id},
            {
                "$pull": {"saved_views": {"$in": ids[start : start + 10 * MIN_CHUNK]}},
                "$set": {"last_modified_at": datetime.datetime.utcnow()},
            },
        )


def find_views(ids, projection=None, dataset_id=None) -> list[dict]:
    """The view documents with the given ids, read with ``$in`` queries of at
    most :data:`IN_CHUNK` ids (one ``$in`` of 50,000 ids takes several times
    longer than ten of 5,000)."""
    ids = oids(ids)
    query = {} if dataset_id is None else {"_dataset_id": dataset_id}
    out = []
    for start in range(0, len(ids), IN_CHUNK):
        query["_id"] = {"$in": ids[start : start + IN_CHUNK]}
        out.extend(db().views.find(query, projection))
    return out


def existing_ids(dataset_id, ids) -> set[ObjectId]:
    """The ids among ``ids`` whose view document exists for the dataset."""
    return {d["_id"] for d in find_views(ids, {"_id": 1}, dataset_id)}


def refresh(dataset) -> None:
    """Reloads the in-memory saved-view list of ``dataset`` (what
    ``dataset._doc.reload("saved_views")`` does, with chunked queries: that
    reload dereferences every view with one ``$in`` query, and mongoengine
    builds its objects more slowly than linearly in the list's length)."""
    listed = listed_ids(fop.dataset_id(dataset))
    fop.set_saved_views(dataset, listed, {d["_id"]: d for d in find_views(listed)})


def dangling_ids(dataset_id) -> list[ObjectId]:
    """Listed ids whose view document does not exist."""
    listed = listed_ids(dataset_id)
    present = existing_ids(dataset_id, listed)
    return [i for i in listed if i not in present]


def reconcile(dataset, owned_ids) -> dict:
    """Makes the dataset's list agree with the view documents a run owns.

    Owned documents that exist and are not listed are appended (a
    concurrent ``save_view`` dropped them); listed ids whose document is gone
    are pulled (FiftyOne would report the list as corrupted). Only atomic
    updates; the list is never written back.

    Returns:
        ``{"relisted": n, "unlisted_dangling": m}``
    """
    dataset_id = fop.dataset_id(dataset)
    owned = oids(owned_ids)
    listed = set(listed_ids(dataset_id))
    candidates = [i for i in owned if i not in listed]
    present = existing_ids(dataset_id, candidates) if candidates else set()
    relist = [i for i in candidates if i in present]
    if relist:
        logger.info(
            "Re-listing %d saved views of dataset '%s' that another writer dropped from its list",
            len(relist),
            dataset.name,
        )
        append_in_chunks(dataset_id, relist)
    dangling = dangling_ids(dataset_id)
    if dangling:
        logger.info(
            "Removing %d references to saved views that no longer exist from dataset '%s'",
            len(dangling),
            dataset.name,
        )
        remove(dataset_id, dangling)
    if relist or dangling:
        refresh(dataset)
    return {"relisted": len(relist), "unlisted_dangling": len(dangling)}
