"""Tagging split over many FiftyOne delegated workers, then one search.

:func:`queue_tagging` cuts a collection into ``num_shards`` disjoint slices
of its sample ids and queues one delegated operation per slice; any number of
``fiftyone delegated launch`` workers (or an orchestrator) on any machines that
share the dataset's MongoDB and media execute them. When the last slice is
done, the failure-mode search (and, with a CLIP model, its metrics) is queued
once. :func:`tagging_status` reports every slice's state in one call, and
:func:`requeue_tagging` re-queues only what did not finish.

Modules, in import order (each imports only those above it):

=============  ==============================================================
``records``    store keys, states and the values an attempt stamps
``store``      the execution store and its compare-and-set writes
``status``     :class:`TaggingJobStatus`: records and operations, read
``dispatch``   queuing parts as delegated operations; the only module that
               knows the worker operators, which the plugin marks with a
               role and the job's record keeps (:class:`WorkerOperators`)
``plan``       :func:`queue_tagging`: checks, slices, the job's records
``worker``     what a worker runs: one slice, or the follow-up search
``recover``    :func:`requeue_tagging` and forgetting a job
=============  ==============================================================

Nothing here imports :mod:`fiftyone_prime.plugin`.

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

from .dispatch import FOLLOWUP_ROLE, SHARD_ROLE, WorkerOperators
from .plan import queue_tagging, shard_view
from .recover import delete_tagging_job, requeue_tagging
from .status import PartStatus, TaggingJobStatus, list_tagging_jobs, tagging_status
from .worker import run_followup, run_tagging_shard

__all__ = [
    "FOLLOWUP_ROLE",
    "SHARD_ROLE",
    "PartStatus",
    "TaggingJobStatus",
    "WorkerOperators",
    "delete_tagging_job",
    "list_tagging_jobs",
    "queue_tagging",
    "requeue_tagging",
    "run_followup",
    "run_tagging_shard",
    "shard_view",
    "tagging_status",
]
