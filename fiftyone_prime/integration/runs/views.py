"""Saved views of failure modes: names, descriptions and the matching view."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from bson import ObjectId, json_util

import fiftyone.core.utils as fou
from fiftyone import ViewField as F

from .. import fiftyone_private as fop
from . import leases, view_list
from .rows import describe

logger = logging.getLogger(__name__)

# FiftyOne's limit on saved view names.
_MAX_NAME = 1500


def view_name(run_key: str, group, tags: Iterable[str]) -> str:
    """A readable, stable saved-view name: ``"<run key> <class>: <tag> + <tag>"``."""
    name = f"{run_key} {group}: " + " + ".join(tags)
    return name[:_MAX_NAME]


def view_slug(name: str) -> str:
    """The URL slug FiftyOne derives from a saved view name (names collide by slug)."""
    return fou.to_slug(name)


def view_description(mode, run_key: str) -> str:
    """A one-paragraph description of a failure mode, stored on its saved view."""
    return describe(mode, run_key)


def failure_mode_view(samples, label_field: str, pred_field: str, group, sources, tag_keys):
    """The samples of ``group`` carrying every tag, correct and incorrect.

    Args:
        samples: the view the run searched
        label_field: the ground-truth field
        pred_field: the prediction field (samples without one were not
            searched, so they are left out here too)
        group: the class label
        sources: the :class:`fiftyone_prime.integration.reading.fields.TagSource` per tag field
        tag_keys: ``(field, label)`` per tag of the failure mode

    Returns:
        a :class:`fiftyone.core.view.DatasetView`
    """
    by_field: dict[str, list[str]] = {}
    for field, label in tag_keys:
        by_field.setdefault(field, []).append(label)
    source_of = {s.field: s for s in sources}
    # Labels are compared as literals: a class named "$cat" is not a field path.
    expr = (F(f"{label_field}.label") == F.literal(group)) & (
        F(f"{pred_field}.label") != None  # noqa: E711
    )
    for field, labels in by_field.items():
        expr &= source_of[field].match_expression(labels)
    return samples.match(expr)


# ------------------------------------------------------------ saving by id
#
# A run owns the saved views whose documents it wrote, tracked by id. The ids
# are generated (new_view_ids) and stored with the run's results before any
# view document is written, so a run killed at any point can still be cleaned
# up: delete_views removes the ids from the dataset's list and deletes the
# documents with those ids, whether or not they were ever listed.
#
# The dataset's saved-view list is only changed with atomic $addToSet/$pull
# updates on the dataset document, never by writing the whole list back, so
# concurrent writers that do the same never lose each other's views. FiftyOne's
# own Dataset.save_view() still reloads the list and writes it back whole; a
# view of ours listed between its reload and its write would be dropped from
# the list by it. save_views re-adds any of its ids missing from the list once
# all chunks are written, which closes that window except for a write landing
# after that final check (the views then stay owned by id and are still
# deleted with the run).

#: The most saved views a run creates by default; further failure modes stay
#: in the results without a view.
DEFAULT_MAX_VIEWS = 2000

# Views are written in chunks (one insert_many and one list update each) so
# the progress bar moves; the cost of saving N views is O(N).
_CHUNK = 500


def new_view_ids(n: int) -> list[str]:
    """Generates ``n`` ids for saved-view documents not written yet."""
    return [str(ObjectId()) for _ in range(n)]


def _db():
    import fiftyone.core.odm as foo

    return foo.get_db_conn()


def _oids(ids) -> list[ObjectId]:
    return [ObjectId(i) for i in ids]


def listed_views(dataset) -> list[dict]:
    """The ``{"_id", "name", "slug"}`` of the views on the dataset's saved-view
    list, read from the database in one query."""
    return view_list.find_views(
        view_list.listed_ids(fop.dataset_id(dataset)), {"name": 1, "slug": 1}
    )


def clashing_views(dataset, names, owned_ids=(), slugs=None) -> list[str]:
    """The names of listed views, not in ``owned_ids``, whose name or slug
    equals one of ``names`` or their slugs (``slugs``, when the caller has
    them already)."""
    wanted = set(names) | set(slugs if slugs is not None else map(view_slug, names))
    owned = set(_oids(owned_ids))
    return [
        v["name"]
        for v in listed_views(dataset)
        if v["_id"] not in owned and (v.get("name") in wanted or v.get("slug") in wanted)
    ]


def _view_documents(dataset_id, now, items, slugs) -> list[dict]:
    """The database documents of saved views, as FiftyOne's own
    :class:`fiftyone.core.odm.SavedViewDocument` writes them, under ids
    chosen beforehand.

    The class supplies everything but the per-view values: the field set,
    their database names (``_id``, ``_dataset_id``...) and the defaults come
    from one document it builds and serializes, and the first document is
    checked by its validation. Building a document object per view added
    about a fifth to the time of a whole save (10,000 views,
    ``benchmarks/save_views.py``), so the others are copies of that template
    with their own id, name, slug, stages and description.

    Args:
        dataset_id: the dataset's ``ObjectId``
        now: the creation time
        items: ``(view_id, name, view, description)`` tuples
        slugs: the names' slugs, in the same order

    Returns:
        a list of dicts, ready for ``insert_many``
    """
    import fiftyone.core.odm as foo

    cls = foo.SavedViewDocument
    db = {name: field.db_field for name, field in cls._fields.items()}
    template = cls(dataset_id=dataset_id, created_at=now, last_modified_at=now).to_mongo()
    docs = []
    for (view_id, name, view, description), slug in zip(items, slugs):
        doc = dict(template)
        doc[db["id"]] = ObjectId(view_id)
        doc[db["name"]] = name
        doc[db["slug"]] = slug
        doc[db["view_stages"]] = [json_util.dumps(s) for s in view._serialize(include_uuids=False)]
        if description is not None:
            doc[db["description"]] = description
        docs.append(doc)
    if docs:
        cls._from_son(docs[0]).validate()
    return docs


def save_views(dataset, items, progress=None) -> list[str]:
    """Saves many views on a dataset under ids chosen beforehand.

    A name already taken by a view that is not in ``items`` raises before
    anything is written. A view saved under one of the names by another
    writer while this runs wins: the view of ``items`` with that name is
    deleted again, and its name is returned.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset`
        items: a list of ``(view_id, name, view, description)``; the ids come
            from :func:`new_view_ids` and were recorded by the caller first
        progress (None): a FiftyOne ``progress`` argument

    Returns:
        the names of the views removed again because of a clash that
        appeared while saving (usually empty)

    Raises:
        ValueError: if a name (or its slug) is already taken
    """
    with view_list.paused_gc():
        return _save_views(dataset, items, progress)


def _save_views(dataset, items, progress) -> list[str]:
    ids = [item[0] for item in items]
    names = [item[1] for item in items]
    slugs = [view_slug(n) for n in names]  # computed once: FiftyOne's to_slug is not cheap
    clashes = clashing_views(dataset, names, owned_ids=ids, slugs=slugs)
    if clashes:
        raise ValueError(
            f"Dataset '{dataset.name}' already has saved views named {clashes[:3]}; "
            "they are never overwritten"
        )
    db = _db()
    dataset_id = fop.dataset_id(dataset)
    size = view_list.chunk_size(len(items))
    try:
        with fou.ProgressBar(total=len(items), progress=progress, iters_str="views") as pb:
            for start in range(0, len(items), size):
                end = start + size
                leases.check_held()  # a writer paused past its lease stops here
                now = datetime.datetime.utcnow()
                docs = _view_documents(dataset_id, now, items[start:end], slugs[start:end])
                db.views.insert_many(docs, ordered=False)
                _add_to_list(db, dataset_id, [d["_id"] for d in docs], now)
                pb.update(len(docs))
        leases.check_held()
    except leases.LeaseLostError:
        # Another writer owns the run key now: nothing of ours may stay listed
        # (its overwrite deleted the ids the run stored before these chunks).
        delete_views(dataset, ids)
        view_list.refresh(dataset)
        raise
    lost = _unlisted(db, dataset_id, ids)
    if lost:  # only documents that still exist (never a dangling reference)
        present = view_list.existing_ids(dataset_id, lost)
        lost = [i for i in lost if i in present]
    if lost:
        logger.debug("Re-adding %d views dropped from the list by another writer", len(lost))
        _add_to_list(db, dataset_id, lost, datetime.datetime.utcnow())
    removed = _remove_late_clashes(dataset, ids, names, slugs)
    view_list.refresh(dataset)
    return removed


def _add_to_list(db, dataset_id, oids, now) -> None:
    # $push guarded by $nin, not $addToSet: $addToSet compares each new id
    # with the whole list, which made saving N views quadratic (issue 22)
    view_list.append(dataset_id, oids, now)


def _unlisted(db, dataset_id, ids) -> list[ObjectId]:
    listed = set(view_list.listed_ids(dataset_id))
    return [oid for oid in _oids(ids) if oid not in listed]


def _remove_late_clashes(dataset, ids, names, slugs) -> list[str]:
    """Deletes the views of ``ids`` whose name another writer took meanwhile."""
    clashes = set(clashing_views(dataset, names, owned_ids=ids, slugs=slugs))
    if not clashes:
        return []
    clash_slugs = {view_slug(n) for n in clashes}
    drop = [(i, n) for i, n, s in zip(ids, names, slugs) if n in clashes or s in clash_slugs]
    logger.warning(
        "%d saved view names were taken by another writer while saving (e.g. %s); "
        "those failure modes keep no saved view",
        len(drop),
        [n for _, n in drop[:3]],
    )
    delete_views(dataset, [i for i, _ in drop])
    return [n for _, n in drop]


def delete_views(dataset, view_ids) -> int:
    """Deletes the saved views with the given ids, listed or not.

    The ids are first pulled from the dataset's saved-view list (an atomic
    update), then their documents are deleted, so the list never refers to a
    missing document. Views with other ids are never touched, whatever their
    names.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset`
        view_ids: ids of saved-view documents

    Returns:
        the number of view documents deleted
    """
    oids = _oids(view_ids)
    if not oids:
        return 0
    db = _db()
    dataset_id = fop.dataset_id(dataset)
    view_list.remove(dataset_id, oids)
    deleted = 0
    for start in range(0, len(oids), 10 * _CHUNK):
        part = oids[start : start + 10 * _CHUNK]
        deleted += db.views.delete_many(
            {"_id": {"$in": part}, "_dataset_id": dataset_id}
        ).deleted_count
    view_list.refresh(dataset)
    return deleted


def update_descriptions(dataset, descriptions: dict) -> None:
    """Sets the descriptions of a run's saved views, ``{view id: description}``,
    in one bulk write; views that no longer exist are skipped, and a view
    with another id is never touched, whatever its name."""
    from pymongo import UpdateOne

    if not descriptions:
        return
    now = datetime.datetime.utcnow()
    _db().views.bulk_write(
        [
            UpdateOne(
                {"_id": ObjectId(view_id), "_dataset_id": fop.dataset_id(dataset)},
                {"$set": {"description": text, "last_modified_at": now}},
            )
            for view_id, text in descriptions.items()
        ],
        ordered=False,
    )
    view_list.refresh(dataset)
