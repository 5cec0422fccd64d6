"""A fast first read of a search's inputs: raw BSON columns, several connections.

:func:`fiftyone_prime.integration.reading.fields.read_inputs` reads labels,
predictions and tags with FiftyOne's ``values()``, which builds a Python
object per label. Here the server projects each sample to
``{_id, g: label, p: prediction, t0: tags, ...}`` and the client receives the
documents as raw BSON batches, which a compiled kernel
(:mod:`fiftyone_prime.integration.reading.bson_columns`) turns into integer codes
without a Python object per value; only the distinct strings are decoded.
When the view's stages only filter or reshape each sample on its own (no
sort, skip, limit or grouping), the read is split over ``_id`` ranges served
by several connections at once, so MongoDB scans the ranges in parallel while
the kernel (which releases the GIL) decodes what has arrived.

Rows come sorted by ground-truth class (the search's result does not depend
on the row order), and the classes come as
:class:`~fiftyone_prime.core.CodedGroups`, so the search neither sorts the
labels nor reorders the rows. Data outside the kernel's shape (labels that
are not strings, a bare string in a list field, ...) is read with
``read_inputs`` instead, which accepts or refuses it with its own messages.

The result is the same :class:`SearchInputs` as ``read_inputs`` (same tag
columns, labels, correctness and counts of missing labels), with the sample
ids of the used rows in ``extra["_id"]`` (12-byte ``ObjectId`` values as a
``(n, 12)`` ``uint8`` array). Class and tag names are data here, never
expressions: a name such as ``"$snow"`` is read back as that text.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from itertools import pairwise
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp
from pymongo.errors import OperationFailure

from ...core.groups import CodedGroups
from . import fields as fpf
from .bson_columns import ColumnReader, sorted_rows_csr
from .raw_batches import aggregate_raw_batches

logger = logging.getLogger(__name__)

#: The most connections one read uses.
MAX_CONNECTIONS = 8

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
    batch_size: int = 8192,
    baseline_field: Optional[str] = None,
) -> fpf.SearchInputs:
    """Reads a search's inputs like :func:`fiftyone_prime.integration.reading.fields.read_inputs`,
    faster.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: the ground-truth ``Classification`` field
        pred_field: the predicted ``Classification`` field
        tags_field: one tag field or several (or their resolved
            :class:`~fiftyone_prime.integration.reading.fields.TagSource` list)
        connections (None): how many connections to read with; None is
            :func:`default_connections`. The view is read in ``_id`` ranges
            of :data:`RANGE_SIZE` samples, that many at a time; views that
            sort, skip, limit or group are read whole, over one connection
        batch_size (8192): samples per server batch
        baseline_field (None): another ``Classification`` field (a second
            model's predictions) whose labels to read too, for the used
            samples, into ``extra["<baseline_field>.label"]`` (None where
            missing), as ``read_inputs(..., extra_paths=[...])`` does

    Returns:
        a :class:`SearchInputs`, its used samples' ids in ``extra["_id"]``
        and its classes in ``group_codes`` (rows sorted by class)

    Raises:
        as ``read_inputs``
    """
    fpf.validate_classification_field(samples, label_field, "label_field")
    fpf.validate_classification_field(samples, pred_field, "pred_field")
    sources = fpf.tag_sources(samples, tags_field)
    extra_paths = [] if baseline_field is None else [f"{baseline_field}.label"]

    def values_read(why):
        logger.debug("%s; reading with values()", why)
        return fpf.read_inputs(samples, label_field, pred_field, sources, extra_paths)

    project = {
        "_id": True,
        "g": f"${_db_path(samples, label_field)}.label",
        "p": f"${_db_path(samples, pred_field)}.label",
    }
    for i, source in enumerate(sources):
        project[f"t{i}"] = "$" + fpf.TAG_KINDS[source.kind].format(
            field=_db_path(samples, source.field)
        )
    if baseline_field is not None:
        project["b"] = f"${_db_path(samples, baseline_field)}.label"
    is_list = [source.kind != "classification" for source in sources]
    try:
        parts = read_columns(
            samples,
            [{"$project": project}],
            is_list,
            connections=connections,
            batch_size=batch_size,
        )
    except OperationFailure as e:
        logger.warning("The projected read failed (%s); reading with values()", e)
        return values_read("The projected read failed")
    if parts is None:
        return values_read("Labels or tags of another shape than strings")
    return _assemble(parts, sources, label_field, pred_field, extra_paths)


def read_columns(
    samples,
    stages: list,
    is_list: list[bool],
    *,
    connections: Optional[int] = None,
    batch_size: int = 8192,
) -> Optional[list[ColumnReader]]:
    """Reads ``samples`` through ``stages`` (which end in documents of the
    kernel's shape, ``{_id, g, p, b, t0, ...}``; see
    :mod:`fiftyone_prime.integration.reading.bson_columns`) into columns, one
    :class:`ColumnReader` per ``_id`` range, in the view's order.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        stages: the stages after the view's, ending in the kernel's shape
        is_list: per tag column ``t<i>``, whether its value is a list
        connections (None), batch_size (8192): as in :func:`read_inputs_fast`

    Returns:
        the parts, or None when a value is of another shape than the kernel
        reads (the caller reads with ``values()`` then)

    Raises:
        OperationFailure: when the server cannot run the pipeline
    """
    view_pipeline = samples._pipeline()
    collection = samples._dataset._sample_collection
    n_conn = default_connections() if connections is None else max(1, int(connections))
    # Ranges of RANGE_SIZE samples, several at a time: MongoDB scans one range
    # while the kernel decodes another.
    bounds = _id_bounds(collection, RANGE_SIZE) if splittable(samples) else [None]
    unsupported = threading.Event()

    def read_range(bound) -> Optional[ColumnReader]:
        pipeline = [*id_range_match(bound), *view_pipeline, *stages]
        columns = ColumnReader(is_list)
        with closing(aggregate_raw_batches(collection, pipeline, batch_size)) as batches:
            for batch in batches:
                if unsupported.is_set() or not columns.feed(batch):
                    unsupported.set()
                    return None
        return columns

    if len(bounds) == 1:
        parts = [read_range(bounds[0])]
    else:
        with ThreadPoolExecutor(min(n_conn, len(bounds))) as pool:
            parts = list(pool.map(read_range, bounds))
    return None if unsupported.is_set() else parts


def id_range_match(bound) -> list:
    """The stages that keep the samples of an ``_id`` range ``(lo, hi)``
    (None: open on that side): a ``$match``, or nothing for the whole view."""
    cond = {}
    if bound is not None:
        lo, hi = bound
        if lo is not None:
            cond["$gte"] = lo
        if hi is not None:
            cond["$lt"] = hi
    return [{"$match": {"_id": cond}}] if cond else []


def _db_path(samples, field_name: str) -> str:
    """The path of ``field_name`` in the database (a nested field keeps its
    parents: ``models.gt`` is read at ``models.gt``)."""
    return samples._handle_db_field(field_name)


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


def _lookups(parts: list[ColumnReader], table: int, base: int = 0):
    """The sorted distinct strings of ``table`` over all parts, and per part
    the map from its codes to their rank (plus ``base``), with a last entry
    -1 for "none" (so that code -1 maps to -1)."""
    per_part = [part.strings(table) for part in parts]
    distinct = sorted(set().union(*per_part))
    rank = {s: base + i for i, s in enumerate(distinct)}
    maps = [np.array([rank[s] for s in strings] + [-1], dtype=np.int64) for strings in per_part]
    return distinct, maps


def label_codes(parts: list[ColumnReader], column: str) -> np.ndarray:
    """Per row of all parts, its code in ``column`` (``"gt"``, ``"pred"`` or
    ``"base"``: table 0) as an index into :func:`label_table`'s classes, -1
    where missing."""
    _, maps = label_table(parts)
    return np.concatenate([m[getattr(p, column)[: p.num_rows]] for m, p in zip(maps, parts)])


def label_table(parts: list[ColumnReader]):
    """The sorted distinct strings of table 0 (labels and predictions) over
    all parts, and per part the map from its codes to their rank."""
    return _lookups(parts, 0)


def tag_entries(parts: list[ColumnReader], fields: Sequence[str]):
    """The tag columns of all parts: ``(keys, cols, starts, counts)``, keys
    ``(field, label)`` by field, then label (the labels sorted), each entry's
    column, and per row where its entries start and how many it has."""
    keys: list[tuple[str, str]] = []
    part_maps: list[list[np.ndarray]] = [[] for _ in parts]
    for s, field in enumerate(fields):
        distinct, maps = _lookups(parts, 1 + s, base=len(keys))
        keys.extend((field, label) for label in distinct)
        for i, m in enumerate(maps):
            part_maps[i].append(m[:-1])
    entry_cols = []
    for part, maps in zip(parts, part_maps):
        n = int(part.state[1])
        table_start = np.cumsum([0, 0, *(len(m) for m in maps)])  # tables start at 1
        combined = np.concatenate([*maps, np.zeros(0, np.int64)])
        entry_cols.append(
            combined[table_start[part.entry_table[:n]] + part.entry_code[:n]]
            if n
            else np.zeros(0, np.int64)
        )
    cols = np.concatenate(entry_cols)
    counts = np.concatenate([part.entry_counts() for part in parts])
    starts = np.cumsum(counts) - counts
    return keys, cols, starts, counts


def rows_by_class(used_idx, gt, classes, entries, keep_unused_tags: bool = False):
    """The used rows sorted (stably) by class, their tag matrix and classes.

    Args:
        used_idx: the rows to keep
        gt: per row, its class code into ``classes``
        classes: the sorted distinct labels
        entries: :func:`tag_entries`' output
        keep_unused_tags (False): whether to keep the columns of tags that
            only left-out rows carry (empty columns)

    Returns:
        ``(rows, tags, keys, groups)``: the rows in their new order, the CSR
        tag matrix, its ``(field, label)`` keys and the rows' classes as
        :class:`~fiftyone_prime.core.CodedGroups`
    """
    keys, cols, starts, counts = entries
    codes = gt[used_idx]
    present = np.bincount(codes, minlength=len(classes)) > 0
    renumber = np.cumsum(present) - 1
    codes = renumber[codes]
    order = np.argsort(codes, kind="stable")
    rows = used_idx[order]
    indptr, indices = sorted_rows_csr(rows, starts, counts, cols, len(keys))
    used_cols = np.bincount(indices, minlength=len(keys)) > 0
    if not keep_unused_tags and not used_cols.all():  # tags only left-out rows carry
        indices = (np.cumsum(used_cols) - 1)[indices].astype(np.int32)
        keys = [k for k, u in zip(keys, used_cols) if u]
    tags = sp.csr_matrix(
        (np.ones(len(indices), dtype=bool), indices, indptr), shape=(len(rows), len(keys))
    )
    groups = CodedGroups(codes[order], tuple(c for c, p in zip(classes, present) if p))
    return rows, tags, keys, groups


def _assemble(
    parts: list[ColumnReader], sources, label_field, pred_field, extra_paths=()
) -> fpf.SearchInputs:
    num_samples = sum(part.num_rows for part in parts)
    if num_samples == 0:
        raise ValueError("The view is empty; there is nothing to search. Check the view's filters")
    classes, _ = label_table(parts)
    gt, pred = label_codes(parts, "gt"), label_codes(parts, "pred")
    missing_label = gt < 0
    missing_pred = (pred < 0) & ~missing_label
    used_idx = np.flatnonzero(~(missing_label | missing_pred))
    fpf.check_used(
        len(used_idx), num_samples, missing_label, missing_pred, label_field, pred_field, logger
    )
    entries = tag_entries(parts, [source.field for source in sources])
    rows, tags, keys, groups = rows_by_class(used_idx, gt, classes, entries)
    ids = np.concatenate([part.ids[: part.num_rows] for part in parts])
    extra = {"_id": ids[rows]}
    for path in extra_paths:  # the baseline's labels (None where missing)
        base = label_codes(parts, "base")
        names = np.empty(len(classes) + 1, dtype=object)
        names[: len(classes)] = classes  # code -1 reads the last entry: None
        extra[path] = names[base[rows]]
    return fpf.SearchInputs(
        tags=tags,
        tag_keys=keys,
        labels=groups.decoded(),
        correct=gt[rows] == pred[rows],
        num_samples=num_samples,
        num_missing_label=int(missing_label.sum()),
        num_missing_prediction=int(missing_pred.sum()),
        extra=extra,
        sources=sources,
        group_codes=groups,
    )
