"""Tagging split over many FiftyOne delegated workers, then one search.

:func:`queue_tagging` cuts a collection into ``num_shards`` disjoint slices
of its sample ids and queues one delegated operation per slice; any number of
``fiftyone delegated launch`` workers (or an orchestrator) on any machines that
share the dataset's MongoDB and media execute them. When the last slice is
done, the failure-mode search (and, with a CLIP model, its metrics) is queued
once. :func:`tagging_status` reports every slice's state in one call, and
:func:`requeue_tagging` re-queues only what did not finish.

How it is kept exactly once
---------------------------
The state of a job lives in FiftyOne's execution store (one store per
dataset, ``fiftyone_prime_tagging``), under ``<job>/job``, ``<job>/shard/<i>``
and ``<job>/followup``:

- **Slices.** At queue time the collection's ids are sorted once and cut at
  ``num_shards - 1`` boundary ids; slice ``i`` is ``lo_i <= _id < hi_i`` (the
  first has no lower bound, the last no upper bound). The operations carry
  only the job key, the slice index and a token; the bounds live in the
  store. Slices are disjoint and cover every sample of the collection.
- **One runner per slice.** Each queued attempt of a slice gets a fresh token,
  written to the slice's record *before* the operation is queued. An
  operation starts only by atomically moving the record from ``queued`` with
  its own token to ``running`` (``compare_and_set``); an operation whose token
  is no longer the record's (a re-queued slice) does nothing. While tagging,
  it re-checks its token every few seconds and stops if it was superseded.
  (FiftyOne's own queue claims an operation atomically too: a worker runs an
  operation only if it moves it from QUEUED to RUNNING.)
- **Resume.** Every slice runs ``compute_tags(..., skip_existing=True)`` on its
  slice, which writes in batches: an interrupted slice loses at most the batch
  in flight, and its next attempt tags only the samples still untagged.
- **Search once.** A slice that completes marks its record ``completed``
  *before* it reads the other records, so at least the last one to complete
  sees them all completed. Each one that does tries ``set_if_absent`` on the
  follow-up record; exactly one succeeds and queues the search. The search
  operation, like a slice, starts only by moving that record from ``queued``
  with its token to ``running``.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

from bson import ObjectId

import fiftyone as fo
import fiftyone.core.utils as fou

from fiftyone_prime.core.types import SearchParams

from .run_store import validate_max_views, validate_new_run_key

logger = logging.getLogger(__name__)

#: The plugin's operators that execute the slices and the follow-up search.
PLUGIN_NAME = "@fiftyone-prime/prime"
SHARD_OPERATOR = f"{PLUGIN_NAME}/tag_shard"
FOLLOWUP_OPERATOR = f"{PLUGIN_NAME}/search_after_tagging"

#: The execution store (scoped to the dataset) that holds every job's state.
STORE_NAME = "fiftyone_prime_tagging"

#: Seconds between a running slice's checks that it has not been superseded.
CHECK_EVERY = 5.0

#: Seconds between progress reports to the delegated operation.
PROGRESS_EVERY = 1.0

#: A running operation whose progress has not moved for this long is reported
#: as stalled (its worker may be gone).
DEFAULT_STALE_AFTER = 900.0

#: ``compute_tags`` arguments that a job cannot carry (they are not data, or
#: the job sets them itself).
_NOT_ALLOWED = {"progress", "skip_existing"}

QUEUED, RUNNING, COMPLETED, FAILED, STALLED, WAITING, MISSING = (
    "queued",
    "running",
    "completed",
    "failed",
    "stalled",
    "waiting",
    "missing",
)


class ShardSuperseded(RuntimeError):
    """Raised inside a slice whose job re-queued it to another operation."""


@dataclass
class PartStatus:
    """The state of one slice (or of the follow-up search) of a tagging job.

    Attributes:
        name: ``"shard 0"``... or ``"search"``
        state: ``"queued"``, ``"running"``, ``"completed"``, ``"failed"``,
            ``"stalled"`` (running, but its worker is gone or silent); the
            follow-up is ``"waiting"`` for the slices, or ``"missing"`` when
            they completed and it was not queued (:func:`requeue_tagging`
            queues it)
        size: the number of samples in the slice at queue time
        attempt: how many times it was queued
        operation_id: the id of its current delegated operation
        progress: the fraction its operation last reported, if any
        label: its operation's last progress label
        error: why it failed or stalled
        worker: ``host:pid`` of the process that ran it last
        result: what a completed part reported (counts, run key)
    """

    name: str
    state: str
    size: Optional[int] = None
    attempt: int = 0
    operation_id: Optional[str] = None
    progress: Optional[float] = None
    label: Optional[str] = None
    error: Optional[str] = None
    worker: Optional[str] = None
    result: dict = field(default_factory=dict)


@dataclass
class TaggingJobStatus:
    """What :func:`tagging_status` reports about a job.

    Attributes:
        job_key: the job's key
        tags_field: the field the job writes
        shards: a :class:`PartStatus` per slice
        followup: the :class:`PartStatus` of the follow-up search, or ``None``
            when the job has none
    """

    job_key: str
    tags_field: str
    shards: list
    followup: Optional[PartStatus] = None

    @property
    def counts(self) -> dict:
        """``{state: number of slices}``."""
        out = {}
        for s in self.shards:
            out[s.state] = out.get(s.state, 0) + 1
        return out

    @property
    def tagged(self) -> bool:
        """Whether every slice completed."""
        return all(s.state == COMPLETED for s in self.shards)

    @property
    def done(self) -> bool:
        """Whether every slice, and the follow-up search if any, completed."""
        return self.tagged and (self.followup is None or self.followup.state == COMPLETED)

    @property
    def unfinished(self) -> list:
        """The slices that failed or stalled (what :func:`requeue_tagging` re-queues)."""
        return [s for s in self.shards if s.state in (FAILED, STALLED)]

    def __str__(self):
        lines = [
            f"Tagging job '{self.job_key}' -> '{self.tags_field}': "
            + ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
        ]
        parts = self.shards + ([self.followup] if self.followup is not None else [])
        for p in parts:
            line = f"  {p.name:<9} {p.state:<10}"
            if p.size is not None:
                line += f" {p.size:>9} samples"
            if p.attempt > 1:
                line += f"  attempt {p.attempt}"
            if p.progress is not None and p.state in (RUNNING, STALLED):
                line += f"  {p.progress:.0%}"
            if p.operation_id:
                line += f"  op {p.operation_id}"
            if p.error:
                line += f"  ({p.error.strip().splitlines()[-1][:120]})"
            lines.append(line)
        return "\n".join(lines)


# --------------------------------------------------------------------- queue


def queue_tagging(
    samples,
    *,
    num_shards: int = 2,
    tags_field: str = "prime_tags",
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
        num_shards (2): the number of slices (and delegated operations); at
            most the number of samples
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
    """
    from fiftyone_prime.integration import tagging as fpt

    bad = _NOT_ALLOWED & set(compute_tags_kwargs)
    if bad:
        raise TypeError(
            f"queue_tagging() takes no {sorted(bad)}: every slice continues where "
            "an earlier attempt stopped (skip_existing), and reports progress to "
            "its delegated operation"
        )
    if not isinstance(num_shards, int) or isinstance(num_shards, bool) or num_shards < 1:
        raise ValueError(f"num_shards must be a whole number >= 1; got {num_shards!r}")
    if not isinstance(compute_tags_kwargs.get("model", ""), str):
        raise TypeError(
            "queue_tagging() needs `model` as a string (e.g. 'open_clip:ViT-B-32' "
            "or 'properties'): the workers load it themselves"
        )
    dataset = samples._root_dataset
    if not dataset.persistent:
        raise ValueError(
            f"Dataset '{dataset.name}' is not persistent; delegated operations "
            "run in other processes and need a persistent dataset"
        )
    if search is None and metrics is not None:
        raise ValueError("metrics score the modes of the follow-up search; pass search={} too")
    if metrics is not None and not isinstance(metrics.get("model"), str):
        raise ValueError("metrics needs a CLIP model spec as metrics['model']")
    if samples.media_type != "image":
        raise ValueError(f"Tagging needs an image collection; this one holds {samples.media_type}")
    _check_plugin()
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

    kwargs = dict(compute_tags_kwargs)
    _fix_vocabulary(samples, kwargs)
    _declare_fields(dataset, tags_field, embeddings_field)

    bounds = _boundaries(samples, min(num_shards, total))
    store = _store(dataset)
    job = dict(
        tags_field=tags_field,
        num_shards=len(bounds),
        kwargs=kwargs,
        overwrite=overwrite,
        search=search,
        metrics=metrics,
        delegation_target=delegation_target,
        created_at=_now(),
    )
    _claim_job_key(store, job_key, job)

    records = [
        dict(
            index=index,
            lo=lo,
            hi=hi,
            size=size,
            token=_token(),
            attempt=1,
            state=QUEUED,
            op_id=None,
            cleared=not overwrite,
        )
        for index, (lo, hi, size) in enumerate(bounds)
    ]
    for record in records:
        store.set(_shard_key(job_key, record["index"]), record)
    for record in records:
        try:
            _queue_shard(samples, store, job_key, record, delegation_target)
        except Exception:
            if record["index"] == 0:  # nothing queued: forget the job
                _delete_job(store, job_key)
            else:  # the queued slices run; requeue_tagging() queues the others
                for later in records[record["index"] :]:
                    _update(
                        store,
                        _shard_key(job_key, later["index"]),
                        lambda r: {**r, "state": FAILED, "error": "could not be queued"},
                    )
            raise
    return tagging_status(samples, job_key)


