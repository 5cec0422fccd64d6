"""A self-contained HTML report of a regression run: both models side by side."""

from __future__ import annotations

import html
import json
import logging
import os

from ..comparisons.regressions import REGRESSION_COLUMNS, load_regressions
from ..runs.rows import format_interval, format_p, format_percent
from .report import _CSS, _thumbnails, params_table, report_folder, run_params, saved_view

logger = logging.getLogger(__name__)


def export_regression_report(
    samples,
    run_key: str,
    out_dir: str,
    *,
    max_images: int = 24,
    thumbnail_size: int = 128,
    overwrite: bool = False,
) -> str:
    """Writes a self-contained HTML report of a regression run.

    ``index.html`` holds the run's parameters, a table of the regression
    modes with both models' accuracies (baseline -> new) on each mode and on
    its class, and a thumbnail grid per mode (outlined in red where the new
    model is wrong, captioned with its prediction); ``regressions.json``
    holds the records.

    Args:
        samples: the dataset (or a view) holding the run
        run_key: the regression run
        out_dir: the folder to write (must be empty unless ``overwrite``)
        max_images (24): thumbnails per mode (the new model's errors first)
        thumbnail_size (128): the long side of the thumbnails, in pixels
        overwrite (False): whether to write into a non-empty folder

    Returns:
        the path of ``index.html``
    """
    results = load_regressions(samples, run_key)
    out_dir = report_folder(out_dir, overwrite)
    c = results.config
    dataset = results.samples._root_dataset
    spec = getattr(results, "spec", None)  # a run over units: objects' crops, or classes
    sections = []
    for mode in results.regressions:
        view = saved_view(dataset, mode)
        thumbs = _thumbnails(view, c, out_dir, max_images, thumbnail_size, spec) if view else []
        grid = "".join(
            f'<figure class="{"" if ok else "wrong"}"><img src="{html.escape(src)}">'
            f"<figcaption>new: {html.escape(str(pred))}</figcaption></figure>"
            for src, ok, pred in thumbs
        )
        sections.append(
            f"<h3>{html.escape(str(mode.group))}: {html.escape(' + '.join(mode.tags))}</h3>"
            f"<p>accuracy {format_percent(mode.baseline_accuracy)} &rarr; "
            f"{format_percent(mode.accuracy)} (new 95% CI {format_interval(mode.accuracy_ci)}) on "
            f"{mode.size} {results.unit_noun}; class {format_percent(mode.group_baseline_accuracy)} &rarr; "
            f"{format_percent(mode.group_accuracy)}; {mode.num_losses} losses, "
            f"{mode.num_wins} wins; adjusted p {format_p(mode.adjusted_p_value)}</p>"
            f'<div class="grid">{grid}</div>'
        )
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _, _ in REGRESSION_COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=l' if i < 2 else ''}>{html.escape(render(m))}</td>"
            for i, (_, _, render) in enumerate(REGRESSION_COLUMNS)
        )
        + "</tr>"
        for m in results.regressions
    )
    fields = {
        "ground truth": c.label_field,
        "baseline": c.baseline_field,
        "new model": c.pred_field,
    }
    if spec is not None:
        fields["units"] = results.units_description
    rows = params_table(run_params(results, dataset.name, fields, "compared"))
    page = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>PRIME regressions: {html.escape(dataset.name)} / {html.escape(results.key)}"
        f"</title><style>{_CSS}</style></head><body>"
        f"<h1>Where '{html.escape(c.pred_field)}' regressed against "
        f"'{html.escape(c.baseline_field)}': {len(results)} regression modes</h1>"
        f'<table class="params">{rows}</table>'
        f"<h2>Regression modes</h2><table><tr>{head}</tr>{body}</table>"
        f"<h2>Images</h2><p class=muted>Outlined in red where the new model is wrong.</p>"
        f"{''.join(sections)}<p class=muted>Made by fiftyone-prime.</p></body></html>"
    )
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    with open(os.path.join(out_dir, "regressions.json"), "w", encoding="utf-8") as f:
        json.dump(
            {"run_key": results.key, "regressions": [m.to_dict() for m in results.regressions]},
            f,
            indent=1,
            default=str,
        )
    logger.info("Wrote the report of regression run '%s' to %s", run_key, path)
    return path
