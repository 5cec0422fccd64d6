"""Saved views of failure modes: names, descriptions and the matching view."""

from __future__ import annotations

import datetime
import logging
from typing import Iterable

from bson import json_util

import fiftyone.core.utils as fou
from fiftyone import ViewField as F

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
        sources: the :class:`fiftyone_prime.integration.fields.TagSource` per tag field
        tag_keys: ``(field, label)`` per tag of the failure mode

    Returns:
        a :class:`fiftyone.core.view.DatasetView`
    """
    by_field: dict[str, list[str]] = {}
    for field, label in tag_keys:
        by_field.setdefault(field, []).append(label)
    source_of = {s.field: s for s in sources}
    expr = (F(f"{label_field}.label") == group) & (F(f"{pred_field}.label") != None)  # noqa: E711
    for field, labels in by_field.items():
        expr &= source_of[field].match_expression(labels)
    return samples.match(expr)


# Saved views are written in chunks: each chunk's view documents first, then
# one update of the dataset's list. Saving views one by one through
# Dataset.save_view reloads and rewrites the dataset document per view
# (~30 ms each), which dominated runs with hundreds of failure modes.
_CHUNK = 200


def save_views(dataset, items, progress=None) -> None:
    """Saves many views on a dataset, never overwriting an existing one.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset`
        items: a list of ``(name, view, description)``
        progress (None): a FiftyOne ``progress`` argument

    Raises:
        ValueError: if a name (or its slug) is already taken
    """
    with fou.ProgressBar(total=len(items), progress=progress, iters_str="views") as pb:
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            try:
                _save_chunk_fast(dataset, chunk)
            except (AttributeError, ImportError, TypeError) as e:  # FiftyOne internals moved
                logger.debug("Saving views one by one (%s)", e)
                for name, view, description in chunk:
                    dataset.save_view(name, view, description=description)
            pb.update(len(chunk))


def _save_chunk_fast(dataset, chunk) -> None:
    import fiftyone.core.odm as foo

    doc = dataset._doc
    doc.reload("saved_views")
    taken = {v.slug for v in doc.get_saved_views()} | {v.name for v in doc.get_saved_views()}
    now = datetime.datetime.utcnow()
    view_docs = []
    for name, view, description in chunk:
        slug = view_slug(name)
        if slug in taken or name in taken:
            raise ValueError(f"Saved view name '{name}' is not available")
        view_docs.append(
            foo.SavedViewDocument(
                dataset_id=doc.id,
                name=name,
                slug=slug,
                description=description,
                color=None,
                view_stages=[json_util.dumps(s) for s in view._serialize(include_uuids=False)],
                created_at=now,
                last_modified_at=now,
            )
        )
        taken |= {slug, name}
    for view_doc in view_docs:
        view_doc.save(upsert=True)
    doc.reload("saved_views")
    doc.saved_views.extend(view_docs)
    doc.last_modified_at = now
    doc.save(virtual=True)


def delete_views(dataset, names) -> list[str]:
    """Deletes the saved views with the given names that exist; returns them."""
    names = set(names)
    present = [n for n in dataset.list_saved_views() if n in names]
    if not present:
        return []
    try:
        _delete_fast(dataset, names)
    except (AttributeError, ImportError, TypeError) as e:  # FiftyOne internals moved
        logger.debug("Deleting views one by one (%s)", e)
        for name in present:
            if dataset.has_saved_view(name):
                dataset.delete_saved_view(name)
    return present


def _delete_fast(dataset, names: set) -> None:
    doc = dataset._doc
    doc.reload("saved_views")
    keep, drop = [], []
    for view_doc in doc.saved_views:
        (drop if getattr(view_doc, "name", None) in names else keep).append(view_doc)
    for view_doc in drop:
        view_doc.delete()
    doc.saved_views = keep
    dataset.save()


def update_descriptions(dataset, descriptions: dict) -> None:
    """Sets the descriptions of existing saved views, ``{name: description}``;
    views that no longer exist are skipped."""
    existing = set(dataset.list_saved_views())
    for name, text in descriptions.items():
        if name in existing:
            dataset.update_saved_view_info(name, {"description": text})