def _check_plugin():
    from fiftyone.operators.registry import operator_exists

    if not (operator_exists(SHARD_OPERATOR) and operator_exists(FOLLOWUP_OPERATOR)):
        raise RuntimeError(
            "The fiftyone-prime plugin is not in FiftyOne's plugins folder "
            f"({fo.config.plugins_dir}), so its delegated operations cannot be queued; link "
            "the repository there (see the README's 'In the App: operators'), here and on "
            "every worker"
        )


def _search_kwargs(dataset, search):
    if search is None:
        return None
    if search is True:
        search = {}
    search = dict(search)
    for name in ("samples", "tags_field", "progress"):
        if name in search:
            raise TypeError(
                f"search takes no '{name}': the search runs on the job's samples and tags field"
            )
    run_key = search.setdefault("run_key", "prime")
    # Checked now, not hours later when the last slice completes.
    validate_new_run_key(dataset, run_key, search.get("overwrite", False))
    SearchParams.from_dict({k: v for k, v in search.items() if k in SearchParams.names()})
    if "max_views" in search:
        validate_max_views(search["max_views"])
    return search


def _fix_vocabulary(samples, kwargs):
    """Resolves the vocabulary once over the whole collection, so that every
    slice removes the same class names (a slice may lack some classes)."""
    from fiftyone_prime.core import vocab as fpvocab

    if kwargs.get("model", None) == "properties":
        return
    tags = fpvocab.load_vocabulary(kwargs.get("vocabulary"))
    label_field = kwargs.get("label_field", "ground_truth")
    if kwargs.get("exclude_classes", True) and label_field and samples.has_field(label_field):
        tags = fpvocab.exclude_classes(tags, samples.distinct(f"{label_field}.label"))
    if not tags:
        raise ValueError("No tags are left once the class names are removed from the vocabulary")
    kwargs.update(vocabulary=list(tags), exclude_classes=False)


