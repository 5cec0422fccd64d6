"""Repairing a dataset's saved views after concurrent writers (issue 22)."""

from __future__ import annotations

import datetime
import logging
import re

from .. import fiftyone_private as fop
from . import leases, view_list
from .views import delete_views

logger = logging.getLogger(__name__)

#: Unlisted view documents younger than this are left alone by a repair (a
#: ``save_view`` writes its document a moment before it lists it).
MIN_AGE = 60.0


def repair_failure_mode_views(dataset=None, *, wait: float = leases.DEFAULT_WAIT) -> dict:
    """Makes a dataset's saved-view list agree with the views its runs own
    (failure-mode, evaluation-unit and regression runs), also after damage
    done by older versions.

    FiftyOne's ``Dataset.save_view`` (and the App's "save view") rewrites the
    dataset's whole saved-view list from its in-memory copy, so views listed
    meanwhile by another process are dropped from the list (their documents
    stay; ``fo.delete_dataset`` then leaves those documents behind, since it
    deletes only listed views and offers no hook). Runs re-list their views
    whenever they are saved, loaded or deleted; this function repairs
    everything at once:

    - re-lists the view documents each run owns that are not listed;
    - removes listed ids whose view document no longer exists (FiftyOne
      prints "saved view references are corrupted" on every load);
    - deletes view documents of the dataset that are neither listed nor owned
      by any of its runs, and older than :data:`MIN_AGE` seconds (nothing can
      see or load them);
    - with ``dataset=None``: deletes view documents whose dataset no longer
      exists (left behind by ``fo.delete_dataset``).

    - deletes listed views that no run owns but that a run wrote: named
      ``"<run key> ..."`` with the description a run gives its views
      (``"... Run '<run key>'."``), left by a writer that lost its lease or
      by two overwrites at once in an older version (``"deleted_unowned"``).

    Other listed views that no run owns are never deleted (they may be the
    user's); those named like a run's views are returned
    (``"unowned_listed"``): they block later overwrites of that run key until
    they are renamed or deleted.

    Args:
        dataset (None): a :class:`fiftyone.core.dataset.Dataset` (or a view
            of it); ``None`` to clean up after deleted datasets
        wait (60): seconds to wait for each run being written by another
            process

    Returns:
        a dict of counts (and ``unowned_listed`` names)
    """
    if dataset is None:
        return {"deleted_of_deleted_datasets": _delete_views_of_deleted_datasets()}
    from .run_kinds import kinds_saving_views
    from .run_store import list_runs

    root = dataset._root_dataset
    fop.reload_runs(root)
    out = {"relisted": 0, "unlisted_dangling": 0, "deleted_stranded": 0, "deleted_unowned": 0}
    # The runs of every kind that saves views own views (failure-mode,
    # evaluation-unit and regression runs alike).
    keys = sorted(set().union(*(list_runs(root, kind) for kind in kinds_saving_views())))
    owned = set()
    held = []
    try:
        for run_key in keys:
            held.append(leases.acquire(root, run_key, "repair", wait))
            results = root.load_run_results(run_key, cache=False, load_view=False)
            ids = view_list.oids(getattr(results, "view_ids", None) or [])
            owned.update(ids)
            counts = view_list.reconcile(root, ids)
            out["relisted"] += counts["relisted"]
            out["unlisted_dangling"] += counts["unlisted_dangling"]
        counts = view_list.reconcile(root, ())
        out["unlisted_dangling"] += counts["unlisted_dangling"]
        listed = set(view_list.listed_ids(fop.dataset_id(root)))
        cutoff = datetime.datetime.utcnow() - datetime.timedelta(seconds=MIN_AGE)
        db = view_list.db()
        stranded = [
            d["_id"]
            for d in db.views.find(
                {"_dataset_id": fop.dataset_id(root)}, {"_id": 1, "created_at": 1, "name": 1}
            )
            if d["_id"] not in listed
            and d["_id"] not in owned
            and (d.get("created_at") is None or d["created_at"] < cutoff)
        ]
        if stranded:
            out["deleted_stranded"] = db.views.delete_many(
                {"_id": {"$in": stranded}, "_dataset_id": fop.dataset_id(root)}
            ).deleted_count
        unowned = view_list.find_views(sorted(listed - owned), {"name": 1, "description": 1})
        written = [d["_id"] for d in unowned if _written_by_a_run(d)]
        if written:
            out["deleted_unowned"] = delete_views(root, written)
        out["unowned_listed"] = [
            d["name"]
            for d in unowned
            if d["_id"] not in set(written) and any(d["name"].startswith(f"{k} ") for k in keys)
        ]
    finally:
        for lease in held:
            leases.release(lease)
    view_list.refresh(root)
    logger.info("Repaired the saved views of dataset '%s': %s", root.name, out)
    return out


def _written_by_a_run(doc: dict) -> bool:
    """Whether a view document was written by a run: its description names a
    run key (``" Run '<key>'."``, as every run's views say) that starts its
    name."""
    name, text = doc.get("name") or "", doc.get("description") or ""
    return any(name.startswith(f"{m.group(1)} ") for m in re.finditer(r" Run '(.+?)'\.", text))


def _delete_views_of_deleted_datasets() -> int:
    db = view_list.db()
    existing = set(db.datasets.distinct("_id"))
    gone = [i for i in db.views.distinct("_dataset_id") if i not in existing]
    if not gone:
        return 0
    return db.views.delete_many({"_dataset_id": {"$in": gone}}).deleted_count
