"""Planning a job: checking what it will run, cutting the collection into
slices of sample ids, and queuing the slices."""

from __future__ import annotations

import logging
from typing import Optional

from bson import ObjectId

import fiftyone as fo

from fiftyone_prime.core.defaults import LABEL_FIELD, MAX_SHARDS, RUN_KEY, TAGS_FIELD
from fiftyone_prime.core.types import SearchParams
from fiftyone_prime.integration.runs.run_store import validate_max_views, validate_new_run_key

from . import checks, records
from .dispatch import find_worker_operators, queue_shard
from .records import FAILED
from .status import TaggingJobStatus, job_status, tagging_status
from .store import delete_job, open_store, update

logger = logging.getLogger(__name__)

#: ``compute_tags`` arguments that a job cannot carry (they are not data, or
#: the job sets them itself).
_NOT_ALLOWED = {"progress", "skip_existing"}


def queue_tagging(
    samples,
    *,
    num_shards: int = 2,
    tags_field: str = TAGS_FIELD,
    job_key: Optional[str] = None,
    search: Optional[dict] = None,
    metrics: Optional[dict] = None,
    delegation_target: Optional[str] = None,
    **compute_tags_kwargs,
) -> TaggingJobStatus:
    """Queues the tagging of a collection as ``num_shards`` delegated operations.

    Each operation tags a disjoint slice of the collection (a range of sample
    ids computed once, here), writes in batches and continues where an earlier
    attempt stopped. Run one ``fiftyone delegated launch`` per GPU or machine
    sharing the dataset's MongoDB and media to execute them in parallel.

    Examples::

        import fiftyone_prime as fp

        fp.queue_tagging(dataset, num_shards=8, model="open_clip:ViT-B-32",
                         pretrained="/models/open_clip_vit_b32.bin",
                         search=dict(run_key="prime"))
        print(fp.tagging_status(dataset, "prime_tags"))
        fp.requeue_tagging(dataset, "prime_tags")  # after a worker died

    Args:
        samples: a persistent dataset or a view of one (delegated operations
            run in other processes)
        num_shards (2): the number of slices (and delegated operations):
            from 1 to :data:`~fiftyone_prime.core.defaults.MAX_SHARDS`
            (1024), and never more than the number of samples (a larger
            value is cut down to it)
        tags_field ("prime_tags"): the ``Classifications`` field to write
        job_key (None): the job's name in :func:`tagging_status`; defaults to
            ``tags_field``
        search (None): ``None`` for no search, or the keyword arguments of
            :func:`fiftyone_prime.find_failure_modes` (``{}`` for its
            defaults); the search runs once, on ``samples`` with ``tags_field``,
            after the last slice completes
        metrics (None): with ``search``, the keyword arguments of
            :func:`fiftyone_prime.compute_failure_mode_metrics` (at least
            ``model``, a CLIP model) to score the modes after the search
        delegation_target (None): an optional orchestrator for the operations
        **compute_tags_kwargs: the arguments of
            :func:`fiftyone_prime.compute_tags` (``model`` as a string,
            ``vocabulary``, ``batch_size``, ``overwrite``...), which must be
            plain data; ``skip_existing`` is implied

    Returns:
        the job's :class:`TaggingJobStatus`

    Raises:
        ValueError, TypeError: before anything is queued, naming the
            parameter, for anything the workers would otherwise find out
            only when they run: a model spec that cannot be resolved, an
            unknown or out-of-range argument of ``compute_tags``, ``search``
            or ``metrics``, a missing label or prediction field, or
            ``num_shards`` outside ``[1, MAX_SHARDS]``
    """
    from fiftyone_prime.integration.tagging import images as fpt

    bad = _NOT_ALLOWED & set(compute_tags_kwargs)
    if bad:
        raise TypeError(
            f"queue_tagging() takes no {sorted(bad)}: every slice continues where "
            "an earlier attempt stopped (skip_existing), and reports progress to "
            "its delegated operation"
        )
    checks.check_num_shards(num_shards, MAX_SHARDS, MAX_SHARDS)
    if not isinstance(compute_tags_kwargs.get("model", ""), str):
        raise TypeError(
            "queue_tagging() needs `model` as a string (e.g. 'open_clip:ViT-B-32' "
            "or 'properties'): the workers load it themselves"
        )
    checks.check_keywords(
        fpt.compute_tags,
        compute_tags_kwargs,
        "queue_tagging() (the arguments of compute_tags)",
        not_allowed=_NOT_ALLOWED | {"tags_field"},
    )
    checks.check_tagging_kwargs(compute_tags_kwargs)
    dataset = samples._root_dataset
    if not dataset.persistent:
        raise ValueError(
            f"Dataset '{dataset.name}' is not persistent; delegated operations "
            "run in other processes and need a persistent dataset"
        )
    if search is None and metrics is not None:
        raise ValueError("metrics score the modes of the follow-up search; pass search={} too")
    if metrics is not None:
        _check_metrics(metrics)
    if samples.media_type != "image":
        raise ValueError(f"Tagging needs an image collection; this one holds {samples.media_type}")
    operators = find_worker_operators()
    job_key = job_key or tags_field
    if not isinstance(job_key, str) or not job_key or "/" in job_key:
        raise ValueError(f"`job_key` must be a non-empty name without '/'; got {job_key!r}")
    fpt._check_field(samples, tags_field, fo.Classifications, "tags_field")
    embeddings_field = compute_tags_kwargs.get("embeddings_field")
    if embeddings_field is not None:
        fpt._check_vector_field(samples, embeddings_field)

    total = samples.count()
    if total == 0:
        raise ValueError("The view is empty; there is nothing to tag")
    # Samples that already have tags keep them (every slice skips them, which
    # is also how an attempt continues an earlier one) unless overwrite=True:
    # then each slice clears its range once, on its first attempt.
    overwrite = bool(compute_tags_kwargs.pop("overwrite", False))
    search = _search_kwargs(dataset, search)
    if search is not None:
        checks.check_search_fields(samples, search)

    kwargs = dict(compute_tags_kwargs)
    _fix_vocabulary(samples, kwargs)
    _declare_fields(dataset, tags_field, embeddings_field)

    bounds = boundaries(samples, checks.check_num_shards(num_shards, total, MAX_SHARDS))
    store = open_store(dataset)
    job = dict(
        tags_field=tags_field,
        num_shards=len(bounds),
        kwargs=kwargs,
        overwrite=overwrite,
        search=search,
        metrics=metrics,
        delegation_target=delegation_target,
        operators=operators.to_dict(),
        created_at=records.now(),
    )
    _claim_job_key(store, job_key, job)

    shards = [
        records.shard_record(index, lo, hi, size, cleared=not overwrite)
        for index, (lo, hi, size) in enumerate(bounds)
    ]
    for record in shards:
        store.set(records.shard_key(job_key, record["index"]), record)
    for record in shards:
        try:
            queue_shard(samples, store, job_key, job, record)
        except Exception:
            if record["index"] == 0:  # nothing queued: forget the job
                delete_job(store, job_key)
            else:  # the queued slices run; requeue_tagging() queues the others
                for later in shards[record["index"] :]:
                    update(
                        store,
                        records.shard_key(job_key, later["index"]),
                        lambda r: {**r, "state": FAILED, "error": "could not be queued"},
                    )
            raise
    return tagging_status(samples, job_key)