def _declare_fields(dataset, tags_field, embeddings_field):
    """Declares the fields once here, so that slices running at the same time
    never race to add them to the dataset's schema."""
    if not dataset.has_sample_field(tags_field):
        dataset.add_sample_field(
            tags_field, fo.EmbeddedDocumentField, embedded_doc_type=fo.Classifications
        )
    if embeddings_field is not None and not dataset.has_sample_field(embeddings_field):
        dataset.add_sample_field(embeddings_field, fo.VectorField)


def _boundaries(samples, num_shards):
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


def _claim_job_key(store, job_key, job):
    if store.set_if_absent(_job_key(job_key), job):
        return
    status = _status(store, job_key)
    if status is not None and not status.done:
        raise ValueError(
            f"A tagging job '{job_key}' is still unfinished ({dict(status.counts)}); see "
            "tagging_status(), re-queue it with requeue_tagging(), or pass another job_key"
        )
    _delete_job(store, job_key)
    if not store.set_if_absent(_job_key(job_key), job):
        raise ValueError(f"Another process queued a tagging job '{job_key}' just now")


def _queue_shard(samples, store, job_key, record, delegation_target):
    params = dict(job_key=job_key, shard=record["index"], token=record["token"])
    label = f"PRIME tagging '{job_key}': shard {record['index'] + 1}"
    op_id = _queue(SHARD_OPERATOR, samples, params, delegation_target, label)
    _update(
        store,
        _shard_key(job_key, record["index"]),
        lambda r: {**r, "op_id": op_id} if r["token"] == record["token"] else None,
    )


