"""Search inputs kept beside the dataset, reused while nothing they came from changed.

A search reads labels, predictions and tags out of MongoDB; that read is most
of a run's time. :func:`load_search_inputs` keeps what it read (the sparse tag
matrix, correctness, the class of each row, the sample ids) in a compact
binary file, keyed by what it was read from:

- the dataset (its id), the view's stages, the label, prediction and tag
  fields (names and types);

and stamped with a cheap check that no sample of the *dataset* changed since
(so none of the view's did either):

- the number of samples (the collection's stored count) and the largest
  ``last_modified_at`` (FiftyOne sets it on every sample write: ``save()``,
  ``set_values()``, ``tag_samples()``, adding samples; read off its index). A deleted sample lowers the count; an
  added or edited one raises the largest time.

A later search on the same view reuses the file only when the check still
matches; otherwise it reads afresh (and replaces the file). A search with
``reuse=False`` reads afresh and replaces the entry it would have used (so an
entry made stale by a write the check cannot see is gone after it). Each file
carries a checksum of its arrays; a file that does not match it is read
afresh. Views whose
stages depend on more than the samples' own fields (``sort_by_similarity``,
``geo_near``, raw ``mongo`` stages, ``shuffle``/``take`` without a seed) and
grouped or video datasets are never cached. Writes that bypass FiftyOne (raw
``pymongo`` updates that do not set ``last_modified_at``) are not seen.

Files live under ``$FIFTYONE_PRIME_CACHE_DIR`` (default
``~/.fiftyone/prime/inputs``), one folder per dataset id, at most
:data:`MAX_ENTRIES_PER_DATASET` files each; :func:`clear_input_cache`
removes them. Each folder names its database (:data:`OWNER_FILE`), by the
database's own identity (the id of its FiftyOne config document and its
name), not by the URI used to reach it; when a search caches new inputs,
the folders of datasets since deleted from the same database are removed
(folders of other databases are left alone).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp

from ...core.groups import CodedGroups
from .. import fiftyone_private as fop
from . import fields as fpf
from . import reader

logger = logging.getLogger(__name__)

#: Cache files kept per dataset (the most recently used).
MAX_ENTRIES_PER_DATASET = 8

#: Search inputs kept in this process's memory (the most recently used).
MAX_IN_MEMORY = 2

FORMAT_VERSION = 3  # 2: a checksum of the arrays; 3: units' scores

#: In each dataset's folder: the database the dataset lives in.
OWNER_FILE = "database.json"

#: Stages whose output depends on more than each sample's own fields.
UNCACHEABLE_STAGES = frozenset({"SortBySimilarity", "GeoNear", "GeoWithin", "Mongo"})

_memory: OrderedDict = OrderedDict()


@dataclass
class InputsReport:
    """How a search got its inputs.

    Attributes:
        source: ``"memory"``, ``"disk"`` (reused), ``"read"`` (read afresh)
        reason: why they were read afresh (``""`` when reused)
        seconds: how long getting them took
        path: the cache file, when there is one
    """

    source: str
    reason: str
    seconds: float
    path: Optional[str] = None

    @property
    def reused(self) -> bool:
        return self.source in ("memory", "disk")


def cache_dir() -> Path:
    """The folder of cached inputs."""
    env = os.environ.get("FIFTYONE_PRIME_CACHE_DIR")
    if env:
        return Path(env)
    return Path.home() / ".fiftyone" / "prime" / "inputs"


def cacheable(samples) -> tuple[bool, str]:
    """Whether inputs read from ``samples`` may be cached, and why not."""
    if getattr(samples, "media_type", None) not in ("image", None):
        return False, f"a {samples.media_type} collection"
    if samples._dataset._is_generated:
        return False, "a generated view (patches, frames, clips)"
    for stage in getattr(samples, "_stages", []):
        name = type(stage).__name__
        if name in UNCACHEABLE_STAGES:
            return False, f"its {name} stage depends on more than the samples"
        if name in ("Shuffle", "Take") and getattr(stage, "_seed", None) is None:
            return False, f"its {name} stage has no seed"
    return True, ""


def cache_key(samples, label_field: str, pred_field: str, sources, baseline_field=None) -> str:
    """A digest of what the inputs are read from: dataset, view stages,
    fields and their types (and a regression's baseline field)."""
    what = {
        "label_field": label_field,
        "pred_field": pred_field,
        "tags": [[s.field, s.kind] for s in sources],
    }
    if baseline_field:  # label runs keep the keys they had
        what["baseline_field"] = baseline_field
    names = [label_field, pred_field, *(s.field for s in sources)]
    return _digest(samples, what, names + ([baseline_field] if baseline_field else []))


def _digest(samples, what: dict, field_names: Sequence[str]) -> str:
    """A digest of ``what`` is read, with the dataset, the view's stages
    and the types of ``field_names``."""
    stages = []
    for stage in getattr(samples, "_stages", []):
        d = stage._serialize()
        d.pop("_uuid", None)
        stages.append(d)
    what = {
        **what,
        "version": FORMAT_VERSION,
        "dataset": str(fop.dataset_id(samples._dataset)),
        "collection": samples._dataset._sample_collection_name,
        "stages": stages,
        "schema": {name: fpf._describe_field(samples.get_field(name)) for name in field_names},
    }
    blob = json.dumps(what, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def dataset_check(samples) -> list:
    """``[count, largest last_modified_at in ms]`` over the whole dataset:
    changes when any sample is added, deleted or edited."""
    collection = samples._dataset._sample_collection
    # The collection's stored count (O(1)): every insert and delete moves it.
    # After an unclean shutdown it may be off until validated, but it still
    # moves with each later insert or delete, which is all this check needs.
    count = collection.estimated_document_count()
    doc = next(
        collection.find({}, {"last_modified_at": True}).sort("last_modified_at", -1).limit(1),
        None,
    )
    last = doc.get("last_modified_at") if doc else None
    stamp = None if last is None else round(last.timestamp() * 1000)
    return [int(count), stamp]


def load_search_inputs(
    samples,
    label_field: str,
    pred_field: str,
    tags_field: Union[str, Sequence[str]],
    *,
    reuse: bool = True,
    connections: Optional[int] = None,
    baseline_field: Optional[str] = None,
) -> tuple[fpf.SearchInputs, InputsReport]:
    """The search inputs of ``samples``: reused when cached and unchanged,
    else read with :func:`fiftyone_prime.integration.reading.reader.read_inputs_fast`
    (and cached).

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field, pred_field, tags_field: as in ``read_inputs``
        reuse (True): whether to reuse cached inputs (and cache these). False
            always reads afresh, and replaces the cached entry of the same
            view and fields when there is one (it may be stale)
        connections (None): passed to the fast reader
        baseline_field (None): a second model's ``Classification`` field
            whose labels to read too (a regression search), into
            ``extra["<baseline_field>.label"]`` as the fast reader does

    Returns:
        ``(inputs, report)``: a :class:`SearchInputs` and an
        :class:`InputsReport`
    """
    start = time.perf_counter()
    fpf.validate_classification_field(samples, label_field, "label_field")
    fpf.validate_classification_field(samples, pred_field, "pred_field")
    sources = fpf.tag_sources(samples, tags_field)
    fresh = functools.partial(
        reader.read_inputs_fast,
        samples,
        label_field,
        pred_field,
        sources,
        connections=connections,
        baseline_field=baseline_field,
    )
    return _cached(
        samples,
        lambda: cache_key(samples, label_field, pred_field, sources, baseline_field),
        fresh,
        sources,
        reuse=reuse,
        start=start,
    )


def load_unit_inputs(samples, spec, sources, *, reuse: bool = True):
    """The units of ``samples`` (an evaluation run's objects or samples):
    reused when cached and unchanged, else read with
    :func:`fiftyone_prime.integration.reading.units.read_units` (and cached),
    as :func:`load_search_inputs` does for label runs.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        spec: the :class:`~fiftyone_prime.integration.reading.units.UnitSpec`
        sources: its tag sources
            (:func:`~fiftyone_prime.integration.reading.units.unit_tag_sources`)
        reuse (True): as in :func:`load_search_inputs`

    Returns:
        ``(inputs, report)``: a
        :class:`~fiftyone_prime.integration.reading.units.UnitInputs` and an
        :class:`InputsReport`
    """
    from . import units as fpu

    start = time.perf_counter()

    def key():
        fields = [spec.group_field, spec.gt_field, spec.pred_field, spec.baseline_field]
        fields += [s.field for s in sources if s.level == "image"]
        what = {
            "units": spec.to_dict(),
            "tags": [[s.field, s.kind, s.level, s.attr] for s in sources],
        }
        return _digest(samples, what, [f for f in fields if f])

    fresh = functools.partial(fpu.read_units, samples, spec, sources)
    return _cached(samples, key, fresh, sources, reuse=reuse, start=start)


def _cached(samples, key_of, fresh, sources, *, reuse: bool, start: float):
    """``fresh()``'s inputs, or the cached ones of the key ``key_of()`` while
    no sample changed (see :func:`load_search_inputs`)."""
    ok, why = cacheable(samples)
    if not ok:
        inputs = fresh()
        return inputs, InputsReport("read", why, time.perf_counter() - start)

    key = key_of()
    check = dataset_check(samples)  # before reading: a write during the read shows next time
    path = cache_dir() / str(fop.dataset_id(samples._dataset)) / f"{key}.npz"
    if not reuse:
        inputs = fresh()
        if key in _memory or path.exists():  # a fresh read replaces the entry
            _store(key, path, check, inputs)
        return inputs, InputsReport(
            "read",
            "reuse is off",
            time.perf_counter() - start,
            str(path) if path.exists() else None,
        )
    hit = _memory.get(key)
    if hit is not None and hit[0] == check:
        _memory.move_to_end(key)
        return _with_sources(hit[1], sources), InputsReport(
            "memory", "", time.perf_counter() - start, str(path)
        )
    reason = "not cached"
    if path.exists():
        try:
            stored_check, inputs = _load(path)
        except Exception as e:  # a damaged or older file is read afresh
            stored_check, inputs, reason = None, None, f"unreadable cache file ({e})"
        if stored_check == check:
            _remember(key, check, inputs)
            os.utime(path)
            return _with_sources(inputs, sources), InputsReport(
                "disk", "", time.perf_counter() - start, str(path)
            )
        if stored_check is not None:
            reason = "samples changed since they were cached"
    inputs = fresh()
    _store(key, path, check, inputs)
    return inputs, InputsReport("read", reason, time.perf_counter() - start, str(path))


def _store(key, path: Path, check, inputs) -> None:
    """Caches inputs read afresh (in memory and on disk)."""
    try:
        _save(path, check, inputs)
        _prune(path.parent)
        _forget_deleted_datasets(path.parent)
    except OSError as e:
        logger.warning("Could not cache the search inputs in %s: %s", path, e)
    _remember(key, check, inputs)


def clear_input_cache(dataset=None) -> int:
    """Removes cached search inputs: of one dataset, or all. Returns how
    many files were removed."""
    _memory.clear()
    root = cache_dir()
    folders = [root / str(fop.dataset_id(dataset))] if dataset is not None else list(root.glob("*"))
    removed = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for f in folder.glob("*.npz"):
            f.unlink(missing_ok=True)
            removed += 1
        (folder / OWNER_FILE).unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass
    return removed


def cache_size(inputs: fpf.SearchInputs) -> int:
    """Bytes of the arrays a cache entry holds for ``inputs``."""
    return sum(a.nbytes for a in _arrays(inputs)[0].values())


def _with_sources(inputs, sources):
    inputs.sources = sources
    return inputs


def _remember(key, check, inputs):
    _memory[key] = (check, inputs)
    _memory.move_to_end(key)
    while len(_memory) > MAX_IN_MEMORY:
        _memory.popitem(last=False)


def _arrays(inputs: fpf.SearchInputs):
    tags = inputs.tags.tocsr()
    n_cols = tags.shape[1]
    idx_dtype = np.uint16 if n_cols <= np.iinfo(np.uint16).max else np.int32
    ptr_dtype = np.int32 if tags.nnz <= np.iinfo(np.int32).max else np.int64
    classes, codes = fpf.class_codes(inputs.groups)
    ids = inputs.extra.get("_id")
    arrays = {
        "indptr": tags.indptr.astype(ptr_dtype),
        "indices": tags.indices.astype(idx_dtype),
        "codes": codes.astype(np.int32 if len(classes) > 32767 else np.int16),
        "correct": np.asarray(inputs.correct, dtype=bool),
    }
    if ids is not None:
        arrays["ids"] = np.ascontiguousarray(ids, dtype=np.uint8)
    meta = {
        "classes": classes,
        "tag_keys": [list(k) for k in inputs.tag_keys],
        "num_samples": inputs.num_samples,
        "num_missing_label": inputs.num_missing_label,
        "num_missing_prediction": inputs.num_missing_prediction,
        "num_cols": n_cols,
    }
    units = getattr(inputs, "spec", None)
    if units is not None:  # units of an evaluation run: what they are, and their samples
        arrays["sample_index"] = np.asarray(inputs.sample_index, dtype=np.int64)
        meta["units"] = {
            "spec": units.to_dict(),
            "num_units": inputs.num_units,
            "num_crowd": inputs.num_crowd,
            "kinds": inputs.kinds,
        }
        if inputs.baseline_correct is not None:  # a multilabel regression's baseline
            arrays["baseline_correct"] = np.asarray(inputs.baseline_correct, dtype=bool)
        if inputs.scores is not None:  # a score run's numbers per unit
            arrays["scores"] = np.asarray(inputs.scores, dtype=np.float64)
    baseline = [path for path in inputs.extra if path != "_id"]  # a regression's baseline
    if baseline:
        names, arrays["baseline_codes"] = _codes(inputs.extra[baseline[0]])
        meta["baseline"] = [baseline[0], names]
    return arrays, meta


def _checksum(arrays: dict) -> int:
    """A CRC-32 of the arrays (names, types, shapes and bytes)."""
    crc = 0
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        crc = zlib.crc32(f"{name} {a.dtype.str} {a.shape}".encode(), crc)
        crc = zlib.crc32(memoryview(a).cast("B"), crc)
    return crc


def _codes(labels) -> tuple[list, np.ndarray]:
    """Labels (``None`` where missing) as their distinct names and a code
    per row (-1 for ``None``)."""
    index: dict = {}
    codes = np.fromiter(
        (-1 if x is None else index.setdefault(x, len(index)) for x in labels.tolist()),
        np.int32,
        len(labels),
    )
    return list(index), codes


def _save(path: Path, check, inputs: fpf.SearchInputs) -> None:
    arrays, meta = _arrays(inputs)
    meta["check"] = check
    meta["version"] = FORMAT_VERSION
    meta["checksum"] = _checksum(arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    os.replace(tmp, path)  # readers see the old file or the new one, never half


def _load(path: Path):
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"format {meta.get('version')}")
        arrays = {name: z[name] for name in z.files if name != "meta"}
    if meta.get("checksum") != _checksum(arrays):
        raise ValueError("its checksum does not match its contents")
    indptr, indices = arrays["indptr"], arrays["indices"]
    codes, correct = arrays["codes"], arrays["correct"]
    ids = arrays.get("ids")
    base = arrays.get("baseline_codes")
    n = len(correct)
    tags = sp.csr_matrix(
        (np.ones(len(indices), dtype=bool), indices.astype(np.int32), indptr.astype(np.int64)),
        shape=(n, meta["num_cols"]),
    )
    groups = CodedGroups(codes, tuple(meta["classes"]))
    common = dict(
        tags=tags,
        tag_keys=[tuple(k) for k in meta["tag_keys"]],
        group_codes=groups,
        correct=correct,
        num_samples=meta["num_samples"],
        num_missing_label=meta["num_missing_label"],
        num_missing_prediction=meta["num_missing_prediction"],
        extra={} if ids is None else {"_id": ids},
    )
    units = meta.get("units")
    if units is None:
        inputs = fpf.SearchInputs(labels=groups.decoded(), **common)
    else:
        from . import units as fpu

        inputs = fpu.UnitInputs(
            spec=fpu.UnitSpec.from_dict(units["spec"]),
            labels=fpu.coded_labels(groups),
            num_units=units["num_units"],
            num_crowd=units["num_crowd"],
            kinds=units["kinds"],
            sample_index=arrays["sample_index"],
            baseline_correct=arrays.get("baseline_correct"),
            scores=arrays.get("scores"),
            **common,
        )
    if base is not None:  # code -1 reads the last entry: None
        path, names = meta["baseline"]
        table = np.empty(len(names) + 1, dtype=object)
        table[: len(names)] = names
        inputs.extra[path] = table[base]
    return meta["check"], inputs


def _database() -> str:
    """What identifies the database this process uses: the id of its
    FiftyOne config document (written once per database) and its name, so
    that two URIs of one database (``localhost`` and ``127.0.0.1``, another
    port forwarded to it) stamp the same."""
    import fiftyone.core.odm as foo

    db = foo.get_db_conn()
    config = db.config.find_one({}, {"_id": 1}, sort=[("_id", 1)])
    if config is None:  # not set up by FiftyOne (yet): the address is all there is
        return _legacy_stamp()
    return f"db:{config['_id']} {db.name}"


def _stamp_of(folder: Path) -> Optional[str]:
    """The database a dataset's folder is stamped with, or ``None``."""
    try:
        return json.loads((folder / OWNER_FILE).read_text()).get("database")
    except (OSError, ValueError, AttributeError):
        return None


def _legacy_stamp() -> str:
    """How folders were stamped before (by URI), read as this database's."""
    import fiftyone as fo

    where = fo.config.database_uri or f"dir:{fo.config.database_dir}"
    return f"{where} {fo.config.database_name}"


def _forget_deleted_datasets(folder: Path) -> None:
    """Stamps ``folder`` with its database, then removes the folders of
    datasets of the same database that no longer exist."""
    import fiftyone.core.odm as foo

    database = _database()
    owner = folder / OWNER_FILE
    if _stamp_of(folder) != database:  # new, or stamped by URI by an older version
        owner.write_text(json.dumps({"database": database}))
    ours = {database, _legacy_stamp()}
    existing = {str(i) for i in foo.get_db_conn().datasets.distinct("_id")}
    for other in folder.parent.iterdir():
        if other.name in existing or not other.is_dir():
            continue
        if _stamp_of(other) not in ours:
            continue  # another database's, or unstamped: not known to be this one's
        for f in other.glob("*.npz"):
            f.unlink(missing_ok=True)
        (other / OWNER_FILE).unlink(missing_ok=True)
        try:
            other.rmdir()
        except OSError:
            pass
        logger.debug("Removed the cached inputs of deleted dataset %s", other.name)


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
    for f in files[MAX_ENTRIES_PER_DATASET:]:
        f.unlink(missing_ok=True)