def boundaries(samples, num_shards: int) -> list:
    """``[(lo, hi, size)]``: slice ``i`` holds ``lo <= _id < hi`` (hex ids;
    ``None`` is unbounded), cut at equal counts of the sorted ids."""
    total = samples.count()
    ordered = samples.sort_by("_id")
    cuts = [None]
    for k in range(1, num_shards):
        (cut,) = ordered.skip(k * total // num_shards).limit(1).values("id")
        cuts.append(cut)
    cuts.append(None)
    return [
        (cuts[k], cuts[k + 1], (k + 1) * total // num_shards - k * total // num_shards)
        for k in range(num_shards)
    ]


def shard_view(samples, record: dict):
    """The view of one slice: ``samples`` restricted to its id range."""
    bounds = {}
    if record.get("lo"):
        bounds["$gte"] = ObjectId(record["lo"])
    if record.get("hi"):
        bounds["$lt"] = ObjectId(record["hi"])
    return samples.match({"_id": bounds}) if bounds else samples.view()


def _search_kwargs(dataset, search) -> Optional[dict]:
    """The follow-up search's keyword arguments, checked now rather than
    hours later when the last slice completes."""
    if search is None:
        return None
    if search is True:
        search = {}
    if not isinstance(search, dict):
        raise TypeError(
            f"`search` must be None or a dict of find_failure_modes() arguments; got {search!r}"
        )
    search = dict(search)
    for name in ("samples", "tags_field", "progress"):
        if name in search:
            raise TypeError(
                f"search takes no '{name}': the search runs on the job's samples and tags field"
            )
    from fiftyone_prime.integration.failure_modes.search import find_failure_modes

    checks.check_keywords(find_failure_modes, search, "`search`", not_allowed=("progress",))
    run_key = search.setdefault("run_key", RUN_KEY)
    validate_new_run_key(dataset, run_key, search.get("overwrite", False))
    SearchParams.from_dict({k: v for k, v in search.items() if k in SearchParams.names()})
    if "max_views" in search:
        validate_max_views(search["max_views"])
    return search


def _check_metrics(metrics) -> None:
    """Checks the follow-up metrics' arguments now rather than after the search."""
    from fiftyone_prime.integration.failure_modes.metrics import compute_failure_mode_metrics

    if not isinstance(metrics, dict):
        raise TypeError(f"`metrics` must be None or a dict; got {metrics!r}")
    if not isinstance(metrics.get("model"), str):
        raise ValueError("metrics needs a CLIP model spec as metrics['model']")
    checks.check_keywords(
        compute_failure_mode_metrics,
        metrics,
        "`metrics`",
        not_allowed=("run_key", "progress"),
    )
    checks.check_model(
        metrics["model"],
        metrics.get("pretrained"),
        role="metrics['model']",
        allow_properties=False,
    )
    checks.check_count("metrics['batch_size']", metrics.get("batch_size"))


def _fix_vocabulary(samples, kwargs: dict) -> None:
    """Resolves the vocabulary once over the whole collection, so that every
    slice removes the same class names (a slice may lack some classes)."""
    from fiftyone_prime.core import vocab as fpvocab

    if kwargs.get("model", None) == "properties":
        return
    tags = fpvocab.load_vocabulary(kwargs.get("vocabulary"))
    label_field = kwargs.get("label_field", LABEL_FIELD)
    if kwargs.get("exclude_classes", True) and label_field and samples.has_field(label_field):
        tags = fpvocab.exclude_classes(tags, samples.distinct(f"{label_field}.label"))
    if not tags:
        raise ValueError("No tags are left once the class names are removed from the vocabulary")
    kwargs.update(vocabulary=list(tags), exclude_classes=False)


def _declare_fields(dataset, tags_field: str, embeddings_field: Optional[str]) -> None:
    """Declares the fields once here, so that slices running at the same time
    never race to add them to the dataset's schema."""
    if not dataset.has_sample_field(tags_field):
        dataset.add_sample_field(
            tags_field, fo.EmbeddedDocumentField, embedded_doc_type=fo.Classifications
        )
    if embeddings_field is not None and not dataset.has_sample_field(embeddings_field):
        dataset.add_sample_field(embeddings_field, fo.VectorField)


def _claim_job_key(store, job_key: str, job: dict) -> None:
    """Writes the job's record, replacing a finished job of the same key."""
    if store.set_if_absent(records.job_key(job_key), job):
        return
    status = job_status(store, job_key)
    if status is not None and not status.done:
        raise ValueError(
            f"A tagging job '{job_key}' is still unfinished ({dict(status.counts)}); see "
            "tagging_status(), re-queue it with requeue_tagging(), or pass another job_key"
        )
    delete_job(store, job_key)
    if not store.set_if_absent(records.job_key(job_key), job):
        raise ValueError(f"Another process queued a tagging job '{job_key}' just now")