def _queue(uri, samples, params, delegation_target, label):
    import fiftyone.operators as foo

    result = foo.execute_operator(
        uri,
        dict(view=samples.view()),
        params=dict(params, run_label=label),
        request_delegation=True,
        delegation_target=delegation_target,
    )
    return str(result.result["id"])


# ----------------------------------------------------------------- execution


def run_tagging_shard(
    samples, job_key, shard, token, *, operation_id=None, set_progress=None
) -> dict:
    """Tags one slice of a queued job (the ``tag_shard`` operator calls this
    in a delegated worker). Returns what it did; ``{"superseded": True}`` when
    the slice was re-queued to another operation."""
    from fiftyone_prime.integration.tagging import compute_tags

    dataset = samples._root_dataset
    store = _store(dataset)
    job = store.get(_job_key(job_key))
    if job is None:
        raise ValueError(f"Dataset '{dataset.name}' has no tagging job '{job_key}'")
    key = _shard_key(job_key, shard)
    worker = _worker()
    record = _update(
        store,
        key,
        lambda r: (
            {**r, "state": RUNNING, "worker": worker, "op_id": operation_id or r.get("op_id")}
            if r["token"] == token and r["state"] == QUEUED
            else None
        ),
    )
    if record is None:
        logger.info(
            "Slice %d of job '%s' was re-queued to another operation; nothing to do", shard, job_key
        )
        return {"superseded": True}

    view = shard_view(samples, record)
    tags_field = job["tags_field"]
    try:
        if not record.get("cleared", True):
            view.clear_sample_field(tags_field)
            if job["kwargs"].get("embeddings_field"):
                view.clear_sample_field(job["kwargs"]["embeddings_field"])
            record = _update(
                store, key, lambda r: {**r, "cleared": True} if r["token"] == token else None
            )
            if record is None:
                raise ShardSuperseded(f"slice {shard} of job '{job_key}' was re-queued")
        if view.count() == 0:
            summary = dict(num_tagged=0, num_skipped_existing=0, num_failed=0, seconds=0.0)
        else:
            s = compute_tags(
                view,
                tags_field=tags_field,
                skip_existing=True,
                progress=_progress(store, key, token, set_progress, f"Tagging shard {shard + 1}"),
                **job["kwargs"],
            )
            summary = dict(
                num_tagged=s.num_tagged,
                num_skipped_existing=s.num_skipped_existing,
                num_failed=s.num_failed,
                seconds=round(s.seconds, 3),
            )
    except ShardSuperseded:
        logger.warning("Slice %d of job '%s' was re-queued; this attempt stops", shard, job_key)
        return {"superseded": True}
    except BaseException as error:
        _settle(store, key, token, state=FAILED, error=repr(error)[:2000])
        raise

    done = _settle(store, key, token, state=COMPLETED, result=summary, completed_at=_now())
    if done is None:
        return {"superseded": True}
    queued_search = _maybe_queue_followup(samples, store, job_key, job)
    return dict(summary, shard=shard, queued_search=queued_search)


