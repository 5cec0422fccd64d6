"""A fast first read of a search's inputs: a lean aggregation, several connections.

:func:`fiftyone_prime.integration.fields.read_inputs` reads labels,
predictions and tags with FiftyOne's ``values()``, which builds a Python
object per label. Here the server returns flat arrays
(``{i: [id, ...], g: [label, ...], p: [prediction, ...], t0: [[tag, ...], ...]}``) and the sparse tag matrix
is built once the documents have arrived. Consecutive samples travel together
(up to 256 per document, grouped by their id's prefix), so the client decodes
a few thousand documents of arrays, not one per sample. When the view's stages only
filter or reshape each sample on its own (no sort, skip, limit or grouping),
the read is split over ``_id`` ranges and served by several connections at
once, so MongoDB scans the ranges in parallel. Rows come in the order of
the id prefixes (the search's result does not depend on the row order).
Should a document of 256 samples' labels exceed MongoDB's 16 MB, the read
falls back to ``read_inputs`` (without ids).

The result is the same :class:`SearchInputs` as ``read_inputs`` (same tag
columns, labels, correctness and counts of missing labels), with the sample
ids of the used rows in ``extra["_id"]`` (12-byte ``ObjectId`` values as a
``(n, 12)`` ``uint8`` array). Class and tag names are data here, never
expressions: a name such as ``"$snow"`` is read back as that text.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, pairwise
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp
from pymongo.errors import OperationFailure

from . import fields as fpf

logger = logging.getLogger(__name__)

#: The most connections one read uses.
MAX_CONNECTIONS = 8

#: Samples travel in documents of those whose ids share this many leading hex
#: digits (22: at most 256 consecutive ids, some 70 kB for a dozen tags each).
ID_PREFIX = 22

#: Samples per ``_id`` range read by one aggregation.
RANGE_SIZE = 100_000

#: View stages that act on each sample by itself: a read split over ``_id``
#: ranges gives the same samples as the whole view.
PER_SAMPLE_STAGES = frozenset(
    {
        "Exclude",
        "ExcludeBy",
        "ExcludeFields",
        "ExcludeLabels",
        "Exists",
        "FilterField",
        "FilterLabels",
        "FilterKeypoints",
        "LimitLabels",
        "MapLabels",
        "MapValues",
        "Match",
        "MatchLabels",
        "MatchTags",
        "SelectFields",
        "SelectLabels",
        "SetField",
    }
)


def splittable(samples) -> bool:
    """Whether a read of ``samples`` may be split over ``_id`` ranges."""
    stages = getattr(samples, "_stages", [])
    for stage in stages:
        name = type(stage).__name__
        if name in PER_SAMPLE_STAGES:
            continue
        if name in ("Select", "SelectBy") and not getattr(stage, "_ordered", False):
            continue
        return False
    return True


def default_connections() -> int:
    """As many connections as the machine has cores, at most
    :data:`MAX_CONNECTIONS`."""
    return max(1, min(MAX_CONNECTIONS, os.cpu_count() or 1))


def read_inputs_fast(
    samples,
    label_field: str,
    pred_field: str,
    tags_field: Union[str, Sequence[str]],
    *,
    connections: Optional[int] = None,
    batch_size: int = 64,
) -> fpf.SearchInputs:
    """Reads a search's inputs like :func:`fiftyone_prime.integration.fields.read_inputs`,
    faster.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: the ground-truth ``Classification`` field
        pred_field: the predicted ``Classification`` field
        tags_field: one tag field or several
        connections (None): how many connections to read with; None is
            :func:`default_connections`. The view is read in ``_id`` ranges
            of :data:`RANGE_SIZE` samples, that many at a time; views that
            sort, skip, limit or group are read whole, over one connection
        batch_size (64): documents (of up to 256 samples each) per server batch

    Returns:
        a :class:`SearchInputs`, its used samples' ids in ``extra["_id"]``

    Raises:
        as ``read_inputs``
    """
    fpf.validate_classification_field(samples, label_field, "label_field")
    fpf.validate_classification_field(samples, pred_field, "pred_field")
    sources = fpf.tag_sources(samples, tags_field)

    # Consecutive samples (ids sharing all but their last two hex digits, so at
    # most 256) travel as one document of arrays: far fewer documents to decode.
    def pushed(path):
        return {"$push": {"$ifNull": [f"${path}", None]}}

    group = {
        "_id": {"$substrBytes": [{"$toString": "$_id"}, 0, ID_PREFIX]},
        "i": {"$push": "$_id"},
        "g": pushed(f"{_db_path(samples, label_field)}.label"),
        "p": pushed(f"{_db_path(samples, pred_field)}.label"),
    }
    for i, source in enumerate(sources):
        group[f"t{i}"] = pushed(
            fpf.TAG_KINDS[source.kind].format(field=_db_path(samples, source.field))
        )
    view_pipeline = samples._pipeline()
    collection = samples._dataset._sample_collection
    n_conn = default_connections() if connections is None else max(1, int(connections))
    # Ranges of RANGE_SIZE samples, several at a time: MongoDB scans and groups
    # one range while the client decodes another, and no range's $group holds
    # more than a few tens of MB (past 100 MB it would spill to disk).
    bounds = _id_bounds(collection, RANGE_SIZE) if splittable(samples) else [None]

    def read_range(bound):
        pipeline = []
        if bound is not None:
            lo, hi = bound
            cond = {}
            if lo is not None:
                cond["$gte"] = lo
            if hi is not None:
                cond["$lt"] = hi
            if cond:
                pipeline.append({"$match": {"_id": cond}})
        pipeline += view_pipeline
        pipeline += [{"$group": group}, {"$sort": {"_id": 1}}]
        cursor = collection.aggregate(pipeline, allowDiskUse=True, batchSize=batch_size)
        return _Chunks(len(sources)).consume(cursor)

    try:
        if len(bounds) == 1:
            parts = [read_range(bounds[0])]
        else:
            with ThreadPoolExecutor(min(n_conn, len(bounds))) as pool:
                parts = list(pool.map(read_range, bounds))
    except OperationFailure as e:
        logger.warning("The grouped read failed (%s); reading with values()", e)
        return fpf.read_inputs(samples, label_field, pred_field, tags_field)
    return _assemble(parts, sources, label_field, pred_field)


def _db_path(samples, field_name: str) -> str:
    field = samples.get_field(field_name)
    return getattr(field, "db_field", None) or field_name


def _id_bounds(collection, size: int) -> list:
    """Contiguous ``_id`` ranges of about ``size`` samples each, read off the
    ``_id`` index (an ``(lo, hi)`` pair each; None is open). Each cut skips
    ``size`` index keys past the last, so finding them all walks the index once."""
    cuts = []
    last = None
    while True:
        query = {} if last is None else {"_id": {"$gte": last}}
        doc = next(
            collection.find(query, {"_id": True})
            .sort("_id", 1)
            .skip(size)
            .limit(1)
            .hint([("_id", 1)]),
            None,
        )
        if doc is None:
            break
        last = doc["_id"]
        cuts.append(last)
    if not cuts:
        return [None]
    edges = [None, *cuts, None]
    return list(pairwise(edges))


class _Chunks:
    """The documents of one range, gathered batch by batch into flat arrays."""

    def __init__(self, num_sources: int):
        self.num_sources = num_sources
        self.ids: list[bytes] = []
        self.labels: list = []
        self.preds: list = []
        self.tags: list[list] = [[] for _ in range(num_sources)]

    def consume(self, cursor) -> _Chunks:
        ids, labels, preds = self.ids, self.labels, self.preds
        getters = [f"t{i}" for i in range(self.num_sources)]
        tags = self.tags
        for doc in cursor:
            ids.extend(oid.binary for oid in doc["i"])
            labels.extend(doc["g"])
            preds.extend(doc["p"])
            for lst, key in zip(tags, getters):
                lst.extend(doc[key])
        return self


def _per_sample(values, kind: str) -> list:
    """Each sample's labels as a sequence (empty when missing)."""
    if kind == "classification":
        return [() if v is None else (v,) for v in values]
    return [v or () for v in values]


