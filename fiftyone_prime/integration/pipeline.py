"""Tag, search, score and report in one call: what ``fiftyone-prime run`` and
the quickstart do on a dataset."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from fiftyone_prime.core.defaults import LABEL_FIELD, PRED_FIELD, RUN_KEY, TAGS_FIELD
from fiftyone_prime.core.types import DEFAULT_PARAMS, SearchParams
from fiftyone_prime.models import DEFAULT_MODEL

from .failure_modes.metrics import compute_failure_mode_metrics
from .failure_modes.search import search_failure_modes
from .reports.report import export_report
from .runs.classes import FailureModeResults
from .tagging.images import TaggingSummary, compute_tags

logger = logging.getLogger(__name__)

#: Where the pipeline stores CLIP image embeddings, so metrics reuse them.
EMBEDDINGS_FIELD = "prime_embedding"


@dataclass
class PipelineOutcome:
    """What :func:`run_pipeline` made.

    Attributes:
        tagging: the :class:`TaggingSummary`
        results: the failure-mode run (with CLIP metrics when a CLIP model tagged)
        report: the path of the report's ``index.html``, or ``None``
    """

    tagging: TaggingSummary
    results: FailureModeResults
    report: Optional[str]


def run_pipeline(
    samples,
    *,
    model=DEFAULT_MODEL,
    pretrained: Optional[str] = "default",
    tags_field: str = TAGS_FIELD,
    label_field: str = LABEL_FIELD,
    pred_field: str = PRED_FIELD,
    run_key: str = RUN_KEY,
    params: SearchParams = DEFAULT_PARAMS,
    max_views: Optional[int] = None,
    overwrite: bool = False,
    report_dir: Optional[str] = None,
    device: Optional[str] = None,
    batch_size: Optional[int] = None,
    progress=None,
    on_step: Callable[[str, object], None] = lambda step, value: None,
) -> PipelineOutcome:
    """Tags the images (continuing where a previous tagging stopped), finds
    the failure modes, scores them with CLIP when the tagger is a CLIP model
    (reusing its image embeddings), and writes the HTML report.

    Args:
        samples: a dataset or view
        model (DEFAULT_MODEL), pretrained ("default"): the tagger, as in
            :func:`fiftyone_prime.compute_tags`; ``"properties"`` skips the
            CLIP metrics
        tags_field ("prime_tags"): the field the tags are written to and
            searched in
        label_field, pred_field, run_key, overwrite: as in
            :func:`fiftyone_prime.find_failure_modes`
        params (the defaults): the :class:`SearchParams`, passed on as is
        max_views (None): as in :func:`fiftyone_prime.find_failure_modes`;
            ``None`` keeps its default
        report_dir (None): where to write the report (replacing the report's
            own files there); no report when ``None``
        device (None), batch_size (None): for the models
        progress (None): a FiftyOne ``progress`` argument
        on_step: called with ``("tagging", summary)``, ``("search", results)``,
            ``("metrics", results)`` and ``("report", path)`` as each step ends

    Returns:
        a :class:`PipelineOutcome`
    """
    clip = model != "properties"
    tagging = compute_tags(
        samples,
        model=model,
        pretrained=pretrained,
        tags_field=tags_field,
        skip_existing=True,
        device=device,
        batch_size=batch_size,
        embeddings_field=EMBEDDINGS_FIELD if clip else None,
        progress=progress,
    )
    on_step("tagging", tagging)
    extra = {} if max_views is None else {"max_views": max_views}
    results = search_failure_modes(
        samples,
        params,
        label_field=label_field,
        pred_field=pred_field,
        tags_field=tags_field,
        run_key=run_key,
        overwrite=overwrite,
        progress=progress,
        **extra,
    )
    on_step("search", results)
    if clip and len(results):
        results = compute_failure_mode_metrics(
            samples,
            run_key,
            model=model,
            pretrained=pretrained,
            embeddings_field=EMBEDDINGS_FIELD,
            device=device,
            batch_size=batch_size,
        )
        on_step("metrics", results)
    report = None
    if report_dir:
        report = export_report(samples, run_key, report_dir, overwrite=True)
        on_step("report", report)
    return PipelineOutcome(tagging, results, report)