def run_followup(samples, job_key, token, *, operation_id=None, set_progress=None) -> dict:
    """Runs a job's follow-up search (and metrics) once (the
    ``search_after_tagging`` operator calls this)."""
    from fiftyone_prime.integration.metrics import compute_failure_mode_metrics
    from fiftyone_prime.integration.search import find_failure_modes

    dataset = samples._root_dataset
    store = _store(dataset)
    job = store.get(_job_key(job_key))
    key = _followup_key(job_key)
    record = _update(
        store,
        key,
        lambda r: (
            {
                **r,
                "state": RUNNING,
                "worker": _worker(),
                "started_at": _now(),
                "op_id": operation_id or r.get("op_id"),
            }
            if r["token"] == token and r["state"] == QUEUED
            else None
        ),
    )
    if job is None or record is None:
        logger.info("The search of job '%s' was re-queued or already ran; nothing to do", job_key)
        return {"superseded": True}
    search = dict(job["search"])
    if record["attempt"] > 1:
        search["overwrite"] = True  # an earlier attempt may have left a partial run
    try:
        if set_progress is not None:
            set_progress(progress=0.0, label="Searching for failure modes")
        results = find_failure_modes(samples, tags_field=job["tags_field"], **search)
        out = dict(run_key=results.key, num_failure_modes=len(results))
        if job.get("metrics"):
            if set_progress is not None:
                set_progress(progress=0.5, label="Computing failure-mode metrics")
            compute_failure_mode_metrics(samples, results.key, **job["metrics"])
            out["metrics"] = True
    except BaseException as error:
        _settle(store, key, token, state=FAILED, error=repr(error)[:2000])
        raise
    _settle(store, key, token, state=COMPLETED, result=out, completed_at=_now())
    return out


def shard_view(samples, record):
    """The view of one slice: ``samples`` restricted to its id range."""
    bounds = {}
    if record.get("lo"):
        bounds["$gte"] = ObjectId(record["lo"])
    if record.get("hi"):
        bounds["$lt"] = ObjectId(record["hi"])
    return samples.match({"_id": bounds}) if bounds else samples.view()


def _maybe_queue_followup(samples, store, job_key, job):
    """Queues the search if every slice completed; the atomic insert of the
    follow-up record makes exactly one caller queue it."""
    if job.get("search") is None:
        return False
    records = [store.get(_shard_key(job_key, i)) for i in range(job["num_shards"])]
    if not all(r is not None and r["state"] == COMPLETED for r in records):
        return False
    record = dict(state=QUEUED, token=_token(), attempt=1, op_id=None, queued_at=_now())
    if not store.set_if_absent(_followup_key(job_key), record):
        return False
    _queue_followup(samples, store, job_key, job, record)
    return True


def _queue_followup(samples, store, job_key, job, record):
    op_id = _queue(
        FOLLOWUP_OPERATOR,
        samples,
        dict(job_key=job_key, token=record["token"]),
        job.get("delegation_target"),
        f"PRIME search after tagging '{job_key}'",
    )
    _update(
        store,
        _followup_key(job_key),
        lambda r: {**r, "op_id": op_id} if r["token"] == record["token"] else None,
    )


def _progress(store, key, token, set_progress, label):
    last_check = [time.monotonic()]

    def report(pb):
        now = time.monotonic()
        if now - last_check[0] >= CHECK_EVERY:
            last_check[0] = now
            record = store.get(key)
            if record is None or record["token"] != token:
                raise ShardSuperseded(f"{key} was re-queued to another operation")
        if set_progress is not None:
            set_progress(progress=pb.progress, label=f"{label} ({pb.iteration}/{pb.total})")

    return fou.report_progress(report, dt=PROGRESS_EVERY)


# -------------------------------------------------------------------- status


