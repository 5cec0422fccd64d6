"""Every use of FiftyOne's private API in fiftyone-prime, and why.

Everything else uses FiftyOne's public API; what it has no public form for
is here, so that a FiftyOne upgrade that changes these breaks this module
alone:

- **A dataset's id** (``Dataset._doc.id``): FiftyOne has no public id of a
  dataset. Ids key the leases, the input cache, the execution store of the
  tagging jobs and the raw queries below (names change on rename; ids not).
- **The runs of a dataset in memory** (``Dataset._doc.runs``, reloaded with
  ``_doc.reload("runs")``) and **its cached results** (``Dataset._run_cache``):
  another process may store, replace or delete a run at any time; these
  reload the run references alone and drop one run's cached results.
  ``Dataset.reload()`` would reload the whole dataset (schema, saved views)
  and drop every run's cached results.
- **The saved-view list, atomically**: ``Dataset.save_view`` reloads the
  list, appends and writes the *whole list* back, so a view that another
  process listed meanwhile is dropped from it. Runs save and delete their
  views with atomic ``$push``/``$pull`` updates of the dataset document
  instead (:mod:`fiftyone_prime.integration.runs.view_list`), through the
  raw collections of :func:`db`, and refresh the in-memory list with
  :func:`set_saved_views`.
- **Raw aggregation pipelines** (``SampleCollection._aggregate``): reading
  evaluation units needs a ``$project`` stage after the view's own stages,
  which FiftyOne's public aggregations do not take.
"""

from __future__ import annotations

from typing import Optional


def db():
    """FiftyOne's database (its ``datasets``, ``views`` and ``runs`` collections)."""
    import fiftyone.core.odm as foo

    return foo.get_db_conn()


def dataset_id(dataset):
    """The id of a dataset's document (an ``ObjectId``)."""
    return dataset._doc.id


def reload_runs(dataset) -> None:
    """Reloads the dataset's run references from the database."""
    dataset._doc.reload("runs")


def has_run_in_memory(dataset, run_key: str) -> bool:
    """Whether the dataset's in-memory document refers to the run."""
    return run_key in dataset._doc.runs


def cached_results(dataset, run_key: str):
    """The run's results that the dataset cached in this process, or None."""
    return dataset._run_cache.get(run_key)


def forget_results(dataset, run_key: str) -> None:
    """Drops the run's cached results, so the next load reads them."""
    dataset._run_cache.pop(run_key, None)


def stored_run(dataset, run_key: str) -> Optional[tuple]:
    """``(run document id, timestamp, results file id)`` of the run as the
    database has it now (not the dataset's in-memory document), or None."""
    conn = db()
    doc = conn.datasets.find_one({"_id": dataset_id(dataset)}, {f"runs.{run_key}": 1}) or {}
    ref = (doc.get("runs") or {}).get(run_key)
    if ref is None:
        return None
    ref = getattr(ref, "id", ref)
    run = conn.runs.find_one({"_id": ref}, {"timestamp": 1, "results": 1}) or {}
    return (ref, run.get("timestamp"), run.get("results"))


def set_saved_views(dataset, listed, docs_by_id: dict) -> None:
    """Sets the dataset's in-memory saved-view list to the ids ``listed``
    (view documents from ``docs_by_id``; an id without one stays a
    reference), as ``_doc.reload("saved_views")`` would, without marking it
    changed."""
    from bson import DBRef
    from mongoengine.base import BaseList

    from fiftyone.core.odm import SavedViewDocument

    doc = dataset._doc
    values = [
        SavedViewDocument._from_son(docs_by_id[i]) if i in docs_by_id else DBRef("views", i)
        for i in listed
    ]
    doc.saved_views = BaseList(values, doc, "saved_views")
    doc._changed_fields = [
        f for f in doc._changed_fields if f != "saved_views" and not f.startswith("saved_views.")
    ]


def aggregate(samples, **kwargs) -> list:
    """``samples._aggregate(pipeline=..., post_pipeline=...)``, as a list."""
    return list(samples._aggregate(**kwargs))
