"""Operators of tagging split over many delegated workers: the slice and the
follow-up search that the workers execute, and the status and re-queue forms.
Each calls one function of :mod:`fiftyone_prime.integration.jobs`; the slice
and search operators carry the ``job_role`` by which the SDK finds them when
it queues a job (their URIs are known here, never in the SDK)."""

from __future__ import annotations

import fiftyone.operators as foo
import fiftyone.operators.types as types

from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD, RUN_KEY
from fiftyone_prime.integration.jobs import (
    FOLLOWUP_ROLE,
    SHARD_ROLE,
    list_tagging_jobs,
    queue_tagging,
    requeue_tagging,
    run_followup,
    run_tagging_shard,
    tagging_status,
)

from . import forms
from .execution import FormOperator


def _operation(ctx) -> dict:
    """A worker's ``operation_id`` (the delegated operation's) and
    ``set_progress`` (when delegated)."""
    run_doc = ctx.request_params.get("run_doc")
    return {
        "operation_id": str(run_doc) if run_doc is not None else None,
        "set_progress": ctx.set_progress if ctx.delegated else None,
    }


class _WorkerOperator(foo.Operator):
    """An operation queued by :func:`fiftyone_prime.queue_tagging`; not in the
    App's operator list. Subclasses name it, give its ``job_role`` (how
    :func:`~fiftyone_prime.integration.jobs.dispatch.find_worker_operators`
    finds it) and say what it runs."""

    NAME = LABEL = ""
    job_role = ""

    @property
    def config(self):
        return foo.OperatorConfig(
            name=self.NAME,
            label=self.LABEL,
            unlisted=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_run_name(self, ctx):
        return ctx.params.get("run_label") or self.config.label


class TagShard(_WorkerOperator):
    """Tags one slice of a sharded tagging job."""

    NAME, LABEL = "tag_shard", "PRIME: tag one slice"
    job_role = SHARD_ROLE

    def execute(self, ctx):
        p = ctx.params
        return run_tagging_shard(
            ctx.target_view(), p["job_key"], int(p["shard"]), p["token"], **_operation(ctx)
        )


class SearchAfterTagging(_WorkerOperator):
    """Runs a sharded tagging job's follow-up search once, after its last slice."""

    NAME, LABEL = "search_after_tagging", "PRIME: search after tagging"
    job_role = FOLLOWUP_ROLE

    def execute(self, ctx):
        p = ctx.params
        return run_followup(ctx.target_view(), p["job_key"], p["token"], **_operation(ctx))


def _job_choice(ctx, inputs):
    jobs = list_tagging_jobs(ctx.dataset)
    if not jobs:
        inputs.view("no_jobs", types.Warning(label="This dataset has no sharded tagging jobs"))
        return None
    choices = types.DropdownView()
    for job in jobs:
        choices.add_choice(job, label=job)
    inputs.enum(
        "job_key", choices.values(), required=True, default=jobs[0], label="Job", view=choices
    )
    return ctx.params.get("job_key", jobs[0])


def _status_rows(status):
    parts = status.shards + ([status.followup] if status.followup is not None else [])
    return [
        {
            "part": p.name,
            "state": p.state,
            "size": p.size,
            "attempt": p.attempt,
            "unreadable": p.num_failed,
            "progress": None if p.progress is None else round(p.progress, 3),
            "operation": p.operation_id,
            "error": (p.error or "")[-300:],
        }
        for p in parts
    ]


def _status_result(status) -> dict:
    """A status or re-queue operator's result: the summary line, the slices, done."""
    return {
        "summary": str(status).splitlines()[0],
        "parts": _status_rows(status),
        "done": status.done,
    }


def _status_output(ctx, title):
    outputs = types.Object()
    outputs.str("summary", label="Summary")
    table = types.TableView()
    for key in ("part", "state", "size", "attempt", "unreadable", "progress", "operation", "error"):
        table.add_column(key, label=key.capitalize())
    outputs.list("parts", types.Object(), label="Slices", view=table)
    return types.Property(outputs, view=types.View(label=title))


class _JobOperator(FormOperator):
    """An operator on one tagging job that shows the job's slices after
    acting; subclasses set :attr:`TITLE` (the form's), :attr:`DONE` (the
    output's) and :meth:`act`."""

    TITLE = DONE = ""

    def act(self, dataset, job_key):
        """What the operator does; returns the job's status."""
        raise NotImplementedError

    def describe(self, ctx, inputs, job_key) -> None:
        """Adds what the form says about the chosen job (nothing by default)."""

    def resolve_input(self, ctx):
        inputs = types.Object()
        job_key = _job_choice(ctx, inputs)
        if job_key is not None:
            self.describe(ctx, inputs, job_key)
        return types.Property(inputs, view=types.View(label=self.TITLE))

    def execute(self, ctx):
        return _status_result(self.act(ctx.dataset, ctx.params["job_key"]))

    def resolve_output(self, ctx):
        return _status_output(ctx, self.DONE)


class TaggingStatus(_JobOperator):
    """Shows the state of every slice of a sharded tagging job."""

    NAME = "tagging_status"
    LABEL = "PRIME: sharded tagging status"
    DESCRIPTION = "Queued, running, completed, failed and stalled slices of a job"
    TITLE = DONE = "Sharded tagging status"

    def act(self, dataset, job_key):
        return tagging_status(dataset, job_key)


class RequeueTagging(_JobOperator):
    """Re-queues the failed and stalled slices (and search) of a tagging job."""

    NAME = "requeue_tagging"
    LABEL = "PRIME: re-queue unfinished slices"
    DESCRIPTION = "Queue again the slices whose worker failed or died"
    TITLE, DONE = "Re-queue unfinished slices", "Re-queued"

    def describe(self, ctx, inputs, job_key):
        status = tagging_status(ctx.dataset, job_key)
        inputs.view(
            "what",
            types.Notice(
                label=f"{len(status.unfinished)} unfinished slices will be queued again; "
                "they continue where they stopped"
            ),
        )

    def act(self, dataset, job_key):
        return requeue_tagging(dataset, job_key)


def sharding_inputs(ctx, inputs, model) -> int:
    """The tag form's "split into N delegated jobs" choice and its follow-up
    search; returns the chosen number of jobs (1: no split)."""
    inputs.int(
        "num_shards",
        default=1,
        min=1,
        label="Split into N delegated jobs",
        description="Queue N delegated operations, each tagging a slice; run one "
        "'fiftyone delegated launch' per GPU or machine to execute them",
    )
    num_shards = ctx.params.get("num_shards") or 1
    if num_shards > 1:
        inputs.bool(
            "search_after",
            default=False,
            label="Then find failure modes",
            description="Run the search once, when the last slice completes",
        )
        if ctx.params.get("search_after", False):
            inputs.str("run_key", default=RUN_KEY, required=True, label="Run key")
            inputs.str(
                "label_field", default=LABEL_FIELD, required=True, label="Ground truth field"
            )
            inputs.str("pred_field", default=PRED_FIELD, required=True, label="Predictions field")
            inputs.bool("overwrite_run", default=False, label="Overwrite the run if it exists")
            if model != "properties":
                inputs.bool(
                    "metrics_after",
                    default=False,
                    label="Then compute CLIP metrics",
                    description="Score the failure modes with the tagging model",
                )
        inputs.view(
            "workers_notice",
            types.Notice(
                label="The slices are queued now; run 'fiftyone delegated launch' on each machine, "
                "and watch them with 'PRIME: sharded tagging status'"
            ),
        )
    return num_shards


def sharding_params(p) -> dict:
    """``search`` and ``metrics`` arguments of :func:`queue_tagging` from the form."""
    if not p.get("search_after", False):
        return {"search": None, "metrics": None}
    search = dict(
        run_key=p.get("run_key") or RUN_KEY,
        label_field=p.get("label_field") or LABEL_FIELD,
        pred_field=p.get("pred_field") or PRED_FIELD,
        overwrite=bool(p.get("overwrite_run", False)),
    )
    metrics = None
    if p.get("metrics_after", False) and p.get("model") != "properties":
        metrics = forms.model_params(p)
    return {"search": search, "metrics": metrics}


def queue_from_form(ctx, tagging_kwargs) -> dict:
    """Queues the tag form's sharded job; returns the operator's result."""
    p = ctx.params
    status = queue_tagging(
        ctx.target_view(), num_shards=int(p["num_shards"]), **sharding_params(p), **tagging_kwargs
    )
    return {
        "job_key": status.job_key,
        "num_shards": len(status.shards),
        "summary": str(status).splitlines()[0],
        "parts": _status_rows(status),
    }


def queued_output():
    """The tag form's output when it queued a split job."""
    outputs = types.Object()
    outputs.str("job_key", label="Job")
    outputs.int("num_shards", label="Delegated operations queued")
    outputs.str("summary", label="Summary")
    return types.Property(outputs, view=types.View(label="Tagging queued"))