def tagging_status(
    samples, job_key: str = "prime_tags", *, stale_after: float = DEFAULT_STALE_AFTER
) -> TaggingJobStatus:
    """The state of every slice of a tagging job, and of its follow-up search.

    A slice is ``"stalled"`` when its operation is still marked running but
    its worker is gone (a process on this machine that no longer exists) or
    has reported no progress for ``stale_after`` seconds.

    Args:
        samples: the dataset (or a view of it) the job was queued on
        job_key ("prime_tags"): the job's key (its ``tags_field`` by default)
        stale_after (900): seconds without progress after which a running
            operation counts as stalled

    Returns:
        a :class:`TaggingJobStatus`; ``print()`` it for a table
    """
    status = _status(_store(samples._root_dataset), job_key, stale_after)
    if status is None:
        raise ValueError(f"Dataset '{samples._root_dataset.name}' has no tagging job '{job_key}'")
    return status


def requeue_tagging(
    samples, job_key: str = "prime_tags", *, stale_after: float = DEFAULT_STALE_AFTER
) -> TaggingJobStatus:
    """Re-queues the slices of a job that failed or stalled, and its search
    if it failed, stalled or was never queued; completed, queued and live
    running parts are left alone. Stalled operations are marked failed in
    FiftyOne's delegated-operation list. Re-queued slices continue where the
    earlier attempt stopped; an earlier attempt that is in fact still alive
    stops within seconds when it sees it was superseded.

    Returns:
        the job's :class:`TaggingJobStatus` after re-queuing
    """
    dataset = samples._root_dataset
    store = _store(dataset)
    job = store.get(_job_key(job_key))
    status = tagging_status(samples, job_key, stale_after=stale_after)
    for part in status.shards:
        if part.state not in (FAILED, STALLED):
            continue
        index = int(part.name.split()[-1])
        record = _update(store, _shard_key(job_key, index), _requeued(part))
        if record is None:
            continue  # it completed, or was re-queued by someone else, meanwhile
        _fail_operation(part)
        _queue_shard(samples, store, job_key, record, job.get("delegation_target"))

    followup = status.followup
    if followup is not None and status.tagged:
        if followup.state == MISSING:
            _maybe_queue_followup(samples, store, job_key, job)
        elif followup.state in (FAILED, STALLED) or (
            followup.state == QUEUED and followup.operation_id is None
        ):
            record = _update(store, _followup_key(job_key), _requeued(followup))
            if record is not None:
                _fail_operation(followup)
                _queue_followup(samples, store, job_key, job, record)
    return tagging_status(samples, job_key, stale_after=stale_after)


def list_tagging_jobs(samples) -> list:
    """The keys of the dataset's tagging jobs."""
    store = _store(samples._root_dataset)
    return sorted(k[: -len("/job")] for k in store.list_keys() if k.endswith("/job"))


def delete_tagging_job(samples, job_key: str) -> None:
    """Forgets a job's state (not its tags, nor its operations' history)."""
    _delete_job(_store(samples._root_dataset), job_key)


def _status(store, job_key, stale_after=DEFAULT_STALE_AFTER):
    from fiftyone.operators.delegated import DelegatedOperationService

    job = store.get(_job_key(job_key))
    if job is None:
        return None
    service = DelegatedOperationService()
    shards = []
    for i in range(job["num_shards"]):
        record = store.get(_shard_key(job_key, i))
        shards.append(_part(f"shard {i}", record, service, stale_after))
    followup = None
    if job.get("search") is not None:
        record = store.get(_followup_key(job_key))
        if record is not None:
            followup = _part("search", record, service, stale_after)
        else:
            waiting = not all(s.state == COMPLETED for s in shards)
            followup = PartStatus("search", WAITING if waiting else MISSING)
    return TaggingJobStatus(job_key, job["tags_field"], shards, followup)