def _assemble(parts, sources, label_field, pred_field) -> fpf.SearchInputs:
    ids = list(chain.from_iterable(p.ids for p in parts))
    labels = list(chain.from_iterable(p.labels for p in parts))
    preds = list(chain.from_iterable(p.preds for p in parts))
    num_samples = len(labels)
    if num_samples == 0:
        raise ValueError("The view is empty; there is nothing to search. Check the view's filters")
    labels_arr = np.asarray(labels, dtype=object)
    preds_arr = np.asarray(preds, dtype=object)
    missing_label = np.equal(labels_arr, None)
    missing_pred = np.equal(preds_arr, None)
    missing_pred &= ~missing_label
    used = ~(missing_label | missing_pred)
    if not used.any():
        raise ValueError(
            f"None of the {num_samples} samples has both a '{label_field}' label and a "
            f"'{pred_field}' prediction"
        )
    if not used.all():
        logger.warning(
            "Leaving out %d samples without a '%s' label and %d without a '%s' prediction",
            int(missing_label.sum()),
            label_field,
            int(missing_pred.sum()),
            pred_field,
        )
    fpf.check_label_types(labels_arr[used], label_field, "label_field")
    fpf.check_label_types(preds_arr[used], pred_field, "pred_field")
    used_idx = np.flatnonzero(used)
    all_used = len(used_idx) == num_samples
    per_source = []
    for i, source in enumerate(sources):
        values = list(chain.from_iterable(p.tags[i] for p in parts))
        if not all_used:
            values = [values[j] for j in used_idx]
        fpf.check_list_values(values, source)
        per_source.append(_per_sample(values, source.kind))
    tags, keys = _matrix(per_source, sources, len(used_idx))
    labels_used = labels_arr[used]
    id_bytes = np.frombuffer(b"".join(ids), dtype=np.uint8).reshape(num_samples, 12)
    return fpf.SearchInputs(
        tags=tags,
        tag_keys=keys,
        labels=np.asarray(labels_used.tolist(), dtype=object),
        correct=labels_used == preds_arr[used],
        num_samples=num_samples,
        num_missing_label=int(missing_label.sum()),
        num_missing_prediction=int(missing_pred.sum()),
        extra={"_id": id_bytes[used]},
        sources=sources,
    )


def _matrix(per_source, sources, n_used) -> tuple[sp.csr_matrix, list]:
    """The CSR tag matrix, columns by source then sorted label (as
    :func:`fiftyone_prime.integration.fields._tag_matrix`)."""
    import pandas as pd

    keys: list[tuple[str, str]] = []
    cols: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for source, per_sample in zip(sources, per_source):
        lengths = np.fromiter(map(len, per_sample), dtype=np.int64, count=n_used)
        flat = np.empty(int(lengths.sum()), dtype=object)
        flat[:] = list(chain.from_iterable(per_sample))
        # Hash-based codes in C (None gets -1), then renumbered in sorted order.
        codes, uniques = pd.factorize(flat, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
        order = np.argsort(uniques.astype(str), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order)) + len(keys)
        keys.extend((source.field, label) for label in uniques[order].tolist())
        row = np.repeat(np.arange(n_used), lengths)
        keep = codes >= 0
        col = rank[codes[keep]] if len(rank) else np.zeros(0, np.int64)
        rows.append(row[keep])
        cols.append(col)
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    matrix = sp.csr_matrix((np.ones(len(row), dtype=bool), (row, col)), shape=(n_used, len(keys)))
    matrix.sum_duplicates()
    return matrix, keys