def _part(name, record, service, stale_after):
    from fiftyone.operators.executor import ExecutionRunState

    if record is None:
        return PartStatus(name, MISSING)
    part = PartStatus(
        name,
        record["state"],
        size=record.get("size"),
        attempt=record.get("attempt", 1),
        operation_id=record.get("op_id"),
        error=record.get("error"),
        worker=record.get("worker"),
        result=record.get("result") or {},
    )
    doc = service.get(ObjectId(part.operation_id)) if part.operation_id else None
    if doc is not None and doc.status is not None:
        part.progress = getattr(doc.status, "progress", None)
        part.label = getattr(doc.status, "label", None)
    if part.state in (COMPLETED, FAILED):
        return part
    if doc is not None and doc.run_state == ExecutionRunState.FAILED:
        part.state = FAILED
        part.error = _error_of(doc) or "its operation failed"
        return part
    if part.state == QUEUED:
        if doc is None or doc.run_state != ExecutionRunState.RUNNING:
            return part
        part.state = RUNNING  # a worker claimed the operation; not started yet
    # Running: is the worker alive?
    reason = _dead_worker(record.get("worker")) if record["state"] == RUNNING else None
    if reason is None and doc is not None:
        heartbeat = (
            getattr(doc.status, "updated_at", None) if doc.status else None
        ) or doc.started_at
        if heartbeat is not None:
            age = (datetime.datetime.utcnow() - heartbeat.replace(tzinfo=None)).total_seconds()
            if age > stale_after:
                reason = f"no progress for {age:.0f} s"
    if reason is not None:
        part.state = STALLED
        part.error = reason
    return part


def _error_of(doc):
    result = doc.result
    if result is None:
        return None
    if isinstance(result, dict):
        return result.get("error_message") or result.get("error")
    return getattr(result, "error_message", None) or getattr(result, "error", None)


def _dead_worker(worker):
    """Why a worker recorded as ``host:pid`` is known to be gone, or None."""
    if not worker:
        return None
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return f"worker process {pid} on {host} is gone"
    except (PermissionError, ValueError):
        return None
    return None


def _fail_operation(part):
    """Marks a stalled part's delegated operation failed, so that it shows as
    such in ``fiftyone delegated list`` (no-op if it is no longer running)."""
    from fiftyone.operators.delegated import DelegatedOperationService
    from fiftyone.operators.executor import ExecutionResult, ExecutionRunState

    if not part.operation_id or part.state != STALLED:
        return
    DelegatedOperationService().set_failed(
        ObjectId(part.operation_id),
        result=ExecutionResult(error=f"Re-queued by fiftyone-prime: {part.error}"),
        required_state=ExecutionRunState.RUNNING,
    )


# ------------------------------------------------------------------- helpers


def _store(dataset):
    from fiftyone.operators.store import ExecutionStore

    return ExecutionStore.create(STORE_NAME, dataset._doc.id)


def _requeued(part):
    """The record change that re-queues ``part``, or None (no change) when the
    record moved on since ``part`` was read: it completed meanwhile, or its
    attempt changed (someone else re-queued it)."""

    def change(r):
        if r.get("state") == COMPLETED or r.get("attempt", 1) != part.attempt:
            return None
        return {
            **{k: v for k, v in r.items() if k not in ("error", "worker")},
            "state": QUEUED,
            "token": _token(),
            "attempt": r["attempt"] + 1,
            "op_id": None,
        }

    return change


def _settle(store, key, token, **changes):
    """Records how an attempt ended, unless its record now belongs to another
    attempt (a different token); returns the record written, or None."""
    return _update(store, key, lambda r: {**r, **changes} if r["token"] == token else None)


def _update(store, key, change, retries=100):
    """Optimistic read-modify-write of one store key with compare_and_set;
    ``change`` returns the new value, or None to give up. Returns the value
    written, or None."""
    for _ in range(retries):
        current = store.get(key)
        if current is None:
            return None
        new = change(current)
        if new is None:
            return None
        if store.compare_and_set(key, current, new):
            return new
    raise RuntimeError(f"Could not update '{key}' after {retries} concurrent changes")


def _delete_job(store, job_key):
    prefix = f"{job_key}/"
    for key in store.list_keys():
        if key.startswith(prefix):
            store.delete(key)


def _job_key(job_key):
    return f"{job_key}/job"


def _shard_key(job_key, index):
    return f"{job_key}/shard/{index}"


def _followup_key(job_key):
    return f"{job_key}/followup"


def _token():
    return uuid.uuid4().hex


def _worker():
    return f"{socket.gethostname()}:{os.getpid()}"


def _now():
    return datetime.datetime.utcnow().isoformat(timespec="milliseconds")
